/**
 * @module media/hls/moov-track
 * What the HLS builders need from a track's boxes in the raw moov that the shared Movie model does not carry: the
 * stsd box (copied into the fMP4 init segment) and the edit list's shift (ISO/IEC 14496-12 §8.6.6: the media time
 * the presentation starts at, e.g. the B-frame delay or the AAC priming), which parseMovie leaves to players; a
 * leading empty edit is already in the sample table's dts (media/mp4/parse.ts). Pure; runs in workers. Every length is
 * checked against its parent box, so a hostile moov gives a MediaFormatError, never a read past the buffer.
 */
import { MediaFormatError } from '../types.js';
import type { Movie } from '../types.js';

/** A box's payload bounds inside the buffer it was found in. */
interface BoxSpan {
  readonly type: string;
  /** First byte after the header. */
  readonly start: number;
  /** First byte after the box. */
  readonly end: number;
  /** First byte of the header. */
  readonly at: number;
}

/** The boxes directly inside `buf[from, to)`, in order. */
export function childBoxes(buf: Buffer, from: number, to: number): BoxSpan[] {
  const out: BoxSpan[] = [];
  let pos = from;
  while (pos + 8 <= to) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (size === 1) {
      if (pos + 16 > to) throw new MediaFormatError(`box ${type}: truncated 64-bit size`);
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    } else if (size === 0) {
      size = to - pos;
    }
    if (size < header || pos + size > to) throw new MediaFormatError(`box ${type}: size ${size} passes its parent`);
    out.push({ type, start: pos + header, end: pos + size, at: pos });
    pos += size;
  }
  return out;
}

function child(buf: Buffer, parent: BoxSpan, type: string): BoxSpan | null {
  return childBoxes(buf, parent.start, parent.end).find((b) => b.type === type) ?? null;
}

function need(buf: Buffer, box: BoxSpan, bytes: number): void {
  if (box.end - box.start < bytes) throw new MediaFormatError(`box ${box.type}: ${box.end - box.start} bytes, needs ${bytes}`);
}

/** What the HLS builders read from one trak. */
export interface TrackBoxes {
  /** The whole stsd box, header included. */
  readonly stsd: Buffer;
  /** Media time (track timescale) where the presentation starts: the first non-empty edit's media_time, else 0. */
  readonly shift: number;
}

/** The stsd and edit list of track `trackId` in `movie.moov`. Throws MediaFormatError when the trak or its stsd is missing. */
export function trackBoxes(movie: Movie, trackId: number): TrackBoxes {
  const buf = movie.moov;
  const top = childBoxes(buf, 0, buf.length);
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) throw new MediaFormatError('no moov box');
  for (const trak of childBoxes(buf, moov.start, moov.end)) {
    if (trak.type !== 'trak') continue;
    const tkhd = child(buf, trak, 'tkhd');
    if (!tkhd) continue;
    need(buf, tkhd, 4);
    const version = buf[tkhd.start];
    const idAt = tkhd.start + (version === 1 ? 20 : 12);
    need(buf, tkhd, idAt - tkhd.start + 4);
    if (buf.readUInt32BE(idAt) !== trackId) continue;
    const mdia = child(buf, trak, 'mdia');
    const minf = mdia ? child(buf, mdia, 'minf') : null;
    const stbl = minf ? child(buf, minf, 'stbl') : null;
    const stsd = stbl ? child(buf, stbl, 'stsd') : null;
    if (!stsd) throw new MediaFormatError(`track ${trackId}: no stsd`);
    const edts = child(buf, trak, 'edts');
    const elst = edts ? child(buf, edts, 'elst') : null;
    return { stsd: buf.subarray(stsd.at, stsd.end), shift: elst ? readShift(buf, elst) : 0 };
  }
  throw new MediaFormatError(`track ${trackId}: no trak in moov`);
}

/** media_time of the first edit that is not empty (media_time -1), else 0. */
function readShift(buf: Buffer, elst: BoxSpan): number {
  need(buf, elst, 8);
  const version = buf[elst.start];
  const count = buf.readUInt32BE(elst.start + 4);
  const entry = version === 1 ? 20 : 12;
  if (count > (elst.end - elst.start - 8) / entry) throw new MediaFormatError(`elst: ${count} entries pass the box`);
  for (let i = 0; i < count; i++) {
    const at = elst.start + 8 + i * entry;
    const mediaTime = version === 1 ? Number(buf.readBigInt64BE(at + 8)) : buf.readInt32BE(at + 4);
    if (mediaTime >= 0) return mediaTime;
    if (mediaTime !== -1) throw new MediaFormatError(`elst: media_time ${mediaTime}`);
  }
  return 0;
}
