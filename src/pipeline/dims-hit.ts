/**
 * @module pipeline/dims-hit
 * The cache flow's DIMS step (issue 21): a request for `<original>/dims/<chain>` runs the cache flow on the
 * original (looked up, filled or revalidated once across all workers like any object), and where the flow would
 * deliver the fresh stored original, this step delivers its converted variant instead (transform/derived.ts): from
 * the hot tier or the index when made already (a plain hit, no conversion), else made now under the worker's DIMS
 * limiter and stored. The original is served instead when it is not a 200, exceeds MaxSourceSize, or its conversion
 * fails (logged and counted once per object); a full conversion queue answers 503 with Retry-After. Runs in workers.
 */
import type { CacheStore, ObjectMeta, ObjectRef } from '../cache/store.js';
import type { ClientWriter } from '../http/writer.js';
import type { CacheResult } from '../stats/counters.js';
import { afterFill, fillCanDerive, storedWhole } from './derived-fill.js';
import type { Fill, FillHead } from './fill.js';
import { DerivedVariants, readBody } from '../transform/derived.js';
import { DimsBusyError } from '../transform/dims/limiter.js';
import type { DimsService } from '../transform/dims/service.js';
import type { RequestCtx, TransactionStatus } from './context.js';
import { ERROR_HEADERS } from './fail.js';
import type { HotTier } from './hot-tier.js';

/** What the step needs from the cache flow of the original's disk. */
export interface DimsHitServices {
  readonly store: CacheStore;
  readonly hot: HotTier;
  readonly derived: DerivedVariants;
  readonly dims: DimsService;
  /** Serves a derived object as a hit with `original`'s age (CacheFlow.serveDerived). */
  serveDerived(ctx: RequestCtx, writer: ClientWriter, original: ObjectMeta, derived: ObjectMeta, body: Buffer | null, result: CacheResult): void;
  /** Serves the stored original (the fallback). */
  serveOriginal(ctx: RequestCtx, writer: ClientWriter, meta: ObjectMeta, result: CacheResult): void;
  finish(ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void;
  touch(hex: string): void;
}

/** Serves `ctx` (a DIMS request) the variant of the stored original `meta` (fresh, or stale while revalidating). */
export function serveDims(s: DimsHitServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, result: CacheResult): void {
  const request = ctx.dims;
  const dims = ctx.vhost.dims;
  if (request === null || dims === null || meta.status !== 200 || meta.size > dims.maxSourceBytes || s.dims.failedBefore(meta, request)) {
    s.serveOriginal(ctx, writer, meta, result);
    return;
  }
  // From the hot tier while its entry is due no recheck (HOT_RECHECK_MS); then the index confirms it below.
  const hot = s.hot.lookupKey(`${ref.key}~${request.tag}`, Date.now());
  if (hot !== undefined && DerivedVariants.valid(hot.meta, meta)) {
    s.touch(hot.hex);
    s.serveDerived(ctx, writer, meta, hot.meta, hot.body, result);
    return;
  }
  const found = s.derived.lookup(ref, meta, request.tag);
  if (found !== undefined) {
    s.touch(found.ref.hex);
    // Later hits come from memory when the tier takes it (read once, off this response).
    if (found.meta.inline !== null) s.derived.warm(found.ref, found.meta, Buffer.from(found.meta.inline.buffer, found.meta.inline.byteOffset, found.meta.inline.length));
    else if (s.hot.admits(found.meta.size)) void readBody(s.store, found.meta).then((body) => s.derived.warm(found.ref, found.meta, body), () => undefined);
    s.serveDerived(ctx, writer, meta, found.meta, null, result);
    return;
  }
  let aborted = false;
  writer.onAbort(() => {
    aborted = true;
    s.finish(ctx, 'aborted', writer.bytesSent);
  });
  const held = s.hot.peek(ref.key);
  const originalBody = held !== undefined && held.meta.generation === meta.generation ? held.body : null;
  const transform = s.dims.transform(ctx.vhost, dims, ctx.originUrl, ctx.query, request);
  void s.derived.obtain(ref, meta, transform, originalBody).then((outcome) => {
    if (aborted) return;
    if (outcome.kind === 'ready') {
      if (outcome.body !== null) s.derived.warm(outcome.ref, outcome.meta, outcome.body);
      // Made for this request: a miss on the variant, whatever the original was.
      s.serveDerived(ctx, writer, meta, outcome.meta, outcome.body, outcome.made ? 'TCP_MISS' : result);
      return;
    }
    if (outcome.kind === 'failed' && outcome.error instanceof DimsBusyError && outcome.error.kind === 'queue-full') {
      s.dims.refused(ctx.vhost);
      refuseBusy(s, ctx, writer);
      return;
    }
    s.serveOriginal(ctx, writer, meta, result);
  });
}

/**
 * A client of a fill that wants a variant of its object waits for the original to be stored whole, then is served
 * its variant like a hit; `reenter` is the flow's head step, run again when the fill ends otherwise. True when this
 * took the request; a fill that will not store (the admission filter, degraded storage) streams the original.
 */
export function dimsFill(s: DimsHitServices, ctx: RequestCtx, writer: ClientWriter, fill: Fill, reenter: () => void): boolean {
  if (!fillCanDerive(fill, s.store)) return false;
  const head = fill.head as FillHead;
  if (fill.state === 'complete') {
    const final = fill.meta;
    if (final === null || !storedWhole(final)) return false;
    serveDims(s, ctx, writer, head.ref, final, ctx.cacheResult);
    return true;
  }
  afterFill(fill, writer, () => s.finish(ctx, 'aborted', 0), reenter);
  return true;
}

/** 503 with Retry-After: every conversion slot and queue place of this worker is taken. */
function refuseBusy(s: DimsHitServices, ctx: RequestCtx, writer: ClientWriter): void {
  const body = '503 Service Unavailable: too many image conversions; retry later\n';
  ctx.status = 503;
  ctx.cacheResult = 'TCP_MISS';
  ctx.errorCode = 'FLINT_ERR_DIMS_BUSY';
  ctx.firstByteAt = performance.now();
  writer.endWithBody(503, 'Service Unavailable', [...ERROR_HEADERS, 'retry-after', String(s.dims.retryAfterSec)], body);
  s.finish(ctx, 'complete', Buffer.byteLength(body));
}
