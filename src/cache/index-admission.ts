/**
 * @module cache/index-admission
 * The admission filter's counts in the object index (cache/index.ts, `<Admission>`), inside its write
 * transactions: a fill the filter keeps out drops its lease and counts the request for the window; a stored object
 * drops its count. Every process that writes the index.
 */
import { seenOrderKey } from './index-records.js';
import type { Admission, FillRecord } from './index-records.js';
import type { IndexStores } from './index-stores.js';

/**
 * The admission filter at a fill's commit, inside its transaction: true when the object is not stored yet; the
 * fill's lease is then dropped and the request counted (`seen`, for the window from now). A fill another worker
 * follows is stored, and so is an object already stored (a replacement keeps its place in the cache). When the
 * object is stored, its count goes (forgetSeen).
 */
export function countSeen(s: IndexStores, leaseHash: Buffer, objectHash: Buffer, fill: FillRecord, admission: Admission, now: number): boolean {
  const uses = (fill.uses ?? 0) + 1;
  if (fill.uses === undefined || uses >= admission.minUses || fill.followed === true || s.objects.doesExist(objectHash)) return false;
  s.removeFill(leaseHash, fill);
  forgetSeen(s, leaseHash);
  const windowEnd = now + admission.windowMs;
  s.seen.put(leaseHash, { uses, windowEnd });
  s.seenOrder.put(seenOrderKey(windowEnd, leaseHash), '');
  return true;
}

/** Drops the admission count of a lease hash, if any (inside a transaction). */
export function forgetSeen(s: IndexStores, leaseHash: Buffer): void {
  const seen = s.seen.get(leaseHash);
  if (seen === undefined) return;
  s.seen.remove(leaseHash);
  s.seenOrder.remove(seenOrderKey(seen.windowEnd, leaseHash));
}

