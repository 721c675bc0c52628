/**
 * @module media/hls/fmp4
 * Fragmented MP4 for HLS version 7 (RFC 8216 §3.3, ISO/IEC 14496-12 §8.8): the init segment (ftyp + moov with empty
 * sample tables, the source's stsd copied as is, the edit list's shift, mvex/trex) and media segments (styp + moof
 * with one traf per track: tfhd default-base-is-moof, tfdt, trun with per-sample size, duration, flags and composition
 * offset; then mdat). Samples are copied as they are in the source (length-prefixed NAL units, raw AAC). Pure; runs
 * in workers.
 */
import type { Movie } from '../types.js';
import type { HlsTrack } from './segments.js';
import type { SegmentSamples } from './ts-segment.js';

function box(type: string, ...parts: Buffer[]): Buffer {
  let size = 8;
  for (const p of parts) size += p.length;
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(size, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, ...parts], size);
}

function fullBox(type: string, version: number, flags: number, ...parts: Buffer[]): Buffer {
  const vf = Buffer.allocUnsafe(4);
  vf.writeUInt32BE(((version << 24) | flags) >>> 0, 0);
  return box(type, vf, ...parts);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

const MATRIX = u32s(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000);

/** ISO 639-2/T code packed as three 5-bit letters (mdhd); 'und' for anything else. */
function packLanguage(lang: string): number {
  const code = /^[a-z]{3}$/.test(lang) ? lang : 'und';
  return ((code.charCodeAt(0) - 0x60) << 10) | ((code.charCodeAt(1) - 0x60) << 5) | (code.charCodeAt(2) - 0x60);
}

/** ftyp + moov of an fMP4 init segment for `tracks`. */
export function fmp4Init(movie: Movie, tracks: readonly HlsTrack[]): Buffer {
  const ftyp = box('ftyp', Buffer.from('iso6', 'latin1'), u32s(0), Buffer.from('iso6isommp41', 'latin1'));
  const mvhd = fullBox('mvhd', 0, 0, u32s(0, 0, movie.timescale > 0 ? movie.timescale : 1000, 0, 0x10000), Buffer.from([0x01, 0x00, 0, 0]), u32s(0, 0), MATRIX, Buffer.alloc(24), u32s(Math.max(0, ...tracks.map((t) => t.track.id)) + 1));
  const traks = tracks.map((t) => trak(movie, t));
  const mvex = box('mvex', ...tracks.map((t) => fullBox('trex', 0, 0, u32s(t.track.id, 1, 0, 0, 0))));
  return Buffer.concat([ftyp, box('moov', mvhd, ...traks, mvex)]);
}

function trak(movie: Movie, t: HlsTrack): Buffer {
  const tr = t.track;
  const video = tr.kind === 'video';
  const tkhd = fullBox('tkhd', 0, 3, u32s(0, 0, tr.id, 0, 0, 0, 0), Buffer.from([0, 0, 0, 0, video ? 0 : 1, 0, 0, 0]), MATRIX, u32s(tr.width * 0x10000, tr.height * 0x10000));
  const parts: Buffer[] = [tkhd];
  if (t.boxes.shift !== 0) {
    // The source's presentation start (B-frame delay, AAC priming): one edit from that media time to the end.
    parts.push(box('edts', fullBox('elst', 0, 0, u32s(1, 0, t.boxes.shift, 0x10000))));
  }
  const mdhd = fullBox('mdhd', 0, 0, u32s(0, 0, tr.timescale, 0), Buffer.from([packLanguage(tr.language) >> 8, packLanguage(tr.language) & 0xff, 0, 0]));
  const name = video ? 'VideoHandler' : 'SoundHandler';
  const hdlr = fullBox('hdlr', 0, 0, u32s(0), Buffer.from(video ? 'vide' : 'soun', 'latin1'), u32s(0, 0, 0), Buffer.from(`${name}\0`, 'latin1'));
  const mediaHeader = video ? fullBox('vmhd', 0, 1, Buffer.alloc(8)) : fullBox('smhd', 0, 0, Buffer.alloc(4));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32s(1), fullBox('url ', 0, 1)));
  const stbl = box('stbl', t.boxes.stsd, fullBox('stts', 0, 0, u32s(0)), fullBox('stsc', 0, 0, u32s(0)), fullBox('stsz', 0, 0, u32s(0, 0)), fullBox('stco', 0, 0, u32s(0)));
  parts.push(box('mdia', mdhd, hdlr, box('minf', mediaHeader, dinf, stbl)));
  return box('trak', ...parts);
}

/** sample_flags (§8.8.3.1): a sync sample depends on no other; any other sample does and is not a sync sample. */
const SYNC_FLAGS = 0x02000000;
const NON_SYNC_FLAGS = 0x01010000;

/** styp + moof + mdat of media segment number `sequence` (mfhd sequence_number, 1-based) from the segment's samples. */
export function fmp4Segment(sequence: number, parts: readonly SegmentSamples[]): Buffer {
  const styp = box('styp', Buffer.from('msdh', 'latin1'), u32s(0), Buffer.from('msdhmsix', 'latin1'));
  // trun entry: duration, size, flags, composition offset (flags 0xF01 with data-offset).
  const trafs: Buffer[] = [];
  const dataOffsetAt: number[] = [];
  let mdatSize = 8;
  const dataStart: number[] = [];
  for (const p of parts) {
    const s = p.hls.track.samples;
    const n = p.data.length;
    let negative = false;
    for (let i = 0; i < n; i++) if ((s.ctsOffset[p.first + i] ?? 0) < 0) negative = true;
    const entries = Buffer.allocUnsafe(16 * n);
    for (let i = 0; i < n; i++) {
      const x = p.first + i;
      entries.writeUInt32BE(s.duration[x] ?? 0, 16 * i);
      entries.writeUInt32BE((p.data[i] as Buffer).length, 16 * i + 4);
      entries.writeUInt32BE(s.sync[x] === 1 ? SYNC_FLAGS : NON_SYNC_FLAGS, 16 * i + 8);
      entries.writeInt32BE(s.ctsOffset[x] ?? 0, 16 * i + 12);
    }
    const tfhd = fullBox('tfhd', 0, 0x020000, u32s(p.hls.track.id));
    const dts = s.dts[p.first] ?? 0;
    const tfdt = fullBox('tfdt', 1, 0, u32s(Math.floor(dts / 2 ** 32), dts % 2 ** 32));
    const trun = fullBox('trun', negative ? 1 : 0, 0x000f01, u32s(n, 0), entries);
    dataStart.push(mdatSize - 8);
    for (const d of p.data) mdatSize += d.length;
    trafs.push(box('traf', tfhd, tfdt, trun));
    dataOffsetAt.push(tfhd.length + tfdt.length + 8 + 12 + 4);
  }
  const mfhd = fullBox('mfhd', 0, 0, u32s(sequence));
  const moofSize = 8 + mfhd.length + trafs.reduce((a, b) => a + b.length, 0);
  // data_offset is relative to the moof's first byte (default-base-is-moof): moof, mdat header, earlier tracks' data.
  trafs.forEach((traf, t) => traf.writeInt32BE(moofSize + 8 + (dataStart[t] ?? 0), dataOffsetAt[t] ?? 0));
  const mdatHead = u32s(mdatSize, 0);
  mdatHead.write('mdat', 4, 'latin1');
  return Buffer.concat([styp, box('moof', mfhd, ...trafs), mdatHead, ...parts.flatMap((p) => p.data)]);
}
