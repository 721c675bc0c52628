/**
 * @module media/mp3/parse
 * Reads what an MP3 (MPEG-1/2/2.5 audio, layers I-III) needs for trimming, HLS and throttling: where the audio lies
 * between its tags (media/mp3/tags), its first frame's stream parameters, the frame count and seek table of a
 * Xing/Info/VBRI header (media/mp3/vbr-header) or CBR arithmetic without one; and the frame boundary nearest a time,
 * re-found from a small window of bytes. Pure over a RangeReader; run by workers. Never reads past `fileSize`, never
 * sizes anything by an unchecked count; a file it cannot read is a MediaFormatError.
 */
import { MediaFormatError } from '../types.js';
import type { RangeReader } from '../types.js';
import { bitrateTable, decodeFrameHeader, frameLength, sameStream } from './frame-header.js';
import type { FrameHeader } from './frame-header.js';
import { leadingTagsEnd, trailingTagsStart } from './tags.js';
import { readVbrHeader, seekTableOf } from './vbr-header.js';
import type { SeekTable } from './vbr-header.js';

export interface Mp3Info {
  readonly fileSize: number;
  /** Offset of the first audio frame (after the tags in front and any Xing/Info/VBRI frame). */
  readonly audioStart: number;
  /** Offset where the audio ends (the tags at the end start). */
  readonly audioEnd: number;
  readonly sampleRate: number;
  readonly channels: number;
  readonly samplesPerFrame: number;
  /** Average bits per second. */
  readonly bitrate: number;
  readonly durationSec: number;
  readonly version: 1 | 2 | 2.5;
  readonly layer: 1 | 2 | 3;
  /** Where the ID3v2 tags in front end (0 without one): a trimmed file keeps bytes 0..tagsEnd in front. */
  readonly tagsEnd: number;
  /** The Xing/Info/VBRI header frame before audioStart, or null. */
  readonly headerFrame: { readonly offset: number; readonly length: number; readonly kind: 'xing' | 'info' | 'vbri' } | null;
  /** Audio frames (from the header; for CBR without one, the audio bytes over the average frame length). */
  readonly frames: number;
  /** True for VBR (Xing or VBRI header): frame times come from the seek table, not from arithmetic. */
  readonly vbr: boolean;
  /** Seek points of a VBR header, or null. */
  readonly seek: SeekTable | null;
  /** The first audio frame's four header bytes (a new header frame for a cut copies its stream fields). */
  readonly firstHeader: Buffer;
}

/** How far past the tags in front the first frame is looked for (encoders pad; junk beyond this is not an MP3). */
const FIRST_FRAME_WINDOW = 64 * 1024;
/** The longest frame there is (MPEG-2 layer II, 160 kbps at 8 kHz, padded: 2881 bytes), rounded up. */
const MAX_FRAME = 2912;
/** Bytes read either side of an estimated cut point to re-find the frame sync. */
const RESYNC_SPAN = 4 * MAX_FRAME;

/** Parses the stream parameters and layout of the MP3 of `fileSize` bytes read through `read`. */
export async function parseMp3(read: RangeReader, fileSize: number): Promise<Mp3Info> {
  if (!Number.isSafeInteger(fileSize) || fileSize < 8) throw new MediaFormatError('file too short for an MP3');
  const tagsEnd = await leadingTagsEnd(read, fileSize);
  const audioEnd = await trailingTagsStart(read, fileSize, tagsEnd);
  if (audioEnd - tagsEnd < 4) throw new MediaFormatError('no audio between the tags');

  const window = await read(tagsEnd, Math.min(FIRST_FRAME_WINDOW + MAX_FRAME * 2, audioEnd - tagsEnd));
  const first = findFirstFrame(window, tagsEnd, audioEnd);
  if (!first) throw new MediaFormatError('no MPEG audio frame sync near the start');
  const { at: firstAt, header } = first;
  const secPerFrame = header.samplesPerFrame / header.sampleRate;
  const minLength = frameLength(header.version, header.layer, (bitrateTable(header.version, header.layer)[1] as number) * 1000, header.sampleRate, 0);
  const maxFrames = Math.floor((audioEnd - firstAt) / minLength);
  const frameBytes = window.subarray(firstAt - tagsEnd, firstAt - tagsEnd + header.length);
  const vbr = readVbrHeader(frameBytes, header, maxFrames);

  const audioStart = vbr ? firstAt + header.length : firstAt;
  if (audioStart >= audioEnd) throw new MediaFormatError('no audio frames after the header frame');
  const audioBytes = audioEnd - audioStart;
  // The stream parameters of the audio: the first frame after a header frame (its bitrate may differ).
  const audioHeader = vbr ? decodeFrameHeader(window, audioStart - tagsEnd) : header;
  if (!audioHeader || !sameStream(audioHeader, header)) throw new MediaFormatError('no audio frame after the header frame');
  const firstHeader = Buffer.from(window.subarray(audioStart - tagsEnd, audioStart - tagsEnd + 4));

  let frames: number;
  let durationSec: number;
  let bitrate: number;
  if (vbr && vbr.frames !== null) {
    frames = vbr.frames;
    durationSec = frames * secPerFrame;
    bitrate = Math.round((audioBytes * 8) / durationSec);
  } else {
    // CBR (or a VBR header without a frame count): the first audio frame's bitrate over the audio bytes.
    bitrate = audioHeader.bitrate;
    const averageLength = (header.samplesPerFrame / 8) * (bitrate / header.sampleRate);
    frames = Math.max(1, Math.floor(audioBytes / averageLength));
    durationSec = (audioBytes * 8) / bitrate;
  }
  const isVbr = vbr !== null && vbr.kind !== 'info';
  return {
    fileSize,
    audioStart,
    audioEnd,
    sampleRate: header.sampleRate,
    channels: header.channels,
    samplesPerFrame: header.samplesPerFrame,
    bitrate,
    durationSec,
    version: header.version,
    layer: header.layer,
    tagsEnd,
    headerFrame: vbr ? { offset: firstAt, length: header.length, kind: vbr.kind } : null,
    frames,
    vbr: isVbr,
    seek: isVbr && vbr ? seekTableOf(vbr, firstAt, audioEnd - firstAt, frames, secPerFrame) : null,
    firstHeader,
  };
}

/** The first offset in `window` (which starts at file offset `base`) where two frames of one stream follow. */
function findFirstFrame(window: Buffer, base: number, audioEnd: number): { at: number; header: FrameHeader } | null {
  const limit = Math.min(window.length - 4, FIRST_FRAME_WINDOW);
  for (let i = 0; i <= limit; i++) {
    if (window[i] !== 0xff) continue;
    const header = decodeFrameHeader(window, i);
    if (header && followedByFrame(window, i, header, base, audioEnd)) return { at: base + i, header };
  }
  return null;
}

/** True when the frame at `i` of `window` is followed by a frame of the same stream, or ends the audio exactly. */
function followedByFrame(window: Buffer, i: number, header: FrameHeader, base: number, audioEnd: number): boolean {
  const next = i + header.length;
  if (base + next === audioEnd) return true;
  const following = decodeFrameHeader(window, next);
  return following !== null && sameStream(header, following);
}

/**
 * The frame boundary nearest to `sec` (clamped to 0..duration) and its time: exact for CBR (frame index arithmetic);
 * for VBR the seek table (Xing: per cent of the duration; VBRI: per entry) or a linear estimate picks the spot, so
 * the time is that table's accuracy. Reads about 24 KiB around the estimate.
 */
export async function mp3FrameAt(info: Mp3Info, read: RangeReader, sec: number): Promise<{ offset: number; sec: number }> {
  const secPerFrame = info.samplesPerFrame / info.sampleRate;
  if (!(sec > 0)) return { offset: info.audioStart, sec: 0 };
  if (sec >= info.durationSec) return { offset: info.audioEnd, sec: info.durationSec };
  const audioBytes = info.audioEnd - info.audioStart;
  let estimate: number;
  let index = -1;
  if (!info.vbr) {
    index = Math.min(Math.floor(sec / secPerFrame + 1e-9), info.frames);
    estimate = info.audioStart + Math.round((index * audioBytes) / info.frames);
  } else {
    estimate = Math.round(info.seek ? interpolate(info.seek.sec, info.seek.offset, sec) : info.audioStart + (sec / info.durationSec) * audioBytes);
  }
  estimate = Math.min(Math.max(estimate, info.audioStart), info.audioEnd);
  if (estimate === info.audioEnd) return { offset: info.audioEnd, sec: info.durationSec };
  const from = Math.max(info.audioStart, estimate - RESYNC_SPAN);
  const to = Math.min(info.audioEnd, estimate + RESYNC_SPAN + MAX_FRAME);
  const window = await read(from, to - from);
  const offset = nearestBoundary(info, window, from, estimate);
  if (offset === null) throw new MediaFormatError('no frame sync near the cut point');
  if (index >= 0) return { offset, sec: index * secPerFrame };
  const time = info.seek ? interpolate(info.seek.offset, info.seek.sec, offset) : ((offset - info.audioStart) / audioBytes) * info.durationSec;
  return { offset, sec: Math.min(info.durationSec, Math.round(time / secPerFrame) * secPerFrame) };
}

/** The frame start in `window` (at file offset `base`) nearest `estimate`: two frames of the stream in a row. */
function nearestBoundary(info: Mp3Info, window: Buffer, base: number, estimate: number): number | null {
  const reference = decodeFrameHeader(info.firstHeader, 0);
  if (!reference) return null;
  const center = estimate - base;
  // Outward from the estimate, earlier side first at each distance.
  for (let step = 0; step <= 2 * RESYNC_SPAN; step++) {
    const i = step % 2 === 1 ? center - (step + 1) / 2 : center + step / 2;
    if (i < 0 || i + 4 > window.length || window[i] !== 0xff) continue;
    const header = decodeFrameHeader(window, i);
    if (!header || !sameStream(reference, header)) continue;
    const next = i + header.length;
    if (base + next === info.audioEnd) return base + i;
    // The following header must be in the window: a frame ending past it is not taken on one header's word.
    const following = decodeFrameHeader(window, next);
    if (following && sameStream(reference, following)) return base + i;
  }
  return null;
}

/** Piecewise-linear y at x over increasing xs (clamped at the ends). */
function interpolate(xs: Float64Array, ys: Float64Array, x: number): number {
  const n = xs.length;
  if (x <= (xs[0] as number)) return ys[0] as number;
  if (x >= (xs[n - 1] as number)) return ys[n - 1] as number;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) <= x) lo = mid;
    else hi = mid;
  }
  const x0 = xs[lo] as number;
  const x1 = xs[hi] as number;
  const y0 = ys[lo] as number;
  const y1 = ys[hi] as number;
  return x1 === x0 ? y0 : y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
}
