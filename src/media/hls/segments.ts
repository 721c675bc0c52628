/**
 * @module media/hls/segments
 * Where a movie's HLS segments begin and end. The reference track (the first video track, else the first audio
 * track) is cut at its first sync sample at or after each multiple of the segment duration; every other track is
 * cut at its first sample (video: sync sample) presenting at or after that boundary, so all renditions share one
 * timeline. Tracks of a codec HLS cannot carry are left out when another track of their kind remains (else the
 * movie is a MediaFormatError: no silent video, no blank audio-only stream). Pure; runs in workers. A movie's segmentation is computed once per segment duration and kept with the
 * movie (WeakMap), so a segment request costs no walk over a 1-hour sample table.
 */
import { MediaFormatError } from '../types.js';
import type { Movie, Track } from '../types.js';
import { aacConfig, videoConfig } from './codecs.js';
import { trackBoxes } from './moov-track.js';
import type { TrackBoxes } from './moov-track.js';

/** A track HLS packages, with the edit list that places its samples on the presentation timeline. */
export interface HlsTrack {
  readonly track: Track;
  readonly boxes: TrackBoxes;
}

export interface Segmentation {
  /** Video and audio tracks with samples, in movie order, whose codecs HLS can carry. */
  readonly tracks: readonly HlsTrack[];
  readonly count: number;
  /** Presentation start of each segment, seconds. */
  readonly startSec: Float64Array;
  /** Duration of each segment, seconds (EXTINF). */
  readonly durationSec: Float64Array;
  /** Per track (same order as `tracks`): `count + 1` sample indices; segment k holds samples [cuts[k], cuts[k+1]). */
  readonly cuts: readonly Uint32Array[];
}

/** Presentation time in seconds of sample `i` of `t`. */
export function presentationSec(t: HlsTrack, i: number): number {
  const s = t.track.samples;
  return ((s.dts[i] ?? 0) + (s.ctsOffset[i] ?? 0) - t.boxes.shift) / t.track.timescale;
}

/** Decode time in seconds of sample `i` of `t`. */
export function decodeSec(t: HlsTrack, i: number): number {
  return ((t.track.samples.dts[i] ?? 0) - t.boxes.shift) / t.track.timescale;
}

const CACHE = new WeakMap<Movie, Map<number, Segmentation>>();

/** The segmentation of `movie` for segments of `segmentSec` seconds; MediaFormatError when it has no audio or video. */
export function segmentMovie(movie: Movie, segmentSec: number): Segmentation {
  if (!(segmentSec > 0) || !Number.isFinite(segmentSec)) throw new RangeError(`segment duration ${segmentSec} s`);
  let perMovie = CACHE.get(movie);
  const hit = perMovie?.get(segmentSec);
  if (hit) return hit;
  const result = compute(movie, segmentSec);
  if (!perMovie) CACHE.set(movie, (perMovie = new Map()));
  perMovie.set(segmentSec, result);
  return result;
}

function compute(movie: Movie, segmentSec: number): Segmentation {
  const tracks: HlsTrack[] = [];
  const refused = new Map<'video' | 'audio', string>();
  for (const track of movie.tracks) {
    if (track.kind === 'other' || track.samples.count === 0 || !(track.timescale > 0)) continue;
    try {
      if (track.kind === 'video') videoConfig(track);
      else aacConfig(track);
    } catch (err) {
      // A track HLS cannot carry (AC-3, Opus, VP9, ...) is left out while another of its kind remains.
      if (!(err instanceof MediaFormatError)) throw err;
      if (!refused.has(track.kind)) refused.set(track.kind, err.message);
      continue;
    }
    tracks.push({ track, boxes: trackBoxes(movie, track.id) });
  }
  for (const [kind, why] of refused) {
    if (!tracks.some((t) => t.track.kind === kind)) throw new MediaFormatError(`no ${kind} track HLS can carry: ${why}`);
  }
  const ref = tracks.find((t) => t.track.kind === 'video') ?? tracks[0];
  if (!ref) throw new MediaFormatError('no audio or video track to package');

  // Boundaries: the reference track's first sync sample at or after each multiple of segmentSec.
  const refCuts: number[] = [0];
  const bounds: number[] = [];
  // The presentation starts at 0 s (the edit list's media time): samples before it (AAC priming) are sent in
  // segment 0 but not counted in its EXTINF; a track that starts late (leading empty edit) starts its timeline late.
  const t0 = Math.max(presentationSec(ref, 0), 0);
  const rs = ref.track.samples;
  let target = segmentSec;
  for (let i = 1; i < rs.count; i++) {
    if (rs.sync[i] !== 1) continue;
    const rel = presentationSec(ref, i) - t0;
    if (rel < target) continue;
    refCuts.push(i);
    bounds.push(rel + t0);
    target = (Math.floor(rel / segmentSec) + 1) * segmentSec;
  }
  const count = refCuts.length;

  const cuts = tracks.map((t) => {
    const c = new Uint32Array(count + 1);
    if (t === ref) {
      refCuts.forEach((v, k) => (c[k] = v));
    } else {
      const s = t.track.samples;
      const needSync = t.track.kind === 'video';
      let j = 0;
      for (let k = 1; k < count; k++) {
        const b = bounds[k - 1] ?? 0;
        while (j < s.count && (presentationSec(t, j) < b || (needSync && s.sync[j] !== 1))) j++;
        c[k] = j;
      }
    }
    c[count] = t.track.samples.count;
    return c;
  });

  let end = -Infinity;
  for (const t of tracks) {
    const s = t.track.samples;
    const last = s.count - 1;
    end = Math.max(end, decodeSec(t, last) + (s.duration[last] ?? 0) / t.track.timescale);
  }
  const startSec = new Float64Array(count);
  const durationSec = new Float64Array(count);
  for (let k = 0; k < count; k++) startSec[k] = k === 0 ? t0 : (bounds[k - 1] ?? 0);
  for (let k = 0; k < count; k++) durationSec[k] = Math.max(0, (k + 1 < count ? (startSec[k + 1] ?? 0) : end) - (startSec[k] ?? 0));
  return { tracks, count, startSec, durationSec, cuts };
}
