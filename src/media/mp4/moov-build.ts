/**
 * @module media/mp4/moov-build
 * Writes a moov for new sample tables: the source moov's boxes kept (mvhd, tkhd, mdhd durations patched; stsd, hdlr,
 * vmhd/smhd, dinf, udta copied), each kept track's stbl rewritten from its SampleTable (stts, ctts, stss, stsc, stsz,
 * stco or co64; per-sample side tables such as sdtp and sample groups dropped, as they no longer match), and a new
 * edit list. Runs in workers. Invariant: a chunk is a run of a track's samples adjacent in the target file.
 */
import { childBoxes, makeBox, makeFullBox, rebuildBox } from './boxes.js';
import type { BoxRef } from './boxes.js';
import { MediaFormatError } from '../types.js';
import type { SampleTable } from '../types.js';

/** One output track: which source trak it comes from and its new table (offsets into the target file). */
export interface OutTrack {
  /** Index of the source trak among the moov's traks (= index in Movie.tracks). */
  readonly source: number;
  readonly samples: SampleTable;
  readonly timescale: number;
  /** Empty time before the first sample, in movie timescale units (a leading empty edit), 0 for none. */
  readonly delay: number;
  /** Media time where presentation starts (the source edit's B-frame shift or AAC priming), track units. */
  readonly mediaTime: number;
}

const U32_MAX = 0xffffffff;

/** Sum of a table's durations, track units. */
const durations = new WeakMap<Uint32Array, number>();
export function mediaDuration(s: SampleTable): number {
  let d = durations.get(s.duration);
  if (d === undefined) {
    d = 0;
    for (let i = 0; i < s.count; i++) d += s.duration[i] as number;
    durations.set(s.duration, d);
  }
  return d;
}

/** A track's presentation length in movie units: delay + media after the edit's start. */
export function trackMovieDuration(t: OutTrack, movieTimescale: number): number {
  const media = Math.max(0, mediaDuration(t.samples) - t.mediaTime);
  return t.delay + Math.round((media * movieTimescale) / t.timescale);
}

/** The first non-empty edit's media_time of a source trak (0 when it has no edit list). */
export function sourceMediaTime(moov: Buffer, trak: BoxRef): number {
  const edts = childBoxes(moov, trak.body, trak.end).find((b) => b.type === 'edts');
  const elst = edts ? childBoxes(moov, edts.body, edts.end).find((b) => b.type === 'elst') : undefined;
  if (!elst || elst.end - elst.body < 8) return 0;
  const v = moov[elst.body];
  const n = moov.readUInt32BE(elst.body + 4);
  const size = v === 1 ? 20 : 12;
  for (let i = 0, p = elst.body + 8; i < n && p + size <= elst.end; i++, p += size) {
    const mt = v === 1 ? moov.readInt32BE(p + 8) * 2 ** 32 + moov.readUInt32BE(p + 12) : moov.readInt32BE(p + 4);
    if (mt >= 0) return mt;
  }
  return 0;
}

/** The source moov's traks in order. */
export function sourceTraks(moov: Buffer): BoxRef[] {
  const head = childBoxes(moov, 0, moov.length)[0];
  if (!head || head.type !== 'moov') throw new MediaFormatError('no moov');
  return childBoxes(moov, head.body, head.end).filter((b) => b.type === 'trak');
}

/** A copy of a (version 0/1) full box with its duration field set; `at0`/`at1` are its offsets after version/flags. */
function patchDuration(moov: Buffer, box: BoxRef, at0: number, at1: number, value: number): Buffer {
  const out = Buffer.from(moov.subarray(box.start, box.end));
  const body = box.body - box.start;
  const v = out[body];
  if (v === 1) {
    if (body + 4 + at1 + 8 > out.length) throw new MediaFormatError(`truncated ${box.type}`);
    out.writeUInt32BE(Math.floor(value / 2 ** 32), body + 4 + at1);
    out.writeUInt32BE(value >>> 0, body + 8 + at1);
  } else {
    if (body + 4 + at0 + 4 > out.length) throw new MediaFormatError(`truncated ${box.type}`);
    out.writeUInt32BE(Math.min(value, U32_MAX), body + 4 + at0);
  }
  return out;
}

/** The new moov: `tracks` in place of the source traks (a source trak not listed is dropped). */
export function buildMoov(moov: Buffer, movieTimescale: number, tracks: readonly OutTrack[], wide: boolean): Buffer {
  const head = childBoxes(moov, 0, moov.length)[0];
  if (!head) throw new MediaFormatError('no moov');
  const traks = sourceTraks(moov);
  const bySource = new Map<number, OutTrack>();
  for (const t of tracks) bySource.set(t.source, t);
  let movieDuration = 0;
  for (const t of tracks) movieDuration = Math.max(movieDuration, trackMovieDuration(t, movieTimescale));
  return rebuildBox(moov, head, (box) => {
    if (box.type === 'mvhd') return patchDuration(moov, box, 12, 20, movieDuration);
    if (box.type !== 'trak') return undefined;
    const t = bySource.get(traks.findIndex((k) => k.start === box.start));
    return t ? buildTrak(moov, box, t, movieTimescale, wide) : Buffer.alloc(0);
  });
}

function buildTrak(moov: Buffer, trak: BoxRef, t: OutTrack, movieTimescale: number, wide: boolean): Buffer {
  const total = mediaDuration(t.samples);
  return rebuildBox(moov, trak, (box) => {
    switch (box.type) {
      case 'tkhd':
        return Buffer.concat([patchDuration(moov, box, 16, 24, trackMovieDuration(t, movieTimescale)), editList(t, movieTimescale)]);
      case 'edts':
        return Buffer.alloc(0);
      case 'mdhd':
        return patchDuration(moov, box, 12, 20, total);
      case 'stbl':
        return buildStbl(moov, box, t.samples, wide);
      default:
        return undefined;
    }
  });
}

/** edts: an empty edit for the delay, then the media from `mediaTime` at rate 1 (ISO/IEC 14496-12 §8.6.6). */
function editList(t: OutTrack, movieTimescale: number): Buffer {
  const media = Math.max(0, mediaDuration(t.samples) - t.mediaTime);
  const entries: number[][] = [];
  if (t.delay > 0) entries.push([t.delay, -1]);
  entries.push([Math.round((media * movieTimescale) / t.timescale), t.mediaTime]);
  const v1 = entries.some(([d]) => (d as number) > U32_MAX);
  const body = Buffer.alloc(4 + entries.length * (v1 ? 20 : 12));
  body.writeUInt32BE(entries.length, 0);
  entries.forEach(([d, mt], i) => {
    const p = 4 + i * (v1 ? 20 : 12);
    if (v1) {
      body.writeUInt32BE(Math.floor((d as number) / 2 ** 32), p);
      body.writeUInt32BE((d as number) >>> 0, p + 4);
      body.writeInt32BE(mt === -1 ? -1 : Math.floor((mt as number) / 2 ** 32), p + 8);
      body.writeUInt32BE((mt as number) >>> 0, p + 12);
      body.writeUInt32BE(0x10000, p + 16);
    } else {
      body.writeUInt32BE(d as number, p);
      body.writeInt32BE(mt as number, p + 4);
      body.writeUInt32BE(0x10000, p + 8);
    }
  });
  return makeBox('edts', [makeFullBox('elst', v1 ? 1 : 0, 0, body)]);
}

/** A full box of `n` entries of `width` 32-bit words each, filled by `fill(buf, at)` (at = first entry byte). */
function tableBox(type: string, version: number, n: number, width: number, fill: (buf: Buffer, at: number) => void): Buffer {
  const body = Buffer.alloc(4 + n * width * 4);
  body.writeUInt32BE(n, 0);
  fill(body, 4);
  return makeFullBox(type, version, 0, body);
}

/** Number of runs of equal values in `a[0, n)`. */
function runCount(a: ArrayLike<number>, n: number): number {
  let runs = 0;
  for (let i = 0; i < n; i++) if (i === 0 || a[i] !== a[i - 1]) runs++;
  return runs;
}

/** Writes (count, value) pairs for the runs of `a[0, n)`; values written as 32-bit two's complement. */
function writeRuns(a: ArrayLike<number>, n: number, buf: Buffer, at: number): void {
  let p = at;
  for (let i = 0; i < n; ) {
    const v = a[i] as number;
    let j = i + 1;
    while (j < n && a[j] === v) j++;
    buf.writeUInt32BE(j - i, p);
    buf.writeUInt32BE(v >>> 0, p + 4);
    p += 8;
    i = j;
  }
}

/** stbl from a SampleTable: stsd copied from the source, every other table written from `s`. */
function buildStbl(moov: Buffer, stbl: BoxRef, s: SampleTable, wide: boolean): Buffer {
  const stsd = childBoxes(moov, stbl.body, stbl.end).find((b) => b.type === 'stsd');
  if (!stsd) throw new MediaFormatError('no stsd');
  const n = s.count;
  const parts: Buffer[] = [moov.subarray(stsd.start, stsd.end)];
  parts.push(tableBox('stts', 0, runCount(s.duration, n), 2, (b, at) => writeRuns(s.duration, n, b, at)));

  let anyCts = false;
  let negative = false;
  for (let i = 0; i < n; i++) {
    const c = s.ctsOffset[i] as number;
    if (c !== 0) anyCts = true;
    if (c < 0) negative = true;
  }
  if (anyCts) parts.push(tableBox('ctts', negative ? 1 : 0, runCount(s.ctsOffset, n), 2, (b, at) => writeRuns(s.ctsOffset, n, b, at)));

  let syncs = 0;
  for (let i = 0; i < n; i++) syncs += s.sync[i] as number;
  if (syncs < n) {
    parts.push(tableBox('stss', 0, syncs, 1, (b, at) => {
      for (let i = 0, p = at; i < n; i++) {
        if (s.sync[i] !== 1) continue;
        b.writeUInt32BE(i + 1, p);
        p += 4;
      }
    }));
  }

  // Chunks: runs of samples adjacent in the target file; stsc lists where the samples-per-chunk count changes.
  const chunkStart = new Uint32Array(n);
  let chunks = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || (s.offset[i - 1] as number) + (s.size[i - 1] as number) !== s.offset[i]) chunkStart[chunks++] = i;
  }
  const perChunk = new Uint32Array(chunks);
  for (let c = 0; c < chunks; c++) perChunk[c] = (c + 1 < chunks ? (chunkStart[c + 1] as number) : n) - (chunkStart[c] as number);
  parts.push(tableBox('stsc', 0, runCount(perChunk, chunks), 3, (b, at) => {
    let p = at;
    for (let c = 0; c < chunks; c++) {
      if (c > 0 && perChunk[c] === perChunk[c - 1]) continue;
      b.writeUInt32BE(c + 1, p);
      b.writeUInt32BE(perChunk[c] as number, p + 4);
      b.writeUInt32BE(1, p + 8);
      p += 12;
    }
  }));

  let fixed = n > 0 ? (s.size[0] as number) : 0;
  for (let i = 1; i < n && fixed !== 0; i++) if (s.size[i] !== fixed) fixed = 0;
  const stsz = Buffer.alloc(8 + (fixed === 0 ? n * 4 : 0));
  stsz.writeUInt32BE(fixed, 0);
  stsz.writeUInt32BE(n, 4);
  if (fixed === 0) for (let i = 0; i < n; i++) stsz.writeUInt32BE(s.size[i] as number, 8 + i * 4);
  parts.push(makeFullBox('stsz', 0, 0, stsz));

  parts.push(tableBox(wide ? 'co64' : 'stco', 0, chunks, wide ? 2 : 1, (b, at) => {
    for (let c = 0; c < chunks; c++) {
      const off = s.offset[chunkStart[c] as number] as number;
      if (wide) {
        b.writeUInt32BE(Math.floor(off / 2 ** 32), at + c * 8);
        b.writeUInt32BE(off >>> 0, at + c * 8 + 4);
      } else {
        b.writeUInt32BE(off, at + c * 4);
      }
    }
  }));
  return makeBox('stbl', parts);
}

/** Adds `delta` to every chunk offset of a moov written by buildMoov, in place (the layout is fixed, the base moves). */
export function shiftChunkOffsets(moov: Buffer, delta: number): void {
  const walk = (start: number, end: number): void => {
    for (const b of childBoxes(moov, start, end)) {
      if (b.type === 'trak' || b.type === 'mdia' || b.type === 'minf' || b.type === 'stbl') walk(b.body, b.end);
      else if (b.type === 'stco' || b.type === 'co64') {
        const n = moov.readUInt32BE(b.body + 4);
        for (let i = 0; i < n; i++) {
          if (b.type === 'stco') {
            const p = b.body + 8 + i * 4;
            moov.writeUInt32BE(moov.readUInt32BE(p) + delta, p);
          } else {
            const p = b.body + 8 + i * 8;
            const v = moov.readUInt32BE(p) * 2 ** 32 + moov.readUInt32BE(p + 4) + delta;
            moov.writeUInt32BE(Math.floor(v / 2 ** 32), p);
            moov.writeUInt32BE(v >>> 0, p + 4);
          }
        }
      }
    }
  };
  const head = childBoxes(moov, 0, moov.length)[0];
  if (head) walk(head.body, head.end);
}
