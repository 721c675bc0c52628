/**
 * @module cache/index-records
 * The record shapes of the shared object index (cache/index.ts) and the pure helpers over them: object and fill
 * records, control commands, the binary key layouts of `lru`, `freeorder` and `seenorder`, the quota accounting
 * rule. No lmdb; imported by every process that maps the index (the primary and the workers).
 */
import { blockClass, slotBytes } from './blocks.js';
import { currentAge } from './freshness.js';
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
   * When the index stored it (ms, set by the commit): its place in the recency order until a hit gives it an
   * `atime` entry (cache/index-recency.ts). Absent on records written before Flint kept it (those have `atime`).
   */
  readonly storedMs?: number;
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
  /** Cache tags from the origin's tag fields (cache/tags.ts), indexed by tag set (cache/tag-index.ts); absent = none. */
  readonly tags?: readonly string[];
  /** When the object got `tags` (ms): part of its `tagobjects` key (cache/tag-index.ts); absent with no tags. */
  readonly tagsAt?: number;
}

/**
 * The `state` key that says blocks may have been handed out that no record lists: a fill record whose owner died
 * while filling was dropped (clearFills at start, sweepFills, a lease taken over), and blocks that owner had
 * allocated but not yet listed went with it. Absent on an index no Flint has checked yet; 0 once reclaimUnlisted
 * ran; 1 after such a drop. Set inside the transaction that drops the record.
 */
export const UNLISTED_KEY = 'mayHaveUnlisted';

/**
 * Inside a write transaction: notes that `dropped` (a fill record being removed or replaced) may leave unlisted
 * blocks. `isAlive` (a kill(pid, 0) where the caller has one) is asked only about a record that was filling.
 */
export function noteDroppedFill(state: { put(key: string, value: number): unknown }, dropped: FillRecord, isAlive: (pid: number) => boolean): void {
  if (dropped.state === 'filling' && !isAlive(dropped.pid)) state.put(UNLISTED_KEY, 1);
}

/** For noteDroppedFill where every dropped owner is known to be gone (start-up, the sweep of dead owners' fills). */
export const OWNER_GONE = (): boolean => false;

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
export interface SeenCount {
  readonly uses: number;
  readonly windowEnd: number;
}

/** A `seenorder` key: window end in ms (BE, 8 bytes) then the lease hash, so a range scan yields the lapsed first. */
export function seenOrderKey(windowEnd: number, hash: Uint8Array): Buffer {
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
export const STRUCTURES_KEY = Buffer.from([0]);
/** The lowest object hash: the start of every scan over `objects` and `fills` (see STRUCTURES_KEY). */
export const FIRST_HASH = Buffer.alloc(16);

export const LRU_TIME_BYTES = 8;
export const LRU_KEY_BYTES = LRU_TIME_BYTES + 16;

/** An lru key: access time in ms (BE, 8 bytes) then the 16-byte hash, so a range scan yields oldest first. */
export function lruKey(ms: number, hash: Uint8Array): Buffer {
  const key = Buffer.allocUnsafe(LRU_KEY_BYTES);
  key.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(ms))), 0);
  key.set(hash, LRU_TIME_BYTES);
  return key;
}

/** A `freeorder` key: size class, release time, block id; ordered by class, then oldest release first. */
export function freeOrderKey(sizeClass: number, releasedMs: number, id: number): Buffer {
  const key = Buffer.allocUnsafe(FREE_ORDER_KEY_BYTES);
  key[0] = sizeClass;
  key.writeUIntBE(Math.max(0, Math.floor(releasedMs)), 1, 6);
  key.writeUInt32BE(id, 7);
  return key;
}

export const FREE_ORDER_KEY_BYTES = 11;

/** Bumped when `freeorder` must be rebuilt from `free` (1: it exists). */
export const FREE_ORDER_VERSION = 1;

/** Backdating a release by this much makes the block reusable at once (no reader can hold it). */
export const BLOCK_REUSE_IMMEDIATE = 24 * 3600 * 1000;

/** applyControl batches up to this many objects commit synchronously (see there). */
export const SYNC_CONTROL_MAX = 16;


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
 * (CacheIndex.recountUsage). 3: tail slots charged as their slot (2: every block of a body as a whole block; 1
 * counted bodies only). An index opened by a Flint with another rule is recounted by that Flint's own rule.
 */
export const USAGE_RULE = 3;

/** Bytes an object accounts for on disk: its body (present blocks only) and its index records. */
export function storedBytes(meta: Pick<ObjectMeta, 'inline' | 'blocks' | 'blockSize'>): number {
  if (meta.inline !== null) return meta.inline.length + INDEX_RECORD_BYTES;
  let bytes = INDEX_RECORD_BYTES;
  for (let i = 0; i < meta.blocks.length; i++) {
    const id = meta.blocks[i] as number;
    if (id === ABSENT_BLOCK) continue;
    // A body in one slot has blockSize = its slot; a later block in a smaller class is a tail slot (pipeline/fill.ts).
    const sizeClass = blockClass(id);
    bytes += i === 0 || sizeClass === 0 ? meta.blockSize : slotBytes(meta.blockSize, sizeClass);
  }
  return bytes;
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
 * without validators, restored if the origin fails). Pure. The expiry is set on a whole second at or before now:
 * `(age - ttl) + ttl` in floating point can land a hair above `age`, and a worker reading the record within the same
 * millisecond would then still find the copy fresh (seen in CI: a request after an expire served the old copy).
 */
export function controlApplied(meta: ObjectMeta, action: Exclude<ControlAction, 'hardpurge'>, sec: number, ageSec: number): ObjectMeta {
  return {
    ...meta,
    extendedSec: Math.floor(ageSec) - meta.ttlSec + (action === 'expireafter' ? sec : 0),
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
export function controlledMeta(meta: ObjectMeta, controls: readonly FillControl[], now: number): ObjectMeta | null {
  let out = meta;
  for (const control of controls) {
    if (control.action === 'hardpurge') return null;
    out = controlApplied(out, control.action, control.sec, currentAge(out, now));
  }
  return out;
}


/** The bound on all size classes' never-used slots together (see allocateInTxn in cache/index-blocks.ts). */
export interface Footprint {
  readonly limitBytes: number;
  /** The slot size of the class being allocated. */
  readonly slotBytes: number;
}
