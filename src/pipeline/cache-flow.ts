/**
 * @module pipeline/cache-flow
 * The cache path of a GET/HEAD on a caching vhost (Varnish's lookup/hit/miss/deliver steps):
 *
 *   lookup --fresh--------------------------------------------> hit: deliver stored (304 / 206 / 416 / HEAD / 200)
 *     |----stale, stale-while-revalidate or RefreshExpired OFF -> deliver stored + one background revalidation
 *     |----stale, must revalidate --> revalidate (conditional fill) --304/5xx/fail--> deliver stored (refreshed)
 *     |                                                        \--200------------> deliver the new fill
 *     \----absent --> local fill running?   follow it (TCP_RT_HIT)
 *                     remote fill running?  follow its blocks through LMDB (TCP_RT_HIT)
 *                     hit-for-pass marker?  pass
 *                     else lease it and lead a new fill (TCP_MISS); not storable -> the leader's client passes
 *
 * One fill per object across all workers (the LMDB lease); a fill belongs to the cache entry, so a client abort
 * never stops it. Policy decisions come from policy/cacheable.ts and http/conditional.ts, range maths from
 * http/range.ts; this file only sequences them. Its steps live beside it: hits from the hot tier (hot-hit.ts),
 * delivery of a known object (stored-delivery.ts), what a fill stores and what a revalidation does to the stored
 * copy (fill-policy.ts), range and partial paths (partial-hit.ts), following a fill in this worker
 * (local-follow.ts) or another (remote-follow.ts), encoded and DIMS variants
 * (compressed-hit.ts, dims-hit.ts), media responses built from the original (media-hit.ts), header helpers
 * (cache-headers.ts). Runs in workers.
 */
import type { LeaseResult } from '../cache/index.js';
import { isProcessAlive } from '../cache/store.js';
import type { CacheStore, ObjectMeta, ObjectRef } from '../cache/store.js';
import type { RequestDirectives } from '../cache/cache-control.js';
import { requestDirectivesFromHeaders } from '../cache/cache-control.js';
import { currentAge, remainingTtl } from '../cache/freshness.js';
import { primaryKey } from '../cache/key.js';
import { headerValue } from '../http/request.js';
import type { ClientWriter } from '../http/writer.js';
import type { Logger } from '../log.js';
import { ChurnTable } from '../churn-table.js';
import type { OriginSink, OriginTransfer } from '../origin/fetch.js';
import type { PassTransaction } from './pass.js';
import { decideServe } from '../policy/cacheable.js';
import type { CacheResult } from '../stats/counters.js';
import type { LinkOutcome } from '../policy/vhost-link.js';
import { ifRangeIsNewer } from '../policy/if-range.js';
import type { RequestCtx, TransactionStatus } from './context.js';
import { errorResponse } from './fail.js';
import { bodyFailure } from './body-failure.js';
import { Fill, HIT_FOR_PASS_MS } from './fill.js';
import type { HotTier } from './hot-tier.js';
import { DerivedVariants } from '../transform/derived.js';
import type { CompressionReport } from '../transform/compression.js';
import { serveEncoded, storedEncodingTransform } from './compressed-hit.js';
import type { CompressedHitServices } from './compressed-hit.js';
import { serveDims } from './dims-hit.js';
import type { DimsHitServices } from './dims-hit.js';
import type { DimsService } from '../transform/dims/service.js';
import { lookupMedia, serveMedia } from './media-hit.js';
import type { MediaHitServices } from './media-hit.js';
import type { MediaService } from './media-service.js';
import { blockFetchRange, partialHit, rangeMiss } from './partial-hit.js';
import type { BlockFetch, PartialHitServices } from './partial-hit.js';
import { serveHot, serveWarming } from './hot-hit.js';
import { followLocal } from './local-follow.js';
import type { LocalFollowServices } from './local-follow.js';
import { followRemote } from './remote-follow.js';
import type { RemoteFollowServices } from './remote-follow.js';
import { deliverObject, deliverStored, synthetic } from './stored-delivery.js';
import type { DeliveryServices } from './stored-delivery.js';
import { cacheStatusOf, headerOf, servable } from './cache-headers.js';
import { fillPolicy, revalidationOutcome } from './fill-policy.js';

/** What the flow needs from the worker around it. */
export interface CacheFlowServices {
  readonly store: CacheStore;
  readonly hot: HotTier;
  readonly log: Logger;
  /** Starts an origin request for `ctx` with extra request headers (validators), streaming into `sink`. */
  fetch(ctx: RequestCtx, extraHeaders: Record<string, string>, sink: OriginSink): OriginTransfer;
  /** Passes the request straight through (not cacheable). */
  pass(ctx: RequestCtx, writer: ClientWriter): void;
  /** A pass transaction for `ctx` that will adopt an origin response already under way. */
  passAdopting(ctx: RequestCtx, writer: ClientWriter): PassTransaction;
  /** Ends the transaction (access log, counters). */
  finish(ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void;
  /** Counts one compression of vhost `vhost` (`<Compression>`: encoding, identity and encoded bytes). */
  readonly compressed: CompressionReport;
  /** The worker's DIMS conversions (limiter, counters, image log): transform/dims/service.ts. */
  readonly dims: DimsService;
  /** The worker's media builders, parsed indexes and counters (pipeline/media-service.ts). */
  readonly media: MediaService;
  /** Counts a fill of vhost `vhostName` that the admission filter kept out of the cache. */
  notAdmitted(vhostName: string): void;
  /** Counts cache tags of a response to vhost `vhostName` that the <CacheTag> bounds dropped. */
  tagsDropped(vhostName: string, count: number): void;
  /** Records that an object was read now (batched LRU touches). */
  touch(hex: string): void;
  /**
   * Hands the request to the vhost its vhost links to when the origin's `outcome` meets the <VhostLink>
   * condition; true when it did (the linked vhost answers and finishes the transaction).
   */
  link(ctx: RequestCtx, writer: ClientWriter, outcome: LinkOutcome): boolean;
}

/** Bound of the hit-for-pass map; expired marks are pruned when it is reached. */
const PASS_MARKS_MAX = 100_000;

export class CacheFlow {
  readonly #services: CacheFlowServices;
  /** Fills this worker runs, by object hash hex (a ChurnTable, not a Map: see churn-table.ts). */
  readonly #fills = new ChurnTable<Fill>();
  /**
   * Hit-for-pass marks of this worker -> until (ms): by primary key when the lookup that made the mark knew no Vary
   * names for the URL (checked in `handle`, before any index read), else by object hash hex (see #passKey).
   */
  readonly #passMarks = new Map<string, number>();
  /**
   * Leases this worker asked for and the batched commit has not answered yet, by object hash hex: requests for the
   * same object wait for the answer (then follow the fill, here or in another worker) instead of asking again.
   */
  readonly #leasing = new ChurnTable<Promise<LeaseResult>>();
  /** Requests whose body failed before its first byte and were looked up again (#failedBeforeBody: once only). */
  readonly #lookedUpAgain = new WeakSet<RequestCtx>();

  /** Derived variants (compressed or converted copies) of the objects on this flow's disk (transform/derived.ts). */
  readonly derived: DerivedVariants;
  /** The compression step's view of this flow (pipeline/compressed-hit.ts). */
  readonly #encoded: CompressedHitServices;
  /** The DIMS step's view of this flow (pipeline/dims-hit.ts). */
  readonly #dimsHit: DimsHitServices;
  /** The media step's view of this flow (pipeline/media-hit.ts). */
  readonly #mediaHit: MediaHitServices;
  /** The deliver step's view of this flow (pipeline/stored-delivery.ts). */
  readonly #delivery: DeliveryServices;
  /** The range path's and the remote follow's view of this flow (pipeline/partial-hit.ts, remote-follow.ts). */
  readonly #steps: PartialHitServices & RemoteFollowServices;
  /** The local follow's view of this flow (pipeline/local-follow.ts). */
  readonly #local: LocalFollowServices;

  constructor(services: CacheFlowServices) {
    this.#services = services;
    this.derived = new DerivedVariants(services.store, services.hot, services.log);
    this.#delivery = {
      store: services.store,
      log: services.log,
      finish: services.finish,
      failedBeforeBody: (ctx, writer, error) => this.#failedBeforeBody(ctx, writer, error),
    };
    this.#steps = {
      store: services.store,
      delivery: this.#delivery,
      blockFetches: new ChurnTable<BlockFetch>(),
      fetch: services.fetch,
      finish: services.finish,
      touch: services.touch,
      link: services.link,
      miss: (ctx, writer, ref, stale) => this.#miss(ctx, writer, ref, stale),
      followLocal: (ctx, writer, fill, stale, result, owner) => followLocal(this.#local, ctx, writer, fill, stale, result, owner),
      passThrough: (ctx, writer) => this.#passThrough(ctx, writer),
      fail: (ctx, writer, error) => this.#fail(ctx, writer, error),
      storageFailed: (error) => this.#storageFailed(error),
      fillPolicy: (ctx, leaseRef, stale) => fillPolicy(this.#services, ctx, leaseRef, stale),
      fillUnderWay: (hex) => this.#fillUnderWay(hex),
      newFill: (ctx, ref, stale) => this.#newFill(ctx, ref, stale),
      addFill: (hex, fill) => this.#fills.set(hex, fill),
      log: services.log,
      compressed: services.compressed,
      lookupHit: (ctx, writer, ref, meta, directives) => this.#lookupHit(ctx, writer, ref, meta, directives),
      localFill: (hex) => this.#fills.get(hex),
    };
    this.#encoded = {
      store: services.store,
      hot: services.hot,
      derived: this.derived,
      log: services.log,
      report: services.compressed,
      serveDerived: (ctx, writer, original, derived, body, result, status) => this.serveDerived(ctx, writer, original, derived, body, result, status),
      serveOriginal: (ctx, writer, meta, result, status) => deliverStored(this.#delivery, ctx, writer, meta, currentAge(meta, Date.now()), result, status ?? cacheStatusOf(result)),
      finish: services.finish,
      touch: services.touch,
    };
    this.#dimsHit = { ...this.#encoded, dims: services.dims };
    this.#mediaHit = {
      store: services.store,
      delivery: this.#delivery,
      steps: this.#steps,
      media: services.media,
      finish: services.finish,
      touch: services.touch,
      lookup: (ctx, writer) => this.#lookup(ctx, writer),
    };
    this.#local = {
      flow: services,
      delivery: this.#delivery,
      encoded: this.#encoded,
      dimsHit: this.#dimsHit,
      mediaHit: this.#mediaHit,
      miss: (ctx, writer, ref, stale) => this.#miss(ctx, writer, ref, stale),
      passThrough: (ctx, writer) => this.#passThrough(ctx, writer),
      fail: (ctx, writer, error) => this.#fail(ctx, writer, error),
      failWithoutStale: (ctx, writer, error) => this.#failWithoutStale(ctx, writer, error),
      deliverStoredOrEncoded: (ctx, writer, ref, meta, ageSec, result, cacheStatus) => this.#deliverStoredOrEncoded(ctx, writer, ref, meta, ageSec, result, cacheStatus),
    };
  }

  /**
   * Answers with a derived object (transform/derived.ts) as an ordinary stored hit: conditional, Range (on the
   * derived bytes), HEAD. Age and ttl are the original's (`original`, which the caller found fresh): a derived copy
   * lives exactly as long as its original. `body`: its bytes when in memory, else read from its record. `status`: the
   * Cache-Status text (default: from `result`).
   */
  serveDerived(ctx: RequestCtx, writer: ClientWriter, original: ObjectMeta, derived: ObjectMeta, body: Buffer | null, result: CacheResult, status?: string): void {
    const ageSec = currentAge(original, Date.now());
    ctx.cacheResult = result;
    const cacheStatus = status ?? (result === 'TCP_HIT' ? `hit; ttl=${remainingTtl(original.ttlSec + original.extendedSec, ageSec)}` : cacheStatusOf(result));
    deliverObject(this.#delivery, ctx, writer, derived.status, derived.headers, derived.size, derived, this.derived.source(derived, body), ageSec, cacheStatus);
  }

  /** Number of fills this worker is running (gauge). */
  get activeFills(): number {
    return this.#fills.size;
  }

  /**
   * A purge/expire/hardpurge reached this worker's fills of URLs `matches` selects (the primary marked their lease
   * records first, so they commit stale or not at all): they keep streaming to the clients they have, but leave
   * the map, so a later request looks at the lease record instead, waits for the fill to end there and then
   * refetches (followRemote, pipeline/remote-follow.ts); it is never handed bytes fetched before the purge.
   * Returns how many.
   */
  detachFills(matches: (primary: string) => boolean): number {
    let detached = 0;
    for (const [hex, fill] of this.#fills) {
      if (!matches(fill.leaseRef.primary)) continue;
      this.#fills.delete(hex);
      detached++;
    }
    return detached;
  }

  /**
   * Entry point; `ctx.path` is already normalised. Runs synchronously inside the uWS handler, or from an origin
   * callback when a VhostLink hands the request on (the writer then already holds the response).
   */
  handle(ctx: RequestCtx, writer: ClientWriter): void {
    const { hot } = this.#services;
    // Origin traffic on the cache path is counted by the fills (shared by many clients), not per request.
    ctx.originCounted = true;
    const head = ctx.head;
    const now = Date.now();
    const primary = primaryKey(ctx.vhost.name, ctx.keyPath, ctx.keyQuery);
    // Requests with their own cache directives take the full path (they may refuse a fresh copy), and so do
    // If-Range requests on a purging parent (the copy may have to go).
    const purgeCheck = ctx.vhost.options.ifRange.purge && headerValue(head, 'if-range') !== undefined;
    // A DIMS request looks its original up in the index (pipeline/dims-hit.ts serves the variant from the tier).
    if (ctx.dims === null && ctx.media === null && headerValue(head, 'cache-control') === undefined && headerValue(head, 'pragma') === undefined && !purgeCheck) {
      const entry = hot.lookup(primary, head.headers, now);
      if (entry !== undefined && serveHot(this.#services, this.#delivery, ctx, writer, entry, now)) return;
      // Hit-for-pass of a URL without Vary passes at once: the lookup (two key hashes, three index reads) would only
      // find the same mark, at ~9% of a pass-through's CPU (bench/README.md, issue 23). Within the mark's 10 s a
      // copy another worker stored meanwhile is not looked for, as Varnish's hit-for-pass object shadows it too.
      if (this.#passMarks.size > 0 && this.#isPassMarked(primary, now)) {
        this.#passThrough(ctx, writer);
        return;
      }
    }
    this.#lookup(ctx, writer);
  }

  /** Index lookup and dispatch: hit, partial hit, or miss. */
  #lookup(ctx: RequestCtx, writer: ClientWriter): void {
    const { store } = this.#services;
    const head = ctx.head;
    // A fill may start after the client left (a follower taking over a lease): read the peer address for its
    // X-Forwarded-For while uWS still has it. Only hot-tier hits skip this.
    void head.clientIp;
    let ref = store.ref(ctx.vhost.name, ctx.keyPath, ctx.keyQuery, head.headers);
    const directives = requestDirectivesFromHeaders(head.headers);
    // A complete local fill still committing is newer than what the index holds (it may be replacing it).
    const committing = ref.vary[0] === '*' ? null : this.#committing(ref, head.headers);
    let meta: ObjectMeta | undefined;
    if (committing !== null) ({ ref, meta } = committing);
    else meta = ref.vary[0] === '*' ? undefined : store.get(ref);
    if (meta !== undefined && committing === null && this.#purgeForIfRange(ctx, ref, meta)) meta = undefined;
    // A media request reads the original through the block cache (pipeline/media-hit.ts); false: the usual path.
    if (ctx.media !== null && lookupMedia(this.#mediaHit, ctx, writer, ref, meta, directives)) return;
    if (meta !== undefined && meta.complete === false) {
      // A DIMS conversion needs the whole original: fetched whole, replacing the partial copy.
      if (ctx.dims !== null) this.#miss(ctx, writer, ref, null);
      else void partialHit(this.#steps, ctx, writer, ref, meta, directives);
      return;
    }
    if (meta !== undefined) {
      this.#lookupHit(ctx, writer, ref, meta, directives);
      return;
    }
    if (directives.onlyIfCached) {
      synthetic(this.#delivery, ctx, writer, 504, 'Gateway Timeout', '504 Gateway Timeout: not in cache and only-if-cached was requested\n');
      return;
    }
    const ranged = blockFetchRange(headerValue(head, 'range'));
    if (
      ranged !== null &&
      ctx.dims === null &&
      headerValue(head, 'if-range') === undefined &&
      store.keyFits(ref) &&
      !this.#fillUnderWay(ref.hex) &&
      store.index.getFill(ref.hash) === undefined
    ) {
      void rangeMiss(this.#steps, ctx, writer, ref, ranged);
      return;
    }
    this.#miss(ctx, writer, ref, null);
  }

  /**
   * `<IfRange Purge="ON">`: a client (a child cache) whose If-Range date is newer than this copy holds a newer
   * version than this node: drop the copy (index and hot tier) so the request refetches it from the origin and the
   * child's resumed range is served from the same version it already has (policy/if-range.ts).
   */
  #purgeForIfRange(ctx: RequestCtx, ref: ObjectRef, meta: ObjectMeta): boolean {
    const options = ctx.vhost.options.ifRange;
    if (!options.purge || !options.enabled) return false;
    const ifRange = headerValue(ctx.head, 'if-range');
    if (ifRange === undefined || headerValue(ctx.head, 'range') === undefined) return false;
    if (!ifRangeIsNewer(ifRange, meta.lastModifiedMs)) return false;
    const { store, hot, log } = this.#services;
    store.index.remove(ref.hash, Date.now());
    hot.invalidate(ref.hex);
    log.info({ event: 'cache.if_range_purge', vhost: ctx.vhost.name, url: ctx.url, ifRange }, 'If-Range newer than the stored copy: purged, refetching');
    return true;
  }

  /**
   * The object a complete local fill of `ref` is committing to the index (its meta is final; the commit is
   * asynchronous), when it is the variant these request headers select; else null.
   */
  #committing(ref: ObjectRef, requestHeaders: readonly string[]): { ref: ObjectRef; meta: ObjectMeta } | null {
    const fill = this.#fills.get(ref.hex);
    if (fill === undefined || fill.state !== 'complete' || fill.meta === null || fill.head === null) return null;
    const stored = fill.head.ref;
    const own = this.#services.store.refFor(stored.primary, stored.primaryHash, stored.vary, requestHeaders);
    return own.hex === stored.hex ? { ref: stored, meta: fill.meta } : null;
  }

  #lookupHit(ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, directives: RequestDirectives): void {
    const now = Date.now();
    const ageSec = currentAge(meta, now);
    const stored = servable(meta, ageSec);
    const decision = decideServe({ stored, request: directives });
    if (decision === 'fresh') {
      this.#services.touch(ref.hex);
      const cacheStatus = `hit; ttl=${remainingTtl(stored.ttlSec, ageSec)}`;
      // A DIMS request gets the image variant, never an encoded copy of the original (an SVG is a compression target).
      if (ctx.dims !== null) {
        serveDims(this.#dimsHit, ctx, writer, ref, meta, 'TCP_HIT');
        return;
      }
      const transform = ctx.vhost.options.compression.enabled ? storedEncodingTransform(ctx, this.#services.compressed, meta) : null;
      if (transform !== null) {
        serveEncoded(this.#encoded, ctx, writer, ref, meta, transform, 'TCP_HIT', cacheStatus);
        return;
      }
      if (!serveWarming(this.#services, this.#delivery, ctx, writer, ref, meta, ageSec, cacheStatus)) deliverStored(this.#delivery, ctx, writer, meta, ageSec, 'TCP_HIT', cacheStatus);
      return;
    }
    // A purged copy is never served before the refetch (it is only restored if the origin fails).
    const backgroundOk =
      meta.purged !== true && (decision === 'stale-while-revalidate' || (!ctx.vhost.options.refreshExpired && !meta.mustRevalidate && !directives.noCache));
    if (backgroundOk) {
      this.#services.touch(ref.hex);
      if (ctx.dims !== null) serveDims(this.#dimsHit, ctx, writer, ref, meta, 'TCP_REFRESH_HIT');
      else this.#deliverStoredOrEncoded(ctx, writer, ref, meta, ageSec, 'TCP_REFRESH_HIT', 'hit; fwd=stale; fwd-status=background');
      this.#backgroundRevalidate(ctx, ref, meta);
      return;
    }
    this.#miss(ctx, writer, ref, meta, directives.noCache ? 'TCP_CLIENT_REFRESH_MISS' : undefined);
  }

  /**
   * No usable copy (or one that must be revalidated): follow a fill of this object if one runs anywhere, else
   * lead one. `stale` is the copy being revalidated, if any.
   */
  #miss(ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, stale: ObjectMeta | null, result?: CacheResult): void {
    const { store } = this.#services;
    const local = this.#fills.get(ref.hex);
    if (local !== undefined && (local.state === 'complete' || bodyReceived(local))) {
      // Its object is being committed and did not satisfy this request (it must be revalidated, or is another
      // variant), or its whole body is in and only its block writes and commit are left: look up again once the
      // commit landed. (A client that got the whole body asks again at once: it gets a plain hit of the stored
      // object, never a collapsed hit of a fill that was over for it.)
      const unsubscribe = local.subscribe(() => {
        if (this.#fills.get(ref.hex) === local) return;
        unsubscribe();
        if (writer.state === 'aborted') this.#services.finish(ctx, 'aborted', 0);
        else this.#lookup(ctx, writer);
      });
      return;
    }
    if (local !== undefined) {
      followLocal(this.#local, ctx, writer, local, stale, 'TCP_RT_HIT');
      return;
    }
    const pending = this.#leasing.get(ref.hex);
    if (pending !== undefined) {
      // Another request here is taking the lease: once it has the answer, this one follows its fill or its owner.
      const again = (): void => {
        if (writer.state === 'aborted') this.#services.finish(ctx, 'aborted', 0);
        else this.#miss(ctx, writer, ref, stale, result);
      };
      void pending.then(again, again);
      return;
    }
    const now = Date.now();
    // Hit-for-pass: an object known not to be storable passes without any index write (in-process, then LMDB).
    if (this.#isPassMarked(passKey(ref), now) || (store.degraded && stale === null) || !store.keyFits(ref)) {
      this.#passThrough(ctx, writer);
      return;
    }
    const existing = store.index.getFill(ref.hash);
    if (existing !== undefined && existing.until > now && isProcessAlive(existing.pid)) {
      if (existing.state === 'uncacheable') {
        this.#markPass(passKey(ref), existing.until);
        this.#passThrough(ctx, writer);
      } else {
        followRemote(this.#steps, ctx, writer, ref, existing.id, stale);
      }
      return;
    }
    const fill = this.#newFill(ctx, ref, stale, true);
    const leasing = store.acquireLeaseBatched(ref, fill.initialRecord(), now);
    this.#leasing.set(ref.hex, leasing);
    void leasing.then(
      (lease) => {
        this.#leasing.delete(ref.hex);
        if (lease.acquired) {
          fill.leased(lease.record);
          this.#lead(ctx, writer, ref, fill, stale, result);
        } else if (writer.state === 'aborted') this.#services.finish(ctx, 'aborted', 0);
        else if (lease.record.state === 'uncacheable') this.#passThrough(ctx, writer);
        else followRemote(this.#steps, ctx, writer, ref, lease.record.id, stale);
      },
      (error: unknown) => {
        this.#leasing.delete(ref.hex);
        this.#storageFailed(error as Error);
        if (writer.state === 'aborted') this.#services.finish(ctx, 'aborted', 0);
        else this.#passThrough(ctx, writer);
      },
    );
  }

  /**
   * Starts the fill whose lease was just taken and serves the request from it. The fill runs even when the client
   * left while the lease was taken: it belongs to the cache entry (and the lease must not be left to expire).
   */
  #lead(ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, fill: Fill, stale: ObjectMeta | null, result: CacheResult | undefined): void {
    this.#fills.set(ref.hex, fill);
    const validators: Record<string, string> = {};
    // A purged copy is refetched whole (no validators: a 304 must not bring it back); kept only for a failure.
    if (stale !== null && stale.purged !== true) {
      if (stale.etag !== null) validators['if-none-match'] = stale.etag;
      const lastModified = headerOf(stale.headers, 'last-modified');
      if (lastModified !== undefined) validators['if-modified-since'] = lastModified;
    }
    fill.start((sink) => this.#services.fetch(ctx, validators, sink));
    if (writer.state === 'aborted') this.#services.finish(ctx, 'aborted', 0);
    else followLocal(this.#local, ctx, writer, fill, stale, result ?? (stale === null ? 'TCP_MISS' : 'TCP_REF_MISS'), true);
  }

  /** Whether this worker runs a fill of the object, or is taking its lease. */
  #fillUnderWay(hex: string): boolean {
    return this.#fills.has(hex) || this.#leasing.has(hex);
  }

  /**
   * A fill of `ref` that unregisters itself when done and marks the object hit-for-pass when not storable.
   * `filtered`: the vhost's admission filter applies (a plain miss; not a refresh, nor a fill started for a
   * follower or a range request).
   */
  #newFill(ctx: RequestCtx, ref: ObjectRef, stale: ObjectMeta | null, filtered = false): Fill {
    const { minUses, windowSec } = ctx.vhost.options.admission;
    const admission = filtered && stale === null && minUses > 1 ? { minUses, windowMs: windowSec * 1000 } : null;
    // The callback takes the vhost's name, not `ctx`: capturing the request's context here made every miss's
    // request state survive a scavenge (~8 KB a miss; scavenges 1 -> 8 ms on the miss bench, see bench/README.md).
    const vhostName = ctx.vhost.name;
    const fill: Fill = new Fill(this.#services.store, ref, fillPolicy(this.#services, ctx, ref, stale, admission), (done) => {
      if (this.#fills.get(ref.hex) === done) this.#fills.delete(ref.hex);
      if (done.leftPassMarker && stale === null) this.#markPass(passKey(ref), Date.now() + HIT_FOR_PASS_MS);
      if (done.notAdmitted) this.#services.notAdmitted(vhostName);
    });
    return fill;
  }

  /** Degrades storage after a storage error (new objects pass through for a while; the store logs the first). */
  #storageFailed(error: Error): void {
    this.#services.store.markDegraded(error.message);
  }

  #isPassMarked(key: string, now: number): boolean {
    const until = this.#passMarks.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#passMarks.delete(key);
    return false;
  }

  #markPass(key: string, until: number): void {
    if (this.#passMarks.size >= PASS_MARKS_MAX) {
      const now = Date.now();
      for (const [key, expiry] of this.#passMarks) if (expiry <= now) this.#passMarks.delete(key);
      if (this.#passMarks.size >= PASS_MARKS_MAX) this.#passMarks.clear();
    }
    this.#passMarks.set(key, until);
  }

  #passThrough(ctx: RequestCtx, writer: ClientWriter): void {
    ctx.cacheResult = 'PASS';
    this.#services.pass(ctx, writer);
  }

  /**
   * deliverStored (stored-delivery.ts), or the object's encoded copy for a client that gets one (`<Compression>`,
   * compressed-hit.ts), or the media response built from it for a media request (media-hit.ts).
   */
  #deliverStoredOrEncoded(ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, ageSec: number, result: CacheResult, cacheStatus: string): void {
    if (ctx.media !== null) {
      serveMedia(this.#mediaHit, ctx, writer, ref, meta, result);
      return;
    }
    const transform = ctx.vhost.options.compression.enabled ? storedEncodingTransform(ctx, this.#services.compressed, meta) : null;
    if (transform !== null) serveEncoded(this.#encoded, ctx, writer, ref, meta, transform, result, cacheStatus);
    else deliverStored(this.#delivery, ctx, writer, meta, ageSec, result, cacheStatus);
  }

  /**
   * The body failed before its first byte went out (nothing reached the client, issue 19): an origin failure is
   * answered with its 502/504; a cache failure (a torn block, which dropped its object; a followed fill that was
   * abandoned) looks the request up again, once, so the client gets the object rather than an error.
   */
  #failedBeforeBody(ctx: RequestCtx, writer: ClientWriter, error: unknown): void {
    if (writer.state === 'aborted') {
      this.#services.finish(ctx, 'aborted', 0);
      return;
    }
    if (bodyFailure(error).source === 'origin' || this.#lookedUpAgain.has(ctx)) {
      this.#fail(ctx, writer, error);
      return;
    }
    this.#lookedUpAgain.add(ctx);
    ctx.errorCode = '';
    this.#lookup(ctx, writer);
  }

  #backgroundRevalidate(ctx: RequestCtx, ref: ObjectRef, meta: ObjectMeta): void {
    const { store } = this.#services;
    if (this.#fillUnderWay(ref.hex)) return;
    const existing = store.index.getFill(ref.hash);
    if (existing !== undefined && existing.until > Date.now()) return;
    const fill = this.#newFill(ctx, ref, meta);
    if (!store.acquireLease(ref, fill.initialRecord(), Date.now()).acquired) return;
    this.#fills.set(ref.hex, fill);
    const validators: Record<string, string> = {};
    if (meta.etag !== null) validators['if-none-match'] = meta.etag;
    const lastModified = headerOf(meta.headers, 'last-modified');
    if (lastModified !== undefined) validators['if-modified-since'] = lastModified;
    const unsubscribe = fill.subscribe(() => {
      if (fill.state === 'waiting-head' || fill.state === 'streaming') return;
      unsubscribe();
      if (fill.state === 'uncacheable' || fill.state === 'failed') revalidationOutcome(this.#services, ctx, fill, meta);
    });
    fill.start((sink) => this.#services.fetch(ctx, validators, sink));
  }

  /**
   * The origin failed while a stored copy that may not be served stale (policy/stale-on-error.ts) was revalidated:
   * RFC 9111 §4.2.4 asks for a 504 rather than the stale copy. The access log keeps the origin's error code.
   */
  #failWithoutStale(ctx: RequestCtx, writer: ClientWriter, error: unknown): void {
    if ((error as { source?: string } | null)?.source === 'origin' && this.#services.link(ctx, writer, 'fail')) return;
    ctx.cacheResult = 'TCP_ERROR';
    ctx.errorCode = (error as { code?: string } | null)?.code ?? 'FLINT_ERR_INTERNAL';
    synthetic(this.#delivery, ctx, writer, 504, 'Gateway Timeout', '504 Gateway Timeout: the origin failed and the cached copy may not be served stale\n');
  }

  #fail(ctx: RequestCtx, writer: ClientWriter, error: unknown): void {
    // <VhostLink Condition="fail">: the origin could not be reached or failed before the first body byte.
    if ((error as { source?: string } | null)?.source === 'origin' && this.#services.link(ctx, writer, 'fail')) return;
    const response = errorResponse(error);
    ctx.cacheResult = 'TCP_ERROR';
    ctx.errorCode = (error as { code?: string } | null)?.code ?? 'FLINT_ERR_INTERNAL';
    ctx.errorDetail = error instanceof Error ? error.message : String(error);
    synthetic(this.#delivery, ctx, writer, response.status, response.reason, response.body);
  }
}

/**
 * The hit-for-pass mark of a lookup reference: its primary key when the lookup knew no Vary names (a primary key
 * holds a newline, a hash hex none, so the two never collide), else its object hash hex.
 */
function passKey(ref: ObjectRef): string {
  return ref.vary.length === 0 ? ref.primary : ref.hex;
}

/** Whether a streaming fill has its whole body (known length) from the origin: only its storage is left. */
function bodyReceived(fill: Fill): boolean {
  const size = fill.head?.size ?? -1;
  return fill.state === 'streaming' && size >= 0 && fill.received >= size;
}
