/**
 * @module cache/store
 * The object store of one disk: the LMDB index plus its block files, and the knowledge of how a request maps to
 * an object (primary key -> Vary names -> variant -> object hash). Knows nothing of HTTP sockets or origins.
 * A storage error (ENOSPC, EIO) switches the store to `degraded`: new objects are no longer stored (requests pass
 * through) while cached objects keep being served; it retries storing after DEGRADED_RETRY_MS. An index read that
 * fails (a damaged page: lmdb throws MDB_PAGE_NOTFOUND, MDB_CORRUPTED) or an inline body that fails its checksum
 * drops that key: its requests pass through to the origin in this worker, and a damaged index is discarded at the
 * next start (cache/index-check.ts). Runs in workers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskConfig, StorageConfig } from '../config/types.js';
import { BlockMemory } from './block-memory.js';
import { BlockFiles, blockChecksum, slotBytes, slotsPerBlocks } from './blocks.js';
import { CacheIndex, MAX_OBJECT_KEY_BYTES } from './index.js';
import type { FillRecord, Footprint, LeaseResult, ObjectMeta } from './index.js';
import { DAMAGED_MARKER } from './index-check.js';
import { inlineIntact } from './inline-crc.js';
import type { Logger } from '../log.js';
import { keyHash, objectKey, primaryKey, variantKey } from './key.js';

export type { FillRecord, ObjectMeta };

/** Released blocks are not reused for this long while the quota has room, so a client still reading a replaced body can finish. */
export const BLOCK_REUSE_GRACE_MS = 120_000;

/** Bound of the per-worker set of blocks whose checksum was verified (cleared when full). */
const VERIFIED_BLOCKS_MAX = 65_536;
const DEGRADED_RETRY_MS = 30_000;
/** How often a release that failed (releaseUnlisted) is tried again. */
const RELEASE_RETRY_MS = 1_000;
/**
 * Block I/O errors that mean the device is gone or broken (not a full disk, ENOSPC, which only degrades storing):
 * the disk is failed (see CacheStore.failed).
 */
const DISK_FAILURE_CODES = new Set(['EIO', 'ENOENT', 'ENXIO', 'ENODEV', 'EROFS', 'ESTALE', 'EBADF']);
/** Bound of the per-worker set of keys whose index records could not be read (cleared when full). */
const FAULTY_KEYS_MAX = 10_000;

/** Where a request's object lives (or would live). */
export interface ObjectRef {
  readonly primary: string;
  readonly primaryHash: Buffer;
  /** Vary names of the stored response ([] when none; ['*'] never matches). */
  readonly vary: readonly string[];
  readonly key: string;
  readonly hash: Buffer;
  /** Hex of `hash`, for in-process maps. */
  readonly hex: string;
}

export class CacheStore {
  readonly index: CacheIndex;
  readonly blocks: BlockFiles;
  readonly blockSize: number;
  readonly inlineMaxBytes: number;
  /** The disk's quota: configured, or derived by the primary at start (cache/disk-space.ts); 0 = unlimited. */
  readonly quotaBytes: number;
  /** Block capacity from the quota (0 = unlimited). */
  readonly capacityBlocks: number;
  /** This worker's blocks kept in memory (readListed). */
  readonly memory: BlockMemory;
  /** Reads of blocks being read into the buffer block memory will keep (readListed), by block id. */
  readonly #keeping = new Map<number, { readonly crc: number; readonly length: number; readonly data: Promise<Buffer> }>();
  #degradedUntil = 0;
  /** Block id -> crc32 this worker verified it against (see readVerified). */
  readonly #verified = new Map<number, number>();
  #degradedReason = '';
  /** Blocks whose release failed (a storage error); releaseUnlisted tries them again every RELEASE_RETRY_MS. */
  readonly #unreleased = new Set<number>();
  #releaseRetry: NodeJS.Timeout | null = null;
  /** The disk's directory (`<Disk>`). */
  readonly diskPath: string;
  #failed = false;
  readonly #log: Logger | null;
  /**
   * Primary hashes (hex) of keys whose index records could not be read in this worker: they pass through (keyFits)
   * rather than read the damaged pages again.
   */
  readonly #faulty = new Set<string>();
  /** Whether this process wrote the DAMAGED_MARKER already. */
  #damageNoted = false;

  /** `memoryBytes`: budget of the blocks this process keeps in memory (0 = none); `log`: where index faults go. */
  constructor(disk: DiskConfig, storage: StorageConfig, memoryBytes = 0, log: Logger | null = null) {
    this.diskPath = disk.path;
    this.#log = log;
    this.index = new CacheIndex(join(disk.path, 'index'));
    this.blocks = new BlockFiles(join(disk.path, 'blocks'), storage.blockSizeBytes);
    this.blockSize = storage.blockSizeBytes;
    this.inlineMaxBytes = storage.inlineMaxBytes;
    this.quotaBytes = disk.quotaBytes === 0 ? this.index.derivedQuota() : disk.quotaBytes;
    this.capacityBlocks = Math.floor(this.quotaBytes / storage.blockSizeBytes);
    this.memory = new BlockMemory(memoryBytes);
    // A store runs in a worker: a damaged fill record must not throw out of a request handler (see getFill).
    this.index.onFillReadError = (error) => this.#indexFault('(fill record)', null, null, error);
  }

  /** Resolves a request to its object reference: one LMDB read for the Vary names. */
  ref(vhost: string, path: string, query: string, requestHeaders: readonly string[]): ObjectRef {
    const primary = primaryKey(vhost, path, query);
    const primaryHash = keyHash(primary);
    let vary: readonly string[];
    try {
      // A key whose records failed to read is not read again (each read would fail, and log, again).
      vary = this.#faulty.size > 0 && this.#faulty.has(primaryHash.toString('hex')) ? ['*'] : (this.index.getVary(primaryHash) ?? []);
    } catch (error) {
      this.#indexFault(primary, primaryHash, null, error as Error);
      // Vary * never matches a stored variant, and keyFits refuses the key: the request passes through.
      vary = ['*'];
    }
    return this.refFor(primary, primaryHash, vary, requestHeaders);
  }

  /** The reference for a known set of Vary names (used again once a response's Vary is known). */
  refFor(primary: string, primaryHash: Buffer, vary: readonly string[], requestHeaders: readonly string[]): ObjectRef {
    const key = objectKey(primary, vary[0] === '*' ? '*' : variantKey(vary, requestHeaders));
    const hash = keyHash(key);
    return { primary, primaryHash, vary, key, hash, hex: hash.toString('hex') };
  }

  /**
   * Whether `ref`'s key fits the index. Longer keys (a URL or Vary'd header values of ~2 KB) are never cached: their
   * requests pass through (a lease or commit of such a key would fail in lmdb).
   */
  keyFits(ref: ObjectRef): boolean {
    if (this.#faulty.size > 0 && this.#faulty.has(ref.primaryHash.toString('hex'))) return false;
    return ref.key.length <= MAX_OBJECT_KEY_BYTES / 3 || Buffer.byteLength(ref.key) <= MAX_OBJECT_KEY_BYTES;
  }

  /** The stored object of `ref`, if any (a hash collision with another key counts as absent). */
  get(ref: ObjectRef): ObjectMeta | undefined {
    let meta: ObjectMeta | undefined;
    try {
      meta = this.index.getObject(ref.hash);
    } catch (error) {
      this.#indexFault(ref.primary, ref.primaryHash, ref.hash, error as Error);
      return undefined;
    }
    if (meta === undefined || meta.key !== ref.key) return undefined;
    if (!inlineIntact(meta)) {
      // Changed bytes on an index page: never served. Dropped, so the next request refetches it.
      this.#log?.error({ event: 'cache.inline_corrupt', key: ref.key }, 'an inline body failed its checksum: dropped, refetching');
      this.#dropObject(ref.hash);
      return undefined;
    }
    return meta;
  }

  /**
   * An index read of `primary` failed (a damaged page): the key passes through in this worker from now on, its
   * object is removed if the index still lets it, and the disk's DAMAGED_MARKER makes the next start discard the
   * index. Storage degrades meanwhile (writes to a damaged B-tree could spread the damage).
   */
  #indexFault(primary: string, primaryHash: Buffer | null, objectHash: Buffer | null, error: Error): void {
    if (this.#faulty.size >= FAULTY_KEYS_MAX) this.#faulty.clear();
    if (primaryHash !== null) this.#faulty.add(primaryHash.toString('hex'));
    this.markDegraded(`index read failed: ${error.message}`);
    this.#log?.error({ event: 'cache.index_read_failed', disk: this.diskPath, primary, err: error.message }, 'reading the cache index failed: the key passes through, and the index is discarded at the next start');
    if (!this.#damageNoted) {
      this.#damageNoted = true;
      try {
        writeFileSync(join(this.diskPath, DAMAGED_MARKER), `${new Date().toISOString()} ${error.message}\n`);
      } catch {
        // The marker is best effort (a full or failing disk); the start-up check reads the index anyway.
      }
    }
    if (objectHash !== null) this.#dropObject(objectHash);
  }

  /** Removes an object whose record cannot be trusted, if the index lets it (it may be the damaged part). */
  #dropObject(objectHash: Buffer): void {
    try {
      this.index.remove(objectHash, Date.now());
    } catch (error) {
      this.#log?.warn({ event: 'cache.drop_failed', disk: this.diskPath, err: (error as Error).message }, 'could not remove a damaged index record');
    }
  }

  /**
   * True once the disk failed (its device gone or broken: DISK_FAILURE_CODES, or its index file removed): the
   * worker's DiskSet sends its keys to the other disks from then on.
   */
  get failed(): boolean {
    return this.#failed;
  }

  /** Marks the disk failed (logged once) and degraded. */
  fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.markDegraded(error.message);
    this.#log?.error({ event: 'cache.disk_failed', disk: this.diskPath, err: error.message }, 'a cache disk failed: its objects are dropped, and its URLs are cached on the other disks');
  }

  /** An I/O error on a block file: a failing device fails the disk; rethrown for the caller's own handling. */
  #ioError(error: unknown): never {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && DISK_FAILURE_CODES.has(code)) this.fail(error as Error);
    throw error;
  }

  /** True while storage errors keep new objects out of the cache. */
  get degraded(): boolean {
    return this.#degradedUntil > Date.now();
  }

  get degradedReason(): string {
    return this.#degradedReason;
  }

  /**
   * Records a storage failure: new objects pass through until DEGRADED_RETRY_MS passes without another. Logged here,
   * once per degraded spell, whoever found the failure (a fill's write, a release, a refresh): when only some callers
   * logged, a release that failed first on a full disk hid the write's ENOSPC from the log.
   */
  markDegraded(reason: string): void {
    const first = !this.degraded;
    this.#degradedUntil = Date.now() + DEGRADED_RETRY_MS;
    this.#degradedReason = reason;
    if (first) this.#log?.error({ event: 'cache.storage_degraded', disk: this.diskPath, err: reason }, 'storage error: new objects pass through until storage works again');
  }

  /**
   * Rewrites a stored object's metadata (CacheIndex.updateMeta: a 304 refresh, a TTL extension); a storage error
   * degrades storage instead of escaping, and the copy keeps its old freshness. Returns whether it was rewritten.
   */
  refreshMeta(hash: Buffer, meta: ObjectMeta): boolean {
    try {
      return this.index.updateMeta(hash, meta);
    } catch (error) {
      this.markDegraded((error as Error).message);
      return false;
    }
  }

  /**
   * Frees at once blocks no record lists (a range fill that was given up: nobody ever read them). On a storage error
   * (ENOSPC while the index file grows) storage degrades and the blocks are kept here and released again every
   * RELEASE_RETRY_MS: no record lists them, so once this process forgot them they stayed allocated until the cache
   * was wiped.
   */
  releaseUnlisted(ids: readonly number[]): void {
    for (const id of ids) this.#unreleased.add(id);
    if (this.#unreleased.size === 0) return;
    try {
      this.index.releaseBlocksNow([...this.#unreleased], Date.now());
      this.#unreleased.clear();
    } catch (error) {
      this.markDegraded((error as Error).message);
      this.#releaseRetry ??= setTimeout(() => {
        this.#releaseRetry = null;
        this.releaseUnlisted([]);
      }, RELEASE_RETRY_MS).unref();
    }
  }

  /** Takes the fill lease of `ref` now (a synchronous commit; see CacheIndex.acquireLease). */
  acquireLease(ref: ObjectRef, record: FillRecord, now: number): LeaseResult {
    return this.index.acquireLease(ref.hash, record, now, isProcessAlive);
  }

  /** Takes the fill lease of `ref` in the next batched commit (see CacheIndex.acquireLeaseBatched). */
  acquireLeaseBatched(ref: ObjectRef, record: FillRecord, now: number): Promise<LeaseResult> {
    return this.index.acquireLeaseBatched(ref.hash, record, now, isProcessAlive);
  }

  /**
   * Allocates one block of a size class (0: whole blocks), or null when the disk quota is used up. The quota's
   * block count bounds each class in bytes (its slots are smaller, so more of them); what all classes hold
   * together is kept under the quota by the evictor, which counts slot sizes.
   */
  allocateBlock(now: number, sizeClass = 0): number | null {
    return this.index.allocateBlocks(1, this.#capacity(sizeClass), now, BLOCK_REUSE_GRACE_MS, sizeClass, this.#footprint(sizeClass))?.[0] ?? null;
  }

  /** allocateBlock in the index's write batch of this event-loop turn (a fill's blocks). */
  allocateBlockBatched(now: number, sizeClass: number): Promise<number | null> {
    return this.index.allocateBlockBatched(this.#capacity(sizeClass), now, BLOCK_REUSE_GRACE_MS, sizeClass, this.#footprint(sizeClass));
  }

  /** The quota also bounds the slots of all classes together (what the block files take on disk). */
  #footprint(sizeClass: number): Footprint | null {
    return this.quotaBytes === 0 ? null : { limitBytes: this.quotaBytes, slotBytes: slotBytes(this.blockSize, sizeClass) };
  }

  #capacity(sizeClass: number): number {
    return slotsPerBlocks(this.capacityBlocks, this.blockSize, sizeClass);
  }

  /** Writes a block and returns its checksum. */
  async writeBlock(id: number, data: Uint8Array): Promise<number> {
    this.#verified.delete(id);
    try {
      await this.blocks.writeBlock(id, data);
    } catch (error) {
      this.#ioError(error);
    }
    const crc = blockChecksum(data);
    // Written whole by this worker just now: as good as verified.
    this.#remember(id, crc);
    return crc;
  }

  /**
   * writeBlock for a block a range request fetched, whose bytes block memory then keeps (`data` becomes its):
   * the request that fetched it reads it at once, and ranges of a large object come back to the same blocks
   * (seeking), so it skips the second-read admission. Without this, range-256m read each fetched block back from its
   * file and, on the next request for it, again into a fresh buffer to keep: two 1 MiB allocations per block,
   * whose first touch (page faults) and GC pressure took about a third of the worker's CPU.
   */
  async writeBlockKept(id: number, data: Buffer): Promise<number> {
    const crc = await this.writeBlock(id, data);
    this.memory.keep(id, crc, data);
    return crc;
  }

  #remember(id: number, crc: number): void {
    if (this.#verified.size >= VERIFIED_BLOCKS_MAX) this.#verified.clear();
    this.#verified.set(id, crc);
  }

  /**
   * The bytes of a block a committed object or a running fill lists: from this worker's block memory when it holds
   * them with this checksum, else readVerified, into `scratch` or, on the read that makes the memory keep the block,
   * into a buffer of its own; readers that come while that read runs wait for it rather than read the block again.
   * The result is valid until `scratch` is reused. Followers of a fill share a block this way as readers of a stored
   * object do: in cold-100, the 50 followers in the worker without the fill all read each block as it was listed,
   * at the same moment, and each read it from its file.
   */
  async readListed(blockId: number, blockLength: number, crc: number, scratch: Buffer, stillOwned: () => boolean): Promise<Buffer> {
    const held = this.memory.get(blockId, crc, blockLength);
    if (held !== undefined) return held;
    const keeping = this.#keeping.get(blockId);
    if (keeping !== undefined && keeping.crc === crc && keeping.length === blockLength) {
      this.memory.countJoined();
      return keeping.data;
    }
    if (!this.memory.noteRead(blockId, crc, blockLength)) return this.readVerified(blockId, blockLength, crc, scratch, stillOwned);
    const data = this.readVerified(blockId, blockLength, crc, Buffer.allocUnsafeSlow(blockLength), stillOwned);
    this.#keeping.set(blockId, { crc, length: blockLength, data });
    try {
      const bytes = await data;
      this.memory.keep(blockId, crc, bytes);
      return bytes;
    } finally {
      if (this.#keeping.get(blockId)?.data === data) this.#keeping.delete(blockId);
    }
  }

  /**
   * Reads a whole stored block (`blockLength` bytes) into `scratch`, verifying its crc32. Rejects on a mismatch:
   * the block is torn or was reused, and must never be served. A block this worker already verified with this
   * crc skips the checksum (a quarter of the CPU of a large hit) when `stillOwned` confirms the index still lists
   * it for the object: a listed block is never freed, so it cannot have been rewritten since.
   */
  async readVerified(blockId: number, blockLength: number, crc: number, scratch: Buffer, stillOwned: () => boolean): Promise<Buffer> {
    let n: number;
    try {
      n = await this.blocks.readBlock(blockId, 0, blockLength, scratch, 0);
    } catch (error) {
      this.#ioError(error);
    }
    const data = scratch.subarray(0, n);
    if (n === blockLength && this.#verified.get(blockId) === crc && stillOwned()) return data;
    if (n !== blockLength || blockChecksum(data) !== crc) {
      throw new CorruptBlockError(`block ${blockId} failed its checksum (${n}/${blockLength} bytes): torn or reused`);
    }
    this.#remember(blockId, crc);
    return data;
  }

  async close(): Promise<void> {
    if (this.#releaseRetry !== null) clearTimeout(this.#releaseRetry);
    this.blocks.close();
    await this.index.close();
  }
}

/** A stored block whose bytes do not match its checksum (torn by a crash, or reused for another object). */
export class CorruptBlockError extends Error {}

/** Whether a pid is a live process (lease owners; signal 0 only checks). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
