/**
 * @module cache/eviction
 * Eviction decides, it never deletes (pingora's admit() idea): given how full a disk is, how many bytes must go,
 * and which objects, least recently used first, skipping any object with a fill running (it is being replaced or
 * revalidated right now). The caller deletes the victims. Recency comes from the index's `lru` order, which
 * workers update in batches (no LMDB write per hit), so it is accurate to TOUCH_FLUSH_MS. Pure apart from
 * reading the index passed in; runs in the primary.
 */
import type { CacheIndex } from './index.js';
import { storedBytes } from './index.js';

export interface DiskUsage {
  /** Bytes counted against the limit now. */
  readonly usedBytes: number;
  /** The limit: the disk quota, or the file system size when no quota is set. */
  readonly limitBytes: number;
}

/** Bytes to free to get from above `highWaterPercent` to `lowWaterPercent` of the limit; 0 when below high water. */
export function bytesToFree(usage: DiskUsage, highWaterPercent: number, lowWaterPercent: number): number {
  if (usage.limitBytes <= 0) return 0;
  if (usage.usedBytes * 100 <= usage.limitBytes * highWaterPercent) return 0;
  return usage.usedBytes - Math.floor((usage.limitBytes * lowWaterPercent) / 100);
}

/** Least recently used objects whose removal frees at least `target` bytes (fewer if the cache runs out). */
export function chooseVictims(index: CacheIndex, target: number, now: number): Buffer[] {
  const victims: Buffer[] = [];
  let freed = 0;
  // The lru range is read lazily, oldest first, and stops as soon as enough bytes are chosen.
  for (const hash of index.oldest(Number.MAX_SAFE_INTEGER)) {
    if (freed >= target) break;
    const fill = index.getFill(hash);
    if (fill !== undefined && fill.until > now) continue;
    const meta = index.getObject(hash);
    if (meta === undefined) continue;
    victims.push(hash);
    freed += storedBytes(meta);
  }
  return victims;
}
