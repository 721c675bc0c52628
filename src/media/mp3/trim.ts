/**
 * @module media/mp3/trim
 * MP3 trimming: the clips' frames as ranges of the source, cut on frame boundaries (media/mp3/parse mp3FrameAt),
 * joined in order, behind the source's ID3v2 tags. A source with a Xing/Info/VBRI header gets a freshly built
 * Xing (VBR) or Info (CBR) frame counting the frames actually kept: the source's header would make players report
 * the source's duration and seek by its table. Tags at the end (ID3v1, APE) are left out. Pure; run by workers.
 */
import type { Clip, Plan, PlanPart, RangeReader } from '../types.js';
import { MediaFormatError } from '../types.js';
import { decodeFrameHeader } from './frame-header.js';
import { mp3FrameAt } from './parse.js';
import type { Mp3Info } from './parse.js';
import { buildXingFrame } from './vbr-header.js';

/** Bytes read at a time when counting the frames of a VBR cut. */
const COUNT_CHUNK = 256 * 1024;

interface Kept {
  readonly offset: number;
  readonly length: number;
  readonly sec: number;
}

/**
 * The body of `clips` of the MP3 `info` (clips in order and non-overlapping; parts past the end are clamped; null
 * when nothing is left). A VBR source's kept frames are read once to count them for the new Xing frame.
 */
export async function mp3TrimPlan(info: Mp3Info, read: RangeReader, clips: readonly Clip[]): Promise<Plan | null> {
  const kept: Kept[] = [];
  for (const clip of clips) {
    if (!(clip.startSec < clip.endSec) || clip.startSec >= info.durationSec) continue;
    const start = await mp3FrameAt(info, read, clip.startSec);
    const end = clip.endSec >= info.durationSec ? { offset: info.audioEnd, sec: info.durationSec } : await mp3FrameAt(info, read, clip.endSec);
    if (end.offset > start.offset) kept.push({ offset: start.offset, length: end.offset - start.offset, sec: end.sec - start.sec });
  }
  if (kept.length === 0) return null;

  const parts: PlanPart[] = [];
  if (info.tagsEnd > 0) parts.push({ offset: 0, length: info.tagsEnd });
  const audioBytes = kept.reduce((sum, k) => sum + k.length, 0);
  if (info.headerFrame) {
    const header = decodeFrameHeader(info.firstHeader, 0);
    if (!header) throw new MediaFormatError('first audio frame header unreadable');
    const secPerFrame = info.samplesPerFrame / info.sampleRate;
    let frames = 0;
    for (const k of kept) frames += info.vbr ? await countFrames(read, k.offset, k.offset + k.length) : Math.round(k.sec / secPerFrame);
    parts.push({ data: buildXingFrame(info.firstHeader, header, info.vbr ? 'xing' : 'info', frames, audioBytes) });
  }
  for (const k of kept) parts.push({ offset: k.offset, length: k.length });
  const size = parts.reduce((sum, p) => sum + ('data' in p ? p.data.length : p.length), 0);
  return { parts, size, contentType: 'audio/mpeg' };
}

/** Frames from `start` to `end` (both frame boundaries), walked header by header in COUNT_CHUNK reads. */
async function countFrames(read: RangeReader, start: number, end: number): Promise<number> {
  let count = 0;
  let pos = start;
  while (pos < end) {
    const chunk = await read(pos, Math.min(COUNT_CHUNK, end - pos));
    if (chunk.length < 4) throw new MediaFormatError('frames do not end on the cut point');
    let i = 0;
    while (i + 4 <= chunk.length) {
      const header = decodeFrameHeader(chunk, i);
      if (!header) throw new MediaFormatError('frame sync lost inside a clip');
      count++;
      i += header.length;
    }
    pos += i;
  }
  if (pos !== end) throw new MediaFormatError('frames do not end on the cut point');
  return count;
}
