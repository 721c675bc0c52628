/**
 * @module media/hls/hls
 * HLS packaging of a parsed MP4 on the fly (issue 22): playlist text and segments by name. Names, relative to the
 * `<Keyword>` directory of the file:
 * - a file with at most one video and one audio track: `<Index>` is the media playlist; segments `<n>.ts` (video
 *   and audio muxed) or, for fMP4, `init.mp4` + `<n>.m4s`;
 * - several video or audio tracks: `<Index>` is a master playlist; each track has its own media playlist
 *   `t<trackId>.m3u8` and segments `t<trackId>-<n>.ts` or `t<trackId>-init.mp4` + `t<trackId>-<n>.m4s`.
 * `<n>` counts from `<Sequence>` (EXT-X-MEDIA-SEQUENCE). Any other name, or a number outside the movie, is null.
 * Pure over Movie and RangeReader; runs in workers. Throws MediaFormatError for codecs it cannot package.
 */
import type { Movie, RangeReader } from '../types.js';
import { fmp4Init, fmp4Segment } from './fmp4.js';
import { masterPlaylist, mediaPlaylist, segmentIndex, trackPlaylistName, trackSegmentPrefix } from './playlist.js';
import { readSegmentSamples } from './sample-read.js';
import { segmentMovie } from './segments.js';
import type { Segmentation } from './segments.js';
import { muxTsSegment } from './ts-segment.js';

export interface HlsOptions {
  /** `<Duration>`: target segment length, seconds (> 0). */
  readonly segmentSec: number;
  /** `<Index Ver>`: EXT-X-VERSION; fMP4 forces 7. */
  readonly version: number;
  /** `<Sequence>`: EXT-X-MEDIA-SEQUENCE and the first segment's number. */
  readonly sequence: number;
  readonly container: 'ts' | 'fmp4';
  /** `<Index>`: the playlist name, e.g. `index.m3u8`. */
  readonly indexName: string;
  /** `<MP3HLS SegmentType>`: MP3 HLS segments as MPEG-TS (`<n>.ts`, default) or packed MP3 audio (`<n>.mp3`). */
  readonly mp3SegmentType?: 'ts' | 'mp3';
}

/** Content types of what this module builds. */
export const HLS_CONTENT_TYPES = {
  playlist: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  init: 'video/mp4',
  m4s: 'video/iso.segment',
  mp3: 'audio/mpeg',
} as const;

/** One media playlist: its segments' name prefix and the tracks (indices into Segmentation.tracks) it carries. */
interface Rendition {
  readonly prefix: string;
  readonly tracks: readonly number[];
}

/** The renditions of a segmentation and whether `<Index>` is a master playlist. */
function renditions(seg: Segmentation): { master: boolean; list: Array<Rendition & { playlist: string | null }> } {
  const videos = seg.tracks.filter((t) => t.track.kind === 'video').length;
  const audios = seg.tracks.length - videos;
  if (videos <= 1 && audios <= 1) return { master: false, list: [{ prefix: '', tracks: seg.tracks.map((_, i) => i), playlist: null }] };
  return {
    master: true,
    list: seg.tracks.map((t, i) => ({ prefix: trackSegmentPrefix(t.track.id), tracks: [i], playlist: trackPlaylistName(t.track.id) })),
  };
}

function version(options: HlsOptions): number {
  return options.container === 'fmp4' ? Math.max(7, options.version) : options.version;
}

/** Playlist text for `name` (the index; a per-track media playlist when the index is a master), null when there is no such playlist. */
export function hlsPlaylist(movie: Movie, name: string, options: HlsOptions): string | null {
  const seg = segmentMovie(movie, options.segmentSec);
  const { master, list } = renditions(seg);
  const v = version(options);
  if (name === options.indexName && master) return masterPlaylist(seg, v, options.container);
  const r = name === options.indexName ? list[0] : list.find((x) => x.playlist === name);
  if (!r) return null;
  const fmp4 = options.container === 'fmp4';
  return mediaPlaylist(seg, { version: v, sequence: options.sequence, prefix: r.prefix, ext: fmp4 ? 'm4s' : 'ts', map: fmp4 ? `${r.prefix}init.mp4` : null });
}

/**
 * Segment `name` ('<n>.ts', '<n>.m4s', 'init.mp4', or the per-track names the playlists use), built from the source
 * bytes it reads through `read` (only the samples of that segment); null when no such segment.
 */
export async function hlsSegment(movie: Movie, name: string, read: RangeReader, options: HlsOptions): Promise<{ body: Buffer; contentType: string } | null> {
  const seg = segmentMovie(movie, options.segmentSec);
  const { list } = renditions(seg);
  const fmp4 = options.container === 'fmp4';
  for (const r of list) {
    if (!name.startsWith(r.prefix)) continue;
    const rest = name.slice(r.prefix.length);
    if (fmp4 && rest === 'init.mp4') {
      return { body: fmp4Init(movie, r.tracks.map((t) => seg.tracks[t] ?? never())), contentType: HLS_CONTENT_TYPES.init };
    }
    const k = segmentIndex(rest, fmp4 ? '.m4s' : '.ts', options.sequence, seg.count);
    if (k === null) continue;
    const parts = await readSegmentSamples(seg, k, r.tracks, read);
    return fmp4
      ? { body: fmp4Segment(k + 1, parts), contentType: HLS_CONTENT_TYPES.m4s }
      : { body: muxTsSegment(parts), contentType: HLS_CONTENT_TYPES.ts };
  }
  return null;
}

function never(): never {
  throw new Error('rendition names a track outside the segmentation');
}
