/**
 * @module cache/index-blocks
 * Block ids in the object index (cache/index.ts), inside its write transactions: handing ids out (free ones past
 * their grace period, then never-used ones within the quota's footprint, then the longest released) and returning
 * them to the free list. Every process that writes the index.
 */
import { CLASS_SPAN, blockClass } from './blocks.js';
import { ABSENT_BLOCK, freeOrderKey } from './index-records.js';
import type { Footprint } from './index-records.js';
import type { IndexStores } from './index-stores.js';

/**
 * Hands out `count` block ids of `sizeClass` (CacheIndex.allocateBlocks says in which order), or null when there
 * are not that many. `footprint`, when given, also bounds the never-used ids of all classes together: the bytes of
 * every slot ever handed out (what the block files take on disk, since they never shrink) stay within its
 * limitBytes. Without it each class could grow to the whole quota, and a mix of sizes filled the file system.
 */
export function allocateInTxn(s: IndexStores, count: number, capacity: number, now: number, graceMs: number, sizeClass: number, footprint: Footprint | null): number[] | null {
  const base = sizeClass * CLASS_SPAN;
  const nextKey = sizeClass === 0 ? 'nextBlock' : `nextBlock:${sizeClass}`;
  // The `count` longest-released blocks of the class, oldest first: those past their grace come first.
  const oldest: Array<{ readonly id: number; readonly key: Buffer }> = [];
  let graceOver = 0;
  const range = { start: freeOrderKey(sizeClass, 0, 0), end: freeOrderKey(sizeClass + 1, 0, 0), limit: count };
  for (const key of s.freeOrder.getKeys(range)) {
    if (graceOver === oldest.length && key.readUIntBE(1, 6) + graceMs <= now) graceOver++;
    oldest.push({ id: key.readUInt32BE(7), key: Buffer.from(key) });
  }
  let next = (s.state.get(nextKey) as number | undefined) ?? 0;
  let taken = footprint === null ? 0 : ((s.state.get('footprint') as number | undefined) ?? 0);
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
    s.free.remove(id);
    s.freeOrder.remove(key);
  }
  s.state.put(nextKey, next);
  if (footprint !== null && fresh.length > 0) s.state.put('footprint', taken);
  return [...reused.map((b) => b.id), ...fresh];
}

/** Returns blocks to the free list (reusable after the grace period, so readers of a replaced body can finish). */
export function releaseInTxn(s: IndexStores, blocks: readonly number[], now: number): void {
  for (const id of blocks) {
    if (id === ABSENT_BLOCK) continue;
    const sizeClass = blockClass(id);
    const released = s.free.get(id);
    if (released !== undefined) s.freeOrder.remove(freeOrderKey(sizeClass, released, id));
    s.free.put(id, now);
    s.freeOrder.put(freeOrderKey(sizeClass, now, id), '');
  }
}

