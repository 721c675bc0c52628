/**
 * @module media/mp4/trim
 * MP4/M4A trimming: clips in seconds become a complete file (new moov first, then one mdat made of the kept samples'
 * source ranges) or, for HLS of a clip, a Movie whose tables are cut (offsets still into the source). Runs in workers.
 * Cut rule (mod_h264_streaming's, which STON's trimming follows): the video starts on the keyframe at or before the
 * requested start, so the first frame decodes; it ends before the first sample at or after the requested end. The
 * other tracks follow the video's cut times (each from its sample, or sync sample, at or before the video's start);
 * an audio-only file is cut on the audio sample holding the start. Clips are joined with continuous timestamps.
 */
import { buildMoov, mediaDuration, shiftChunkOffsets, sourceMediaTime, sourceTraks, trackMovieDuration } from './moov-build.js';
import type { OutTrack } from './moov-build.js';
import type { Clip, Movie, Plan, PlanPart, SampleTable, Track } from '../types.js';

/** AllTracks: OFF keeps the video and audio tracks only (STON's default); ON keeps every track (text, timecode...). */
export interface TrimOptions {
  readonly allTracks: boolean;
}

const U32_MAX = 0xffffffff;

/** Index of the first sample whose dts is >= t (count when none). */
function firstAtOrAfter(dts: Float64Array, count: number, t: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((dts[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The sync sample at or before time t (track units); the first sync sample when t is before every one. */
function syncAtOrBefore(s: SampleTable, t: number): number {
  let i = firstAtOrAfter(s.dts, s.count, t);
  if (i < s.count && s.dts[i] === t && s.sync[i] === 1) return i;
  for (i = i - 1; i >= 0; i--) if (s.sync[i] === 1) return i;
  for (i = 0; i < s.count; i++) if (s.sync[i] === 1) return i;
  return 0;
}

/** What a trim keeps: the source tracks, and per track, per clip, a [from, to) range of its samples. */
interface Selection {
  readonly tracks: number[];
  readonly ranges: Array<Array<[number, number]>>;
  /** Per kept track: empty time before its first sample, movie timescale units. */
  readonly delays: number[];
}

function select(movie: Movie, clips: readonly Clip[], allTracks: boolean): Selection | null {
  let ref = movie.tracks.findIndex((t) => t.kind === 'video' && t.samples.count > 0);
  if (ref < 0) ref = movie.tracks.findIndex((t) => t.kind === 'audio' && t.samples.count > 0);
  const refTrack = movie.tracks[ref];
  if (!refTrack) return null;
  const tracks: number[] = [];
  movie.tracks.forEach((t, i) => {
    if (t.samples.count > 0 && (allTracks || t.kind !== 'other')) tracks.push(i);
  });
  const ranges: Array<Array<[number, number]>> = tracks.map(() => []);
  const delays = tracks.map(() => 0);
  const end = movie.durationSec;
  for (const clip of clips) {
    const s = Math.max(0, clip.startSec);
    const e = Math.min(clip.endSec, end);
    if (!(s < end) || !(e > s)) continue;
    const rs = refTrack.samples;
    const ts = refTrack.timescale;
    const a = syncAtOrBefore(rs, s * ts);
    const toEnd = e >= end;
    const b = toEnd ? rs.count : firstAtOrAfter(rs.dts, rs.count, e * ts);
    if (b <= a) continue;
    const t0 = (rs.dts[a] as number) / ts;
    const t1 = toEnd || b >= rs.count ? Infinity : (rs.dts[b] as number) / ts;
    const first = ranges[0]?.length === 0;
    tracks.forEach((ti, k) => {
      const x = (movie.tracks[ti] as Track).samples;
      const xts = (movie.tracks[ti] as Track).timescale;
      const from = ti === ref ? a : syncAtOrBefore(x, t0 * xts);
      let to = ti === ref ? b : t1 === Infinity ? x.count : firstAtOrAfter(x.dts, x.count, t1 * xts);
      if (to < from) to = from;
      (ranges[k] as Array<[number, number]>).push([from, to]);
      if (first && from < x.count) {
        const lead = (x.dts[from] as number) / xts - t0;
        delays[k] = lead > 0 ? Math.round(lead * movie.timescale) : 0;
      }
    });
  }
  if ((ranges[0]?.length ?? 0) === 0) return null;
  return { tracks, ranges, delays };
}

/** The kept samples of one track, clips joined: tables copied, dts continuous from `delay` (track units). */
function cutTable(s: SampleTable, ranges: ReadonlyArray<[number, number]>, delay: number): SampleTable {
  let count = 0;
  for (const [a, b] of ranges) count += b - a;
  const out = {
    count,
    offset: new Float64Array(count),
    size: new Uint32Array(count),
    dts: new Float64Array(count),
    ctsOffset: new Int32Array(count),
    duration: new Uint32Array(count),
    sync: new Uint8Array(count),
  };
  let j = 0;
  for (const [a, b] of ranges) {
    out.offset.set(s.offset.subarray(a, b), j);
    out.size.set(s.size.subarray(a, b), j);
    out.ctsOffset.set(s.ctsOffset.subarray(a, b), j);
    out.duration.set(s.duration.subarray(a, b), j);
    out.sync.set(s.sync.subarray(a, b), j);
    j += b - a;
  }
  let t = delay;
  for (let i = 0; i < count; i++) {
    out.dts[i] = t;
    t += out.duration[i] as number;
  }
  return out;
}

interface Trimmed {
  readonly selection: Selection;
  readonly out: OutTrack[];
}

function trim(movie: Movie, clips: readonly Clip[], options: TrimOptions): Trimmed | null {
  const selection = select(movie, clips, options.allTracks);
  if (!selection) return null;
  const traks = sourceTraks(movie.moov);
  const out = selection.tracks.map((ti, k): OutTrack => {
    const t = movie.tracks[ti] as Track;
    const delay = selection.delays[k] as number;
    const trak = traks[ti];
    return {
      source: ti,
      samples: cutTable(t.samples, selection.ranges[k] as Array<[number, number]>, Math.round((delay * t.timescale) / movie.timescale)),
      timescale: t.timescale,
      delay,
      mediaTime: trak ? sourceMediaTime(movie.moov, trak) : 0,
    };
  });
  if (out.every((t) => t.samples.count === 0)) return null;
  return { selection, out };
}

function asTrack(src: Track, t: OutTrack): Track {
  const duration = mediaDuration(t.samples);
  let bytes = 0;
  for (let i = 0; i < t.samples.count; i++) bytes += t.samples.size[i] as number;
  return { ...src, duration, bitrate: duration > 0 ? Math.round((bytes * 8 * t.timescale) / duration) : 0, samples: t.samples };
}

/** The trimmed movie: sample tables cut, offsets still into the source file (its moov, built on first use, says so). */
export function trimMovie(movie: Movie, clips: readonly Clip[], options: TrimOptions): Movie | null {
  const r = trim(movie, clips, options);
  if (!r) return null;
  let durationSec = 0;
  for (const t of r.out) durationSec = Math.max(durationSec, trackMovieDuration(t, movie.timescale) / movie.timescale);
  let moov: Buffer | null = null;
  const result = {
    kind: movie.kind,
    fileSize: movie.fileSize,
    timescale: movie.timescale,
    durationSec,
    tracks: r.out.map((t) => asTrack(movie.tracks[t.source] as Track, t)),
    boxes: movie.boxes,
    ftyp: movie.ftyp,
    faststart: movie.faststart,
  };
  // HLS reads only the tables: the moov (tens of ms for an hour) is written only if someone asks for it.
  Object.defineProperty(result, 'moov', {
    enumerable: true,
    get: (): Buffer => (moov ??= buildMoov(movie.moov, movie.timescale, r.out, movie.fileSize > U32_MAX)),
  });
  return result as unknown as Movie;
}

/** The trimmed file as a plan: ftyp, new moov, one mdat of the kept samples (runs adjacent in the source coalesced). */
export function trimPlan(movie: Movie, clips: readonly Clip[], options: TrimOptions): Plan | null {
  const r = trim(movie, clips, options);
  if (!r) return null;
  const { selection, out } = r;
  // Within each clip, the tracks' samples are merged by source offset: the source's interleaving is kept, so a
  // player reading front to back finds audio and video together, and adjacent samples form long source ranges.
  const rel = out.map((t) => new Float64Array(t.samples.count));
  const srcTables = selection.tracks.map((ti) => (movie.tracks[ti] as Track).samples);
  const next = out.map(() => 0);
  const parts: Array<{ offset: number; length: number }> = [];
  let pos = 0;
  const clipCount = selection.ranges[0]?.length ?? 0;
  for (let c = 0; c < clipCount; c++) {
    const cursor = selection.ranges.map((rs) => (rs[c] as [number, number])[0]);
    const stop = selection.ranges.map((rs) => (rs[c] as [number, number])[1]);
    for (;;) {
      let pick = -1;
      let best = Infinity;
      for (let k = 0; k < out.length; k++) {
        if ((cursor[k] as number) >= (stop[k] as number)) continue;
        const off = (srcTables[k] as SampleTable).offset[cursor[k] as number] as number;
        if (off < best) {
          best = off;
          pick = k;
        }
      }
      if (pick < 0) break;
      const src = srcTables[pick] as SampleTable;
      const i = cursor[pick] as number;
      const size = src.size[i] as number;
      (rel[pick] as Float64Array)[next[pick] as number] = pos;
      next[pick] = (next[pick] as number) + 1;
      cursor[pick] = i + 1;
      const last = parts[parts.length - 1];
      if (last && last.offset + last.length === best) last.length += size;
      else parts.push({ offset: best, length: size });
      pos += size;
    }
  }
  const payload = pos;
  const mdatHeader = payload + 8 > U32_MAX ? 16 : 8;
  const ftypLen = movie.ftyp?.length ?? 0;
  // The moov's layout does not depend on the offsets' values, only on their width: write it at base 0, then move.
  const relTracks = out.map((t, k) => ({ ...t, samples: { ...t.samples, offset: rel[k] as Float64Array } }));
  let moov = buildMoov(movie.moov, movie.timescale, relTracks, false);
  if (ftypLen + moov.length + mdatHeader + payload > U32_MAX) moov = buildMoov(movie.moov, movie.timescale, relTracks, true);
  shiftChunkOffsets(moov, ftypLen + moov.length + mdatHeader);
  const head = Buffer.alloc(mdatHeader);
  if (mdatHeader === 16) {
    head.writeUInt32BE(1, 0);
    head.writeUInt32BE(Math.floor((payload + 16) / 2 ** 32), 8);
    head.writeUInt32BE((payload + 16) >>> 0, 12);
  } else {
    head.writeUInt32BE(payload + 8, 0);
  }
  head.write('mdat', 4, 'latin1');
  const planParts: PlanPart[] = [];
  if (movie.ftyp) planParts.push({ data: movie.ftyp });
  planParts.push({ data: moov }, { data: head }, ...parts);
  return { parts: planParts, size: ftypLen + moov.length + mdatHeader + payload, contentType: movie.kind === 'm4a' ? 'audio/mp4' : 'video/mp4' };
}
