/**
 * @module primary/evictor
 * The one evictor of the cluster: every EVICT_INTERVAL_MS it checks each disk's usage (Flint's own bytes) against
 * <HighWater> of its quota (configured, or derived from the file system at start: cache/disk-space.ts) and, when
 * above, deletes objects in the order of <Eviction Policy> until usage is under <LowWater> (cache/eviction.ts
 * chooses; the policy follows the objects stored and hit at least once a second). Keeps each
 * disk's index reserve (cache/disk-space.ts), and checks each index before opening it (cache/index-check.ts). Also
 * sweeps the fill table (expired hit-for-pass markers, leases of dead workers: CacheIndex.sweepFills) and the
 * admission counts whose window ended (CacheIndex.sweepSeen), and clears
 * LMDB reader slots left by dead workers (spikes.md item 2). Keeps the cache numbers /stats shows.
 * Runs only in the primary.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/types.js';
import { CacheIndex } from '../cache/index.js';
import { PolicyEviction, QUICK_LOOK_BACK_MS, bytesToFree, evictionPass, trackingFloor } from '../cache/eviction.js';
import { DAMAGED_MARKER, checkIndex, discardIndex } from '../cache/index-check.js';
import { DEFAULT_QUOTA_PERCENT, DiskReserve, deriveQuota } from '../cache/disk-space.js';
import { IndexHeadroom } from '../cache/index-headroom.js';
import type { HeadroomResult } from '../cache/index-headroom.js';
import { slotBytes } from '../cache/blocks.js';
import type { DiskUsage } from '../cache/eviction.js';
import { isProcessAlive } from '../cache/store.js';
import type { Logger } from '../log.js';

/**
 * How often usage is checked: small, frequent batches hold a disk between LowWater and HighWater (a pass every
 * second from 90% to 70% held it at 84% of its quota on average in the zipf bench). Cheap when under HighWater:
 * one read of the usage.
 */
const EVICT_INTERVAL_MS = 100;
/** How often the fill table and admission counts are swept and the policies brought up to date. */
const SWEEP_INTERVAL_MS = 1000;
const READER_CHECK_MS = 30_000;
/**
 * Fill records read per step of a sweep (a few milliseconds); the primary's event loop runs between steps, and a
 * sweep walks the whole table once per EVICT_INTERVAL_MS.
 */
const SWEEP_CHUNK = 1000;

const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/**
 * The index is written with noSync (spikes.md item 2): it survives a process crash (the page cache has it) but
 * not an OS crash, which can leave it corrupt. So a cache written before the last reboot is wiped; returns true
 * when it did. Without a boot id (non-Linux) nothing is wiped.
 */
function wipeIfRebooted(diskPath: string): boolean {
  if (!existsSync(BOOT_ID_FILE)) return false;
  const bootId = readFileSync(BOOT_ID_FILE, 'utf8').trim();
  const marker = join(diskPath, 'boot-id');
  const previous = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : null;
  const wipe = previous !== null && previous !== bootId;
  if (wipe) {
    rmSync(join(diskPath, 'index'), { recursive: true, force: true });
    rmSync(join(diskPath, 'blocks'), { recursive: true, force: true });
  }
  mkdirSync(diskPath, { recursive: true });
  writeFileSync(marker, `${bootId}\n`);
  return wipe;
}

/**
 * Opens a disk's index after checking it in a child process (cache/index-check.ts); a damaged one is moved aside and
 * the disk starts empty, logged. The primary's own start-up writes (clearFills and the rest, in the caller) then run
 * on a sound index.
 */
function openCheckedIndex(diskPath: string, log: Logger): CacheIndex {
  const started = Date.now();
  const verdict = checkIndex(diskPath);
  if (verdict.damaged) {
    discardIndex(diskPath);
    log.error({ event: 'cache.index_damaged', disk: diskPath, reason: verdict.reason }, 'the cache index is damaged: moved it aside (index.damaged) and started this disk empty');
  } else if (!verdict.complete) {
    log.warn({ event: 'cache.index_check_partial', disk: diskPath, records: verdict.records, ms: Date.now() - started }, 'the cache index is too large to read whole at start: checked only its first records');
  }
  return new CacheIndex(join(diskPath, 'index'));
}

export interface DiskStats {
  readonly path: string;
  readonly objects: number;
  readonly usedBytes: number;
  readonly limitBytes: number;
  readonly fillsInProgress: number;
  /** Objects the admission filter (vhost <Admission>) counted requests for but has not stored yet. */
  readonly admissionSeen: number;
  /** Every record of the fill table: fills in progress, hit-for-pass markers, expired ones not yet swept. */
  readonly fillRecords: number;
  readonly evictedObjects: number;
  readonly evictedBytes: number;
}

interface Disk {
  readonly path: string;
  /** The configured Quota, or the one derived at start (cache/disk-space.ts). */
  readonly quotaBytes: number;
  readonly index: CacheIndex;
  /** Free pages for the index on a full file system (cache/disk-space.ts), and whether it was used up. */
  readonly reserve: DiskReserve;
  reserveReleased: boolean;
  /** Blocks allocated past the index file's last page (cache/index-headroom.ts); null where fallocate is not had. */
  headroom: IndexHeadroom | null;
  /** The headroom could not be topped up for want of space (logged once until it is again). */
  headroomShort: boolean;
  /**
   * The eviction order (cache/eviction.ts), built from the index once the disk first holds enough to evict from
   * (trackingFloor); null before. Until then the primary reads nothing of the index for it: a cache far from its
   * quota needs no order, and the reads (its recently hit records, ten times a second) are what a damaged index
   * punishes (LMDB aborts a process whose cursor meets a zeroed page, before the workers' reports abandon it).
   */
  eviction: PolicyEviction | null;
  /** When the policy last read the index's recent accesses in full (LOOK_BACK_MS), and at all. */
  syncedAt: number;
  lookedAt: number;
  /** Its index file is gone (the directory removed, the device unmounted); logged once. */
  missing: boolean;
  /**
   * Its index was found damaged while Flint runs (a worker's DAMAGED_MARKER, or a corrupt page met here); logged
   * once. The primary no longer touches it: LMDB aborts the process (an assertion in mdb_cursor_next, measured) when
   * a cursor walks onto a zeroed page, and the primary's sweeps and evictions walk the whole index. The workers pass
   * its keys through; the next start discards it (cache/index-check.ts).
   */
  damaged: boolean;
  evictedObjects: number;
  evictedBytes: number;
}

export class Evictor {
  readonly #disks: Disk[];
  readonly #log: Logger;
  #config: Config;
  #timer: NodeJS.Timeout | null = null;
  #readerTimer: NodeJS.Timeout | null = null;
  #sweeping = false;
  #sweepingSeen = false;
  #closed = false;

  /** Opens every disk's index (wiping a disk whose contents predate an OS reboot) and discards stale fills. */
  constructor(config: Config, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.#disks = config.server.storage.disks.map((disk) => {
      if (wipeIfRebooted(disk.path)) log.warn({ event: 'cache.wiped_after_reboot', disk: disk.path }, 'the OS rebooted since this cache was written: starting empty');
      const index = openCheckedIndex(disk.path, log);
      const cleared = index.clearFills(Date.now());
      if (cleared > 0) log.info({ event: 'cache.fills_discarded', disk: disk.path, fills: cleared }, 'discarded fills left unfinished by the last run');
      const reclaimed = index.reclaimUnlisted(Date.now());
      if (reclaimed > 0) log.info({ event: 'cache.blocks_reclaimed', disk: disk.path, blocks: reclaimed }, 'freed blocks the last run handed out but never listed');
      const ordered = index.orderFreeBlocks();
      if (ordered > 0) log.info({ event: 'cache.free_blocks_ordered', disk: disk.path, blocks: ordered }, 'listed the free blocks by release time');
      if (index.recountUsage()) log.info({ event: 'cache.usage_recounted', disk: disk.path, usedBytes: index.usedBytes() }, 'recounted the bytes the disk uses (index records count too)');
      const blockSize = config.server.storage.blockSizeBytes;
      index.recountFootprint((sizeClass) => slotBytes(blockSize, sizeClass));
      const reserve = new DiskReserve(disk.path);
      reserve.ensure();
      let quotaBytes = disk.quotaBytes;
      if (quotaBytes === 0) {
        const derived = deriveQuota(disk.path);
        quotaBytes = derived.quotaBytes;
        log.info(
          { event: 'cache.quota_derived', disk: disk.path, ...derived, reserveBytes: reserve.bytes },
          `no Quota set: the cache may hold ${DEFAULT_QUOTA_PERCENT}% of the space it can use on this file system (its own files and the free space)`,
        );
      }
      // Workers read it when they open the disk (CacheStore); 0 when the configured quota applies.
      index.setDerivedQuota(disk.quotaBytes === 0 ? quotaBytes : 0);
      const entry: Disk = { path: disk.path, quotaBytes, index, reserve, reserveReleased: false, headroom: null, headroomShort: false, eviction: null, syncedAt: Date.now(), lookedAt: Date.now(), missing: false, damaged: false, evictedObjects: 0, evictedBytes: 0 };
      index.onNoSpace = () => {
        if (!reserve.release()) return false;
        entry.reserveReleased = true;
        log.warn({ event: 'cache.reserve_released', disk: disk.path, bytes: reserve.bytes }, 'the file system is full: released the index reserve so eviction and purges can proceed');
        return true;
      };
      this.#startHeadroom(entry);
      return entry;
    });
  }

  set config(config: Config) {
    this.#config = config;
    for (const disk of this.#disks) if (this.#usable(disk)) disk.eviction?.configure(config.server.storage.evictionPolicy, disk.quotaBytes);
  }

  /** The index of every disk still usable (cache control and the inspector work on them in the primary). */
  indexes(): readonly CacheIndex[] {
    return this.#disks.filter((d) => this.#usable(d)).map((d) => d.index);
  }

  /**
   * Whether the primary may read and write `disk`'s index: not when its index file is gone or it was found
   * damaged (both logged once, and final until a restart).
   */
  #usable(disk: Disk): boolean {
    if (disk.missing || disk.damaged) return false;
    if (!existsSync(join(disk.path, 'index', 'index.lmdb'))) {
      // Removed or unmounted under a running Flint: the workers cache its URLs on the other disks (cache/disks.ts).
      this.#log.error({ event: 'cache.disk_missing', disk: disk.path }, 'a cache disk is gone: not evicting on it until restart');
      disk.missing = true;
      return false;
    }
    if (existsSync(join(disk.path, DAMAGED_MARKER))) this.#markDamaged(disk, 'a worker found it damaged');
    return !disk.damaged;
  }

  /** Stops using `disk`'s index after `error` when the error says the index is corrupt; rethrows nothing. */
  #noteFailure(disk: Disk, error: unknown): void {
    const message = (error as Error | null)?.message ?? '';
    if (/MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_BAD_TXN/.test(message)) this.#markDamaged(disk, message);
  }

  #markDamaged(disk: Disk, reason: string): void {
    if (disk.damaged) return;
    disk.damaged = true;
    this.#log.error(
      { event: 'cache.index_abandoned', disk: disk.path, reason },
      'the cache index is damaged: the primary stops evicting, sweeping and purging on it, workers pass its keys through, and the next start discards it',
    );
  }

  start(): void {
    let sweptAt = Date.now();
    this.#timer = setInterval(() => {
      this.runOnce();
      if (Date.now() - sweptAt < SWEEP_INTERVAL_MS) return;
      sweptAt = Date.now();
      void this.sweepFills();
      void this.sweepSeen();
    }, EVICT_INTERVAL_MS);
    this.#timer.unref();
    this.#readerTimer = setInterval(() => this.readerCheck(), READER_CHECK_MS);
    this.#readerTimer.unref();
  }

  /**
   * Flint's own bytes against the disk's quota (configured or derived). Never the file system's usage: block files
   * do not shrink when objects go, so that count never fell, and the evictor emptied the cache without freeing a byte.
   */
  #usage(disk: Disk): DiskUsage {
    return { usedBytes: disk.index.usedBytes(), limitBytes: disk.quotaBytes };
  }

  /** Allocates the disk's index headroom before any worker writes (the first top-up blocks: see keepHeadroom). */
  #startHeadroom(disk: Disk): void {
    let result: HeadroomResult;
    try {
      const { path, usedBytes } = disk.index.fileUse();
      disk.headroom = new IndexHeadroom(path, disk.reserve.bytes);
      result = disk.headroom.keepSync(usedBytes);
      if (result === 'no-space' && disk.index.onNoSpace?.() === true) result = disk.headroom.keepSync(usedBytes);
    } catch {
      result = 'unsupported';
    }
    this.#headroomResult(disk, result);
  }

  /**
   * Tops the index headroom up in the background when under half is left (cache/index-headroom.ts); on a full file
   * system the reserve file gives its blocks to it.
   */
  #keepHeadroom(disk: Disk): void {
    const headroom = disk.headroom;
    if (headroom === null) return;
    const { usedBytes } = disk.index.fileUse();
    headroom.keep(usedBytes, (result) => {
      if (result === 'no-space' && !this.#closed && disk.index.onNoSpace?.() === true) headroom.keep(usedBytes, (again) => this.#headroomResult(disk, again), true);
      else this.#headroomResult(disk, result);
    });
  }

  #headroomResult(disk: Disk, result: HeadroomResult): void {
    if (result === 'ok') {
      if (disk.headroomShort) this.#log.info({ event: 'cache.index_headroom_restored', disk: disk.path }, 'the cache index has its headroom again');
      disk.headroomShort = false;
    } else if (result === 'unsupported') {
      disk.headroom = null;
      this.#log.warn({ event: 'cache.index_headroom_unavailable', disk: disk.path }, 'cannot allocate blocks ahead of the cache index here (fallocate failed): a file system that fills up can abort a process in the middle of an index write');
    } else if (!disk.headroomShort) {
      disk.headroomShort = true;
      this.#log.error({ event: 'cache.index_headroom_short', disk: disk.path, bytes: disk.headroom?.bytes }, 'the file system is full and the index has less headroom than it should: free space on this disk');
    }
  }

  /** One eviction pass over every disk. */
  runOnce(): void {
    const { highWaterPercent, lowWaterPercent } = this.#config.server.storage;
    for (const disk of this.#disks) {
      if (!this.#usable(disk)) continue;
      try {
        this.#keepHeadroom(disk);
        if (disk.reserveReleased && disk.reserve.ensure()) {
          disk.reserveReleased = false;
          this.#log.info({ event: 'cache.reserve_restored', disk: disk.path, bytes: disk.reserve.bytes }, 'the index reserve is back');
        }
        const usage = this.#usage(disk);
        if (disk.eviction === null) {
          if (usage.usedBytes < trackingFloor(disk.quotaBytes, lowWaterPercent)) continue;
          disk.eviction = new PolicyEviction(disk.index, this.#config.server.storage.evictionPolicy, disk.quotaBytes);
        }
        const target = bytesToFree(usage, highWaterPercent, lowWaterPercent);
        const now = Date.now();
        // The policy reads what was stored and hit once a second (a full look), and what was just stored before it
        // chooses (a quick look), so its reads stay small however often it evicts.
        if (now - disk.syncedAt >= SWEEP_INTERVAL_MS) {
          disk.eviction.sync();
          disk.syncedAt = now;
          disk.lookedAt = now;
        } else if (target > 0 && now > disk.lookedAt) {
          disk.eviction.sync(QUICK_LOOK_BACK_MS);
          disk.lookedAt = now;
        }
        const pass = evictionPass(disk.index, disk.eviction, disk.quotaBytes, this.#config.server.storage.blockSizeBytes, highWaterPercent, lowWaterPercent, now);
        if (pass.objects === 0) continue;
        disk.evictedObjects += pass.objects;
        disk.evictedBytes += pass.bytes;
        this.#log.debug({ event: 'cache.evicted', disk: disk.path, ...pass, policy: disk.eviction.policy }, 'evicted objects');
      } catch (error) {
        this.#noteFailure(disk, error);
        this.#log.error({ event: 'cache.evict_failed', disk: disk.path, err: (error as Error).message }, 'eviction pass failed');
      }
    }
  }

  /**
   * One walk over every disk's fill table, in steps of SWEEP_CHUNK records (CacheIndex.sweepFills); a walk still
   * running when the next is due makes that one a no-op.
   */
  async sweepFills(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      for (const disk of this.#disks) {
        let after: Buffer | null = null;
        let removed = 0;
        try {
          do {
            if (this.#closed) return; // the index closes while a walk waits between steps
            if (!this.#usable(disk)) break;
            const step = disk.index.sweepFills(after, SWEEP_CHUNK, Date.now(), isProcessAlive);
            removed += step.removed;
            after = step.next;
            if (after !== null) await new Promise((resolve) => setImmediate(resolve));
          } while (after !== null);
        } catch (error) {
          this.#noteFailure(disk, error);
          this.#log.error({ event: 'cache.fill_sweep_failed', disk: disk.path, err: (error as Error).message }, 'sweeping the fill table failed');
        }
        if (removed > 0) this.#log.debug({ event: 'cache.fills_swept', disk: disk.path, records: removed }, 'removed expired fill records');
      }
    } finally {
      this.#sweeping = false;
    }
  }

  /**
   * Removes lapsed admission counts of every disk, SWEEP_CHUNK per transaction with the primary's event loop running
   * between them, until none is left; reads only the lapsed ones (their `seenorder`), so it costs nothing when
   * there are none, however many objects are being counted.
   */
  async sweepSeen(): Promise<void> {
    if (this.#sweepingSeen) return;
    this.#sweepingSeen = true;
    try {
      for (const disk of this.#disks) {
        try {
          let removed = SWEEP_CHUNK;
          while (removed === SWEEP_CHUNK && !this.#closed && this.#usable(disk)) {
            removed = disk.index.sweepSeen(Date.now(), SWEEP_CHUNK);
            if (removed === SWEEP_CHUNK) await new Promise((resolve) => setImmediate(resolve));
          }
        } catch (error) {
          this.#noteFailure(disk, error);
          this.#log.error({ event: 'cache.seen_sweep_failed', disk: disk.path, err: (error as Error).message }, 'sweeping the admission counts failed');
        }
      }
    } finally {
      this.#sweepingSeen = false;
    }
  }

  /** Clears reader slots of dead processes; call on every worker exit too. */
  readerCheck(): void {
    for (const disk of this.#disks) {
      try {
        disk.index.readerCheck();
      } catch (error) {
        this.#log.warn({ event: 'cache.reader_check_failed', err: (error as Error).message }, 'LMDB reader check failed');
      }
    }
  }

  stats(): DiskStats[] {
    const now = Date.now();
    const unreadable = (disk: Disk): DiskStats => {
      const empty = { objects: 0, usedBytes: 0, limitBytes: 0, fillsInProgress: 0, admissionSeen: 0, fillRecords: 0 };
      return { path: disk.path, ...empty, evictedObjects: disk.evictedObjects, evictedBytes: disk.evictedBytes };
    };
    return this.#disks.map((disk) => {
      if (!this.#usable(disk)) return unreadable(disk);
      try {
        const fills = disk.index.fillCounts(now);
        return {
          path: disk.path,
          objects: disk.index.objectCount(),
          usedBytes: disk.index.usedBytes(),
          limitBytes: this.#usage(disk).limitBytes,
          fillsInProgress: fills.inProgress,
          admissionSeen: fills.seen,
          fillRecords: fills.records,
          evictedObjects: disk.evictedObjects,
          evictedBytes: disk.evictedBytes,
        };
      } catch (error) {
        // A damaged index (read errors) must not take /stats down with it; the disk reports nothing it cannot read.
        this.#noteFailure(disk, error);
        this.#log.warn({ event: 'cache.stats_failed', disk: disk.path, err: (error as Error).message }, 'reading the cache index for /stats failed');
        return unreadable(disk);
      }
    });
  }

  /** Evictions since start, all disks: cheap (no index scan), for the per-second stats samples. */
  evictions(): { readonly objects: number; readonly bytes: number } {
    let objects = 0;
    let bytes = 0;
    for (const disk of this.#disks) {
      objects += disk.evictedObjects;
      bytes += disk.evictedBytes;
    }
    return { objects, bytes };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#readerTimer !== null) clearInterval(this.#readerTimer);
    await Promise.all(this.#disks.map((d) => d.index.close()));
  }
}
