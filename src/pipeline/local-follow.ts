/**
 * @module pipeline/local-follow
 * A request served from a fill in this worker (pipeline/fill.ts), its owner's or a follower's: it waits for the
 * head (and, for a small body, the body), then gets the stored or streaming object, a revalidated stale copy, a
 * pass-through (not storable), its own fetch (another Vary variant, or a follower whose request may store what the
 * owner's could not), the linked vhost (<VhostLink>), or the transformed answer (DIMS, media, compression).
 * Runs in workers.
 */
import type { ObjectMeta, ObjectRef } from '../cache/store.js';
import { currentAge } from '../cache/freshness.js';
import type { ClientWriter } from '../http/writer.js';
import { withFillerCookies } from '../policy/cacheable.js';
import { linkApplies } from '../policy/vhost-link.js';
import type { CacheResult } from '../stats/counters.js';
import { InlineSource, LocalFillSource } from './body-source.js';
import { cacheStatusOf, isSmall, storageDecision } from './cache-headers.js';
import type { CacheFlowServices } from './cache-flow.js';
import { encodeFill } from './compressed-hit.js';
import type { CompressedHitServices } from './compressed-hit.js';
import type { RequestCtx } from './context.js';
import { dimsFill, serveDims } from './dims-hit.js';
import type { DimsHitServices } from './dims-hit.js';
import type { Fill, FillHead } from './fill.js';
import { revalidationOutcome } from './fill-policy.js';
import { mediaFill } from './media-hit.js';
import type { MediaHitServices } from './media-hit.js';
import { deliverObject, deliverStored } from './stored-delivery.js';
import type { DeliveryServices } from './stored-delivery.js';

/** What following a local fill needs from the cache flow (pipeline/cache-flow.ts). */
export interface LocalFollowServices {
  readonly flow: CacheFlowServices;
  readonly delivery: DeliveryServices;
  readonly encoded: CompressedHitServices;
  readonly dimsHit: DimsHitServices;
  readonly mediaHit: MediaHitServices;
  /** The flow's other paths (CacheFlow.#miss, #passThrough, #fail, #failWithoutStale, #deliverStoredOrEncoded). */
  miss(ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, stale: ObjectMeta | null): void;
  passThrough(ctx: RequestCtx, writer: ClientWriter): void;
  fail(ctx: RequestCtx, writer: ClientWriter, error: unknown): void;
  failWithoutStale(ctx: RequestCtx, writer: ClientWriter, error: unknown): void;
  deliverStoredOrEncoded(ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, ageSec: number, result: CacheResult, cacheStatus: string): void;
}

/**
 * Serves a request from a fill in this worker. `stale` is the copy under revalidation: when the fill ends in
 * 304 (or an error the policy tolerates), the refreshed stored copy is delivered instead.
 */
export function followLocal(s: LocalFollowServices, ctx: RequestCtx, writer: ClientWriter, fill: Fill, stale: ObjectMeta | null, result: CacheResult, owner = false): void {
  ctx.cacheResult = result;
  let done = false;
  const onState = (): void => {
    if (done || writer.state === 'aborted') return;
    if (fill.state === 'waiting-head') return;
    // A body small enough to go inline usually arrives with its head: wait for it and send head and body at once.
    if (fill.state === 'streaming' && isSmall(fill, s.flow.store.inlineMaxBytes)) return;
    done = true;
    unsubscribe();
    afterHead(s, ctx, writer, fill, stale, owner);
  };
  const unsubscribe = fill.subscribe(onState);
  if (!owner) fill.markFollowed();
  writer.onAbort(() => {
    unsubscribe();
    if (owner) fill.abandon();
    if (!done) {
      done = true;
      s.flow.finish(ctx, 'aborted', writer.bytesSent);
    }
  });
  onState();
}

/** Answers a request that followed the fill once its head (or its end, or its failure) is known. */
function afterHead(s: LocalFollowServices, ctx: RequestCtx, writer: ClientWriter, fill: Fill, stale: ObjectMeta | null, owner: boolean): void {
  const { store } = s.flow;
  if (stale !== null && (fill.state === 'uncacheable' || fill.state === 'failed')) {
    const outcome = revalidationOutcome(s.flow, ctx, fill, stale);
    if (outcome !== null) {
      const meta = store.get(fill.leaseRef) ?? outcome.meta;
      if (ctx.dims !== null) serveDims(s.dimsHit, ctx, writer, fill.leaseRef, meta, outcome.result);
      else s.deliverStoredOrEncoded(ctx, writer, fill.leaseRef, meta, currentAge(meta, Date.now()), outcome.result, outcome.status);
      return;
    }
  }
  if (fill.state === 'failed') {
    if (stale !== null && stale.purged !== true && fill.error?.source === 'origin') s.failWithoutStale(ctx, writer, fill.error);
    else s.fail(ctx, writer, fill.error);
    return;
  }
  if (fill.state === 'uncacheable' && ctx.vhost.link !== null && linkApplies(ctx.vhost.link.condition, fill.originStatus)) {
    // <VhostLink>: the linked vhost answers (its origin, its cache); this origin's answer is dropped.
    if (s.flow.link(ctx, writer, fill.originStatus)) {
      if (owner) fill.abandon();
      return;
    }
  }
  if (fill.state === 'uncacheable') {
    // Not storable: the owner's client takes the origin stream; followers fetch on their own (hit-for-pass).
    // Declined for the owner's request alone: a follower whose own request may store this response tries the
    // cache again and fills it (the others pass at once, side by side, rather than queue behind each other).
    if (!owner && !fill.leftPassMarker && stale === null && storageDecision(ctx, fill.originStatus, fill.originHeaders, Date.now()).action === 'store') {
      s.miss(ctx, writer, fill.leaseRef, null);
      return;
    }
    ctx.cacheResult = 'PASS';
    if (owner) {
      const pass = s.flow.passAdopting(ctx, writer);
      const transfer = fill.takeOver(pass);
      if (transfer !== null) {
        pass.adopt(transfer, ctx.origin);
        return;
      }
    }
    s.passThrough(ctx, writer);
    return;
  }
  const head = fill.head as FillHead;
  if (!owner && head.ref.vary.length > 0) {
    // The response varies: a follower whose request selects another variant fetches its own.
    const own = store.refFor(head.ref.primary, head.ref.primaryHash, head.ref.vary, ctx.head.headers);
    if (own.hex !== head.ref.hex) {
      s.miss(ctx, writer, own, null);
      return;
    }
  }
  if (ctx.dims !== null && dimsFill(s.dimsHit, ctx, writer, fill, () => afterHead(s, ctx, writer, fill, stale, owner))) return;
  if (ctx.media !== null && mediaFill(s.mediaHit, ctx, writer, fill, () => afterHead(s, ctx, writer, fill, stale, owner))) return;
  if (ctx.vhost.options.compression.enabled && ctx.dims === null && encodeFill(s.encoded, ctx, writer, fill, owner, cacheStatusOf(ctx.cacheResult), () => afterHead(s, ctx, writer, fill, stale, owner))) return;
  if (fill.state === 'complete' && fill.meta !== null && ctx.cacheResult !== 'TCP_MISS' && ctx.cacheResult !== 'TCP_REF_MISS') {
    // Joined after the end: a plain hit on what was just stored.
    deliverStored(s.delivery, ctx, writer, fill.meta, currentAge(fill.meta, Date.now()), ctx.cacheResult, 'hit');
    return;
  }
  ctx.status = head.meta.status;
  const ageSec = currentAge(head.meta, Date.now());
  const inline = fill.state === 'complete' ? (fill.meta?.inline ?? null) : null;
  const source = inline !== null ? new InlineSource(inline) : new LocalFillSource(fill, store);
  // A fill the admission filter may keep out of the cache does not say `stored` (it is, if another request joins).
  const cacheStatus = owner && fill.onProbation ? 'fwd=miss; detail=admission' : cacheStatusOf(ctx.cacheResult);
  // <SetCookie>strip: the cookie is not stored, but the client whose request caused the fill still gets it.
  const headers = owner ? withFillerCookies(head.meta.headers, fill.originHeaders) : head.meta.headers;
  deliverObject(s.delivery, ctx, writer, head.meta.status, headers, head.size, head.meta, source, ageSec, cacheStatus);
}
