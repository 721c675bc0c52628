/**
 * @module media/mp4/relocate
 * Header relocation ("faststart" on the fly): an MP4/M4A whose moov follows its mdat becomes ftyp + moov + the other
 * top-level boxes in file order (free/skip/wide dropped), every chunk offset moved to the byte's new place; a 32-bit
 * stco whose moved offsets pass 2^32 - 1 is rewritten as co64, which grows the moov, so the layout is iterated until
 * it is stable. Runs in workers; pure over the parsed Movie (the mdat is a range of the source, never copied).
 */
import { childBoxes, findChild, makeFullBox, rebuildBox } from './boxes.js';
import type { BoxRef } from './boxes.js';
import { MediaFormatError } from '../types.js';
import type { Movie, Plan, PlanPart, TopBox } from '../types.js';

/** Top-level boxes left out of the relocated file: padding only (§8.1.2; QuickTime's 'wide'). */
const DROPPED = new Set(['free', 'skip', 'wide']);
const U32_MAX = 0xffffffff;

/** The relocated body as a plan, or null when the moov already comes before the media data. Throws MediaFormatError. */
export function relocatePlan(movie: Movie): Plan | null {
  if (movie.faststart) return null;
  const moovBox = movie.boxes.find((b) => b.type === 'moov');
  if (!moovBox) throw new MediaFormatError('no moov box');
  const ftypBox = movie.ftyp ? movie.boxes.find((b) => b.type === 'ftyp') : undefined;
  const kept = movie.boxes.filter((b) => b !== moovBox && b !== ftypBox && !DROPPED.has(b.type));
  // A source byte at x inside kept box k lands at x + moovLength + shift[k].
  const ftypLen = movie.ftyp?.length ?? 0;
  const shift: number[] = [];
  let placed = ftypLen;
  for (const k of kept) {
    shift.push(placed - k.offset);
    placed += k.size;
  }
  const moov = movie.moov;
  const head = childBoxes(moov, 0, moov.length)[0];
  if (!head) throw new MediaFormatError('empty moov');
  const tables = chunkTables(moov, head);
  // Tables written 64-bit, by their offset in the moov.
  const wide = new Set<number>(tables.filter((t) => t.type === 'co64').map((t) => t.start));
  const move = (off: number, moovLen: number): number => off + moovLen + (shift[keptIndex(kept, off)] as number);

  // Each pass can only promote more tables (the moov only grows: 4 more bytes per promoted entry), so this ends
  // after at most one pass per table; the moov is written once at the end.
  let moovLen = build(moov, head, wide, null).length;
  for (;;) {
    let grew = 0;
    for (const t of tables) {
      if (wide.has(t.start)) continue;
      const n = moov.readUInt32BE(t.body + 4);
      for (let i = 0; i < n; i++) {
        if (move(moov.readUInt32BE(t.body + 8 + i * 4), moovLen) > U32_MAX) {
          wide.add(t.start);
          grew += 4 * n;
          break;
        }
      }
    }
    if (grew === 0) break;
    moovLen += grew;
  }
  const newMoov = build(moov, head, wide, (off) => move(off, moovLen));
  if (newMoov.length !== moovLen) throw new Error('relocated moov changed size');

  const parts: PlanPart[] = [];
  if (movie.ftyp) parts.push({ data: movie.ftyp });
  parts.push({ data: newMoov });
  let size = ftypLen + newMoov.length;
  for (const k of kept) {
    const last = parts[parts.length - 1];
    if (last && 'offset' in last && last.offset + last.length === k.offset) {
      parts[parts.length - 1] = { offset: last.offset, length: last.length + k.size };
    } else {
      parts.push({ offset: k.offset, length: k.size });
    }
    size += k.size;
  }
  return { parts, size, contentType: movie.kind === 'm4a' ? 'audio/mp4' : 'video/mp4' };
}

/** Index in `kept` (sorted by offset) of the box holding source byte `off`; a chunk outside every kept box is an error. */
function keptIndex(kept: readonly TopBox[], off: number): number {
  let lo = 0;
  let hi = kept.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = kept[mid] as TopBox;
    if (off < b.offset) hi = mid - 1;
    else if (off >= b.offset + b.size) lo = mid + 1;
    else return mid;
  }
  throw new MediaFormatError('chunk offset outside the media data');
}

/** Every track's stco or co64 box in the moov. */
function chunkTables(moov: Buffer, head: BoxRef): BoxRef[] {
  const out: BoxRef[] = [];
  for (const trak of childBoxes(moov, head.body, head.end)) {
    if (trak.type !== 'trak') continue;
    const mdia = findChild(childBoxes(moov, trak.body, trak.end), 'mdia');
    const minf = mdia && findChild(childBoxes(moov, mdia.body, mdia.end), 'minf');
    const stbl = minf && findChild(childBoxes(moov, minf.body, minf.end), 'stbl');
    const kids = stbl ? childBoxes(moov, stbl.body, stbl.end) : [];
    const t = findChild(kids, 'co64') ?? findChild(kids, 'stco');
    if (!t) continue;
    const n = t.end - t.body >= 8 ? moov.readUInt32BE(t.body + 4) : -1;
    if (n < 0 || n > (t.end - t.body - 8) / (t.type === 'co64' ? 8 : 4)) throw new MediaFormatError(`${t.type} entry_count passes its box`);
    out.push(t);
  }
  return out;
}

/** The moov with each chunk table written 32- or 64-bit as `wide` says, offsets mapped by `move` (kept when null). */
function build(moov: Buffer, head: BoxRef, wide: ReadonlySet<number>, move: ((off: number) => number) | null): Buffer {
  return rebuildBox(moov, head, (box) => {
    if (box.type !== 'stco' && box.type !== 'co64') return undefined;
    const is64 = box.type === 'co64';
    const n = moov.readUInt32BE(box.body + 4);
    const out64 = wide.has(box.start);
    const body = Buffer.alloc(4 + n * (out64 ? 8 : 4));
    body.writeUInt32BE(n, 0);
    for (let i = 0; i < n; i++) {
      const p = box.body + 8 + i * (is64 ? 8 : 4);
      const src = is64 ? moov.readUInt32BE(p) * 2 ** 32 + moov.readUInt32BE(p + 4) : moov.readUInt32BE(p);
      const off = move ? move(src) : src;
      if (out64) {
        body.writeUInt32BE(Math.floor(off / 2 ** 32), 4 + i * 8);
        body.writeUInt32BE(off >>> 0, 8 + i * 8);
      } else {
        body.writeUInt32BE(off, 4 + i * 4);
      }
    }
    return makeFullBox(out64 ? 'co64' : 'stco', 0, 0, body);
  });
}
