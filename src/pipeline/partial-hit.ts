/**
 * @module pipeline/partial-hit
 * The cache flow's range path (pipeline/cache-flow.ts): a Range on an object not cached at all fetches only the
 * blocks it covers and stores them as a partial object; a Range on a partial object is served from its blocks,
 * the missing ones fetched first (the first window before the head, the rest as the body reaches them). Each block
 * is fetched once across all workers (a block lease in the index) and once per worker (the running block fetches).
 * Module functions over a small services object CacheFlow builds once; run in workers.
 */
import type { BlockLease } from '../cache/index.js';
import { ABSENT_BLOCK } from '../cache/index.js';
import type { CacheStore, FillRecord, ObjectMeta, ObjectRef } from '../cache/store.js';
import { isProcessAlive } from '../cache/store.js';
import type { RequestDirectives } from '../cache/cache-control.js';
import { currentAge } from '../cache/freshness.js';
import { keyHash } from '../cache/key.js';
import { ifRangeMatches } from '../http/conditional.js';
import { parseRange } from '../http/range.js';
import { headerValue } from '../http/request.js';
import type { ClientWriter } from '../http/writer.js';
import { randomUUID } from 'node:crypto';
import type { ChurnTable } from '../churn-table.js';
import type { OriginHeaders, OriginSink, OriginTransfer } from '../origin/fetch.js';
import { decideServe } from '../policy/cacheable.js';
import type { LinkOutcome } from '../policy/vhost-link.js';
import type { CacheResult } from '../stats/counters.js';
import { servable } from './cache-headers.js';
import type { RequestCtx, TransactionStatus } from './context.js';
import type { Fill, FillHead, FillPolicy } from './fill.js';
import { LEASE_MS } from './fill.js';
import { FETCH_WINDOW_BLOCKS, PartialSource } from './partial-source.js';
import { RangeFill } from './range-fill.js';
import type { RangeFillResult } from './range-fill.js';
import { deliverObject, deliverStored } from './stored-delivery.js';
import type { DeliveryServices } from './stored-delivery.js';

/** What the range path needs from the cache flow. */
export interface PartialHitServices {
  readonly store: CacheStore;
  readonly delivery: DeliveryServices;
  /** Block-range fetches running in this worker, by `hex:first-last`. */
  readonly blockFetches: ChurnTable<BlockFetch>;
  /** Starts an origin request for `ctx` with extra request headers (Range, If-Range), streaming into `sink`. */
  fetch(ctx: RequestCtx, extraHeaders: Record<string, string>, sink: OriginSink): OriginTransfer;
  finish(ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void;
  touch(hex: string): void;
  /** <VhostLink>: hands the request on when the origin's outcome meets the condition (CacheFlowServices.link). */
  link(ctx: RequestCtx, writer: ClientWriter, outcome: LinkOutcome): boolean;
  /** The whole-object paths of the flow (CacheFlow.#miss, followLocal in local-follow.ts, #passThrough, #fail). */
  miss(ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, stale: ObjectMeta | null): void;
  followLocal(ctx: RequestCtx, writer: ClientWriter, fill: Fill, stale: ObjectMeta | null, result: CacheResult, owner: boolean): void;
  passThrough(ctx: RequestCtx, writer: ClientWriter): void;
  fail(ctx: RequestCtx, writer: ClientWriter, error: unknown): void;
  /** Degrades storage after a storage error (CacheFlow.#storageFailed). */
  storageFailed(error: Error): void;
  /** The flow's fill bookkeeping (fillPolicy of fill-policy.ts; CacheFlow.#fillUnderWay, #newFill, #fills.set). */
  fillPolicy(ctx: RequestCtx, leaseRef: ObjectRef, stale: ObjectMeta | null): FillPolicy;
  fillUnderWay(hex: string): boolean;
  newFill(ctx: RequestCtx, ref: ObjectRef, stale: ObjectMeta | null): Fill;
  addFill(hex: string, fill: Fill): void;
}

/** How often a request waiting for blocks another worker fetches checks their leases. */
const BLOCK_WAIT_POLL_MS = 5;

/** How many origin requests one client request's missing blocks are fetched with at once (see fetchPieces). */
const BLOCK_FETCH_CONCURRENCY = FETCH_WINDOW_BLOCKS;
/**
 * A Range on an object not cached at all (blockFetchRange): fetch only the blocks it covers (block-aligned),
 * store them as a partial object and answer from it, the first window of blocks before the head and the rest as
 * the body reaches them (PartialSource). Falls back to a whole-object fill when the origin will not do ranges.
 */
export async function rangeMiss(s: PartialHitServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, range: { start: number; end: number }): Promise<void> {
  const bs = s.store.blockSize;
  const aborted = watchAbort(s, ctx, writer);
  // The first window before the head (the object's size, and whether the origin does ranges, come with it); the
  // rest as the response reaches it (PartialSource).
  const wanted: number[] = [];
  for (let i = Math.floor(range.start / bs); i <= Math.floor(range.end / bs) && wanted.length < FETCH_WINDOW_BLOCKS; i++) wanted.push(i);
  const result = await fetchMissing(s, ctx, ref, null, wanted);
  if (aborted()) return;
  afterBlockFetch(s, ctx, writer, ref, result, 'TCP_MISS');
}

/** A Range on a partial object: serve from its blocks, fetching the missing ones first. */
export async function partialHit(s: PartialHitServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, directives: RequestDirectives): Promise<void> {
  const now = Date.now();
  const ageSec = currentAge(meta, now);
  const range = headerValue(ctx.head, 'range');
  const ifRange = ctx.vhost.options.ifRange.enabled ? headerValue(ctx.head, 'if-range') : undefined;
  const fresh = decideServe({ stored: servable(meta, ageSec), request: directives }) === 'fresh';
  const parsed = range === undefined ? null : parseRange(range, meta.size);
  // A partial copy answers only fresh range requests; anything else fetches the whole object (it replaces this).
  if (!fresh || parsed === null || parsed.kind === 'none' || (ifRange !== undefined && !ifRangeMatches(ifRange, meta))) {
    s.miss(ctx, writer, ref, null);
    return;
  }
  if (parsed.kind === 'unsatisfiable') {
    deliverStored(s.delivery, ctx, writer, meta, ageSec, 'TCP_HIT', 'hit');
    return;
  }
  const needed = neededBlocks(parsed.ranges, meta.blockSize);
  const missing = [...needed].filter((i) => meta.blocks[i] === ABSENT_BLOCK).sort((a, b) => a - b);
  if (missing.length === 0) {
    s.touch(ref.hex);
    deliverStored(s.delivery, ctx, writer, meta, ageSec, 'TCP_HIT', 'hit; detail=partial');
    return;
  }
  // Before the head, only the missing blocks among the first window the response reads (a changed object or an
  // origin without ranges is found while a whole fetch can still answer); the rest as the body reaches them.
  const early = new Set([...needed].sort((a, b) => a - b).slice(0, FETCH_WINDOW_BLOCKS));
  const first = missing.filter((i) => early.has(i));
  const aborted = watchAbort(s, ctx, writer);
  const result: RangeFillResult = first.length === 0 ? { kind: 'stored', meta } : await fetchMissing(s, ctx, ref, meta, first);
  if (aborted()) return;
  afterBlockFetch(s, ctx, writer, ref, result, 'TCP_MISS');
}

/** Serves the request from the partial object once its blocks are in, or falls back as the result says. */
function afterBlockFetch(s: PartialHitServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, result: RangeFillResult, cacheResult: CacheResult): void {
  const { store } = s;
  if (result.kind === 'whole') {
    // The origin sent the whole object: this request follows that fill (it replaces any partial copy).
    s.followLocal(ctx, writer, result.fill, null, cacheResult, true);
    return;
  }
  if (result.kind === 'failed') {
    if (store.degraded) s.passThrough(ctx, writer);
    else s.fail(ctx, writer, result.error);
    return;
  }
  // <VhostLink>: the origin's answer to the block fetch (a 404, say) hands the request on without a second ask.
  if (result.kind === 'not-partial' && result.status !== undefined && s.link(ctx, writer, result.status)) return;
  const meta = result.kind === 'stored' ? store.get(ref) : undefined;
  if (result.kind === 'not-partial' || meta === undefined) {
    // The origin does not do ranges for this object, or it changed: drop any partial copy, fetch it whole.
    const stale = store.get(ref);
    if (stale !== undefined && stale.complete === false) store.index.remove(ref.hash, Date.now());
    s.miss(ctx, writer, ref, null);
    return;
  }
  const range = parseRange(headerValue(ctx.head, 'range'), meta.size);
  const needed = range.kind === 'ranges' ? neededBlocks(range.ranges, meta.blockSize) : null;
  if (needed === null || [...needed].every((i) => meta.blocks[i] !== ABSENT_BLOCK)) {
    deliverStored(s.delivery, ctx, writer, meta, currentAge(meta, Date.now()), cacheResult, 'fwd=miss; stored; detail=partial');
    return;
  }
  // Blocks beyond the first window are fetched as the body reaches them.
  ctx.cacheResult = cacheResult;
  const source = new PartialSource(store, ref, meta, (i) => needed.has(i), (blocks, known) => fetchMissing(s, ctx, ref, known, blocks));
  deliverObject(s.delivery, ctx, writer, meta.status, meta.headers, meta.size, meta, source, currentAge(meta, Date.now()), 'fwd=miss; stored; detail=partial');
}

/**
 * Fetches the `wanted` blocks (sorted indexes) once across all workers: each block is leased in the index; this
 * worker fetches the runs it leased and waits for blocks other workers leased (their fetches merge into the same
 * partial record). Resolves with the record afterwards.
 */
export async function fetchMissing(s: PartialHitServices, ctx: RequestCtx, ref: ObjectRef, known: ObjectMeta | null, wanted: readonly number[]): Promise<RangeFillResult> {
  const { store } = s;
  const keys = wanted.map((i) => blockLease(ref, i));
  const id = randomUUID();
  const now = Date.now();
  const record: FillRecord = { id, pid: process.pid, until: now + LEASE_MS, state: 'filling', status: 0, headers: null, timing: null, size: -1, blockSize: store.blockSize, blocks: [], crcs: [] };
  let held: boolean[];
  try {
    held = store.index.acquireBlockLeases(keys, record, now, isProcessAlive);
  } catch (error) {
    // ENOSPC while the index file grows: the caller passes the request through (storage is degraded).
    s.storageFailed(error as Error);
    return { kind: 'failed', error: error as Error };
  }
  const mine = wanted.filter((_, k) => held[k] === true);
  try {
    const [head, ...rest] = fetchPieces(mine);
    if (head !== undefined) {
      // The first piece goes alone until the origin's head: an origin that ignores Range, or an object that
      // changed (If-Range), answers 200, which that piece turns into a whole fill; every other piece would get the
      // whole object too.
      const first = fetchBlocks(s, ctx, ref, known, head[0], head[1], id);
      const others = (await first.headed) ? fetchAll(s, ctx, ref, known, rest, id) : Promise.resolve([]);
      const unstored = [await first.done, ...(await others)].find((result) => result.kind !== 'stored');
      if (unstored !== undefined) return unstored;
    }
  } finally {
    try {
      store.index.releaseBlockLeases(keys.filter((_, k) => held[k] === true), id);
    } catch (error) {
      // The leases then expire by themselves (LEASE_MS).
      s.storageFailed(error as Error);
    }
  }
  const theirs = keys.filter((_, k) => held[k] !== true);
  const deadline = Date.now() + LEASE_MS;
  while (theirs.some((key) => store.index.leaseAlive(key.hash, Date.now(), isProcessAlive)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, BLOCK_WAIT_POLL_MS));
  }
  const meta = store.get(ref);
  return meta !== undefined ? { kind: 'stored', meta } : { kind: 'not-partial', reason: 'the blocks fetched by another request are gone' };
}

/**
 * Fetches `pieces` ([first, last] block runs), BLOCK_FETCH_CONCURRENCY - 1 at a time (the first piece takes the
 * other place); starts no more after one that did not store.
 */
async function fetchAll(s: PartialHitServices, ctx: RequestCtx, ref: ObjectRef, known: ObjectMeta | null, pieces: ReadonlyArray<[number, number]>, leaseId: string): Promise<RangeFillResult[]> {
  const results: RangeFillResult[] = [];
  let next = 0;
  const fetchNext = async (): Promise<void> => {
    while (next < pieces.length) {
      const [first, last] = pieces[next++] as [number, number];
      const result = await fetchBlocks(s, ctx, ref, known, first, last, leaseId).done;
      results.push(result);
      if (result.kind !== 'stored') next = pieces.length;
    }
  };
  await Promise.all(Array.from({ length: Math.min(BLOCK_FETCH_CONCURRENCY - 1, pieces.length) }, fetchNext));
  return results;
}

/**
 * Fetches blocks [first, last] once per worker: a block already being fetched by another request here is waited
 * for instead of fetched again.
 */
function fetchBlocks(s: PartialHitServices, ctx: RequestCtx, ref: ObjectRef, known: ObjectMeta | null, first: number, last: number, leaseId: string): BlockFetch {
  const { store } = s;
  const key = `${ref.hex}:${first}-${last}`;
  const running = s.blockFetches.get(key);
  if (running !== undefined) return running;
  const policy = s.fillPolicy(ctx, ref, null);
  const partialPolicy = (headers: OriginHeaders, requestTime: number, responseTime: number): FillHead | null => {
    const head = policy.onHead(200, headers, requestTime, responseTime);
    return head !== null && head.ref.key === ref.key ? head : null;
  };
  const wholeFill = (): Fill | null => {
    if (s.fillUnderWay(ref.hex)) return null;
    // A 200 to a request carrying If-Range means the partial copy is outdated: never serve it again.
    if (known !== null) store.index.remove(ref.hash, Date.now());
    const whole = s.newFill(ctx, ref, null);
    if (!store.acquireLease(ref, whole.initialRecord(), Date.now()).acquired) return null;
    s.addFill(ref.hex, whole);
    return whole;
  };
  const leases: BlockLease[] = [];
  for (let i = first; i <= last; i++) leases.push(blockLease(ref, i));
  const fill = new RangeFill(store, ref, first, last, known, { leases, id: leaseId }, partialPolicy, wholeFill);
  fill.start((headers, sink) => s.fetch(ctx, headers, sink));
  const fetch: BlockFetch = { headed: fill.headed, done: fill.done.finally(() => s.blockFetches.delete(key)) };
  s.blockFetches.set(key, fetch);
  return fetch;
}

/** Marks the transaction aborted (and finished) if the client leaves while we wait; returns a probe. */
function watchAbort(s: PartialHitServices, ctx: RequestCtx, writer: ClientWriter): () => boolean {
  let aborted = false;
  writer.onAbort(() => {
    aborted = true;
    s.finish(ctx, 'aborted', writer.bytesSent);
  });
  return () => aborted;
}

/**
 * The single range a partial fetch of an uncached object serves: `bytes=a-b`, or `bytes=a-` from inside the object
 * (end: Infinity; a player's seek). Not `bytes=0-` (the whole object, fetched whole in one request) nor a suffix
 * range (it needs the size first).
 */
export function blockFetchRange(header: string | undefined): { start: number; end: number } | null {
  const match = header === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (match === null) return null;
  const start = Number(match[1]);
  const end = match[2] === '' ? Number.POSITIVE_INFINITY : Number(match[2]);
  if (!Number.isSafeInteger(start) || (match[2] === '' && start === 0)) return null;
  return start <= end && (Number.isSafeInteger(end) || end === Number.POSITIVE_INFINITY) ? { start, end } : null;
}

/** The lease of block `index` of `ref` (one per block, so workers fetch disjoint blocks; purges reach it by key). */
function blockLease(ref: ObjectRef, index: number): BlockLease {
  const key = `${ref.key}#block${index}`;
  return { hash: keyHash(key), key };
}

/**
 * The origin requests that fetch `sorted` block indexes: its runs of consecutive blocks, each cut into pieces of at
 * most 1/BLOCK_FETCH_CONCURRENCY of the blocks, so the pieces of one request are fetched side by side. One request
 * per run made a range over two missing blocks wait for both in a row: an origin that sends each response at a
 * bounded rate (the bench's 128 MiB/s) took twice as long as for two requests at once.
 */
function fetchPieces(sorted: readonly number[]): Array<[number, number]> {
  const most = Math.max(1, Math.ceil(sorted.length / BLOCK_FETCH_CONCURRENCY));
  const pieces: Array<[number, number]> = [];
  for (const [first, last] of runs(sorted)) for (let start = first; start <= last; start += most) pieces.push([start, Math.min(last, start + most - 1)]);
  return pieces;
}

/** A running fetch of a block run (RangeFill): whether the origin answered with a 206, and its outcome. */
export interface BlockFetch {
  readonly headed: Promise<boolean>;
  readonly done: Promise<RangeFillResult>;
}

/** The block indexes that byte ranges cover. */
function neededBlocks(ranges: ReadonlyArray<{ readonly start: number; readonly end: number }>, blockSize: number): Set<number> {
  const needed = new Set<number>();
  for (const r of ranges) for (let i = Math.floor(r.start / blockSize); i <= Math.floor(r.end / blockSize); i++) needed.add(i);
  return needed;
}

/** Contiguous runs of sorted block indexes: [1,2,3,7,8] -> [[1,3],[7,8]]. */
function runs(sorted: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}
