/**
 * @module pipeline/media-hit
 * The cache flow's media step (issue 22): a media request (pipeline/media-request.ts: relocation, trimming, HLS)
 * runs the cache flow on the original, and where the flow would deliver the original, this step delivers what the
 * builders plan from it instead. The original is read through the block cache (pipeline/media-reader.ts): an
 * original not cached at all is started as a partial object (its first block, which gives its size), so only the
 * ranges a transformation needs are fetched from the origin; a whole fill (an origin without ranges, a
 * revalidation) is waited for, then served like a hit. Parsed indexes and built responses (plans, playlists,
 * segments) are kept per object in worker memory (pipeline/media-service.ts), not stored as derived variants: a
 * plan is mostly ranges of the original (its bytes come from the original's blocks), and a kept segment costs
 * ~75 µs of CPU against ~600 µs rebuilt and ~33 µs for a stored hit of its size (bench/README.md, media). A file
 * the builders cannot handle is served unchanged. Runs in workers.
 */
import { createHash } from 'node:crypto';
import type { RequestDirectives } from '../cache/cache-control.js';
import { currentAge } from '../cache/freshness.js';
import type { CacheStore, ObjectMeta, ObjectRef } from '../cache/store.js';
import type { ClientWriter } from '../http/writer.js';
import type { Movie, Plan } from '../media/types.js';
import { MediaFormatError } from '../media/types.js';
import { throttleOf } from '../media/throttle/throttled-writer.js';
import { decideServe } from '../policy/cacheable.js';
import type { CacheResult } from '../stats/counters.js';
import { InlineSource } from './body-source.js';
import { cacheStatusOf, servable } from './cache-headers.js';
import type { RequestCtx, TransactionStatus } from './context.js';
import { afterFill, fillCanDerive, storedWhole } from './derived-fill.js';
import type { Fill, FillHead } from './fill.js';
import { PlanSource } from './media-plan-source.js';
import { CachedRangeReader, MediaSourceChanged } from './media-reader.js';
import type { MediaRequest } from './media-request.js';
import { ratioProblem } from './media-request.js';
import { MediaService } from './media-service.js';
import type { HlsBuildOptions } from './media-service.js';
import { fetchMissing } from './partial-hit.js';
import type { PartialHitServices } from './partial-hit.js';
import { deliverObject, deliverStored, synthetic } from './stored-delivery.js';
import type { DeliveryServices } from './stored-delivery.js';

/** What the step needs from the cache flow. */
export interface MediaHitServices {
  readonly store: CacheStore;
  readonly delivery: DeliveryServices;
  /** The range path's view of the flow: block fetches, miss, follow, fail (pipeline/partial-hit.ts). */
  readonly steps: PartialHitServices;
  readonly media: MediaService;
  finish(ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void;
  touch(hex: string): void;
  /** The flow's lookup, run again (once) when the original changed while a media response was being built. */
  lookup(ctx: RequestCtx, writer: ClientWriter): void;
}

/** What a build gives. */
type BuiltKind =
  | { readonly kind: 'plan'; readonly plan: Plan }
  | { readonly kind: 'bytes'; readonly body: Buffer; readonly contentType: string }
  | { readonly kind: 'original' }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'invalid'; readonly problem: string };
type Built = BuiltKind & {
  /** Bytes it holds in memory (the built-response cache's weight). */
  readonly weight: number;
  /** Its ETag (derivedEtag), computed once. */
  readonly etag: string;
  /** For `<BandwidthThrottling>` `1000x` rules: the file's bitrate (bits/s) and the plan's leading new bytes (its header). */
  readonly bitrateBps: number | null;
  readonly headerBytes: number;
};

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
/** Headers of the original a transformed response does not keep (it gets its own type and validator). */
const REPLACED = new Set(['content-type', 'etag', 'content-md5', 'digest', 'content-range', 'content-disposition']);
/** Requests looked up again after their original changed under them (once each). */
const LOOKED_UP_AGAIN = new WeakSet<RequestCtx>();

/**
 * The media request's lookup (CacheFlow.#lookup), `meta` being what the index holds: a fresh original (whole or
 * partial) is served now; a stale partial one is fetched whole again; an absent one starts as a partial object.
 * False when the flow's usual path goes on (a stale whole original is revalidated there; this step then serves
 * the result through mediaFill or serveMedia).
 */
export function lookupMedia(s: MediaHitServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta | undefined, directives: RequestDirectives): boolean {
  const { store } = s;
  if (meta === undefined) {
    if (directives.onlyIfCached || !store.keyFits(ref) || store.degraded || s.steps.fillUnderWay(ref.hex) || store.index.getFill(ref.hash) !== undefined) return false;
    void startPartial(s, ctx, writer, ref);
    return true;
  }
  const fresh = decideServe({ stored: servable(meta, currentAge(meta, Date.now())), request: directives }) === 'fresh';
  if (!fresh) {
    if (meta.complete !== false) return false;
    s.steps.miss(ctx, writer, ref, null);
    return true;
  }
  s.touch(ref.hex);
  serveMedia(s, ctx, writer, ref, meta, 'TCP_HIT');
  return true;
}

/** An original not cached at all: its first block (and size) as a partial object, then the media response. */
async function startPartial(s: MediaHitServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef): Promise<void> {
  let aborted = false;
  writer.onAbort(() => {
    aborted = true;
    s.finish(ctx, 'aborted', writer.bytesSent);
  });
  const result = await fetchMissing(s.steps, ctx, ref, null, [0]);
  if (aborted) return;
  if (result.kind === 'stored') {
    serveMedia(s, ctx, writer, ref, s.store.get(ref) ?? result.meta, 'TCP_MISS');
    return;
  }
  if (result.kind === 'whole') {
    // The origin sent the whole object: this request follows that fill, and mediaFill serves it once stored.
    s.steps.followLocal(ctx, writer, result.fill, null, 'TCP_MISS', true);
    return;
  }
  if (result.kind === 'failed') {
    if (s.store.degraded) s.steps.passThrough(ctx, writer);
    else s.steps.fail(ctx, writer, result.error);
    return;
  }
  if (result.status !== undefined && s.steps.link(ctx, writer, result.status)) return;
  s.steps.miss(ctx, writer, ref, null);
}

/**
 * A media client of a running fill waits for the original to be stored whole, then is served like a hit; `reenter`
 * is the flow's head step. False when the fill will not store (the original then streams unchanged).
 */
export function mediaFill(s: MediaHitServices, ctx: RequestCtx, writer: ClientWriter, fill: Fill, reenter: () => void): boolean {
  if (!fillCanDerive(fill, s.store)) return false;
  const head = fill.head as FillHead;
  if (fill.state === 'complete') {
    const final = fill.meta;
    if (final === null || !storedWhole(final)) return false;
    serveMedia(s, ctx, writer, head.ref, final, ctx.cacheResult);
    return true;
  }
  afterFill(fill, writer, () => s.finish(ctx, 'aborted', 0), reenter);
  return true;
}

/** Serves `ctx`'s media request from the servable original `meta` (whole or partial). */
export function serveMedia(s: MediaHitServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, result: CacheResult): void {
  const request = ctx.media as MediaRequest;
  if (meta.status !== 200 || meta.size === 0) {
    serveOriginal(s, ctx, writer, ref, meta, result);
    return;
  }
  s.media.report.request(ctx.vhost.name, request.label);
  let aborted = false;
  writer.onAbort(() => {
    aborted = true;
    s.finish(ctx, 'aborted', writer.bytesSent);
  });
  const reader = new CachedRangeReader(s.store, ref, meta, (blocks, known) => fetchMissing(s.steps, ctx, ref, known, blocks));
  void build(s, ctx, ref, meta, request, reader).then(
    (built) => {
      if (aborted) {
        reader.release();
        return;
      }
      deliverBuilt(s, ctx, writer, ref, meta, result, reader, built);
    },
    (error: unknown) => {
      reader.release();
      if (aborted) return;
      if (error instanceof MediaFormatError) {
        serveOriginal(s, ctx, writer, ref, meta, result);
      } else if (error instanceof MediaSourceChanged && !LOOKED_UP_AGAIN.has(ctx)) {
        LOOKED_UP_AGAIN.add(ctx);
        s.lookup(ctx, writer);
      } else {
        s.steps.fail(ctx, writer, error);
      }
    },
  );
}

/**
 * The response for `request` from `meta`, kept per worker once built (MediaService.built): the key is the
 * original's representation, the transformation and the settings that shape it (the same inputs as the ETag).
 */
async function build(s: MediaHitServices, ctx: RequestCtx, ref: ObjectRef, meta: ObjectMeta, request: MediaRequest, reader: CachedRangeReader): Promise<Built> {
  const etag = derivedEtag(ctx, meta, request);
  const key = `${MediaService.keyOf(ref, meta, request.format)}|${etag}`;
  return s.media.built(key, async () => {
    const made = await buildNew(s, ctx, ref, meta, request, reader);
    const weight = made.kind === 'plan' ? planBytes(made.plan) : made.kind === 'bytes' ? made.body.length : 64;
    // The index is kept (MediaService.index): this second ask is a lookup.
    const index = await s.media.index(ctx.vhost.name, ctx.url, ref, meta, request.format, reader.read);
    const bitrateBps = index.kind === 'mp3' ? index.info.bitrate : index.movie.tracks.reduce((sum, track) => sum + track.bitrate, 0);
    return { ...made, weight, etag, bitrateBps: bitrateBps > 0 ? bitrateBps : null, headerBytes: made.kind === 'plan' ? leadingBytes(made.plan) : 0 };
  });
}

/** Bytes of a plan's new parts before its first source range (ftyp + moov, an ID3 tag + Xing frame). */
function leadingBytes(plan: Plan): number {
  let bytes = 0;
  for (const part of plan.parts) {
    if (!('data' in part)) break;
    bytes += part.data.length;
  }
  return bytes;
}

/** Bytes of a plan's new parts (its source ranges stay in the blocks). */
function planBytes(plan: Plan): number {
  let bytes = 256;
  for (const part of plan.parts) bytes += 'data' in part ? part.data.length : 16;
  return bytes;
}

async function buildNew(s: MediaHitServices, ctx: RequestCtx, ref: ObjectRef, meta: ObjectMeta, request: MediaRequest, reader: CachedRangeReader): Promise<BuiltKind> {
  const { builders } = s.media;
  const index = await s.media.index(ctx.vhost.name, ctx.url, ref, meta, request.format, reader.read);
  const media = ctx.vhost.media;
  const clips = request.clips;
  const durationSec = index.kind === 'movie' ? index.movie.durationSec : index.info.durationSec;
  if (clips !== null && request.multi) {
    const problem = ratioProblem(clips, durationSec, media.trimming.maxRatioPercent);
    if (problem !== null) return { kind: 'invalid', problem };
  }
  const options = { allTracks: media.trimming.allTracks };
  try {
    if (index.kind === 'mp3') {
      const info = index.info;
      if (request.kind === 'trim' && clips !== null) {
        const plan = await builders.mp3TrimPlan(info, reader.read, clips);
        return plan === null ? { kind: 'invalid', problem: 'nothing of the file is left in the clips' } : { kind: 'plan', plan };
      }
      const hls = hlsOptions(ctx);
      if (hls === null) return { kind: 'original' };
      if (request.kind === 'hls-playlist') return playlist(builders.mp3HlsPlaylist(info, request.hlsName, hls));
      return segment(s, ctx, await builders.mp3HlsSegment(info, request.hlsName, reader.read, hls));
    }
    const movie = index.movie;
    if (request.kind === 'relocate') {
      const plan = builders.relocatePlan(movie);
      return plan === null ? { kind: 'original' } : { kind: 'plan', plan };
    }
    if (request.kind === 'trim' && clips !== null) {
      const plan = builders.trimPlan(movie, clips, options);
      return plan === null ? { kind: 'invalid', problem: 'nothing of the file is left in the clips' } : { kind: 'plan', plan };
    }
    const hls = hlsOptions(ctx);
    if (hls === null) return { kind: 'original' };
    const source: Movie | null = clips === null ? movie : builders.trimMovie(movie, clips, options);
    if (source === null) return { kind: 'invalid', problem: 'nothing of the file is left in the clips' };
    if (request.kind === 'hls-playlist') return playlist(withTrimQuery(builders.hlsPlaylist(source, request.hlsName, hls), request.trimQuery));
    return segment(s, ctx, await builders.hlsSegment(source, request.hlsName, reader.read, hls));
  } catch (error) {
    if (error instanceof MediaFormatError) s.media.buildFailed(ctx.vhost.name, ctx.url, request.label, error);
    throw error;
  }
}

/**
 * A playlist of a trimmed movie: its URIs (segment lines, `URI="..."` attributes) carry the trim parameters, so the
 * player asks for the segments of the same clip.
 */
function withTrimQuery(text: string | null, trimQuery: string): string | null {
  if (text === null || trimQuery === '') return text;
  const add = (uri: string): string => `${uri}${uri.includes('?') ? '&' : '?'}${trimQuery}`;
  return text
    .split('\n')
    .map((line) => (line === '' ? line : line.startsWith('#') ? line.replace(/URI="([^"]*)"/g, (_, uri: string) => `URI="${add(uri)}"`) : add(line)))
    .join('\n');
}

function playlist(text: string | null): BuiltKind {
  return text === null ? { kind: 'not-found' } : { kind: 'bytes', body: Buffer.from(text), contentType: PLAYLIST_TYPE };
}

function segment(s: MediaHitServices, ctx: RequestCtx, built: { body: Buffer; contentType: string } | null): BuiltKind {
  if (built === null) return { kind: 'not-found' };
  s.media.report.segmentBuilt(ctx.vhost.name);
  return { kind: 'bytes', body: built.body, contentType: built.contentType };
}

/** The HLS options of the request's keyword (MP4HLS, or MP3HLS with MP4HLS's playlist settings). */
function hlsOptions(ctx: RequestCtx): HlsBuildOptions | null {
  const media = ctx.vhost.media;
  const request = ctx.media as MediaRequest;
  if (request.format === 'mp3') {
    const hls = media.mp3Hls;
    return hls === null
      ? null
      : { segmentSec: hls.segmentSec, version: hls.version, sequence: hls.sequence, container: 'ts', indexName: hls.indexName, mp3SegmentType: hls.segmentType === 'MP3' ? 'mp3' : 'ts' };
  }
  const hls = media.mp4Hls;
  return hls === null ? null : { segmentSec: hls.segmentSec, version: hls.version, sequence: hls.sequence, container: hls.container === 'FMP4' ? 'fmp4' : 'ts', indexName: hls.indexName };
}

function deliverBuilt(
  s: MediaHitServices,
  ctx: RequestCtx,
  writer: ClientWriter,
  ref: ObjectRef,
  meta: ObjectMeta,
  result: CacheResult,
  reader: CachedRangeReader,
  built: Built,
): void {
  if (built.kind === 'original') {
    reader.release();
    serveOriginal(s, ctx, writer, ref, meta, result);
    return;
  }
  if (built.kind === 'not-found' || built.kind === 'invalid') {
    reader.release();
    ctx.cacheResult = result;
    if (built.kind === 'invalid') {
      s.media.report.refused(ctx.vhost.name);
      ctx.errorCode = 'FLINT_ERR_MEDIA_REQUEST';
      ctx.errorDetail = built.problem;
      synthetic(s.delivery, ctx, writer, 400, 'Bad Request', '400 Bad Request: media parameters out of range for this file\n');
    } else {
      synthetic(s.delivery, ctx, writer, 404, 'Not Found', '404 Not Found: no such HLS playlist or segment\n');
    }
    return;
  }
  const contentType = built.kind === 'plan' ? built.plan.contentType : built.contentType;
  const etag = built.etag;
  const headers = derivedHeaders(meta.headers, contentType, etag);
  const ageSec = currentAge(meta, Date.now());
  ctx.cacheResult = result;
  const cacheStatus = result === 'TCP_HIT' ? 'hit; detail=media' : cacheStatusOf(result);
  const validators = { etag, lastModifiedMs: meta.lastModifiedMs };
  if (built.kind === 'plan') {
    // <BandwidthThrottling>: the header and Boost seconds at full speed, then the file's bitrate x Ratio.
    throttleOf(writer)?.setMedia(built.bitrateBps, built.headerBytes);
    deliverObject(s.delivery, ctx, writer, 200, headers, built.plan.size, validators, new PlanSource(built.plan, reader), ageSec, cacheStatus);
  } else {
    reader.release();
    deliverObject(s.delivery, ctx, writer, 200, headers, built.body.length, validators, new InlineSource(built.body), ageSec, cacheStatus);
  }
}

/** The original as stored (a file that needs no change, or cannot be changed): whole, or from a partial object. */
function serveOriginal(s: MediaHitServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, result: CacheResult): void {
  const ageSec = currentAge(meta, Date.now());
  const cacheStatus = result === 'TCP_HIT' ? 'hit' : cacheStatusOf(result);
  if (meta.complete !== false) {
    deliverStored(s.delivery, ctx, writer, meta, ageSec, result, cacheStatus);
    return;
  }
  ctx.cacheResult = result;
  const reader = new CachedRangeReader(s.store, ref, meta, (blocks, known) => fetchMissing(s.steps, ctx, ref, known, blocks));
  const whole: Plan = { parts: [{ offset: 0, length: meta.size }], size: meta.size, contentType: '' };
  deliverObject(s.delivery, ctx, writer, meta.status, meta.headers, meta.size, meta, new PlanSource(whole, reader), ageSec, cacheStatus);
}

/**
 * A strong validator of the transformed bytes: the original's identity (its ETag, else its generation, size and
 * date) plus the transformation and the settings that shape it.
 */
function derivedEtag(ctx: RequestCtx, meta: ObjectMeta, request: MediaRequest): string {
  const media = ctx.vhost.media;
  const hls = request.format === 'mp3' ? media.mp3Hls : media.mp4Hls;
  const shape = hls === null ? '' : `${hls.segmentSec}/${hls.version}/${hls.sequence}/${hls.indexName}/${'container' in hls ? hls.container : hls.segmentType}`;
  const identity = meta.etag ?? `${meta.generation}/${meta.size}/${meta.lastModifiedMs ?? ''}`;
  const digest = createHash('sha1').update(`${identity}\n${request.tag}\n${media.trimming.allTracks ? 'all' : 'main'}\n${shape}`).digest('base64url');
  return `"m${digest.slice(0, 22)}"`;
}

function derivedHeaders(stored: readonly string[], contentType: string, etag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < stored.length; i += 2) {
    const name = stored[i] as string;
    if (!REPLACED.has(name)) out.push(name, stored[i + 1] as string);
  }
  out.push('content-type', contentType, 'etag', etag);
  return out;
}
