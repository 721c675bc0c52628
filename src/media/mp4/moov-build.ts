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

function u32s(values: readonly number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) b.writeUInt32BE((values[i] as number) >>> 0, i * 4);
  return b;
}

/** Sum of a table's durations, track units. */
export function mediaDuration(s: SampleTable): number {
  let d = 0;
  for (let i = 0; i < s.count; i++) d += s.duration[i] as number;
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

/** stbl from a SampleTable: stsd copied from the source, every other table written from `s`. */
function buildStbl(moov: Buffer, stbl: BoxRef, s: SampleTable, wide: boolean): Buffer {
  const stsd = childBoxes(moov, stbl.body, stbl.end).find((b) => b.type === 'stsd');
  if (!stsd) throw new MediaFormatError('no stsd');
  const n = s.count;
  const parts: Buffer[] = [moov.subarray(stsd.start, stsd.end)];

  const stts: number[] = [];
  for (let i = 0; i < n; ) {
    const d = s.duration[i] as number;
    let j = i + 1;
    while (j < n && s.duration[j] === d) j++;
    stts.push(j - i, d);
    i = j;
  }
  parts.push(makeFullBox('stts', 0, 0, u32s([stts.length / 2, ...stts])));

  let anyCts = false;
  let negative = false;
  for (let i = 0; i < n; i++) {
    const c = s.ctsOffset[i] as number;
    if (c !== 0) anyCts = true;
    if (c < 0) negative = true;
  }
  if (anyCts) {
    const runs: number[] = [];
    for (let i = 0; i < n; ) {
      const c = s.ctsOffset[i] as number;
      let j = i + 1;
      while (j < n && s.ctsOffset[j] === c) j++;
      runs.push(j - i, c);
      i = j;
    }
    parts.push(makeFullBox('ctts', negative ? 1 : 0, 0, u32s([runs.length / 2, ...runs])));
  }

  const syncs: number[] = [];
  for (let i = 0; i < n; i++) if (s.sync[i] === 1) syncs.push(i + 1);
  if (syncs.length < n) parts.push(makeFullBox('stss', 0, 0, u32s([syncs.length, ...syncs])));

  // Chunks: runs of samples adjacent in the target file.
  const chunkOffsets: number[] = [];
  const stsc: number[] = [];
  let lastPer = -1;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && (s.offset[j - 1] as number) + (s.size[j - 1] as number) === s.offset[j]) j++;
    chunkOffsets.push(s.offset[i] as number);
    if (j - i !== lastPer) {
      stsc.push(chunkOffsets.length, j - i, 1);
      lastPer = j - i;
    }
    i = j;
  }
  parts.push(makeFullBox('stsc', 0, 0, u32s([stsc.length / 3, ...stsc])));

  let fixed = n > 0 ? (s.size[0] as number) : 0;
  for (let i = 1; i < n && fixed !== 0; i++) if (s.size[i] !== fixed) fixed = 0;
  const stsz = Buffer.alloc(8 + (fixed === 0 ? n * 4 : 0));
  stsz.writeUInt32BE(fixed, 0);
  stsz.writeUInt32BE(n, 4);
  if (fixed === 0) for (let i = 0; i < n; i++) stsz.writeUInt32BE(s.size[i] as number, 8 + i * 4);
  parts.push(makeFullBox('stsz', 0, 0, stsz));

  const co = Buffer.alloc(4 + chunkOffsets.length * (wide ? 8 : 4));
  co.writeUInt32BE(chunkOffsets.length, 0);
  chunkOffsets.forEach((off, i) => {
    if (wide) {
      co.writeUInt32BE(Math.floor(off / 2 ** 32), 4 + i * 8);
      co.writeUInt32BE(off >>> 0, 8 + i * 8);
    } else {
      co.writeUInt32BE(off, 4 + i * 4);
    }
  });
  parts.push(makeFullBox(wide ? 'co64' : 'stco', 0, 0, co));
  return makeBox('stbl', parts);
}
