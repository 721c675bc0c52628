/**
 * @module cache/index-recency
 * Where each object sits in the index's recency order (`lru`: access time + hash, which the evictor's policies
 * follow, cache/eviction.ts), over the handles of cache/index-stores.ts. Inside write transactions only.
 *
 * An object stored at `now` is listed in `lru` at `now` and its record says so (`storedMs`); an `atime` entry (hash
 * -> last access) is written only when it is hit after that. So an object's place is its `atime` entry when it has
 * one, else its record's `storedMs`, and every write of a record either keeps its `storedMs` (updateMeta, controls)
 * or places it anew here (commit, mergePartial). Why: `atime` is keyed by hash, so each new object's entry landed
 * on a page of its own in every write batch; measured in-process (bench/micro/index-miss, variants alternating in
 * one process) that put was ~8 µs of a 1 KiB miss's ~46 µs of index work, and most objects of a CDN are never hit
 * again. Records written before `storedMs` existed all have `atime` entries.
 */
import type { IndexStores } from './index-stores.js';
import { lruKey } from './index-records.js';
import type { ObjectMeta } from './index-records.js';

/** An object's last access (ms) as the recency order has it; undefined when it has no place (not stored). */
export function lastAccess(s: IndexStores, hash: Buffer, meta: ObjectMeta | undefined): number | undefined {
  return s.atime.get(hash) ?? meta?.storedMs;
}

/**
 * `record` is being stored under `hash` at `now`, replacing `previous` (undefined: nothing was stored there): the
 * previous copy's place goes, the new one is listed at `now`, and `record.storedMs` says so. Set on `record` itself
 * (as the commit sets its generation: a fact about the record, and a copy of ~25 fields is V8's slow path). Call
 * before the record is put.
 */
export function placeStored(s: IndexStores, hash: Buffer, previous: ObjectMeta | undefined, record: ObjectMeta, now: number): void {
  const ms = Math.max(0, Math.floor(now));
  if (previous !== undefined) forget(s, hash, previous);
  (record as { storedMs?: number }).storedMs = ms;
  s.lru.put(lruKey(ms, hash), '');
}

/**
 * An access to the object under `hash` at `ms`: it moves there in the recency order (never back). False when no
 * object is stored under `hash` (a hit counted on an object evicted or purged since).
 */
export function touch(s: IndexStores, hash: Buffer, ms: number): boolean {
  // An `atime` entry goes with its object (forget), so one found means the object is there.
  let previous: number | undefined = s.atime.get(hash);
  if (previous === undefined) {
    const meta = s.objects.get(hash);
    if (meta === undefined) return false;
    previous = meta.storedMs;
  }
  if (previous !== undefined && previous >= ms) return true;
  if (previous !== undefined) s.lru.remove(lruKey(previous, hash));
  s.lru.put(lruKey(ms, hash), '');
  s.atime.put(hash, ms);
  return true;
}

/** The object under `hash` (its record `meta`) leaves the recency order: its `lru` entry and `atime` entry go. */
export function forget(s: IndexStores, hash: Buffer, meta: ObjectMeta): void {
  const accessed = s.atime.get(hash);
  const place = accessed ?? meta.storedMs;
  if (place !== undefined) s.lru.remove(lruKey(place, hash));
  // Only when there is one: a remove is a write instruction even for an absent key.
  if (accessed !== undefined) s.atime.remove(hash);
}
