/**
 * @module media/throttle/sniff
 * The bitrate and media-header length of a response body from its first bytes, for throttling (`1000x` rules): an
 * MP4/M4A whose moov comes first (mvhd duration over the file size; header = up to the end of moov) or an MP3 (the
 * Xing/VBRI header's frames and bytes, else the first frame's bitrate; header = the tags and the header frame). A
 * body that is neither, is cut before the needed bytes, or has the MP4 moov at the end gives no bitrate (the rule's
 * fallback applies). Never throws; reads only `first`. Pure; runs in workers.
 */
import { decodeFrameHeader, sameStream } from '../mp3/frame-header.js';
import { readVbrHeader } from '../mp3/vbr-header.js';

export interface SniffedMedia {
  /** Average bits per second of the file, null when unknown. */
  readonly bitrateBps: number | null;
  /** Bytes at the start of the body that are media header (sent without pacing); 0 when unknown. */
  readonly headerBytes: number;
}

const NOTHING: SniffedMedia = { bitrateBps: null, headerBytes: 0 };
/** How far past the tags an MP3's first frame is looked for. */
const MP3_SYNC_WINDOW = 4096;

/** `first`: the body's first bytes; `totalSize`: the whole body's length (-1 unknown). */
export function sniffMedia(first: Buffer, totalSize: number): SniffedMedia {
  try {
    if (first.length >= 8 && first.toString('latin1', 4, 8) === 'ftyp') return sniffMp4(first, totalSize);
    if (first.length >= 4 && (first.toString('latin1', 0, 3) === 'ID3' || first[0] === 0xff)) return sniffMp3(first, totalSize);
  } catch {
    // A malformed header (a MediaFormatError from the Xing reader, a read past `first`): no bitrate, as for any other body.
  }
  return NOTHING;
}

function sniffMp4(first: Buffer, totalSize: number): SniffedMedia {
  let at = 0;
  while (at + 8 <= first.length) {
    let size = first.readUInt32BE(at);
    const type = first.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > first.length) return NOTHING;
      size = Number(first.readBigUInt64BE(at + 8));
      header = 16;
    }
    if (type === 'mdat') return NOTHING; // moov after the media data: not a progressive file
    if (size < header) return NOTHING;
    if (type === 'moov') {
      const seconds = mvhdSeconds(first, at + 8, Math.min(first.length, at + size));
      const bitrateBps = seconds !== null && seconds > 0 && totalSize > 0 ? Math.round((totalSize * 8) / seconds) : null;
      return { bitrateBps, headerBytes: mediaDataStart(first, at + size) };
    }
    at += size;
  }
  return NOTHING;
}

/** Where the media samples start: past the boxes after moov (free, uuid, ...) and the mdat header, as far as `first` tells. */
function mediaDataStart(first: Buffer, from: number): number {
  let at = from;
  while (at + 8 <= first.length) {
    const size = first.readUInt32BE(at);
    if (first.toString('latin1', at + 4, at + 8) === 'mdat') return at + (size === 1 ? 16 : 8);
    if (size < 8) break;
    at += size;
  }
  return from;
}

/** Duration in seconds of the mvhd among the boxes in first[from, to), or null. */
function mvhdSeconds(first: Buffer, from: number, to: number): number | null {
  let at = from;
  while (at + 8 <= to) {
    const size = first.readUInt32BE(at);
    if (size < 8) return null;
    if (first.toString('latin1', at + 4, at + 8) === 'mvhd') {
      const version = first[at + 8];
      if (version === 1 && at + 40 <= to) return Number(first.readBigUInt64BE(at + 32)) / first.readUInt32BE(at + 28);
      if (version === 0 && at + 28 <= to) return first.readUInt32BE(at + 24) / first.readUInt32BE(at + 20);
      return null;
    }
    at += size;
  }
  return null;
}

function sniffMp3(first: Buffer, totalSize: number): SniffedMedia {
  let at = 0;
  // ID3v2 tags in front (syncsafe sizes; the footer flag of v2.4 adds 10).
  for (let i = 0; i < 8 && at + 10 <= first.length && first.toString('latin1', at, at + 3) === 'ID3'; i++) {
    let size = 0;
    for (let b = 0; b < 4; b++) size = size * 128 + ((first[at + 6 + b] as number) & 0x7f);
    at += 10 + size + ((first[at + 5] as number) & 0x10 ? 10 : 0);
  }
  const limit = Math.min(first.length - 4, at + MP3_SYNC_WINDOW);
  for (let i = at; i <= limit; i++) {
    if (first[i] !== 0xff) continue;
    const header = decodeFrameHeader(first, i);
    if (header === null) continue;
    const next = decodeFrameHeader(first, i + header.length);
    if (next === null || !sameStream(header, next)) continue;
    const vbr = readVbrHeader(first.subarray(i, i + header.length), header, 0xffffffff);
    const audioStart = vbr === null ? i : i + header.length;
    // A LAME "Info" header marks CBR: the frames say the bitrate exactly.
    if (vbr !== null && vbr.kind !== 'info' && vbr.frames !== null) {
      const seconds = (vbr.frames * header.samplesPerFrame) / header.sampleRate;
      const bytes = vbr.bytes ?? (totalSize > 0 ? totalSize - i : null);
      if (bytes !== null) return { bitrateBps: Math.round((bytes * 8) / seconds), headerBytes: audioStart };
    }
    return { bitrateBps: (vbr === null ? header : next).bitrate, headerBytes: audioStart };
  }
  return NOTHING;
}
