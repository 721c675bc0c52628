/**
 * @module pipeline/compressed-hit
 * The cache flow's compression step (transform/compression.ts): a request on a `<Compression>` vhost whose client
 * accepts an encoding the object qualifies for is answered with that encoding's derived variant
 * (transform/derived.ts) instead of the identity body: from the hot tier when both copies are there (CacheFlow's
 * hot path; `hotEncoded`), else from the index (this file: serveEncoded), made once across all workers on first
 * demand. Both copies are kept in the hot tier while they fit, refreshed here once a second as the tier's recheck
 * asks (HOT_RECHECK_MS). When the copy cannot be made (the transform did not pay, failed, or storage failed), the
 * identity body is served and the failure logged once per object and encoding. Also: how a fill's clients wait
 * for a body to encode (encodeFill), and the Vary of identity responses (identityVary, varyForEncodings). Runs in
 * workers.
 */
import type { CompressionEncoding } from '../config/types.js';
import type { CacheStore, ObjectMeta, ObjectRef } from '../cache/store.js';
import type { ClientWriter } from '../http/writer.js';
import { headerValue } from '../http/request.js';
import type { Logger } from '../log.js';
import type { CacheResult } from '../stats/counters.js';
import { compressionDeclined, compressionPolicy, withVaryAcceptEncoding } from '../transform/compression.js';
import type { CompressionReport } from '../transform/compression.js';
import { DerivedVariants, readBody } from '../transform/derived.js';
import type { Transform } from '../transform/derived.js';
import type { RequestCtx, TransactionStatus } from './context.js';
import { afterFill, fillCanDerive, storedWhole } from './derived-fill.js';
import type { Fill, FillHead } from './fill.js';
import type { HotObject, HotTier } from './hot-tier.js';

/** What the step needs from the cache flow of the object's disk. */
export interface CompressedHitServices {
  readonly store: CacheStore;
  readonly hot: HotTier;
  readonly derived: DerivedVariants;
  readonly log: Logger;
  readonly report: CompressionReport;
  /** Serves a derived object as a hit with `original`'s age (CacheFlow.serveDerived). */
  serveDerived(ctx: RequestCtx, writer: ClientWriter, original: ObjectMeta, derived: ObjectMeta, body: Buffer | null, result: CacheResult, status?: string): void;
  /** Serves the stored identity object (the fallback). */
  serveOriginal(ctx: RequestCtx, writer: ClientWriter, meta: ObjectMeta, result: CacheResult, status?: string): void;
  finish(ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void;
  touch(hex: string): void;
}

/**
 * The encoding transform for `ctx` and a response of this shape (`sizeKnown` false while a fill's size is not
 * final), or null for identity: vhost off, client accepts none, object not a target.
 */
export function encodingTransform(ctx: RequestCtx, report: CompressionReport, shape: { status: number; headers: readonly string[]; size: number }, sizeKnown = true): Transform | null {
  const policy = compressionPolicy(ctx.vhost, report);
  if (policy === null || !policy.eligible(shape, ctx.path, sizeKnown)) return null;
  return policy.transformFor(headerValue(ctx.head, 'accept-encoding'));
}

/** encodingTransform for a stored object (its eligibility remembered per meta: the hot path asks this). */
export function storedEncodingTransform(ctx: RequestCtx, report: CompressionReport, meta: ObjectMeta): Transform | null {
  const policy = compressionPolicy(ctx.vhost, report);
  if (policy === null || !policy.eligibleStored(meta, ctx.path)) return null;
  const transform = policy.transformFor(headerValue(ctx.head, 'accept-encoding'));
  return transform === null || compressionDeclined(meta, transform.tag) ? null : transform;
}

/**
 * A client of a fill (`owner`: the request that leads it) that gets an encoded copy of its object waits for the
 * identity body to be complete (it is compressed whole, not streamed), then is served like a hit; `status` is its
 * Cache-Status text, `reenter` the flow's head step, run again when the fill ends otherwise. True when this took the
 * request. A fill the admission filter may drop, one that cannot store, and the owner of a fill whose cookie was
 * stripped from the stored copy (<SetCookie>strip) stream identity as usual.
 */
export function encodeFill(s: CompressedHitServices, ctx: RequestCtx, writer: ClientWriter, fill: Fill, owner: boolean, status: string, reenter: () => void): boolean {
  const head = fill.head as FillHead;
  if (!fillCanDerive(fill, s.store)) return false;
  if (owner && fill.originHeaders['set-cookie'] !== undefined) return false;
  const final = fill.state === 'complete' ? fill.meta : null;
  const transform = encodingTransform(ctx, s.report, { status: head.meta.status, headers: head.meta.headers, size: final?.size ?? head.size }, final !== null || head.size >= 0);
  if (transform === null) return false;
  if (final !== null) {
    if (!storedWhole(final)) return false;
    serveEncoded(s, ctx, writer, head.ref, final, transform, ctx.cacheResult, status);
    return true;
  }
  afterFill(fill, writer, () => s.finish(ctx, 'aborted', 0), reenter);
  return true;
}

/**
 * Vary names to key an identity response by: without accept-encoding (Flint asked the origin for identity, so the
 * answer is the same whatever the client accepts), unless the origin encoded it anyway (then it is kept per value).
 */
export function identityVary(names: string[], headers: Record<string, string | string[] | undefined>): string[] {
  const encoding = headers['content-encoding'];
  const identity = encoding === undefined || (typeof encoding === 'string' && encoding.trim().toLowerCase() === 'identity');
  return identity && names.includes('accept-encoding') ? names.filter((n) => n !== 'accept-encoding') : names;
}

/** Stored headers of an identity response that has encoded copies: with Accept-Encoding in Vary (RFC 9110 §12.5.5). */
export function varyForEncodings(ctx: RequestCtx, report: CompressionReport, status: number, stored: string[], size: number): string[] {
  const policy = compressionPolicy(ctx.vhost, report);
  return policy !== null && policy.eligible({ status, headers: stored, size }, ctx.path, size >= 0) ? withVaryAcceptEncoding(stored) : stored;
}

/** The hot-tier entry of `original`'s encoded copy, when valid and due no recheck (the hot path serves it). */
export function hotEncoded(hot: HotTier, original: HotObject, tag: string, now: number): HotObject | undefined {
  const entry = hot.lookupKey(`${original.meta.key}~${tag}`, now);
  return entry !== undefined && DerivedVariants.valid(entry.meta, original.meta) ? entry : undefined;
}

/**
 * Serves `ctx` the `transform` copy of the fresh stored object (`ref`, `meta`): stored already (kept in the hot
 * tier), or made now; the identity object when it cannot be made. `result` is the cache result to log, `status` the
 * Cache-Status text.
 */
export function serveEncoded(s: CompressedHitServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, transform: Transform, result: CacheResult, status: string): void {
  const now = Date.now();
  ctx.contentEncoding = transform.tag as CompressionEncoding;
  // The identity copy stays in the hot tier too (the hot path looks it up first): its recheck is due, or it is new.
  const heldOriginal = s.hot.peek(ref.key);
  const originalBody = heldOriginal !== undefined && heldOriginal.meta.generation === meta.generation ? heldOriginal.body : meta.inline !== null ? inlineBuffer(meta.inline) : null;
  if (originalBody !== null) s.hot.put(ref.primary, ref.vary, ref.hex, meta, originalBody, now);
  const found = s.derived.lookup(ref, meta, transform.tag);
  if (found !== undefined) {
    s.touch(found.ref.hex);
    const held = s.hot.peek(found.ref.key);
    const body = held !== undefined && held.meta.generation === found.meta.generation ? held.body : found.meta.inline !== null ? inlineBuffer(found.meta.inline) : null;
    if (body !== null) s.derived.warm(found.ref, found.meta, body);
    else if (s.hot.admits(found.meta.size)) void readBody(s.store, found.meta).then((read) => s.derived.warm(found.ref, found.meta, read), () => undefined);
    s.serveDerived(ctx, writer, meta, found.meta, body, result, status);
    return;
  }
  if (s.store.degraded) {
    // Storage is failing (cache/store.ts): nothing new is stored, so a copy made now would be made again per request.
    ctx.contentEncoding = '';
    s.serveOriginal(ctx, writer, meta, result, status);
    return;
  }
  let aborted = false;
  writer.onAbort(() => {
    aborted = true;
    s.finish(ctx, 'aborted', writer.bytesSent);
  });
  const made = originalBody !== null || !s.hot.admits(meta.size) ? Promise.resolve(originalBody) : readBody(s.store, meta).then((body) => {
    s.hot.put(ref.primary, ref.vary, ref.hex, meta, body, Date.now());
    return body;
  });
  void made
    .then((body) => s.derived.obtain(ref, meta, transform, body))
    .then(
      (outcome) => {
        if (aborted) return;
        if (outcome.kind === 'ready') {
          if (outcome.body !== null) s.derived.warm(outcome.ref, outcome.meta, outcome.body);
          s.serveDerived(ctx, writer, meta, outcome.meta, outcome.body, result, status);
          return;
        }
        if (outcome.kind === 'failed') logFailure(s.log, ref.key, transform.tag, outcome.error, 'compressing a cached object failed: served identity');
        ctx.contentEncoding = '';
        s.serveOriginal(ctx, writer, meta, result, status);
      },
      (error: unknown) => {
        if (aborted) return;
        logFailure(s.log, ref.key, transform.tag, error as Error, 'reading a cached object to compress it failed: served identity');
        ctx.contentEncoding = '';
        s.serveOriginal(ctx, writer, meta, result, status);
      },
    );
}

/** A Buffer over an inline body's bytes (no copy). */
function inlineBuffer(inline: Uint8Array): Buffer {
  return Buffer.from(inline.buffer, inline.byteOffset, inline.length);
}

/** Objects whose compression failure was logged (once per object and encoding; cleared when full). */
const LOGGED_FAILURES = new Set<string>();
const LOGGED_FAILURES_MAX = 1000;

function logFailure(log: Logger, key: string, encoding: string, error: Error, msg: string): void {
  const id = `${key}~${encoding}`;
  if (LOGGED_FAILURES.has(id)) return;
  if (LOGGED_FAILURES.size >= LOGGED_FAILURES_MAX) LOGGED_FAILURES.clear();
  LOGGED_FAILURES.add(id);
  log.warn({ event: 'compression.failed', key, encoding, err: error.message }, msg);
}
