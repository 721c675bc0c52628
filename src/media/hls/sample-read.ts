/**
 * @module media/hls/sample-read
 * Reads the bytes of one segment's samples through the RangeReader: only those samples, with samples that sit
 * back to back in the file (a chunk, or a video chunk followed by an audio chunk) coalesced into one read, so a
 * 6 s segment of an interleaved MP4 costs a handful of range reads. Pure over the reader; runs in workers.
 */
import { MediaFormatError } from '../types.js';
import type { RangeReader } from '../types.js';
import type { HlsTrack, Segmentation } from './segments.js';
import type { SegmentSamples } from './ts-segment.js';

/** Largest segment (sum of sample bytes) built in memory: 6 s at 300 Mbit/s; anything larger is a hostile index. */
export const MAX_SEGMENT_BYTES = 256 * 1024 * 1024;

/** Samples of segment `k` of the tracks `which` (indices into seg.tracks), with their bytes. */
export async function readSegmentSamples(seg: Segmentation, k: number, which: readonly number[], read: RangeReader): Promise<SegmentSamples[]> {
  const picks: Array<{ hls: HlsTrack; first: number; end: number }> = which.map((t) => {
    const cuts = seg.cuts[t] as Uint32Array;
    return { hls: seg.tracks[t] as HlsTrack, first: cuts[k] ?? 0, end: cuts[k + 1] ?? 0 };
  });
  let n = 0;
  let bytes = 0;
  for (const p of picks) {
    n += p.end - p.first;
    for (let i = p.first; i < p.end; i++) bytes += p.hls.track.samples.size[i] ?? 0;
  }
  if (bytes > MAX_SEGMENT_BYTES) throw new MediaFormatError(`segment ${k} holds ${bytes} bytes of samples`);
  // Every sample as (track, index, offset, size), sorted by file offset, then runs of back-to-back ones.
  const track = new Uint32Array(n);
  const index = new Uint32Array(n);
  const offset = new Float64Array(n);
  const size = new Float64Array(n);
  let j = 0;
  picks.forEach((p, t) => {
    const s = p.hls.track.samples;
    for (let i = p.first; i < p.end; i++, j++) {
      track[j] = t;
      index[j] = i - p.first;
      offset[j] = s.offset[i] ?? 0;
      size[j] = s.size[i] ?? 0;
    }
  });
  const sorted = Array.from({ length: n }, (_, x) => x).sort((a, b) => (offset[a] ?? 0) - (offset[b] ?? 0));

  const data: Buffer[][] = picks.map((p) => new Array<Buffer>(p.end - p.first));
  const reads: Array<Promise<void>> = [];
  for (let r = 0; r < n; ) {
    const startAt = offset[sorted[r] ?? 0] ?? 0;
    let endAt = startAt;
    let s = r;
    // Overlapping sample ranges (a hostile index) end a run: each such sample is read on its own.
    do {
      endAt += size[sorted[s] ?? 0] ?? 0;
      s++;
    } while (s < n && offset[sorted[s] ?? 0] === endAt);
    const members = sorted.slice(r, s);
    reads.push(
      read(startAt, endAt - startAt).then((buf) => {
        if (buf.length !== endAt - startAt) throw new MediaFormatError(`range read gave ${buf.length} of ${endAt - startAt} bytes`);
        for (const x of members) {
          const off = (offset[x] ?? 0) - startAt;
          (data[track[x] ?? 0] as Buffer[])[index[x] ?? 0] = buf.subarray(off, off + (size[x] ?? 0));
        }
      }),
    );
    r = s;
  }
  await Promise.all(reads);
  return picks.map((p, t) => ({ hls: p.hls, first: p.first, data: data[t] as Buffer[] }));
}
