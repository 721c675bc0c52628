/**
 * @module pipeline/remote-follow
 * The cache flow's cross-worker collapsing (pipeline/cache-flow.ts): a request for an object another worker is
 * fetching follows that fill through its LMDB lease record and the blocks it writes (TCP_RT_HIT), looks the object
 * up again once the fill ends, and takes the fill over (or joins whoever did) when its owner dies. Module functions
 * over a small services object CacheFlow builds once; run in workers.
 */
import type { CacheStore, ObjectMeta, ObjectRef } from '../cache/store.js';
import { isProcessAlive } from '../cache/store.js';
import type { RequestDirectives } from '../cache/cache-control.js';
import { requestDirectivesFromHeaders } from '../cache/cache-control.js';
import { currentAge } from '../cache/freshness.js';
import type { ClientWriter } from '../http/writer.js';
import type { Logger } from '../log.js';
import type { OriginSink, OriginTransfer } from '../origin/fetch.js';
import type { CompressionReport } from '../transform/compression.js';
import type { BodySource } from './body-source.js';
import { LocalFillSource, RemoteFillSource } from './body-source.js';
import { headerOf } from './cache-headers.js';
import { encodingTransform } from './compressed-hit.js';
import type { RequestCtx, TransactionStatus } from './context.js';
import type { Fill } from './fill.js';
import { deliverObject } from './stored-delivery.js';
import type { DeliveryServices } from './stored-delivery.js';

/** What following a remote fill needs from the cache flow. */
export interface RemoteFollowServices {
  readonly store: CacheStore;
  readonly log: Logger;
  readonly compressed: CompressionReport;
  readonly delivery: DeliveryServices;
  fetch(ctx: RequestCtx, extraHeaders: Record<string, string>, sink: OriginSink): OriginTransfer;
  finish(ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void;
  /** The flow's other paths (CacheFlow.#lookupHit, #miss, #passThrough, #storageFailed). */
  lookupHit(ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, directives: RequestDirectives): void;
  miss(ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, stale: ObjectMeta | null): void;
  passThrough(ctx: RequestCtx, writer: ClientWriter): void;
  storageFailed(error: Error): void;
  /** The fill of object `hex` this worker runs, if any. */
  localFill(hex: string): Fill | undefined;
  newFill(ctx: RequestCtx, ref: ObjectRef, stale: ObjectMeta | null): Fill;
  addFill(hex: string, fill: Fill): void;
}

/** Follows a fill running in another worker; if it dies before sending anything, starts over. */
export function followRemote(s: RemoteFollowServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, fillId: string, stale: ObjectMeta | null): void {
  const { store } = s;
  ctx.cacheResult = 'TCP_RT_HIT';
  let aborted = false;
  writer.onAbort(() => {
    aborted = true;
    s.finish(ctx, 'aborted', writer.bytesSent);
  });
  const poll = (): void => {
    if (aborted) return;
    const record = store.index.getFill(ref.hash);
    if (record === undefined || record.id !== fillId) {
      // The fill ended: a committed object is a hit; anything else (failure, 304 refresh) is a fresh lookup.
      // The lookup starts over from the index: the response may have brought Vary names the first one lacked.
      ref = store.ref(ctx.vhost.name, ctx.keyPath, ctx.keyQuery, ctx.head.headers);
      // Reuse rules apply as to any stored response (it may have arrived stale, or the fill may have finished
      // before this request saw its head).
      const meta = store.get(ref);
      if (meta !== undefined) {
        s.lookupHit(ctx, writer, ref, meta, requestDirectivesFromHeaders(ctx.head.headers));
      } else {
        s.miss(ctx, writer, ref, null);
      }
      return;
    }
    if (record.state === 'uncacheable') {
      s.passThrough(ctx, writer);
      return;
    }
    if (record.until < Date.now() || !isProcessAlive(record.pid)) {
      // Owner gone before sending anything: take the lease over (or follow whoever did).
      s.miss(ctx, writer, ref, stale);
      return;
    }
    // A varying response is followed only once stored: which variant this fill stores is not in its record. A
    // fill a purge reached is not followed at all: its bytes may predate the purge; once it ends (committed
    // stale, or dropped) the lookup above refetches.
    // <Compression>: a client getting an encoded copy waits for the object to be stored, then is served as a hit.
    const encodes = ctx.vhost.options.compression.enabled && record.headers !== null && encodingTransform(ctx, s.compressed, { status: record.status, headers: record.headers, size: record.size }, record.size >= 0) !== null;
    if (!encodes && ctx.dims === null && record.headers !== null && stale === null && record.status !== 0 && record.controls === undefined && headerOf(record.headers, 'vary') === undefined) {
      // A fill the admission filter may not store: make sure it is stored, since this request reads its body from
      // the stored blocks and object. If it is over already, the next poll looks the object up again (in a later
      // turn: never on a read snapshot older than the write that found the fill gone).
      if (record.uses !== undefined && record.followed !== true && !markFollowed(s, ref, fillId)) {
        setTimeout(poll, 0);
        return;
      }
      ctx.status = record.status;
      const source = new RemoteFillSource(store, ref, fillId, () => restartFill(s, ctx, ref));
      const ageSec = record.timing === null ? 0 : currentAge(record.timing, Date.now());
      deliverObject(s.delivery, ctx, writer, record.status, record.headers, record.size, null, source, ageSec, 'hit; collapsed');
      return;
    }
    setTimeout(poll, 5);
  };
  poll();
}

/** CacheIndex.markFollowed; a storage error is logged (storage degrades) and the request follows anyway. */
function markFollowed(s: RemoteFollowServices, ref: ObjectRef, fillId: string): boolean {
  try {
    return s.store.index.markFollowed(ref.hash, fillId);
  } catch (error) {
    s.storageFailed(error as Error);
    return true;
  }
}

/**
 * A follower whose fill owner died mid-body: run (or join) a new fill of the same object and read on from it.
 * The new fill fetches the object again from the start; the follower continues at its own position.
 */
function restartFill(s: RemoteFollowServices, ctx: RequestCtx, ref: ObjectRef): BodySource | null {
  const { store } = s;
  const local = s.localFill(ref.hex);
  if (local !== undefined) return new LocalFillSource(local, store);
  const fill = s.newFill(ctx, ref, null);
  const lease = store.acquireLease(ref, fill.initialRecord(), Date.now());
  if (!lease.acquired) {
    if (lease.record.state !== 'filling') return null;
    if (lease.record.uses !== undefined) markFollowed(s, ref, lease.record.id);
    return new RemoteFillSource(store, ref, lease.record.id, () => restartFill(s, ctx, ref));
  }
  s.addFill(ref.hex, fill);
  fill.start((sink) => s.fetch(ctx, {}, sink));
  s.log.warn({ event: 'cache.fill_taken_over', key: ref.key }, 'fill owner died: restarted the fill');
  return new LocalFillSource(fill, store);
}
