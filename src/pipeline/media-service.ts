/**
 * @module pipeline/media-service
 * The media side of a worker (issue 22): the builders (src/media/mp4, hls, mp3, bound in pipeline/media-builders.ts)
 * behind one interface, the parsed indexes per object (pipeline/media-index-cache.ts), the log of files that cannot
 * be parsed (once per object) and the counters. The cache flow's media step (pipeline/media-hit.ts) uses it.
 * Runs in workers.
 */
import type { ObjectMeta, ObjectRef } from '../cache/store.js';
import type { Logger } from '../log.js';
import type { Clip, Movie, Plan, RangeReader } from '../media/types.js';
import { MediaFormatError } from '../media/types.js';
import { MediaIndexCache } from './media-index-cache.js';
import type { MediaFormat, MediaLabel } from './media-request.js';

/** What the pipeline needs of a parsed MP3 (the builders' Mp3Info has more; they get it back as they made it). */
export interface Mp3Parsed {
  readonly durationSec: number;
  /** Average bits per second. */
  readonly bitrate: number;
}

/** HLS options as the hls builders take them (src/media/hls/hls.ts HlsOptions). */
export interface HlsBuildOptions {
  readonly segmentSec: number;
  readonly version: number;
  readonly sequence: number;
  readonly container: 'ts' | 'fmp4';
  readonly indexName: string;
  /** MP3 HLS only (`<MP3HLS SegmentType>`): MPEG-TS or packed MP3 segments. */
  readonly mp3SegmentType?: 'ts' | 'mp3';
}

export interface HlsSegment {
  readonly body: Buffer;
  readonly contentType: string;
}

/** The builders, with the signatures of the media team's contract (helpers/prompts/media-shared.md). */
export interface MediaBuilders {
  parseMovie(read: RangeReader, fileSize: number): Promise<Movie>;
  relocatePlan(movie: Movie): Plan | null;
  trimPlan(movie: Movie, clips: readonly Clip[], options: { readonly allTracks: boolean }): Plan | null;
  trimMovie(movie: Movie, clips: readonly Clip[], options: { readonly allTracks: boolean }): Movie | null;
  hlsPlaylist(movie: Movie, name: string, options: HlsBuildOptions): string | null;
  hlsSegment(movie: Movie, name: string, read: RangeReader, options: HlsBuildOptions): Promise<HlsSegment | null>;
  parseMp3(read: RangeReader, fileSize: number): Promise<Mp3Parsed>;
  mp3TrimPlan(info: Mp3Parsed, read: RangeReader, clips: readonly Clip[]): Promise<Plan | null>;
  mp3HlsPlaylist(info: Mp3Parsed, name: string, options: HlsBuildOptions): string | null;
  mp3HlsSegment(info: Mp3Parsed, name: string, read: RangeReader, options: HlsBuildOptions): Promise<HlsSegment | null>;
}

/** A parsed original. */
export type MediaIndex = { readonly kind: 'movie'; readonly movie: Movie } | { readonly kind: 'mp3'; readonly info: Mp3Parsed };

/** Where the media counters go (per vhost). */
export interface MediaReport {
  request(vhost: string, label: MediaLabel): void;
  segmentBuilt(vhost: string): void;
  /** The original could not be parsed or built from: it was served unchanged. */
  failure(vhost: string): void;
  /** A malformed media request answered 400. */
  refused(vhost: string): void;
}

/** Bytes a parsed index holds, for the cache bound. */
function weigh(index: MediaIndex): number {
  if (index.kind === 'mp3') return 256;
  let bytes = index.movie.moov.length;
  // offset 8 + size 4 + dts 8 + ctsOffset 4 + duration 4 + sync 1 bytes per sample.
  for (const track of index.movie.tracks) bytes += track.samples.count * 29;
  return bytes;
}

/** Most bytes of built responses (plans' new bytes, playlists, segments) kept per worker. */
export const BUILT_CACHE_BYTES = 64 * 1024 * 1024;
/** Most built responses kept per worker. */
export const BUILT_CACHE_ENTRIES = 4096;

export class MediaService {
  readonly builders: MediaBuilders;
  readonly report: MediaReport;
  readonly #log: Logger;
  readonly #indexes = new MediaIndexCache<MediaIndex>(weigh);
  /**
   * Built responses by representation + transformation (pipeline/media-hit.ts): a rebuilt TS segment cost ~600 µs of
   * CPU against ~33 µs for a hit on stored bytes of its size (bench/README.md, media), so hot segments, playlists and
   * trim plans are kept in memory; a plan keeps only its new bytes, its source ranges are read from blocks.
   */
  readonly #built = new MediaIndexCache<unknown>((value) => (value as { weight?: number }).weight ?? 1024, BUILT_CACHE_ENTRIES, BUILT_CACHE_BYTES);

  constructor(builders: MediaBuilders, log: Logger, report: MediaReport) {
    this.builders = builders;
    this.#log = log;
    this.report = report;
  }

  /**
   * The parsed index of `meta` (ref's stored representation), read through `read`; parsed once per representation
   * in this worker. Rejects with MediaFormatError for a file the builders cannot parse (logged the first time), or
   * with the read's error (not kept: the next request retries).
   */
  async index(vhost: string, url: string, ref: ObjectRef, meta: ObjectMeta, format: MediaFormat, read: RangeReader): Promise<MediaIndex> {
    const key = MediaService.keyOf(ref, meta, format);
    const { value, fresh } = this.#indexes.obtain(key, async (): Promise<MediaIndex> => {
      if (format === 'mp3') return { kind: 'mp3', info: await this.builders.parseMp3(read, meta.size) };
      return { kind: 'movie', movie: await this.builders.parseMovie(read, meta.size) };
    });
    try {
      return await value;
    } catch (error) {
      if (!(error instanceof MediaFormatError)) {
        this.#indexes.forget(key);
        throw error;
      }
      if (fresh) {
        this.report.failure(vhost);
        this.#log.warn({ event: 'media.unparsable', vhost, url, format, err: error.message }, 'media file cannot be parsed: served unchanged');
      }
      throw error;
    }
  }

  /** The key of `meta`'s representation of `ref` parsed as `format`. */
  static keyOf(ref: ObjectRef, meta: ObjectMeta, format: MediaFormat): string {
    return `${format === 'mp3' ? 'mp3' : 'mp4'}:${MediaIndexCache.keyOf(ref, meta)}`;
  }

  /**
   * The response built under `key` (a representation and a transformation), made by `make` when not kept; `weight`
   * is its bytes held in memory. A failed build is not kept.
   */
  async built<T extends { readonly weight: number }>(key: string, make: () => Promise<T>): Promise<T> {
    const { value } = this.#built.obtain(key, make);
    try {
      return (await value) as T;
    } catch (error) {
      this.#built.forget(key);
      throw error;
    }
  }

  /** A build that failed on a parsed file (a builder's MediaFormatError): logged, counted, the original served. */
  buildFailed(vhost: string, url: string, label: MediaLabel, error: Error): void {
    this.report.failure(vhost);
    this.#log.warn({ event: 'media.build_failed', vhost, url, kind: label, err: error.message }, 'media build failed: original served unchanged');
  }
}
