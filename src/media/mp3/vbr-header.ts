/**
 * @module media/mp3/vbr-header
 * The header frame encoders put before the audio of an MP3: Xing/Info (LAME: "Xing" for VBR, "Info" for CBR; frame
 * count, byte count, a 100-entry seek table) and Fraunhofer's VBRI; reading it from the first frame, and building a
 * fresh Xing/Info frame for a trimmed file (a stale one makes players report the source's duration). Pure; run by
 * workers. Every count read here is checked against the bytes of the file before anything is sized by it.
 */
import { MediaFormatError } from '../types.js';
import { bitrateTable, frameLength, sideInfoLength } from './frame-header.js';
import type { FrameHeader } from './frame-header.js';

/** Seek points: the byte offset of the frame that starts at `sec` (both increasing). */
export interface SeekTable {
  readonly sec: Float64Array;
  readonly offset: Float64Array;
}

export interface VbrHeader {
  readonly kind: 'xing' | 'info' | 'vbri';
  /** Audio frames after the header frame, null when the header does not say. */
  readonly frames: number | null;
  /** Bytes from the header frame's start to the audio's end, null when the header does not say. */
  readonly bytes: number | null;
  /** Fractions 0..1 of `bytes` at 0..99 % of the duration (Xing), or null. */
  readonly xingToc: Uint8Array | null;
  /** VBRI: byte length of each table entry's span, and the frames one entry spans. */
  readonly vbriToc: { readonly lengths: Float64Array; readonly framesPerEntry: number } | null;
}

const XING_FRAMES = 1;
const XING_BYTES = 2;
const XING_TOC = 4;

/**
 * The Xing/Info/VBRI header in `frame` (the whole first frame, `header` its decoded header), null when it has none.
 * `maxFrames` bounds the frame count (the audio bytes over the shortest frame the stream can have).
 */
export function readVbrHeader(frame: Buffer, header: FrameHeader, maxFrames: number): VbrHeader | null {
  if (header.layer !== 3) return null;
  const xingAt = 4 + (header.crc ? 2 : 0) + sideInfoLength(header.version, header.channels);
  const tag = frame.toString('latin1', xingAt, xingAt + 4);
  if (tag === 'Xing' || tag === 'Info') return readXing(frame, xingAt, tag === 'Xing' ? 'xing' : 'info', maxFrames);
  // VBRI sits 32 bytes after the header whatever the channel mode.
  if (frame.toString('latin1', 36, 40) === 'VBRI') return readVbri(frame, 36, maxFrames);
  return null;
}

function readXing(frame: Buffer, at: number, kind: 'xing' | 'info', maxFrames: number): VbrHeader {
  let pos = at + 8;
  if (pos > frame.length) throw new MediaFormatError('Xing header cut short');
  const flags = frame.readUInt32BE(at + 4);
  const need = pos + (flags & XING_FRAMES ? 4 : 0) + (flags & XING_BYTES ? 4 : 0) + (flags & XING_TOC ? 100 : 0);
  if (need > frame.length) throw new MediaFormatError('Xing header longer than its frame');
  let frames: number | null = null;
  let bytes: number | null = null;
  let xingToc: Uint8Array | null = null;
  if (flags & XING_FRAMES) {
    frames = frame.readUInt32BE(pos);
    pos += 4;
    if (frames === 0 || frames > maxFrames) throw new MediaFormatError(`Xing frame count ${frames} does not fit the file`);
  }
  if (flags & XING_BYTES) {
    bytes = frame.readUInt32BE(pos);
    pos += 4;
    if (bytes === 0) throw new MediaFormatError('Xing byte count 0');
  }
  if (flags & XING_TOC) {
    xingToc = new Uint8Array(frame.subarray(pos, pos + 100));
    for (let i = 1; i < 100; i++) {
      if ((xingToc[i] as number) < (xingToc[i - 1] as number)) throw new MediaFormatError('Xing seek table decreases');
    }
  }
  return { kind, frames, bytes, xingToc, vbriToc: null };
}

function readVbri(frame: Buffer, at: number, maxFrames: number): VbrHeader {
  // "VBRI", version u16, delay u16, quality u16, bytes u32, frames u32, entries u16, scale u16, entry size u16,
  // frames per entry u16, then the entries.
  if (at + 26 > frame.length) throw new MediaFormatError('VBRI header cut short');
  const bytes = frame.readUInt32BE(at + 10);
  const frames = frame.readUInt32BE(at + 14);
  const entries = frame.readUInt16BE(at + 18);
  const scale = frame.readUInt16BE(at + 20);
  const entrySize = frame.readUInt16BE(at + 22);
  const framesPerEntry = frame.readUInt16BE(at + 24);
  if (frames === 0 || frames > maxFrames) throw new MediaFormatError(`VBRI frame count ${frames} does not fit the file`);
  if (bytes === 0) throw new MediaFormatError('VBRI byte count 0');
  if (entrySize < 1 || entrySize > 4 || framesPerEntry === 0) throw new MediaFormatError('VBRI seek table malformed');
  // The table lives inside the frame, so the frame's length bounds it (no allocation from the untrusted count).
  if (at + 26 + entries * entrySize > frame.length) throw new MediaFormatError('VBRI seek table longer than its frame');
  const lengths = new Float64Array(entries);
  for (let i = 0; i < entries; i++) lengths[i] = frame.readUIntBE(at + 26 + i * entrySize, entrySize) * scale;
  return { kind: 'vbri', frames, bytes, xingToc: null, vbriToc: entries > 0 ? { lengths, framesPerEntry } : null };
}

/** Seek points from the header (`start`: the header frame's offset), or null when it has no table. */
export function seekTableOf(vbr: VbrHeader, start: number, audioBytes: number, frames: number, secPerFrame: number): SeekTable | null {
  const duration = frames * secPerFrame;
  if (vbr.xingToc) {
    const bytes = vbr.bytes ?? audioBytes;
    const sec = new Float64Array(101);
    const offset = new Float64Array(101);
    for (let i = 0; i < 100; i++) {
      sec[i] = (i / 100) * duration;
      offset[i] = start + ((vbr.xingToc[i] as number) / 256) * bytes;
    }
    sec[100] = duration;
    offset[100] = start + Math.max(bytes, offset[99] as number);
    return { sec, offset };
  }
  if (vbr.vbriToc) {
    const { lengths, framesPerEntry } = vbr.vbriToc;
    const sec = new Float64Array(lengths.length + 1);
    const offset = new Float64Array(lengths.length + 1);
    let at = start;
    for (let i = 0; i <= lengths.length; i++) {
      sec[i] = Math.min(i * framesPerEntry * secPerFrame, duration);
      offset[i] = at;
      at += lengths[i] ?? 0;
    }
    return { sec, offset };
  }
  return null;
}

/**
 * A new Xing ("Xing" for VBR, "Info" for CBR) frame in the stream of `like` (its four header bytes), saying `frames`
 * audio frames and `bytes` bytes (this frame included). No seek table and no LAME extension: the source's table and
 * encoder delay describe the source, not the cut. Side info and main data are zero, so a decoder that does not know
 * the tag decodes one frame of silence.
 */
export function buildXingFrame(like: Buffer, header: FrameHeader, kind: 'xing' | 'info', frames: number, audioBytes: number): Buffer {
  const xingAt = 4 + sideInfoLength(header.version, header.channels);
  const need = xingAt + 16;
  // The smallest bitrate whose frame holds the tag (without padding).
  const table = bitrateTable(header.version, header.layer);
  let index = 1;
  while (index < 14 && frameLength(header.version, header.layer, (table[index] as number) * 1000, header.sampleRate, 0) < need) index++;
  const length = frameLength(header.version, header.layer, (table[index] as number) * 1000, header.sampleRate, 0);
  const frame = Buffer.alloc(length);
  frame[0] = 0xff;
  frame[1] = (like[1] as number) | 1; // no CRC
  frame[2] = (index << 4) | ((like[2] as number) & 0x0c); // bitrate index, same sample rate, no padding, no private bit
  frame[3] = like[3] as number;
  frame.write(kind === 'xing' ? 'Xing' : 'Info', xingAt, 'latin1');
  frame.writeUInt32BE(XING_FRAMES | XING_BYTES, xingAt + 4);
  frame.writeUInt32BE(frames, xingAt + 8);
  frame.writeUInt32BE(Math.min(audioBytes + length, 0xffffffff), xingAt + 12);
  return frame;
}
