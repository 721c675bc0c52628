/**
 * @module cache/slot-reserve
 * One free slot of every size class in use, once the block files reach the quota. Slots never change class and the
 * block files never shrink, so with the files at the quota a fill gets a slot of its class only from the ones
 * released; with eviction holding the disk at 95-97% of its quota few are, and a size whose class had none was not
 * stored at all (a randomized test refused 28% of its fills; test/unit/eviction-accounting.test.ts). So each pass
 * the evictor also frees, for every class in use with no released slot and no room for a new one, the least
 * recently used object of that class (slab rebalancing, as memcached's slab automover does): recency within the
 * class, not the policy's order, for this one object. Pure apart from reading the index; runs in the primary.
 */
import { slotBytes, slotsPerBlocks } from './blocks.js';

/** Objects of the recency order read at most looking for one of a class (a class holds few objects: stop early). */
export const RESERVE_SCAN_LIMIT = 5000;

export interface SlotState {
  /** Bytes of every slot handed out (what the block files take). */
  readonly footprint: number;
  /** Size class -> slots handed out. */
  readonly handedOut: ReadonlyMap<number, number>;
  /** Classes with at least one released slot. */
  readonly withFree: ReadonlySet<number>;
}

/** The classes in use that have no released slot and no room for a new one under `quotaBytes`. */
export function starvedClasses(state: SlotState, quotaBytes: number, blockSize: number): number[] {
  const starved: number[] = [];
  if (quotaBytes <= 0) return starved;
  const capacityBlocks = Math.floor(quotaBytes / blockSize);
  for (const [sizeClass, handedOut] of state.handedOut) {
    if (state.withFree.has(sizeClass)) continue;
    const fresh = state.footprint + slotBytes(blockSize, sizeClass) <= quotaBytes && handedOut < slotsPerBlocks(capacityBlocks, blockSize, sizeClass);
    if (!fresh) starved.push(sizeClass);
  }
  return starved;
}
