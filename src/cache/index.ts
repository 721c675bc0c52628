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
 *   atime    object hash -> access time (ms)                   where an object sits in `lru`
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
 *   tags     "vhost \n tag \0" + object hash -> primary key     objects by cache tag, for tag purges (cache/tag-index.ts)
 *   tagjournal sequence (8 B BE) -> tag change                 tag changes the primary has not applied to `tags` yet
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
 */
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLASS_SPAN, blockClass } from './blocks.js';
import { isNoSpace } from './disk-space.js';
import { currentAge } from './freshness.js';
import { withInlineCrc } from './inline-crc.js';
import { keyHash } from './key.js';
import { TagIndex } from './tag-index.js';
import type { TagEntry } from './tag-index.js';
import type { StoredTiming } from './freshness.js';

/** Everything known about one stored response. Times are ms since epoch unless named `...Sec`. */
export interface ObjectMeta {
  /** The full object key (primary \0 variant), to guard against hash collisions and for purge/inspection. */
  readonly key: string;
  readonly status: number;
  /** Stored response headers, flat name/value list (no hop-by-hop, no Set-Cookie, no Content-Length, no Date). */
  readonly headers: readonly string[];
  /** Body length in bytes. */
  readonly size: number;
  readonly etag: string | null;
  readonly lastModifiedMs: number | null;
  /** When the origin request was sent and its response received (RFC 9111 §4.2.3 request_time/response_time). */
  readonly requestTime: number;
  readonly responseTime: number;
  /** Origin Date header, or null. */
  readonly dateMs: number | null;
  /** Origin Age header (seconds), 0 when absent. */
  readonly ageHeaderSec: number;
  /** Freshness lifetime decided at store time (seconds). */
  readonly ttlSec: number;
  readonly staleWhileRevalidateSec: number;
  readonly staleIfErrorSec: number;
  readonly revalidate: 'normal' | 'always';
  readonly mustRevalidate: boolean;
  readonly ttlSource: 'origin' | 'heuristic' | 'config';
  /** Extra freshness granted after storing (origin failures, TTLExtensionBy*), seconds. */
  readonly extendedSec: number;
  /** Body bytes when stored inline, else null. */
  readonly inline: Uint8Array | null;
  /** crc32 of `inline`, stamped by the index on every write (cache/inline-crc.ts); absent on older records. */
  readonly inlineCrc?: number;
  /** Block ids in body order (empty for inline bodies); ABSENT_BLOCK marks a block a partial object lacks. */
  readonly blocks: readonly number[];
  readonly blockSize: number;
  /**
   * False for a partial object (filled by block-aligned range requests): only its present blocks may be served.
   * Absent on records written before partial objects existed, which were all complete.
   */
  readonly complete?: boolean;
  /** crc32 of each block's bytes (a torn or reused block is detected on read). */
  readonly crcs: readonly number[];
  /** Bumped on every replacement of this key; lets hot tiers tell copies apart. */
  readonly generation: number;
  /**
   * Set by /command/purge: the next request refetches the object without validators; if the origin fails, this
   * copy is restored (served and extended) instead. Absent = not purged.
   */
  readonly purged?: boolean;
  /**
   * Set on a derived variant (transform/derived.ts: a compressed or converted copy, key `original key ~ tag`): the
   * identity of the original's bytes it was made from; a mismatch means the original changed and the copy is stale.
   */
  readonly derivedFrom?: string;
  /** Cache tags from the origin's tag fields (cache/tags.ts), indexed in `tags`; absent = none. */
  readonly tags?: readonly string[];
}

/** A cache-control command applied to objects (see applyControl). */
export type ControlAction = 'purge' | 'expire' | 'expireafter' | 'hardpurge';

/** A cache-control command that reached a fill in flight; its commit applies it (see commit). */
export interface FillControl {
  readonly action: ControlAction;
  /** expireafter's delay (seconds); 0 for the others. */
  readonly sec: number;
  /** A tag purge: applies only when the committed response carries this tag (its tags are known only then). */
  readonly tag?: string;
}

/** What applyControl did: objects affected and their body bytes. */
export interface ControlResult {
  count: number;
  size: number;
}

/** Everything the inspector shows about one stored variant. */
export interface InspectedObject {
  readonly hash: Buffer;
  readonly meta: ObjectMeta;
  readonly fill: FillRecord | undefined;
  readonly lastAccessMs: number | undefined;
  readonly hits: number;
}

/** The cross-process record of an origin fetch in progress (the fill lease) and how far it got. */
export interface FillRecord {
  readonly id: string;
  readonly pid: number;
  /** The lease expires at this time unless renewed (a dead owner's lease is taken over after it). */
  readonly until: number;
  /** 'filling' while bytes arrive; 'uncacheable' tells followers to go to the origin themselves (hit-for-pass). */
  readonly state: 'filling' | 'uncacheable';
  /** Response head once the origin answered (status + stored headers), else null. */
  readonly status: number;
  readonly headers: readonly string[] | null;
  /** Timing of that head, so followers compute the same Age as the owner; null before the head. */
  readonly timing: StoredTiming | null;
  /** Body size, -1 while unknown (chunked). */
  readonly size: number;
  readonly blockSize: number;
  /** Blocks fully written so far, in body order, with their crc32s. */
  readonly blocks: readonly number[];
  readonly crcs: readonly number[];
  /** The object key the lease is on (primary \0 variant; `... #blockN` on block leases), so purges can find the fill. */
  readonly key?: string;
  /**
   * Commands run on this key while the fill was in flight, in order (written by the primary's purge). Its
   * response may predate them, so commit applies them to it; followers do not join such a fill.
   */
  readonly controls?: readonly FillControl[];
  /**
   * Admission filter (vhost <Admission>): set on a fill when the object is stored only on its `minUses`th request:
   * the requests counted before this fill (`seen`).
   */
  readonly uses?: number;
  /** A request in another worker follows this fill: it is stored whatever the admission count (see markFollowed). */
  readonly followed?: boolean;
}

/** Requests the admission filter counted for an object not stored yet, until `windowEnd` (ms). */
interface SeenCount {
  readonly uses: number;
  readonly windowEnd: number;
}

/** A `seenorder` key: window end in ms (BE, 8 bytes) then the lease hash, so a range scan yields the lapsed first. */
function seenOrderKey(windowEnd: number, hash: Uint8Array): Buffer {
  return lruKey(windowEnd, hash);
}

/** The admission filter a fill's commit applies (vhost <Admission>); absent when every response is stored. */
export interface Admission {
  /** Requests within the window an object needs before it is stored; this fill's own request is one. */
  readonly minUses: number;
  readonly windowMs: number;
}

/** One block lease of a partial fetch: its fills hash and its key string (`primary \0 variant #blockN`). */
export interface BlockLease {
  readonly hash: Buffer;
  readonly key: string;
}

export type LeaseResult = { readonly acquired: true; readonly record: FillRecord } | { readonly acquired: false; readonly record: FillRecord };

/**
 * Where `objects` and `fills` keep their shared record structures: one byte, so it never equals a 16-byte hash, and
 * sorts before every hash, so scans that start at FIRST_HASH never see it. Without shared structures every record
 * carried its field names (about 250 of a 1 KiB object's 1.5 KB) and every read and write rebuilt its structure:
 * sharing them made a miss about 10% cheaper (bench/README.md).
 */
const STRUCTURES_KEY = Buffer.from([0]);
/** The lowest object hash: the start of every scan over `objects` and `fills` (see STRUCTURES_KEY). */
const FIRST_HASH = Buffer.alloc(16);

const LRU_TIME_BYTES = 8;
const LRU_KEY_BYTES = LRU_TIME_BYTES + 16;

/** An lru key: access time in ms (BE, 8 bytes) then the 16-byte hash, so a range scan yields oldest first. */
function lruKey(ms: number, hash: Uint8Array): Buffer {
  const key = Buffer.allocUnsafe(LRU_KEY_BYTES);
  key.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(ms))), 0);
  key.set(hash, LRU_TIME_BYTES);
  return key;
}

/** A `freeorder` key: size class, release time, block id; ordered by class, then oldest release first. */
function freeOrderKey(sizeClass: number, releasedMs: number, id: number): Buffer {
  const key = Buffer.allocUnsafe(FREE_ORDER_KEY_BYTES);
  key[0] = sizeClass;
  key.writeUIntBE(Math.max(0, Math.floor(releasedMs)), 1, 6);
  key.writeUInt32BE(id, 7);
  return key;
}

const FREE_ORDER_KEY_BYTES = 11;

/** Bumped when `freeorder` must be rebuilt from `free` (1: it exists). */
const FREE_ORDER_VERSION = 1;

/** Backdating a release by this much makes the block reusable at once (no reader can hold it). */
const BLOCK_REUSE_IMMEDIATE = 24 * 3600 * 1000;

/** applyControl batches up to this many objects commit synchronously (see there). */
const SYNC_CONTROL_MAX = 16;

/** Tag journal records applied per write transaction: a few ms of the write lock the workers' commits wait for. */
export const TAG_DRAIN_BATCH = 500;

/**
 * The longest object key (UTF-8 bytes) the index takes: object key strings are lmdb keys (`keys`, `fillkeys`),
 * which lmdb caps at 1978 bytes (4 KiB pages), and block leases append `#blockN` to them.
 */
export const MAX_OBJECT_KEY_BYTES = 1978 - 32;

/** Marks a block a partial object does not have yet. */
export const ABSENT_BLOCK = -1;

/**
 * What an object counts against its disk's quota besides its body: its index records (the metadata record with its
 * headers, the key string, its place in the LRU order), about a kilobyte on index pages. Without it a bodiless
 * object (a cached 404, a redirect) counted nothing, and a quota did not bound the index.
 */
export const INDEX_RECORD_BYTES = 1024;

/**
 * The rule usedBytes is counted by; an index counted by another (an older Flint) is recounted when opened
 * (CacheIndex.recountUsage). 2: bodies + INDEX_RECORD_BYTES per object (1 counted bodies only).
 */
const USAGE_RULE = 2;

/** Bytes an object accounts for on disk: its body (present blocks only) and its index records. */
export function storedBytes(meta: Pick<ObjectMeta, 'inline' | 'blocks' | 'blockSize'>): number {
  if (meta.inline !== null) return meta.inline.length + INDEX_RECORD_BYTES;
  let present = 0;
  for (const id of meta.blocks) if (id !== ABSENT_BLOCK) present++;
  return present * meta.blockSize + INDEX_RECORD_BYTES;
}

/** Whether two records describe the same representation (so blocks of one may complete the other). */
export function sameRepresentation(a: ObjectMeta, b: ObjectMeta): boolean {
  return a.key === b.key && a.size === b.size && a.etag === b.etag && a.lastModifiedMs === b.lastModifiedMs && a.blockSize === b.blockSize;
}

/** What a commit did with the fill's object (see CacheIndex.commit). */
export type CommitOutcome = 'stored' | 'controlled' | 'dropped' | 'not-admitted';

/**
 * `meta` after a purge, expire or expireafter (`sec` seconds) at age `ageSec`: freshness is ttlSec + extendedSec
 * against the age, so extendedSec moves the expiry to now (+ sec); purge also marks the copy purged (refetched
 * without validators, restored if the origin fails). Pure.
 */
function controlApplied(meta: ObjectMeta, action: Exclude<ControlAction, 'hardpurge'>, sec: number, ageSec: number): ObjectMeta {
  return {
    ...meta,
    extendedSec: ageSec - meta.ttlSec + (action === 'expireafter' ? sec : 0),
    // An expired object must be revalidated, not served stale while revalidating.
    staleWhileRevalidateSec: action === 'expireafter' ? meta.staleWhileRevalidateSec : 0,
    ...(action === 'purge' ? { purged: true } : {}),
  };
}

/**
 * A fill's object after the commands that reached it in flight, in order, as if it had been stored when they ran;
 * null when one was a hardpurge (nothing is stored). Ages are taken at commit time: an expireafter counts its
 * `sec` from the commit, at most a fill's duration later than from the command.
 */
function controlledMeta(meta: ObjectMeta, controls: readonly FillControl[], now: number): ObjectMeta | null {
  let out = meta;
  for (const control of controls) {
    if (control.action === 'hardpurge') return null;
    out = controlApplied(out, control.action, control.sec, currentAge(out, now));
  }
  return out;
}

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
  /** Write steps queued for this event-loop turn's transaction (see #inTurnBatch). */
  #batch: BatchedStep[] = [];
  /**
   * Called when a write transaction failed because the file system is full; returning true (space was freed: the
   * primary's reserve file, cache/disk-space.ts) retries it once. LMDB needs new pages even to delete.
   */
  onNoSpace: (() => boolean) | null = null;
  /** See getFill. */
  onFillReadError: ((error: Error) => void) | null = null;

  /** Opens (creating) the index under `dir`. */
  /** The disk directory the index file lives in (a full file system is told from a broken one there). */
  readonly #dir: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.#dir = dir;
    this.#root = open({ path: join(dir, 'index.lmdb'), noSync: true, overlappingSync: false, maxReaders: 512, maxDbs: 16, noSubdir: true });
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

  /**
   * Takes the fill lease of an object unless a live one exists (atomic across processes). An expired lease, or one
   * whose owner pid is gone, is taken over; the blocks it had written are released. Commits synchronously: for the
   * rare paths that need the answer at once (a takeover, a revalidation, a range fetch answered whole).
   */
  acquireLease(objectHash: Buffer, record: FillRecord, now: number, isAlive: (pid: number) => boolean): LeaseResult {
    let result: LeaseResult = { acquired: true, record };
    this.#transact(() => {
      result = this.#takeLease(objectHash, record, now, isAlive);
    });
    return result;
  }

  /**
   * acquireLease in this event-loop turn's write batch (see #inTurnBatch): the lease of a plain miss. Resolves once
   * the batch committed, so the caller still fetches only with the lease visible to every worker.
   */
  acquireLeaseBatched(objectHash: Buffer, record: FillRecord, now: number, isAlive: (pid: number) => boolean): Promise<LeaseResult> {
    return this.#inTurnBatch(() => this.#takeLease(objectHash, record, now, isAlive));
  }

  /**
   * acquireLease's check-and-set, inside a write transaction. A lease subject to admission (`record.uses` set)
   * carries the object's count, if one is still in its window.
   */
  #takeLease(objectHash: Buffer, record: FillRecord, now: number, isAlive: (pid: number) => boolean): LeaseResult {
    const current = this.#fills.get(objectHash);
    if (current !== undefined && current.until > now && isAlive(current.pid)) return { acquired: false, record: current };
    if (current !== undefined) this.#releaseBlocks(current.blocks, now);
    if (current?.key !== undefined && current.key !== record.key) this.#fillKeys.remove(current.key);
    const seen = record.uses === undefined ? undefined : this.#seen.get(objectHash);
    const taken = seen !== undefined && seen.windowEnd > now ? { ...record, uses: seen.uses } : record;
    this.#fills.put(objectHash, taken);
    if (record.key !== undefined) this.#fillKeys.put(record.key, objectHash);
    return { acquired: true, record: taken };
  }

  /**
   * Block leases of a partial fetch, in one transaction: for each lease (one per missing block), takes it unless a
   * live one exists. Returns which leases this call now holds. Each lease is listed in `fillkeys` under its key
   * string (`primary \0 variant #blockN`, inside the object key's purge range), so controlFills marks it like a
   * whole-object fill and mergePartial can see that a purge ran while the blocks were fetched.
   */
  acquireBlockLeases(leases: readonly BlockLease[], record: FillRecord, now: number, isAlive: (pid: number) => boolean): boolean[] {
    const held: boolean[] = [];
    this.#transact(() => {
      for (const { hash, key } of leases) {
        const current = this.#fills.get(hash);
        const free = current === undefined || current.until <= now || !isAlive(current.pid);
        if (free) {
          this.#fills.put(hash, { ...record, key });
          this.#fillKeys.put(key, hash);
        }
        held.push(free);
      }
    });
    return held;
  }

  /** Whether a live lease exists on `key`. */
  leaseAlive(key: Buffer, now: number, isAlive: (pid: number) => boolean): boolean {
    const current = this.#fills.get(key);
    return current !== undefined && current.until > now && isAlive(current.pid);
  }

  /** Drops block leases taken by `id`. */
  releaseBlockLeases(leases: readonly BlockLease[], id: string): void {
    this.#transact(() => {
      for (const { hash } of leases) {
        const current = this.#fills.get(hash);
        if (current?.id === id) this.#removeFill(hash, current);
      }
    });
  }

  /**
   * Replaces the fill record if `id` still owns it; false when the lease was lost (taken over). Commands a purge
   * wrote into the record meanwhile are kept (the owner does not know of them).
   */
  updateFill(objectHash: Buffer, record: FillRecord): boolean {
    let owned = false;
    this.#transact(() => {
      owned = this.#updateFillInTxn(objectHash, record);
    });
    return owned;
  }

  /**
   * updateFill in this event-loop turn's write batch (see #inTurnBatch): a fill's progress for followers in other
   * workers, visible a turn later.
   */
  updateFillBatched(objectHash: Buffer, record: FillRecord): Promise<boolean> {
    return this.#inTurnBatch(() => this.#updateFillInTxn(objectHash, record));
  }

  #updateFillInTxn(objectHash: Buffer, record: FillRecord): boolean {
    const current = this.#fills.get(objectHash);
    if (current === undefined || current.id !== record.id) return false;
    let merged = record;
    if (current.controls !== undefined) merged = { ...merged, controls: current.controls };
    if (current.followed === true) merged = { ...merged, followed: true };
    this.#fills.put(objectHash, merged);
    return true;
  }

  /**
   * Notes on the fill `id` that a request in another worker follows it, so its commit stores the object whatever
   * the admission count (a follower reads the body from the stored blocks and the committed object). False when the
   * fill is over (the follower looks the object up again).
   */
  markFollowed(objectHash: Buffer, id: string): boolean {
    let live = false;
    this.#transact(() => {
      const current = this.#fills.get(objectHash);
      live = current !== undefined && current.id === id;
      if (live && current?.followed !== true) this.#fills.put(objectHash, { ...(current as FillRecord), followed: true });
    });
    return live;
  }

  /** Drops the fill record of a fill that did not commit, if `id` still owns it; its blocks go back to the free list. */
  releaseLease(objectHash: Buffer, id: string, now: number): void {
    this.#transact(() => {
      const current = this.#fills.get(objectHash);
      if (current === undefined || current.id !== id) return;
      this.#releaseBlocks(current.blocks, now);
      this.#removeFill(objectHash, current);
    });
  }

  /** Drops a fill record and its key entry (inside a transaction). */
  #removeFill(objectHash: Buffer, record: FillRecord): void {
    this.#fills.remove(objectHash);
    this.#removeFillKey(objectHash, record);
  }

  /** Drops a fill's entry in `fillkeys` if it still points at this fill's hash. */
  #removeFillKey(objectHash: Buffer, record: FillRecord): void {
    if (record.key !== undefined && this.#fillKeys.get(record.key)?.equals(objectHash) === true) this.#fillKeys.remove(record.key);
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
    this.#transact(() => {
      ids = this.#allocateInTxn(count, capacity, now, graceMs, sizeClass, footprint);
    });
    return ids;
  }

  /** allocateBlocks for one block, in this event-loop turn's write batch (see #inTurnBatch): a fill's next block. */
  allocateBlockBatched(capacity: number, now: number, graceMs: number, sizeClass: number, footprint: Footprint | null = null): Promise<number | null> {
    return this.#inTurnBatch(() => this.#allocateInTxn(1, capacity, now, graceMs, sizeClass, footprint)?.[0] ?? null);
  }

  /**
   * `footprint`, when given, also bounds the never-used ids of all classes together: the bytes of every slot ever
   * handed out (what the block files take on disk, since they never shrink) stay within its limitBytes. Without it
   * each class could grow to the whole quota, and a mix of sizes filled the file system.
   */
  #allocateInTxn(count: number, capacity: number, now: number, graceMs: number, sizeClass: number, footprint: Footprint | null): number[] | null {
    const base = sizeClass * CLASS_SPAN;
    const nextKey = sizeClass === 0 ? 'nextBlock' : `nextBlock:${sizeClass}`;
    // The `count` longest-released blocks of the class, oldest first: those past their grace come first.
    const oldest: Array<{ readonly id: number; readonly key: Buffer }> = [];
    let graceOver = 0;
    const range = { start: freeOrderKey(sizeClass, 0, 0), end: freeOrderKey(sizeClass + 1, 0, 0), limit: count };
    for (const key of this.#freeOrder.getKeys(range)) {
      if (graceOver === oldest.length && key.readUIntBE(1, 6) + graceMs <= now) graceOver++;
      oldest.push({ id: key.readUInt32BE(7), key: Buffer.from(key) });
    }
    let next = (this.#state.get(nextKey) as number | undefined) ?? 0;
    let taken = footprint === null ? 0 : ((this.#state.get('footprint') as number | undefined) ?? 0);
    const fresh: number[] = [];
    while (
      graceOver + fresh.length < count &&
      (capacity === 0 || next < capacity) &&
      next < CLASS_SPAN &&
      (footprint === null || taken + footprint.slotBytes <= footprint.limitBytes)
    ) {
      fresh.push(base + next++);
      taken += footprint?.slotBytes ?? 0;
    }
    const reused = oldest.slice(0, count - fresh.length);
    if (reused.length + fresh.length < count) return null;
    for (const { id, key } of reused) {
      this.#free.remove(id);
      this.#freeOrder.remove(key);
    }
    this.#state.put(nextKey, next);
    if (footprint !== null && fresh.length > 0) this.#state.put('footprint', taken);
    return [...reused.map((b) => b.id), ...fresh];
  }

  /** Returns blocks to the free list (reusable after the grace period, so readers of a replaced body can finish). */
  #releaseBlocks(blocks: readonly number[], now: number): void {
    for (const id of blocks) {
      if (id === ABSENT_BLOCK) continue;
      const sizeClass = blockClass(id);
      const released = this.#free.get(id);
      if (released !== undefined) this.#freeOrder.remove(freeOrderKey(sizeClass, released, id));
      this.#free.put(id, now);
      this.#freeOrder.put(freeOrderKey(sizeClass, now, id), '');
    }
  }

  /**
   * Lists the free blocks in `freeorder` when the index was written without it (an older Flint), once; returns
   * how many it listed then, else -1. Run by the primary before workers start.
   */
  orderFreeBlocks(): number {
    if (this.#state.get('freeOrder') === FREE_ORDER_VERSION) return -1;
    let listed = 0;
    this.#transact(() => {
      this.#freeOrder.clearSync();
      for (const { key, value } of this.#free.getRange()) {
        this.#freeOrder.put(freeOrderKey(blockClass(key), value, key), '');
        listed++;
      }
      this.#state.put('freeOrder', FREE_ORDER_VERSION);
    });
    return listed;
  }

  /** Frees blocks at once (written by a range fill that was given up; nobody ever read them). */
  releaseBlocksNow(blocks: readonly number[], now: number): void {
    this.#transact(() => this.#releaseBlocks(blocks, now - BLOCK_REUSE_IMMEDIATE));
  }

  /**
   * Adds fetched blocks to a partial object. When the stored record is the same representation, blocks it lacks
   * are filled in (blocks another worker fetched meanwhile win; ours are released); otherwise (absent, changed at
   * the origin) `template` with our blocks replaces it. Returns the record as committed, or null when the merge was
   * refused: a purge, expire or hardpurge reached one of the fetch's block leases (`lease`: the leases of the fetched
   * blocks, held by `lease.id`) while it was in flight, or a lease was lost (expired and taken over, so a purge may
   * have marked the taker's record instead). The blocks may then be bytes of the version the purge invalidated, and
   * merging them could bring a purged record back (recreate a hardpurged one, refresh a purged one, or mix old
   * blocks into a refetched new version), so nothing is written (the caller releases the blocks). This is the partial-object
   * counterpart of commit's `controls` check, read in the same transaction as the write, so a purge either runs
   * its controlFills before this transaction (refused here) or after it (its applyControl then reaches the merged
   * record). Unlike commit, no stale copy is kept: a partial copy is never served stale, so the caller fetches the
   * object whole instead.
   */
  mergePartial(
    objectHash: Buffer,
    primaryHash: Buffer,
    vary: readonly string[],
    template: ObjectMeta,
    fetched: ReadonlyMap<number, { id: number; crc: number }>,
    lease: { readonly leases: readonly BlockLease[]; readonly id: string },
    now: number,
  ): ObjectMeta | null {
    let result: ObjectMeta | null = template;
    this.#transact(() => {
      for (const { hash } of lease.leases) {
        const fill = this.#fills.get(hash);
        if (fill === undefined || fill.id !== lease.id || fill.controls !== undefined) {
          result = null;
          return;
        }
      }
      const current = this.#objects.get(objectHash);
      if (current !== undefined && current.complete !== false && sameRepresentation(current, template)) {
        // Someone stored the whole object meanwhile.
        this.#releaseBlocks([...fetched.values()].map((b) => b.id), now);
        result = current;
        return;
      }
      const base = current !== undefined && current.complete === false && sameRepresentation(current, template) ? current : template;
      const blocks = [...base.blocks];
      const crcs = [...base.crcs];
      const unused: number[] = [];
      for (const [index, block] of fetched) {
        if (blocks[index] === ABSENT_BLOCK) {
          blocks[index] = block.id;
          crcs[index] = block.crc;
        } else unused.push(block.id);
      }
      this.#releaseBlocks(unused, now);
      const merged: ObjectMeta = { ...base, blocks, crcs, complete: !blocks.includes(ABSENT_BLOCK) };
      let used = (this.#state.get('usedBytes') as number | undefined) ?? 0;
      if (current !== undefined) {
        used -= storedBytes(current);
        if (base !== current) this.#releaseBlocks(current.blocks, now);
      }
      this.#objects.put(objectHash, merged);
      this.#tags.journal(merged.key, objectHash, current?.tags, merged.tags);
      if (vary.length > 0) this.#vary.put(primaryHash, [...vary]);
      this.#keys.put(merged.key, objectHash);
      this.#state.put('usedBytes', used + storedBytes(merged));
      this.#touchInTxn(objectHash, now);
      result = merged;
    });
    return result;
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
    // Batched: the commits and leases of concurrent misses share one write transaction (see #inTurnBatch).
    await this.#inTurnBatch(() => {
      let stored = meta;
      const fill = lease === null ? undefined : this.#fills.get(lease.hash);
      if (lease !== null && fill !== undefined && fill.id === lease.id && admission !== null && this.#countSeen(lease.hash, objectHash, fill, admission, now)) {
        this.#releaseBlocks(meta.blocks, now);
        outcome = 'not-admitted';
        return;
      }
      if (lease !== null && fill !== undefined && fill.id === lease.id) {
        this.#removeFill(lease.hash, fill);
        if (fill.uses !== undefined) this.#forgetSeen(lease.hash);
        // A tag purge reached every fill of its vhost; it applies to those whose response carries the tag.
        const controls = fill.controls?.filter((c) => c.tag === undefined || meta.tags?.includes(c.tag) === true);
        if (controls !== undefined && controls.length > 0) {
          const controlled = controlledMeta(meta, controls, now);
          if (controlled === null) {
            this.#releaseBlocks(meta.blocks, now);
            outcome = 'dropped';
            return;
          }
          stored = controlled;
          outcome = 'controlled';
        }
      }
      const previous = this.#objects.get(objectHash);
      let used = (this.#state.get('usedBytes') as number | undefined) ?? 0;
      if (previous !== undefined) {
        this.#releaseBlocks(previous.blocks, now);
        used -= storedBytes(previous);
        // The generation is settled here, where the record it replaces is read: a fill counts from the copy it
        // revalidates (or from 1), and another worker may have stored the key since.
        if (previous.generation >= stored.generation) stored = { ...stored, generation: previous.generation + 1 };
      }
      stored = withInlineCrc(stored);
      this.#objects.put(objectHash, stored);
      this.#tags.journal(stored.key, objectHash, previous?.tags, stored.tags);
      if (vary.length > 0) this.#vary.put(primaryHash, [...vary]);
      else if (previous === undefined) this.#vary.remove(primaryHash);
      this.#keys.put(stored.key, objectHash);
      this.#state.put('usedBytes', used + storedBytes(stored));
      this.#touchInTxn(objectHash, now, previous === undefined);
      if (previous !== undefined) this.#hits.remove(objectHash);
    });
    return outcome;
  }

  /**
   * For a fill that wrote none of its blocks (on probation, it held them): in this event-loop turn's write batch,
   * drops its lease and counts the request when the admission filter keeps the object out (see #countSeen), and
   * returns true. False when the object must be stored (the count is reached, another worker follows the fill, or
   * the object is stored already): the fill then writes its blocks and commits.
   */
  dropUnadmitted(leaseHash: Buffer, objectHash: Buffer, id: string, admission: Admission, now: number): Promise<boolean> {
    return this.#inTurnBatch(() => {
      const fill = this.#fills.get(leaseHash);
      return fill !== undefined && fill.id === id && this.#countSeen(leaseHash, objectHash, fill, admission, now);
    });
  }

  /**
   * The admission filter at a fill's commit, inside its transaction: true when the object is not stored yet; the
   * fill's lease is then dropped and the request counted (`seen`, for the window from now). A fill another worker
   * follows is stored, and so is an object already stored (a replacement keeps its place in the cache). When the
   * object is stored, its count goes (#forgetSeen).
   */
  #countSeen(leaseHash: Buffer, objectHash: Buffer, fill: FillRecord, admission: Admission, now: number): boolean {
    const uses = (fill.uses ?? 0) + 1;
    if (fill.uses === undefined || uses >= admission.minUses || fill.followed === true || this.#objects.doesExist(objectHash)) return false;
    this.#removeFill(leaseHash, fill);
    this.#forgetSeen(leaseHash);
    const windowEnd = now + admission.windowMs;
    this.#seen.put(leaseHash, { uses, windowEnd });
    this.#seenOrder.put(seenOrderKey(windowEnd, leaseHash), '');
    return true;
  }

  /** Drops the admission count of a lease hash, if any (inside a transaction). */
  #forgetSeen(leaseHash: Buffer): void {
    const seen = this.#seen.get(leaseHash);
    if (seen === undefined) return;
    this.#seen.remove(leaseHash);
    this.#seenOrder.remove(seenOrderKey(seen.windowEnd, leaseHash));
  }

  /**
   * Removes admission counts whose window has ended, oldest first, at most `limit` in one transaction; returns how
   * many. Reads only those (`seenorder`), however many objects are being counted.
   */
  sweepSeen(now: number, limit: number): number {
    const lapsed: Buffer[] = [];
    for (const key of this.#seenOrder.getKeys({ end: seenOrderKey(now + 1, FIRST_HASH), limit })) lapsed.push(Buffer.from(key as Buffer));
    if (lapsed.length === 0) return 0;
    this.#transact(() => {
      for (const key of lapsed) {
        this.#seenOrder.remove(key);
        const hash = key.subarray(LRU_TIME_BYTES, LRU_KEY_BYTES);
        // The count may have been renewed since (a new window, under another seenorder key).
        if (this.#seen.get(hash)?.windowEnd === Number(key.readBigUInt64BE(0))) this.#seen.remove(hash);
      }
    });
    return lapsed.length;
  }

  /** Rewrites the metadata of a stored object (304 refresh, TTL extension) if it still has `generation`. */
  updateMeta(objectHash: Buffer, meta: ObjectMeta): boolean {
    let updated = false;
    this.#transact(() => {
      const current = this.#objects.get(objectHash);
      updated = current !== undefined && current.generation === meta.generation && current.key === meta.key;
      if (!updated) return;
      this.#objects.put(objectHash, withInlineCrc(meta));
      this.#tags.journal(meta.key, objectHash, current?.tags, meta.tags);
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
    this.#transact(() => {
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
    this.#releaseBlocks(meta.blocks, now);
    this.#objects.remove(objectHash);
    this.#keys.remove(meta.key);
    this.#tags.journal(meta.key, objectHash, meta.tags, undefined);
    const primary = meta.key.slice(0, meta.key.indexOf('\0'));
    let variantsLeft = false;
    for (const _ of this.#keys.getKeys({ start: `${primary}\0`, end: `${primary}\u0001`, limit: 1 })) variantsLeft = true;
    if (!variantsLeft) this.#vary.remove(keyHash(primary));
    const accessed = this.#atime.get(objectHash);
    if (accessed !== undefined) this.#lru.remove(lruKey(accessed, objectHash));
    this.#atime.remove(objectHash);
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
   * Moves an object to `ms` in the LRU order. `created`: the object did not exist before this transaction, so it
   * has no access time yet (an object's atime and lru entries are removed with it) and none is read.
   */
  #touchInTxn(objectHash: Buffer, ms: number, created = false): void {
    const previous = created ? undefined : this.#atime.get(objectHash);
    if (previous !== undefined && previous >= ms) return;
    if (previous !== undefined) this.#lru.remove(lruKey(previous, objectHash));
    this.#lru.put(lruKey(ms, objectHash), '');
    this.#atime.put(objectHash, ms);
  }

  /**
   * Records access times (ms) and hit counts of many objects in one transaction (workers batch their hits), in this
   * event-loop turn's write batch (see #inTurnBatch), not an lmdb asynchronous transaction: when one of those fails
   * to commit (a damaged page), lmdb also rejects a promise nobody holds, and the worker died of it.
   */
  touchMany(touches: ReadonlyMap<string, number>, hits?: ReadonlyMap<string, number>): Promise<unknown> {
    return this.#inTurnBatch(() => {
      for (const [hex, ms] of touches) {
        const hash = Buffer.from(hex, 'hex');
        if (!this.#objects.doesExist(hash)) continue;
        this.#touchInTxn(hash, ms);
        const count = hits?.get(hex);
        if (count !== undefined) this.#hits.put(hash, (this.#hits.get(hash) ?? 0) + count);
      }
    });
  }

  /**
   * Up to `limit` entries of the key index in [start, end), after the key `after` when given: the full key strings
   * (`vhost \n path?query \0 variant`) and their object hashes. A read; purges page through it between batches.
   */
  scanKeys(start: string, end: string, after: string | null, limit: number): Array<{ key: string; hash: Buffer }> {
    const out: Array<{ key: string; hash: Buffer }> = [];
    for (const { key, value } of this.#keys.getRange({ start: after ?? start, end, limit: after === null ? limit : limit + 1 })) {
      if (key === after) continue;
      out.push({ key, hash: Buffer.from(value) });
      if (out.length === limit) break;
    }
    return out;
  }

  /**
   * Applies up to `limit` records of the tag journal to the tag entries, in one write transaction (the primary:
   * every second and before a tag purge; cache/tag-index.ts); returns how many (fewer than `limit`: it is empty).
   */
  drainTagJournal(limit = TAG_DRAIN_BATCH): number {
    let drained = 0;
    this.#transact(() => {
      drained = this.#tags.drain(limit);
    });
    return drained;
  }

  /**
   * Up to `limit` objects tagged `tag` in `vhost` (cache/tag-index.ts), after the hash `after`: their hashes and
   * primary keys. A read of the tag entries alone, as of the last drain; tag purges drain first and page through it.
   */
  tagMembers(vhost: string, tag: string, after: Buffer | null, limit: number): Array<{ hash: Buffer; primary: string }> {
    return this.#tags.members(vhost, tag, after, limit);
  }

  /** Tag journal records the primary has not applied yet (tests). */
  tagJournalPending(): number {
    return this.#tags.pending();
  }

  /** Every tag entry, the journal drained first (tests and checks: reads the whole table). */
  tagEntries(): TagEntry[] {
    while (this.drainTagJournal() === TAG_DRAIN_BATCH);
    return [...this.#tags.entries()];
  }

  /**
   * Applies a cache-control command to objects in one write transaction (callers batch: a transaction holds the
   * write lock workers need for commits). purge: stale now, refetched without validators, restored if the origin
   * fails; expire: stale now (revalidated); expireafter: fresh until now + `sec`; hardpurge: deleted, blocks freed.
   * Objects already purged (or already expired, for expire) count nothing, so a repeated call is a no-op.
   */
  async applyControl(hashes: readonly Buffer[], action: ControlAction, now: number, sec: number, ageOf: (meta: ObjectMeta) => number): Promise<ControlResult> {
    const result: ControlResult = { count: 0, size: 0 };
    const apply = (): void => {
      result.count = 0;
      result.size = 0;
      let used = (this.#state.get('usedBytes') as number | undefined) ?? 0;
      for (const hash of hashes) {
        const meta = this.#objects.get(hash);
        if (meta === undefined) continue;
        if (action === 'hardpurge') {
          used -= this.#removeInTxn(hash, meta, now);
        } else {
          const ageSec = ageOf(meta);
          const freshForSec = meta.ttlSec + meta.extendedSec - ageSec;
          if (action === 'purge' && meta.purged === true) continue;
          if (action === 'expire' && freshForSec <= 0 && meta.staleWhileRevalidateSec === 0) continue;
          this.#objects.put(hash, { ...controlApplied(meta, action, sec, ageSec), generation: meta.generation + 1 });
        }
        result.count++;
        result.size += meta.size;
      }
      if (action === 'hardpurge') this.#state.put('usedBytes', Math.max(0, used));
    };
    // A few objects (an exact URL's variants): a synchronous transaction answers in well under a millisecond; the
    // asynchronous one waits for lmdb's next write batch (~5 ms measured by bench/purge-latency.ts).
    if (hashes.length <= SYNC_CONTROL_MAX) this.#transact(apply);
    else await this.#root.transaction(apply).catch((error: unknown) => (this.#spaceFreed(error) ? this.#transact(apply) : this.#transactionFailed(error)));
    return result;
  }

  /**
   * Records a cache-control command in the live fills whose lease key is in [start, end) and `matches` (the
   * primary keys of a purge target): their commit applies it (see commit), and followers stop joining them. One
   * write transaction; fills in flight are few (bounded by concurrent misses), so the range is read in one go.
   * Callers run this before applyControl on the stored objects: a fill that commits in between is then either
   * controlled here or already stored (and controlled there). Returns how many fills were reached.
   */
  controlFills(start: string, end: string, matches: (primary: string) => boolean, action: ControlAction, sec: number, tag?: string): number {
    let reached = 0;
    this.#transact(() => {
      for (const { key, value } of this.#fillKeys.getRange({ start, end })) {
        if (!matches(key.slice(0, key.indexOf('\0')))) continue;
        const hash = Buffer.from(value);
        const fill = this.#fills.get(hash);
        if (fill === undefined || fill.key !== key) {
          this.#fillKeys.remove(key);
          continue;
        }
        // A hit-for-pass marker stores nothing. An expired lease is marked too: its owner may be alive, only slow,
        // and commit if nobody takes the lease over (a takeover replaces the record, marks and all).
        if (fill.state !== 'filling') continue;
        this.#fills.put(hash, { ...fill, controls: [...(fill.controls ?? []), tag === undefined ? { action, sec } : { action, sec, tag }] });
        reached++;
      }
    });
    return reached;
  }

  /** Every stored variant of a primary key with its fill, last access and hit count (the object inspector). */
  inspect(primary: string): InspectedObject[] {
    const out: InspectedObject[] = [];
    for (const { key, hash } of this.scanKeys(`${primary}\0`, `${primary}\u0001`, null, 1000)) {
      const meta = this.#objects.get(hash);
      if (meta === undefined || meta.key !== key) continue;
      out.push({ hash, meta, fill: this.#fills.get(hash), lastAccessMs: this.#atime.get(hash), hits: this.#hits.get(hash) ?? 0 });
    }
    return out;
  }

  /**
   * Recounts usedBytes from every stored object when it was counted by another rule than this Flint's (USAGE_RULE),
   * so an index written by an older version is neither over- nor under-counted; one pass over the objects, at
   * startup, before any worker writes. Returns whether the count changed (false for a new or empty index).
   */
  recountUsage(): boolean {
    if (this.#state.get('usageRule') === USAGE_RULE) return false;
    let changed = false;
    this.#transact(() => {
      let used = 0;
      for (const { value } of this.#objects.getRange({ start: FIRST_HASH })) used += storedBytes(value);
      changed = used !== this.usedBytes();
      this.#state.put('usedBytes', used);
      this.#state.put('usageRule', USAGE_RULE);
    });
    return changed;
  }

  /**
   * Recounts `footprint` (see #allocateInTxn) from every class's next never-used id and `slotBytes` of each class;
   * run by the primary at start (the block size may have changed, or an older Flint did not count it). Returns it.
   */
  recountFootprint(slotBytes: (sizeClass: number) => number): number {
    let taken = 0;
    this.#transact(() => {
      for (const { key, value } of this.#state.getRange({ start: 'nextBlock', end: 'nextBlock;' })) {
        const sizeClass = key === 'nextBlock' ? 0 : Number(key.slice('nextBlock:'.length));
        if (Number.isInteger(sizeClass) && typeof value === 'number') taken += value * slotBytes(sizeClass);
      }
      this.#state.put('footprint', taken);
    });
    return taken;
  }

  /** The quota the primary derived for a disk configured without one (0: none derived). */
  derivedQuota(): number {
    return (this.#state.get('quotaBytes') as number | undefined) ?? 0;
  }

  setDerivedQuota(bytes: number): void {
    this.#transact(() => this.#state.put('quotaBytes', bytes));
  }

  /** Bytes used by committed objects. */
  usedBytes(): number {
    return (this.#state.get('usedBytes') as number | undefined) ?? 0;
  }

  /** Object count. */
  objectCount(): number {
    return this.#objects.getCount({ start: FIRST_HASH });
  }

  /** Least recently used object hashes, oldest first. */
  *oldest(limit: number): Generator<Buffer> {
    for (const key of this.#lru.getKeys({ limit })) yield Buffer.from((key as Buffer).subarray(LRU_TIME_BYTES, LRU_KEY_BYTES));
  }

  /**
   * Drops every fill record and frees its blocks. Called by the primary before any worker starts: no fill can be
   * running then, so whatever a killed process left half-written is discarded (never served, never leaked).
   */
  clearFills(now: number): number {
    let cleared = 0;
    this.#transact(() => {
      for (const { key, value } of this.#fills.getRange({ start: FIRST_HASH })) {
        this.#releaseBlocks(value.blocks, now);
        this.#fills.remove(key);
        cleared++;
      }
      for (const key of this.#fillKeys.getKeys()) this.#fillKeys.remove(key);
    });
    return cleared;
  }

  /**
   * The fill table for /stats: `inProgress`, live leases of fills; `records`, every record (live leases,
   * hit-for-pass markers, and expired ones sweepFills has not reached yet); `seen`, the admission counts of objects
   * not stored yet (lapsed ones included until sweepSeen removes them).
   */
  fillCounts(now: number): { inProgress: number; seen: number; records: number } {
    let inProgress = 0;
    let records = 0;
    for (const { value } of this.#fills.getRange({ start: FIRST_HASH })) {
      records++;
      if (value.state === 'filling' && value.until > now) inProgress++;
    }
    return { inProgress, seen: (this.#seen.getStats() as { entryCount: number }).entryCount, records };
  }

  /**
   * Removes fill records that nobody will finish or need again: hit-for-pass markers past their expiry, and leases
   * past their expiry whose owner process is gone (the blocks they wrote go back to the free list). Without it every
   * distinct URL that once answered uncacheable would keep a record for good, and a fill cut by a killed worker
   * that nobody asks for again would keep its blocks. A live owner's expired lease stays: the owner may be slow,
   * not dead, and a takeover (acquireLease) is the only way to end it. Reads at most `limit` records after `after`
   * (null: from the first), then removes what it found in one transaction, checking each record again there.
   * Returns the key to resume after (null: the scan reached the end) and how many records it removed.
   */
  sweepFills(after: Buffer | null, limit: number, now: number, isAlive: (pid: number) => boolean): { next: Buffer | null; removed: number } {
    const sweepable = (record: FillRecord): boolean => record.until <= now && (record.state === 'uncacheable' || !isAlive(record.pid));
    const found: Buffer[] = [];
    let last: Buffer | null = null;
    let read = 0;
    for (const { key, value } of this.#fills.getRange({ start: after ?? FIRST_HASH, limit: limit + 1 })) {
      if (after !== null && key.equals(after)) continue; // the range starts at `after` itself, if it is still there
      if (read === limit) break;
      read++;
      last = key;
      if (sweepable(value)) found.push(Buffer.from(key));
    }
    let removed = 0;
    if (found.length > 0) {
      this.#transact(() => {
        for (const hash of found) {
          const current = this.#fills.get(hash);
          if (current === undefined || !sweepable(current)) continue;
          this.#releaseBlocks(current.blocks, now);
          this.#removeFill(hash, current);
          removed++;
        }
      });
    }
    return { next: read === limit && last !== null ? Buffer.from(last) : null, removed };
  }

  /**
   * Reads every record of every database, decoding it, until `deadline` (ms since epoch), then commits one small
   * write (which allocates pages and reads the free-page list): the start-up check (cache/index-check.ts) runs this
   * in a child process, so a damaged page that makes lmdb throw or crash is found before a Flint process depends on
   * the file. Returns how many records it read and whether it read them all.
   */
  verify(deadline: number): { records: number; complete: boolean } {
    let records = 0;
    const walks: Array<Iterable<unknown>> = [
      this.#objects.getRange({ start: FIRST_HASH }),
      this.#fills.getRange({ start: FIRST_HASH }),
      ...[this.#vary, this.#keys, this.#fillKeys, this.#lru, this.#atime, this.#free, this.#freeOrder, this.#state, this.#hits, this.#seen, this.#seenOrder].map((db) =>
        (db as Database<unknown, string>).getRange({}),
      ),
    ];
    for (const walk of walks) {
      for (const _ of walk) {
        if (++records % 1024 === 0 && Date.now() > deadline) return { records, complete: false };
      }
    }
    try {
      this.#transact(() => this.#state.put('verifiedAt', Date.now()));
    } catch (error) {
      // A full file system is no damage: the primary's reserve (cache/disk-space.ts) deals with it.
      if (!isNoSpace(error, this.#dir)) throw error;
    }
    return { records, complete: true };
  }

  /** Removes stale reader slots of dead processes (spikes.md item 2: they pin old pages and grow the file). */
  readerCheck(): number {
    return this.#root.readerCheck();
  }

  /**
   * A synchronous write transaction. If it fails, the record structures it may have added (saved inside it) are
   * gone from the index, so this process forgets its own and reloads them on its next write: otherwise it would go
   * on writing records that name a structure nobody can read.
   */
  #transact<T>(fn: () => T): T {
    try {
      return this.#root.transactionSync(fn);
    } catch (error) {
      if (!this.#spaceFreed(error)) return this.#transactionFailed(error);
    }
    try {
      return this.#root.transactionSync(fn);
    } catch (error) {
      return this.#transactionFailed(error);
    }
  }

  /** After a failed write: whether it failed for want of space and onNoSpace freed some (then it is retried). */
  #spaceFreed(error: unknown): boolean {
    if (!isNoSpace(error, this.#dir) || this.onNoSpace?.() !== true) return false;
    this.#forgetStructures();
    return true;
  }

  /** #transact's failure path, also taken by the asynchronous transaction of applyControl; rethrows `error`. */
  #transactionFailed(error: unknown): never {
    this.#forgetStructures();
    throw error;
  }

  #forgetStructures(): void {
    for (const db of [this.#objects, this.#fills]) (db as unknown as { encoder?: { clearSharedData?: () => void } }).encoder?.clearSharedData?.();
  }

  /**
   * Runs `step` in the write transaction shared by every step queued in this event-loop turn: one synchronous
   * transaction at setImmediate, then each promise settles (after the commit, so nobody acts on an uncommitted
   * write). A step that throws rejects its own promise only; like a callback of lmdb's own batches, whatever it
   * wrote before throwing stays in the batch. Measured on the `miss` bench (leases and commits of 1 KiB misses):
   * a synchronous transaction per lease cost ~13% of a worker's CPU, lmdb's asynchronous batches (a write
   * thread that calls back into the event loop for each batch, a thread-safe function and async work created per
   * batch, and a synchronous transaction interrupts them) still ~20%; one synchronous batch per turn needs no
   * thread hand-off at all.
   */
  #inTurnBatch<T>(step: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#batch.push({ step, resolve: resolve as (value: unknown) => void, reject });
      if (this.#batch.length === 1) setImmediate(() => this.#runBatch());
    });
  }

  #runBatch(): void {
    const steps = this.#batch;
    this.#batch = [];
    if (steps.length === 0) return;
    const results: unknown[] = [];
    const failed: boolean[] = [];
    try {
      this.#transact(() => {
        // Empty again when the transaction is retried (onNoSpace).
        results.length = 0;
        failed.length = 0;
        for (const { step } of steps) {
          try {
            results.push(step());
            failed.push(false);
          } catch (error) {
            results.push(error);
            failed.push(true);
          }
        }
      });
    } catch (error) {
      for (const { reject } of steps) reject(error);
      return;
    }
    steps.forEach(({ resolve, reject }, i) => (failed[i] === true ? reject(results[i]) : resolve(results[i])));
  }

  async close(): Promise<void> {
    // Steps still queued (a commit at shutdown) go in before the environment closes.
    this.#runBatch();
    await this.#root.close();
  }
}

/** The bound on all size classes' never-used slots together (see CacheIndex.#allocateInTxn). */
export interface Footprint {
  readonly limitBytes: number;
  /** The slot size of the class being allocated. */
  readonly slotBytes: number;
}

/** A write step waiting for its turn's batch (see CacheIndex.#inTurnBatch). */
interface BatchedStep {
  readonly step: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}
