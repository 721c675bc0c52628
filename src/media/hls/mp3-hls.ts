/**
 * @module media/hls/mp3-hls
 * HLS of an MP3 on the fly (STON's MP3HLS): a media playlist `<Index>` cutting the audio at the first frame at or
 * after each multiple of `<Duration>`, and segments `<n>.ts` (MPEG audio in MPEG-TS, stream type 0x03 for MPEG-1 and
 * 0x04 for MPEG-2/2.5, PCR on the audio PID: STON's InsertPCR) or `<n>.mp3` (packed audio: the frames behind an ID3
 * PRIV transportStreamTimestamp, RFC 8216 §3.4). A segment reads its byte range once, found with mp3FrameAt (exact
 * for CBR, the seek table's accuracy for VBR). Pure over Mp3Info and RangeReader; runs in workers.
 */
import { decodeFrameHeader } from '../mp3/frame-header.js';
import { mp3FrameAt } from '../mp3/parse.js';
import type { Mp3Info } from '../mp3/parse.js';
import { MediaFormatError } from '../types.js';
import type { RangeReader } from '../types.js';
import { HLS_CONTENT_TYPES } from './hls.js';
import type { HlsOptions } from './hls.js';
import { mediaPlaylist, segmentIndex } from './playlist.js';
import { MAX_SEGMENT_BYTES } from './sample-read.js';
import { CLOCK_OFFSET } from './ts-segment.js';
import { TsWriter } from './ts-packets.js';

const AUDIO_PID = 0x101;
/** MP3 frames per PES (about 0.2 s at 44.1 kHz; at most 8 × 2881 bytes, under the 64 KiB PES length). */
const FRAMES_PER_PES = 8;

interface Mp3Segments {
  readonly count: number;
  readonly durationSec: Float64Array;
  /** First frame index of each segment, `count + 1` entries (the last is the frame count). */
  readonly firstFrame: Float64Array;
  readonly secPerFrame: number;
}

function segmentsOf(info: Mp3Info, segmentSec: number): Mp3Segments {
  if (!(segmentSec > 0) || !Number.isFinite(segmentSec)) throw new RangeError(`segment duration ${segmentSec} s`);
  const secPerFrame = info.samplesPerFrame / info.sampleRate;
  if (!(secPerFrame > 0) || !(info.frames > 0)) throw new MediaFormatError('MP3 without frames');
  const firsts = [0];
  for (let k = 1; ; k++) {
    const f = Math.ceil((k * segmentSec) / secPerFrame - 1e-9);
    if (f >= info.frames) break;
    firsts.push(f);
  }
  const count = firsts.length;
  firsts.push(info.frames);
  const firstFrame = Float64Array.from(firsts);
  const durationSec = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const end = k + 1 < count ? (firstFrame[k + 1] ?? 0) * secPerFrame : info.durationSec;
    durationSec[k] = Math.max(0, end - (firstFrame[k] ?? 0) * secPerFrame);
  }
  return { count, durationSec, firstFrame, secPerFrame };
}

function segmentExt(options: HlsOptions): 'ts' | 'mp3' {
  return options.mp3SegmentType === 'mp3' ? 'mp3' : 'ts';
}

/** The media playlist when `name` is `<Index>`, else null. */
export function mp3HlsPlaylist(info: Mp3Info, name: string, options: HlsOptions): string | null {
  if (name !== options.indexName) return null;
  const segs = segmentsOf(info, options.segmentSec);
  return mediaPlaylist(segs, { version: options.version, sequence: options.sequence, prefix: '', ext: segmentExt(options), map: null });
}

/** Segment `name` (`<n>.ts` or `<n>.mp3` per `mp3SegmentType`) from the frames it reads; null when no such segment. */
export async function mp3HlsSegment(info: Mp3Info, name: string, read: RangeReader, options: HlsOptions): Promise<{ body: Buffer; contentType: string } | null> {
  const ext = segmentExt(options);
  const segs = segmentsOf(info, options.segmentSec);
  const k = segmentIndex(name, `.${ext}`, options.sequence, segs.count);
  if (k === null) return null;
  // A boundary is asked for half a frame in, so float error never lands on the frame before.
  const at = async (frame: number, edge: number): Promise<{ offset: number; sec: number }> =>
    frame === 0 ? { offset: info.audioStart, sec: 0 } : frame >= info.frames ? { offset: edge, sec: info.durationSec } : mp3FrameAt(info, read, (frame + 0.5) * segs.secPerFrame);
  const [start, end] = await Promise.all([at(segs.firstFrame[k] ?? 0, info.audioStart), at(segs.firstFrame[k + 1] ?? 0, info.audioEnd)]);
  const length = end.offset - start.offset;
  if (length <= 0) throw new MediaFormatError(`MP3 segment ${k} has no frames`);
  if (length > MAX_SEGMENT_BYTES) throw new MediaFormatError(`MP3 segment ${k} holds ${length} bytes`);
  const bytes = await read(start.offset, length);
  if (bytes.length !== length) throw new MediaFormatError(`range read gave ${bytes.length} of ${length} bytes`);
  const pts = Math.round(start.sec * 90_000) + CLOCK_OFFSET;
  if (ext === 'mp3') return { body: Buffer.concat([id3Timestamp(pts), bytes]), contentType: HLS_CONTENT_TYPES.mp3 };
  return { body: muxMp3Ts(info, bytes, pts, segs.secPerFrame), contentType: HLS_CONTENT_TYPES.ts };
}

/** MPEG audio frames in PES of FRAMES_PER_PES frames; bytes that are no frame header end the walk (sent as they are). */
function muxMp3Ts(info: Mp3Info, bytes: Buffer, pts: number, secPerFrame: number): Buffer {
  const pes: Array<{ from: number; to: number; frame: number }> = [];
  let frame = 0;
  for (let pos = 0; pos < bytes.length; ) {
    let to = pos;
    let n = 0;
    while (n < FRAMES_PER_PES && to < bytes.length) {
      const header = decodeFrameHeader(bytes, to);
      if (!header || header.length <= 0) {
        to = bytes.length;
        break;
      }
      to = Math.min(bytes.length, to + header.length);
      n++;
    }
    pes.push({ from: pos, to, frame });
    frame += n;
    pos = to;
  }
  const writer = new TsWriter(bytes.length + 19 * pes.length, pes.length);
  writer.writeTables([{ pid: AUDIO_PID, streamType: info.version === 1 ? 0x03 : 0x04 }], AUDIO_PID);
  for (const p of pes) {
    const t = pts + Math.round(p.frame * secPerFrame * 90_000);
    writer.writePes({ pid: AUDIO_PID, streamId: 0xc0, payload: [bytes.subarray(p.from, p.to)], pts: t, dts: null, pcr: t, randomAccess: p.frame === 0 });
  }
  return writer.finish();
}

const PRIV_OWNER = Buffer.from('com.apple.streaming.transportStreamTimestamp\0', 'latin1');

/** ID3v2.4 tag with one PRIV frame: the 33-bit MPEG-2 timestamp of the first frame (RFC 8216 §3.4). */
function id3Timestamp(ticks: number): Buffer {
  const frameSize = PRIV_OWNER.length + 8;
  const tag = Buffer.alloc(10 + 10 + frameSize);
  tag.write('ID3', 0, 'latin1');
  tag[3] = 4;
  writeSyncsafe(tag, 6, 10 + frameSize);
  tag.write('PRIV', 10, 'latin1');
  writeSyncsafe(tag, 14, frameSize);
  PRIV_OWNER.copy(tag, 20);
  const ts = ((ticks % 2 ** 33) + 2 ** 33) % 2 ** 33;
  tag.writeUInt32BE(Math.floor(ts / 2 ** 32), 20 + PRIV_OWNER.length);
  tag.writeUInt32BE(ts % 2 ** 32, 24 + PRIV_OWNER.length);
  return tag;
}

function writeSyncsafe(buf: Buffer, at: number, value: number): void {
  buf[at] = (value >> 21) & 0x7f;
  buf[at + 1] = (value >> 14) & 0x7f;
  buf[at + 2] = (value >> 7) & 0x7f;
  buf[at + 3] = value & 0x7f;
}
