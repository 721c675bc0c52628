/**
 * @module cache/index
 * The shared object index: one LMDB environment per disk, mapped by every worker and the primary; the only
 * importer of lmdb. Databases:
 *   objects  object hash (16 B) -> ObjectMeta (msgpack)        what is cached and where its bytes are
 *   vary     primary hash -> Vary field names                  how to compute the variant key of a URL
 *   keys     "primary \0 variant" (ordered string) -> hash     full key strings, for purge scans and inspection
 *   fills    object hash -> FillRecord                         who is fetching an object, and its progress
 *   fillkeys object key string -> lease hash                   the fills by key (block leases: key #blockN), so a
 *                                                              purge finds fills in flight
 *   lru      8-byte BE access time (ms) + hash -> ''          eviction order (oldest first)
 *   atime    object hash -> access time (ms)                   where an object hit since it was stored sits in
 *                                                              `lru` (else its record's storedMs says:
 *                                                              cache/index-recency.ts)
 *   free     block id (uint32) -> release time (ms)            released blocks, reusable after a grace period
 *                                                              (ids carry their size class, cache/blocks.ts)
 *   freeorder size class (1 B) + release time (6 B BE) + id    the same blocks by class and release time, so an
 *            (4 B BE) -> ''                                    allocation takes the longest-released first
 *   state    'nextBlock[:class]' | 'usedBytes' | 'usageRule'   next never-used block per size class, bytes counted
 *            | 'freeOrder' | 'footprint' | 'quotaBytes'        against the quota (storedBytes), which rule counted
 *                                                              them, whether `freeorder` lists `free`, bytes of the
 *                                                              slots ever handed out (what the block files take on
 *                                                              disk), the quota derived for a disk without one
 *   hits     object hash -> hit count                          for the inspector; added in the batched touches
 *   seen     lease hash -> SeenCount                           requests the admission filter counted for an
 *                                                              object it has not stored (vhost <Admission>)
 *   seenorder window end (8 B BE ms) + lease hash -> ''        the same by expiry, so a sweep reads only lapsed ones
 *   tagsets  "vhost \n tag \0" + tag set id (8 B) -> ''        the tag sets holding a cache tag, and the
 *   tagobjects tag set id (8 B) + tagsAt (8 B) + hash -> primary key   objects of each set: for tag purges
 *                                                              (cache/tag-index.ts)
 * `objects` and `fills` keep msgpackr's record structures (field-name lists) once, under STRUCTURES_KEY, shared by
 * every process (lmdb's shared structures), rather than in every record.
 * Invariants: a block id is in exactly one of {an object's blocks, a fill's blocks, free, never allocated
 * (>= nextBlock)}, and `freeorder` lists exactly the blocks in `free`; `objects` points only at blocks whose bytes
 * were fully written before the record was committed; usedBytes = sum of storedBytes over committed objects
 * (bodies plus INDEX_RECORD_BYTES each); a fill whose record carries `controls` (a purge ran while it was in
 * flight) never commits its result as fresh: commit applies those commands first, and mergePartial refuses blocks
 * whose block lease carries them. Options
 * follow spikes.md item 2: noSync (the index is a rebuildable cache), overlappingSync off (avoids MDB_PANIC after a
 * SIGKILLed async writer).
 * CacheIndex keeps the hot paths (lookups, commit, removal, touches) and delegates the rest: record shapes and key
 * layouts (cache/index-records.ts), write transactions and the per-turn batch (cache/index-writer.ts), fill leases
 * and the partial merge (cache/index-leases.ts), block ids (cache/index-blocks.ts), the admission counts
 * (cache/index-admission.ts), scans, start-up passes and sweeps (cache/index-maintenance.ts), over the handles in
 * cache/index-stores.ts.
 */
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { countSeen, forgetSeen } from './index-admission.js';
import { allocateInTxn, releaseInTxn } from './index-blocks.js';
import * as fillLeases from './index-leases.js';
import * as maint from './index-maintenance.js';
import * as recency from './index-recency.js';
import type { IndexStores } from './index-stores.js';
import {
  BLOCK_REUSE_IMMEDIATE,
  FIRST_HASH,
  LRU_KEY_BYTES,
  LRU_TIME_BYTES,
  STRUCTURES_KEY,
  controlledMeta,
  lruKey,
  storedBytes,
} from './index-records.js';
import type { Admission, BlockLease, CommitOutcome, ControlAction, ControlResult, FillRecord, Footprint, InspectedObject, LeaseResult, ObjectMeta, SeenCount } from './index-records.js';
import { IndexWriter } from './index-writer.js';
import { sealRecord } from './inline-crc.js';
import { keyHash } from './key.js';
import { TagIndex } from './tag-index.js';
import type { TagEntry, TagTables } from './tag-index.js';
import type { IndexFileUse } from './index-headroom.js';

// The record shapes and constants live in cache/index-records.ts; importers keep taking them from here.
export { ABSENT_BLOCK, INDEX_RECORD_BYTES, MAX_OBJECT_KEY_BYTES, sameRepresentation, storedBytes } from './index-records.js';
export type {
  Admission,
  BlockLease,
  CommitOutcome,
  ControlAction,
  ControlResult,
  FillControl,
  FillRecord,
  Footprint,
  InspectedObject,
  LeaseResult,
  ObjectMeta,
} from './index-records.js';

/** A helper module function's parameters after its IndexStores (for methods that only delegate). */
type WithoutStores<P extends unknown[]> = P extends [IndexStores, ...infer Rest] ? Rest : never;

export class CacheIndex {
  readonly #root: RootDatabase;
  readonly #objects: Database<ObjectMeta, Buffer>;
  readonly #vary: Database<string[], Buffer>;
  readonly #keys: Database<Buffer, string>;
  readonly #fills: Database<FillRecord, Buffer>;
  readonly #fillKeys: Database<Buffer, string>;
  readonly #lru: Database<string, Buffer>;
  readonly #atime: Database<number, Buffer>;
  readonly #free: Database<number, number>;
  readonly #freeOrder: Database<string, Buffer>;
  readonly #state: Database<number | string, string>;
  readonly #hits: Database<number, Buffer>;
  readonly #seen: Database<SeenCount, Buffer>;
  readonly #seenOrder: Database<string, Buffer>;
  readonly #tags: TagIndex;
  /** The same databases and write helpers for cache/index-leases.ts and index-maintenance.ts (built once). */
  readonly #stores: IndexStores;
  /** The write transactions and the per-turn write batch (cache/index-writer.ts). */
  readonly #writer: IndexWriter;
  /**
   * Called when a write transaction failed because the file system is full; returning true (space was freed: the
   * primary's reserve file, cache/disk-space.ts) retries it once (IndexWriter.onNoSpace).
   */
  set onNoSpace(hook: (() => boolean) | null) {
    this.#writer.onNoSpace = hook;
  }

  get onNoSpace(): (() => boolean) | null {
    return this.#writer.onNoSpace;
  }

  /** The LMDB data file (the primary keeps blocks allocated past its last page: cache/index-headroom.ts). */
  readonly #file: string;

  /** See getFill. */
  onFillReadError: ((error: Error) => void) | null = null;

  /** Opens (creating) the index under `dir`. */
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.#file = join(dir, 'index.lmdb');
    this.#root = open({ path: this.#file, noSync: true, overlappingSync: false, maxReaders: 512, maxDbs: 20, noSubdir: true });
    this.#objects = this.#root.openDB({ name: 'objects', keyEncoding: 'binary', sharedStructuresKey: STRUCTURES_KEY });
    this.#vary = this.#root.openDB({ name: 'vary', keyEncoding: 'binary' });
    this.#keys = this.#root.openDB({ name: 'keys', encoding: 'binary' });
    this.#fills = this.#root.openDB({ name: 'fills', keyEncoding: 'binary', sharedStructuresKey: STRUCTURES_KEY });
    this.#fillKeys = this.#root.openDB({ name: 'fillkeys', encoding: 'binary' });
    this.#lru = this.#root.openDB({ name: 'lru', keyEncoding: 'binary' });
    this.#atime = this.#root.openDB({ name: 'atime', keyEncoding: 'binary' });
    this.#free = this.#root.openDB({ name: 'free', keyEncoding: 'uint32' });
    this.#freeOrder = this.#root.openDB({ name: 'freeorder', keyEncoding: 'binary' });
    this.#state = this.#root.openDB({ name: 'state' });
    this.#hits = this.#root.openDB({ name: 'hits', keyEncoding: 'binary' });
    this.#seen = this.#root.openDB({ name: 'seen', keyEncoding: 'binary' });
    this.#seenOrder = this.#root.openDB({ name: 'seenorder', keyEncoding: 'binary' });
    this.#tags = new TagIndex(this.#root);
    this.#writer = new IndexWriter(this.#root, dir, [this.#objects, this.#fills]);
    this.#writer.onBatchEnd = () => this.#flushUsed();
    this.#stores = {
      root: this.#root,
      dir,
      objects: this.#objects,
      vary: this.#vary,
      keys: this.#keys,
      fills: this.#fills,
      fillKeys: this.#fillKeys,
      lru: this.#lru,
      atime: this.#atime,
      free: this.#free,
      freeOrder: this.#freeOrder,
      state: this.#state,
      hits: this.#hits,
      seen: this.#seen,
      seenOrder: this.#seenOrder,
      writer: this.#writer,
      releaseBlocks: (blocks, now) => releaseInTxn(this.#stores, blocks, now),
      removeFill: (objectHash, record) => this.#removeFill(objectHash, record),
      removeInTxn: (objectHash, meta, now) => this.#removeInTxn(objectHash, meta, now),
      tags: this.#tags,
    };
  }

  getVary(primaryHash: Buffer): string[] | undefined {
    return this.#vary.get(primaryHash);
  }

  getObject(objectHash: Buffer): ObjectMeta | undefined {
    return this.#objects.get(objectHash);
  }

  /**
   * The fill record of an object. A read that fails (a damaged page) goes to onFillReadError when set (workers: the
   * key then passes through) and reads as no fill; the write that would follow fails the same way and is handled
   * as a storage error. Without the hook it throws.
   */
  getFill(objectHash: Buffer): FillRecord | undefined {
    if (this.onFillReadError === null) return this.#fills.get(objectHash);
    try {
      return this.#fills.get(objectHash);
    } catch (error) {
      this.onFillReadError(error as Error);
      return undefined;
    }
  }

  /** See acquireLease in cache/index-leases.ts. */
  acquireLease(objectHash: Buffer, record: FillRecord, now: number, isAlive: (pid: number) => boolean): LeaseResult {
    return fillLeases.acquireLease(this.#stores, objectHash, record, now, isAlive);
  }

  /** See acquireLeaseBatched in cache/index-leases.ts. */
  acquireLeaseBatched(objectHash: Buffer, record: FillRecord, now: number, isAlive: (pid: number) => boolean): Promise<LeaseResult> {
    return fillLeases.acquireLeaseBatched(this.#stores, objectHash, record, now, isAlive);
  }

  /** See acquireBlockLeases in cache/index-leases.ts. */
  acquireBlockLeases(leases: readonly BlockLease[], record: FillRecord, now: number, isAlive: (pid: number) => boolean): boolean[] {
    return fillLeases.acquireBlockLeases(this.#stores, leases, record, now, isAlive);
  }

  /** See leaseAlive in cache/index-leases.ts. */
  leaseAlive(key: Buffer, now: number, isAlive: (pid: number) => boolean): boolean {
    return fillLeases.leaseAlive(this.#stores, key, now, isAlive);
  }

  /** See releaseBlockLeases in cache/index-leases.ts. */
  releaseBlockLeases(leases: readonly BlockLease[], id: string): void {
    return fillLeases.releaseBlockLeases(this.#stores, leases, id);
  }

  /** See updateFill in cache/index-leases.ts. */
  updateFill(objectHash: Buffer, record: FillRecord): boolean {
    return fillLeases.updateFill(this.#stores, objectHash, record);
  }

  /** See updateFillBatched in cache/index-leases.ts. */
  updateFillBatched(objectHash: Buffer, record: FillRecord, unlisted?: Set<number>): Promise<boolean> {
    return fillLeases.updateFillBatched(this.#stores, objectHash, record, unlisted);
  }

  /** See markFollowed in cache/index-leases.ts. */
  markFollowed(objectHash: Buffer, id: string): boolean {
    return fillLeases.markFollowed(this.#stores, objectHash, id);
  }

  /** See releaseLease in cache/index-leases.ts. */
  releaseLease(objectHash: Buffer, id: string, now: number): void {
    return fillLeases.releaseLease(this.#stores, objectHash, id, now);
  }

  /** See releaseLeaseBatched in cache/index-leases.ts. */
  releaseLeaseBatched(objectHash: Buffer, id: string, now: number, unlisted: Set<number>): Promise<void> {
    return fillLeases.releaseLeaseBatched(this.#stores, objectHash, id, now, unlisted);
  }

  /** Drops a fill record and its key entry (inside a transaction). */
  #removeFill(objectHash: Buffer, record: FillRecord): void {
    this.#fills.remove(objectHash);
    this.#removeFillKey(record);
  }

  /**
   * Drops a fill's entry in `fillkeys`. No read first: a fill record is stored under the hash of its own key (a
   * lease under keyHash(key), index-leases.ts), so the entry of its key can only point at this record's hash; a key
   * whose hash collides has its own entry (takeLease drops it).
   */
  #removeFillKey(record: FillRecord): void {
    if (record.key !== undefined) this.#fillKeys.remove(record.key);
  }

  /**
   * Hands out `count` block ids of size class `sizeClass` (cache/blocks.ts): released blocks of that class whose
   * grace period has passed first, then never-used ids, at most `capacity` of the class (0 = unlimited), then
   * released blocks still in their grace period, longest released first. The last keeps a cache at its quota
   * storing new objects (the evictor frees blocks all the time, and they would otherwise all wait out the grace
   * while new fills are refused): a client still streaming the evicted object such a block belonged to is cut when
   * the block's checksum no longer matches, never served the new bytes; taking the oldest release first makes that
   * least likely. Returns null when the disk is full.
   */
  allocateBlocks(count: number, capacity: number, now: number, graceMs: number, sizeClass = 0, footprint: Footprint | null = null): number[] | null {
    let ids: number[] | null = null;
    this.#writer.transact(() => {
      ids = allocateInTxn(this.#stores, count, capacity, now, graceMs, sizeClass, footprint);
    });
    return ids;
  }

  /** allocateBlocks for one block, in this event-loop turn's write batch (see IndexWriter.inTurnBatch): a fill's next block. */
  allocateBlockBatched(capacity: number, now: number, graceMs: number, sizeClass: number, footprint: Footprint | null = null): Promise<number | null> {
    return this.#writer.inTurnBatch(() => allocateInTxn(this.#stores, 1, capacity, now, graceMs, sizeClass, footprint)?.[0] ?? null);
  }

  /** See orderFreeBlocks in cache/index-maintenance.ts. */
  orderFreeBlocks(): number {
    return maint.orderFreeBlocks(this.#stores);
  }

  /** Frees blocks at once (written by a range fill that was given up; nobody ever read them). */
  releaseBlocksNow(blocks: readonly number[], now: number): void {
    this.#writer.transact(() => releaseInTxn(this.#stores, blocks, now - BLOCK_REUSE_IMMEDIATE));
  }

  /** See mergePartial in cache/index-leases.ts. */
  mergePartial(...args: WithoutStores<Parameters<typeof fillLeases.mergePartial>>): ObjectMeta | null {
    return fillLeases.mergePartial(this.#stores, ...args);
  }

  /**
   * Publishes a complete object: record, vary names, key string, usage, and the fill's lease (`lease`, on the lookup
   * hash, which differs from `objectHash` when the response's Vary differs) released in the same transaction: its
   * blocks now belong to the object. The object it replaces, if any, has its blocks released. When a purge, expire
   * or hardpurge reached the fill while it was in flight (its record carries `controls`), they are applied here, in
   * the transaction that reads them, so no order of purge and commit lets a response fetched before the purge land
   * as fresh: purged/expired objects are stored stale (the next request refetches or revalidates; a purged copy is
   * still the fallback if the origin fails, as for a stored copy), a hardpurged one is not stored (its blocks are
   * released with the usual grace period, so the fill's own clients can finish reading). Resolves once the
   * transaction committed, with what was done.
   */
  async commit(
    objectHash: Buffer,
    primaryHash: Buffer,
    vary: readonly string[],
    meta: ObjectMeta,
    lease: { readonly hash: Buffer; readonly id: string } | null,
    now: number,
    admission: Admission | null = null,
  ): Promise<CommitOutcome> {
    let outcome: CommitOutcome = 'stored';
    // Batched: the commits and leases of concurrent misses share one write transaction (see IndexWriter.inTurnBatch).
    await this.#writer.inTurnBatch(() => {
      let stored = meta;
      const fill = lease === null ? undefined : this.#fills.get(lease.hash);
      if (lease !== null && fill !== undefined && fill.id === lease.id && admission !== null && countSeen(this.#stores, lease.hash, objectHash, fill, admission, now)) {
        releaseInTxn(this.#stores, meta.blocks, now);
        outcome = 'not-admitted';
        return;
      }
      if (lease !== null && fill !== undefined && fill.id === lease.id) {
        this.#removeFill(lease.hash, fill);
        if (fill.uses !== undefined) forgetSeen(this.#stores, lease.hash);
        // A tag purge reached every fill of its vhost; it applies to those whose response carries the tag.
        const controls = fill.controls?.filter((c) => c.tag === undefined || meta.tags?.includes(c.tag) === true);
        if (controls !== undefined && controls.length > 0) {
          const controlled = controlledMeta(meta, controls, now);
          if (controlled === null) {
            releaseInTxn(this.#stores, meta.blocks, now);
            outcome = 'dropped';
            return;
          }
          stored = controlled;
          outcome = 'controlled';
        }
      }
      const previous = this.#objects.get(objectHash);
      if (previous !== undefined) {
        releaseInTxn(this.#stores, previous.blocks, now);
        this.#usedDelta -= storedBytes(previous);
        // The generation is settled here, where the record it replaces is read: a fill counts from the copy it
        // revalidates (or from 1), and another worker may have stored the key since.
        // Set on the record, not a copy (a spread of its ~25 fields is V8's slow path, µs per miss): idempotent if
        // this transaction is retried, and the generation stored is the one every holder should see.
        if (previous.generation >= stored.generation) (stored as { generation: number }).generation = previous.generation + 1;
      }
      stored = sealRecord(stored, this.#tags.change(stored.key, objectHash, previous, stored.tags));
      recency.placeStored(this.#stores, objectHash, previous, stored, now);
      this.#objects.put(objectHash, stored);
      if (vary.length > 0) this.#vary.put(primaryHash, [...vary]);
      // A URL stored before with Vary and now without: its Vary names go. A read first, since nearly every new
      // object has none to remove, and a remove is a write instruction even when the key is absent.
      else if (previous === undefined && this.#vary.doesExist(primaryHash)) this.#vary.remove(primaryHash);
      this.#keys.put(stored.key, objectHash);
      this.#usedDelta += storedBytes(stored);
      if (previous !== undefined) this.#hits.remove(objectHash);
    });
    return outcome;
  }

  /**
   * What the commits of the running write batch changed usedBytes by: written once at the batch's end (#flushUsed,
   * IndexWriter.onBatchEnd), a read and a put per batch instead of per commit.
   */
  #usedDelta = 0;

  #flushUsed(): void {
    const delta = this.#usedDelta;
    // Zeroed first: a batch retried after a full disk adds its commits up again.
    this.#usedDelta = 0;
    if (delta !== 0) this.#state.put('usedBytes', ((this.#state.get('usedBytes') as number | undefined) ?? 0) + delta);
  }

  /**
   * For a fill that wrote none of its blocks (on probation, it held them): in this event-loop turn's write batch,
   * drops its lease and counts the request when the admission filter keeps the object out (see countSeen in
   * cache/index-admission.ts), and returns true. False when the object must be stored (the count is reached,
   * another worker follows the fill, or the object is stored already): the fill then writes its blocks and commits.
   */
  dropUnadmitted(leaseHash: Buffer, objectHash: Buffer, id: string, admission: Admission, now: number): Promise<boolean> {
    return this.#writer.inTurnBatch(() => {
      const fill = this.#fills.get(leaseHash);
      return fill !== undefined && fill.id === id && countSeen(this.#stores, leaseHash, objectHash, fill, admission, now);
    });
  }

  /** See sweepSeen in cache/index-maintenance.ts. */
  sweepSeen(now: number, limit: number): number {
    return maint.sweepSeen(this.#stores, now, limit);
  }

  /** Rewrites the metadata of a stored object (304 refresh, TTL extension) if it still has `generation`. */
  updateMeta(objectHash: Buffer, meta: ObjectMeta): boolean {
    let updated = false;
    this.#writer.transact(() => {
      const current = this.#objects.get(objectHash);
      if (current === undefined || current.generation !== meta.generation || current.key !== meta.key) return;
      updated = true;
      // The record keeps its place in the recency order (cache/index-recency.ts), whatever copy `meta` was made from.
      const placed = current.storedMs === meta.storedMs ? meta : { ...meta, storedMs: current.storedMs };
      this.#objects.put(objectHash, sealRecord(placed, this.#tags.change(meta.key, objectHash, current, meta.tags)));
    });
    return updated;
  }

  /** Deletes an object and releases its blocks; returns the bytes freed (0 if it was not there). */
  remove(objectHash: Buffer, now: number): number {
    return this.removeMany([objectHash], now);
  }

  /**
   * Deletes objects (the evictor's victims) in one write transaction; returns the bytes freed. Callers keep a batch
   * small (the transaction holds the write lock the workers' fills wait for): one transaction per object made each
   * removal pay a commit, which cost the primary about 10% of the cluster's CPU in the zipf bench.
   */
  removeMany(objectHashes: readonly Buffer[], now: number): number {
    let freed = 0;
    this.#writer.transact(() => {
      for (const hash of objectHashes) {
        const meta = this.#objects.get(hash);
        if (meta !== undefined) freed += this.#removeInTxn(hash, meta, now);
      }
      if (freed > 0) this.#state.put('usedBytes', Math.max(0, ((this.#state.get('usedBytes') as number | undefined) ?? 0) - freed));
    });
    return freed;
  }

  /**
   * Inside a write transaction: deletes the object's records and releases its blocks; returns its stored bytes.
   * The URL's Vary names go with its last variant (else every evicted URL that had a Vary would leave them).
   */
  #removeInTxn(objectHash: Buffer, meta: ObjectMeta, now: number): number {
    releaseInTxn(this.#stores, meta.blocks, now);
    this.#objects.remove(objectHash);
    this.#keys.remove(meta.key);
    this.#tags.change(meta.key, objectHash, meta, undefined);
    const primary = meta.key.slice(0, meta.key.indexOf('\0'));
    let variantsLeft = false;
    for (const _ of this.#keys.getKeys({ start: `${primary}\0`, end: `${primary}\u0001`, limit: 1 })) variantsLeft = true;
    if (!variantsLeft) this.#vary.remove(keyHash(primary));
    recency.forget(this.#stores, objectHash, meta);
    this.#hits.remove(objectHash);
    return storedBytes(meta);
  }

  /** Deletes every variant of a primary key (unsafe-method invalidation); returns how many. */
  removePrimary(primary: string, now: number): number {
    const hashes: Buffer[] = [];
    for (const { value } of this.#keys.getRange({ start: `${primary}\0`, end: `${primary}\u0001` })) hashes.push(Buffer.from(value));
    this.removeMany(hashes, now);
    return hashes.length;
  }

  /**
   * Records access times (ms) and hit counts of many objects in one transaction (workers batch their hits), in this
   * event-loop turn's write batch (see IndexWriter.inTurnBatch), not an lmdb asynchronous transaction: when one of
   * those fails to commit (a damaged page), lmdb also rejects a promise nobody holds, and the worker died of it.
   */
  touchMany(touches: ReadonlyMap<string, number>, hits?: ReadonlyMap<string, number>): Promise<unknown> {
    return this.#writer.inTurnBatch(() => {
      for (const [hex, ms] of touches) {
        const hash = Buffer.from(hex, 'hex');
        if (!recency.touch(this.#stores, hash, ms)) continue;
        const count = hits?.get(hex);
        if (count !== undefined) this.#hits.put(hash, (this.#hits.get(hash) ?? 0) + count);
      }
    });
  }

  /** See scanKeys in cache/index-maintenance.ts. */
  scanKeys(start: string, end: string, after: string | null, limit: number): Array<{ key: string; hash: Buffer }> {
    return maint.scanKeys(this.#stores, start, end, after, limit);
  }

  /**
   * Up to `limit` objects tagged `tag` in `vhost` (cache/tag-index.ts), after the cursor `after` (the last page's
   * last `cursor`): their hashes and primary keys. A read of the tag entries alone; tag purges page through it.
   */
  tagMembers(vhost: string, tag: string, after: Buffer | null, limit: number): Array<{ hash: Buffer; primary: string; cursor: Buffer }> {
    return this.#tags.members(vhost, tag, after, limit);
  }

  /** Every (tag, object) pair of the tag index (tests, checks and the bench: reads its tables whole). */
  tagEntries(): TagEntry[] {
    return [...this.#tags.entries()];
  }

  /** The tag index's two tables as stored (tests of its invariants). */
  tagTables(): TagTables {
    return this.#tags.tables();
  }

  /** See applyControl in cache/index-maintenance.ts. */
  applyControl(hashes: readonly Buffer[], action: ControlAction, now: number, sec: number, ageOf: (meta: ObjectMeta) => number): Promise<ControlResult> {
    return maint.applyControl(this.#stores, hashes, action, now, sec, ageOf);
  }

  /** See controlFills in cache/index-maintenance.ts. */
  controlFills(start: string, end: string, matches: (primary: string) => boolean, action: ControlAction, sec: number, tag?: string): number {
    return maint.controlFills(this.#stores, start, end, matches, action, sec, tag);
  }

  /** See inspect in cache/index-maintenance.ts. */
  inspect(primary: string): InspectedObject[] {
    return maint.inspect(this.#stores, primary);
  }

  /** See recountUsage in cache/index-maintenance.ts. */
  recountUsage(): boolean {
    return maint.recountUsage(this.#stores);
  }

  /** See recountFootprint in cache/index-maintenance.ts. */
  recountFootprint(slotBytes: (sizeClass: number) => number): number {
    return maint.recountFootprint(this.#stores, slotBytes);
  }

  /** The quota the primary derived for a disk configured without one (0: none derived). */
  derivedQuota(): number {
    return (this.#state.get('quotaBytes') as number | undefined) ?? 0;
  }

  setDerivedQuota(bytes: number): void {
    this.#writer.transact(() => this.#state.put('quotaBytes', bytes));
  }

  /** Bytes used by committed objects. */
  usedBytes(): number {
    return (this.#state.get('usedBytes') as number | undefined) ?? 0;
  }

  /** The index file and how far into it LMDB has written pages (its last page's end). */
  fileUse(): IndexFileUse {
    const { lastPageNumber, pageSize } = this.#root.getStats() as { lastPageNumber: number; pageSize: number };
    return { path: this.#file, usedBytes: (lastPageNumber + 1) * pageSize };
  }

  /** Object count. */
  objectCount(): number {
    return this.#objects.getCount({ start: FIRST_HASH });
  }

  /**
   * Objects by last access (ms), oldest first, from `sinceMs` on: the whole recency order from 0, the objects
   * stored or hit since then otherwise (the evictor's policies follow them: cache/eviction.ts).
   */
  *accessedSince(sinceMs: number): Generator<{ readonly hex: string; readonly atime: number }> {
    for (const key of this.#lru.getKeys({ start: lruKey(sinceMs, FIRST_HASH) })) {
      const k = key as Buffer;
      // The hash as hex straight from the key (no Buffer per entry: most entries are only compared); ms fit 48 bits.
      yield { hex: k.toString('hex', LRU_TIME_BYTES, LRU_KEY_BYTES), atime: k.readUIntBE(2, 6) };
    }
  }

  /** See slotState in cache/index-maintenance.ts. */
  slotState(): { footprint: number; handedOut: Map<number, number>; withFree: Set<number> } {
    return maint.slotState(this.#stores);
  }

  /** See oldestOfClass in cache/index-maintenance.ts. */
  oldestOfClass(sizeClass: number, now: number, limit: number): Buffer | null {
    return maint.oldestOfClass(this.#stores, sizeClass, now, limit);
  }

  /** Hits counted for an object since it was stored (workers add them in their batched touches). */
  hitCount(objectHash: Buffer): number {
    return this.#hits.get(objectHash) ?? 0;
  }

  /** See clearFills in cache/index-maintenance.ts. */
  clearFills(now: number): number {
    return maint.clearFills(this.#stores, now);
  }

  /** See reclaimUnlisted in cache/index-maintenance.ts. */
  reclaimUnlisted(now: number): number {
    return maint.reclaimUnlisted(this.#stores, now);
  }

  /** See fillCounts in cache/index-maintenance.ts. */
  fillCounts(now: number): { inProgress: number; seen: number; records: number } {
    return maint.fillCounts(this.#stores, now);
  }

  /** See sweepFills in cache/index-maintenance.ts. */
  sweepFills(after: Buffer | null, limit: number, now: number, isAlive: (pid: number) => boolean): { next: Buffer | null; removed: number } {
    return maint.sweepFills(this.#stores, after, limit, now, isAlive);
  }

  /** See verify in cache/index-maintenance.ts. */
  verify(deadline: number): { records: number; complete: boolean } {
    return maint.verify(this.#stores, deadline);
  }

  /** Removes stale reader slots of dead processes (spikes.md item 2: they pin old pages and grow the file). */
  readerCheck(): number {
    return this.#root.readerCheck();
  }

  async close(): Promise<void> {
    // Steps still queued (a commit at shutdown) go in before the environment closes.
    this.#writer.runBatch();
    await this.#root.close();
  }
}
