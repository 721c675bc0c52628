/**
 * @module cache/eviction
 * Eviction decides, it never deletes (pingora's admit() idea): given how full a disk is, how many bytes must go,
 * and which objects, in the order of the disk's `<Eviction Policy>` (cache/eviction-policies.ts), skipping any
 * object with a fill running (it is being replaced or revalidated right now). The caller deletes the victims.
 * The policy lives in the primary's memory and follows the index: objects stored or hit since its last look are read
 * from the index's `lru` order (workers record hits there in batches, with their counts in `hits`: no LMDB write per
 * hit, and none by the policy), so it is accurate to the workers' touch flush (a second). Its state is not
 * persisted: at start it is rebuilt from the index (every object in last-access order, with its hit count), and it
 * is rebuilt again when it tracks far more objects than the index holds (purges remove objects behind its back).
 * Runs in the primary.
 */
import type { EvictionPolicyName } from '../config/types.js';
import type { CacheIndex } from './index.js';
import { storedBytes } from './index.js';
import { createEvictionPolicy } from './eviction-policies.js';
import type { EvictionPolicy } from './eviction-policies.js';
import { RESERVE_SCAN_LIMIT, starvedClasses } from './slot-reserve.js';

/** Victims removed per write transaction: about a millisecond of holding the lock fills wait for. */
const EVICT_BATCH = 32;
/** How long the slot reserve leaves a class alone after finding no object of it to free. */
const RESERVE_BACKOFF_MS = 1000;
/**
 * The slot reserve frees objects only while the disk holds at least LowWater less this many points of its quota:
 * below that, released slots of other classes are plentiful, and fills of those refill the disk (in the zipf bench
 * at 3,000 req/s, a reserve without this floor kept evicting and the cache fell from 411 to 359 MiB of 465).
 */
const RESERVE_FLOOR_POINTS = 5;

export interface DiskUsage {
  /** Bytes counted against the limit now. */
  readonly usedBytes: number;
  /** The limit: the disk quota, or the file system size when no quota is set. */
  readonly limitBytes: number;
}

/**
 * Usage below which nothing is evicted (neither the policy's victims, above HighWater > LowWater, nor the slot
 * reserve's): the primary builds an eviction order only once a disk first reaches it (primary/evictor.ts).
 */
export function trackingFloor(quotaBytes: number, lowWaterPercent: number): number {
  return (quotaBytes * Math.max(0, lowWaterPercent - RESERVE_FLOOR_POINTS)) / 100;
}

/** Bytes to free to get from above `highWaterPercent` to `lowWaterPercent` of the limit; 0 when below high water. */
export function bytesToFree(usage: DiskUsage, highWaterPercent: number, lowWaterPercent: number): number {
  if (usage.limitBytes <= 0) return 0;
  if (usage.usedBytes * 100 <= usage.limitBytes * highWaterPercent) return 0;
  return usage.usedBytes - Math.floor((usage.limitBytes * lowWaterPercent) / 100);
}

/**
 * How far back a full look at the index reads (once a second): workers flush their touches once a second
 * (pipeline/edge.ts TOUCH_FLUSH_MS) stamped with the time of the hit, so a hit may land up to that long before the
 * previous look. A quick look before an eviction pass (up to ten a second) reads only QUICK_LOOK_BACK_MS back: the
 * objects just stored (their access time is their commit's); late hits wait for the next full look.
 */
export const LOOK_BACK_MS = 2500;
export const QUICK_LOOK_BACK_MS = 200;
/** Full looks between two checks that the policy does not track far more objects than the index holds (a count of the index). */
const SIZE_CHECK_EVERY = 60;

/** What the policy last saw of an object in the index. */
interface Seen {
  atime: number;
  hits: number;
}

/** The 32 bits of an object hash (hex) the frequency sketch hashes. */
function hashOfHex(hex: string): number {
  return Number.parseInt(hex.slice(0, 8), 16) | 0;
}

export class PolicyEviction {
  readonly #index: CacheIndex;
  #policy: EvictionPolicy<string>;
  /** Object hash (hex) -> what was last read of it; exactly the keys the policy holds. */
  readonly #seen = new Map<string, Seen>();
  /** Last access time read; the next look reads from a look-back before it. */
  #newest = 0;
  #looks = 0;
  /** Size class -> until when the slot reserve does not look for one of its objects again (its last look found none). */
  readonly reserveBackoff = new Map<number, number>();

  constructor(index: CacheIndex, policy: EvictionPolicyName, capacityBytes: number) {
    this.#index = index;
    this.#policy = createEvictionPolicy<string>(policy, capacityBytes, hashOfHex);
    this.#rebuild();
  }

  get policy(): EvictionPolicyName {
    return this.#policy.name;
  }

  /** Objects the policy follows. */
  get tracked(): number {
    return this.#seen.size;
  }

  /** A reload changed the policy or the capacity: a new policy starts from the index as at start. */
  configure(policy: EvictionPolicyName, capacityBytes: number): void {
    if (policy === this.#policy.name) {
      this.#policy.capacity = capacityBytes;
      return;
    }
    this.#policy = createEvictionPolicy<string>(policy, capacityBytes, hashOfHex);
    this.#rebuild();
  }

  /** Every object of the index, least recently used first, each placed by its hit count. */
  #rebuild(): void {
    const capacity = this.#policy.capacity;
    this.#policy = createEvictionPolicy<string>(this.#policy.name, capacity, hashOfHex);
    this.#seen.clear();
    this.#newest = 0;
    for (const { hex, atime } of this.#index.accessedSince(0)) {
      const hash = Buffer.from(hex, 'hex');
      const meta = this.#index.getObject(hash);
      if (meta === undefined) continue;
      const hits = this.#index.hitCount(hash);
      this.#policy.insert(hex, storedBytes(meta), hits);
      this.#seen.set(hex, { atime, hits });
      if (atime > this.#newest) this.#newest = atime;
    }
  }

  /** Reads the objects stored or hit since `lookBackMs` before the newest access seen, and tells the policy. */
  sync(lookBackMs = LOOK_BACK_MS): void {
    if (lookBackMs >= LOOK_BACK_MS && ++this.#looks % SIZE_CHECK_EVERY === 0 && this.#seen.size > 2 * this.#index.objectCount() + 1000) {
      this.#rebuild();
      return;
    }
    let newest = this.#newest;
    for (const { hex, atime } of this.#index.accessedSince(this.#newest - lookBackMs)) {
      if (atime > newest) newest = atime;
      const seen = this.#seen.get(hex);
      if (seen !== undefined && seen.atime === atime) continue;
      const hash = Buffer.from(hex, 'hex');
      const hits = this.#index.hitCount(hash);
      if (seen === undefined) {
        const meta = this.#index.getObject(hash);
        if (meta === undefined) continue;
        this.#policy.insert(hex, storedBytes(meta));
        this.#seen.set(hex, { atime, hits });
        continue;
      }
      // A replaced object starts its count again (the index drops it on commit): its new hits are all new.
      this.#policy.hit(hex, Math.max(1, hits >= seen.hits ? hits - seen.hits : hits));
      seen.atime = atime;
      seen.hits = hits;
    }
    this.#newest = newest;
  }

  /**
   * Objects whose removal frees at least `target` bytes, in the policy's order (fewer if the cache runs out); an
   * object with a fill running is kept. The victims leave the policy: the caller must remove them from the index.
   */
  chooseVictims(target: number, now: number): Buffer[] {
    const victims: Buffer[] = [];
    let freed = 0;
    const mayEvict = (hex: string): boolean => {
      const fill = this.#index.getFill(Buffer.from(hex, 'hex'));
      return fill === undefined || fill.until <= now;
    };
    while (freed < target) {
      const hex = this.#policy.evict(mayEvict);
      if (hex === undefined) break;
      this.#seen.delete(hex);
      const hash = Buffer.from(hex, 'hex');
      const meta = this.#index.getObject(hash);
      if (meta === undefined) continue; // purged since the policy heard of it
      victims.push(hash);
      freed += storedBytes(meta);
    }
    return victims;
  }

  /** Forgets an object removed by the caller outside the policy's order (cache/slot-reserve.ts). */
  forget(hash: Buffer): void {
    const hex = hash.toString('hex');
    this.#policy.remove(hex);
    this.#seen.delete(hex);
  }
}

/** What one eviction pass over a disk removed. */
export interface EvictionPass {
  readonly objects: number;
  readonly bytes: number;
  readonly target: number;
}

/**
 * One eviction pass over a disk (the primary's evictor runs one every 100 ms): above `highWaterPercent` of
 * `quotaBytes`, victims in the policy's order until under `lowWaterPercent`, removed EVICT_BATCH per transaction;
 * then, below HighWater 100, one object of each size class that has no slot left to give (cache/slot-reserve.ts). The caller brings the
 * policy up to date first (PolicyEviction.sync).
 */
export function evictionPass(index: CacheIndex, eviction: PolicyEviction, quotaBytes: number, blockSize: number, highWaterPercent: number, lowWaterPercent: number, now: number): EvictionPass {
  const target = bytesToFree({ usedBytes: index.usedBytes(), limitBytes: quotaBytes }, highWaterPercent, lowWaterPercent);
  let objects = 0;
  let bytes = 0;
  if (target > 0) {
    const victims = eviction.chooseVictims(target, now);
    for (let i = 0; i < victims.length; i += EVICT_BATCH) bytes += index.removeMany(victims.slice(i, i + EVICT_BATCH), now);
    objects += victims.length;
  }
  // HighWater 100: the operator keeps everything until the quota is passed, so nothing is freed ahead of a fill.
  if (highWaterPercent >= 100) return { objects, bytes, target };
  if (index.usedBytes() < trackingFloor(quotaBytes, lowWaterPercent)) return { objects, bytes, target };
  for (const sizeClass of starvedClasses(index.slotState(), quotaBytes, blockSize)) {
    if ((eviction.reserveBackoff.get(sizeClass) ?? 0) > now) continue;
    const victim = index.oldestOfClass(sizeClass, now, RESERVE_SCAN_LIMIT);
    if (victim === null) {
      // Its objects are all recent, or being filled: read the recency order for it again in a second, not every pass.
      eviction.reserveBackoff.set(sizeClass, now + RESERVE_BACKOFF_MS);
      continue;
    }
    eviction.forget(victim);
    bytes += index.removeMany([victim], now);
    objects++;
  }
  return { objects, bytes, target };
}
