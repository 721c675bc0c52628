/**
 * @module cache/index-maintenance
 * The cold paths of the shared object index (cache/index.ts): the key and fill scans of purges and cache-control
 * commands, the object inspector, the start-up passes of the primary (usage and footprint recounts, dropping
 * half-written fills, the integrity walk of cache/index-check.ts) and the sweeps of fills and admission counts.
 * Module functions over the index's databases (cache/index-stores.ts) that CacheIndex delegates to; run by
 * whichever process calls those methods (the primary for start-up, sweeps and purges; workers for inspection).
 */
import type { Database } from 'lmdb';
import { isNoSpace } from './disk-space.js';
import { lastAccess } from './index-recency.js';
import type { IndexStores } from './index-stores.js';
import { CLASS_SPAN, blockClass } from './blocks.js';
import { ABSENT_BLOCK, FIRST_HASH, FREE_ORDER_VERSION, LRU_KEY_BYTES, LRU_TIME_BYTES, SYNC_CONTROL_MAX, UNLISTED_KEY, USAGE_RULE, OWNER_GONE, controlApplied, freeOrderKey, noteDroppedFill, seenOrderKey, storedBytes } from './index-records.js';
import type { ControlAction, ControlResult, FillRecord, InspectedObject, ObjectMeta } from './index-records.js';

/**
 * Up to `limit` entries of the key index in [start, end), after the key `after` when given: the full key strings
 * (`vhost \n path?query \0 variant`) and their object hashes. A read; purges page through it between batches.
 */
export function scanKeys(s: IndexStores, start: string, end: string, after: string | null, limit: number): Array<{ key: string; hash: Buffer }> {
  const out: Array<{ key: string; hash: Buffer }> = [];
  for (const { key, value } of s.keys.getRange({ start: after ?? start, end, limit: after === null ? limit : limit + 1 })) {
    if (key === after) continue;
    out.push({ key, hash: Buffer.from(value) });
    if (out.length === limit) break;
  }
  return out;
}

/**
 * Applies a cache-control command to objects in one write transaction (callers batch: a transaction holds the
 * write lock workers need for commits). purge: stale now, refetched without validators, restored if the origin
 * fails; expire: stale now (revalidated); expireafter: fresh until now + `sec`; hardpurge: deleted, blocks freed.
 * Objects already purged (or already expired, for expire) count nothing, so a repeated call is a no-op.
 */
export async function applyControl(s: IndexStores, hashes: readonly Buffer[], action: ControlAction, now: number, sec: number, ageOf: (meta: ObjectMeta) => number): Promise<ControlResult> {
  const result: ControlResult = { count: 0, size: 0 };
  const apply = (): void => {
    result.count = 0;
    result.size = 0;
    let used = (s.state.get('usedBytes') as number | undefined) ?? 0;
    for (const hash of hashes) {
      const meta = s.objects.get(hash);
      if (meta === undefined) continue;
      if (action === 'hardpurge') {
        used -= s.removeInTxn(hash, meta, now);
      } else {
        const ageSec = ageOf(meta);
        const freshForSec = meta.ttlSec + meta.extendedSec - ageSec;
        if (action === 'purge' && meta.purged === true) continue;
        if (action === 'expire' && freshForSec <= 0 && meta.staleWhileRevalidateSec === 0) continue;
        s.objects.put(hash, { ...controlApplied(meta, action, sec, ageSec), generation: meta.generation + 1 });
      }
      result.count++;
      result.size += meta.size;
    }
    if (action === 'hardpurge') s.state.put('usedBytes', Math.max(0, used));
  };
  // A few objects (an exact URL's variants): a synchronous transaction answers in well under a millisecond; the
  // asynchronous one waits for lmdb's next write batch (~5 ms measured by bench/purge-latency.ts).
  if (hashes.length <= SYNC_CONTROL_MAX) s.writer.transact(apply);
  else await s.root.transaction(apply).catch((error: unknown) => (s.writer.spaceFreed(error) ? s.writer.transact(apply) : s.writer.transactionFailed(error)));
  return result;
}

/**
 * Records a cache-control command in the live fills whose lease key is in [start, end) and `matches` (the
 * primary keys of a purge target): their commit applies it (see commit), and followers stop joining them. One
 * write transaction; fills in flight are few (bounded by concurrent misses), so the range is read in one go.
 * Callers run this before applyControl on the stored objects: a fill that commits in between is then either
 * controlled here or already stored (and controlled there). Returns how many fills were reached.
 */
export function controlFills(s: IndexStores, start: string, end: string, matches: (primary: string) => boolean, action: ControlAction, sec: number, tag?: string): number {
  let reached = 0;
  s.writer.transact(() => {
    for (const { key, value } of s.fillKeys.getRange({ start, end })) {
      if (!matches(key.slice(0, key.indexOf('\0')))) continue;
      const hash = Buffer.from(value);
      const fill = s.fills.get(hash);
      if (fill === undefined || fill.key !== key) {
        s.fillKeys.remove(key);
        continue;
      }
      // A hit-for-pass marker stores nothing. An expired lease is marked too: its owner may be alive, only slow,
      // and commit if nobody takes the lease over (a takeover replaces the record, marks and all).
      if (fill.state !== 'filling') continue;
      s.fills.put(hash, { ...fill, controls: [...(fill.controls ?? []), tag === undefined ? { action, sec } : { action, sec, tag }] });
      reached++;
    }
  });
  return reached;
}

/** Every stored variant of a primary key with its fill, last access and hit count (the object inspector). */
export function inspect(s: IndexStores, primary: string): InspectedObject[] {
  const out: InspectedObject[] = [];
  for (const { key, hash } of scanKeys(s, `${primary}\0`, `${primary}\u0001`, null, 1000)) {
    const meta = s.objects.get(hash);
    if (meta === undefined || meta.key !== key) continue;
    out.push({ hash, meta, fill: s.fills.get(hash), lastAccessMs: lastAccess(s, hash, meta), hits: s.hits.get(hash) ?? 0 });
  }
  return out;
}

/**
 * Recounts usedBytes from every stored object when it was counted by another rule than this Flint's (USAGE_RULE),
 * so an index written by an older version is neither over- nor under-counted; one pass over the objects, at
 * startup, before any worker writes. Returns whether the count changed (false for a new or empty index).
 */
export function recountUsage(s: IndexStores, ): boolean {
  if (s.state.get('usageRule') === USAGE_RULE) return false;
  let changed = false;
  s.writer.transact(() => {
    let used = 0;
    for (const { value } of s.objects.getRange({ start: FIRST_HASH })) used += storedBytes(value);
    changed = used !== ((s.state.get('usedBytes') as number | undefined) ?? 0);
    s.state.put('usedBytes', used);
    s.state.put('usageRule', USAGE_RULE);
  });
  return changed;
}

/**
 * Recounts `footprint` (see allocateInTxn in cache/index-blocks.ts) from every class's next never-used id and
 * `slotBytes` of each class; run by the primary at start (the block size may have changed, or an older Flint did
 * not count it). Returns it.
 */
export function recountFootprint(s: IndexStores, slotBytes: (sizeClass: number) => number): number {
  let taken = 0;
  s.writer.transact(() => {
    for (const { key, value } of s.state.getRange({ start: 'nextBlock', end: 'nextBlock;' })) {
      const sizeClass = key === 'nextBlock' ? 0 : Number(key.slice('nextBlock:'.length));
      if (Number.isInteger(sizeClass) && typeof value === 'number') taken += value * slotBytes(sizeClass);
    }
    s.state.put('footprint', taken);
  });
  return taken;
}

/**
 * Drops every fill record and frees its blocks. Called by the primary before any worker starts: no fill can be
 * running then, so whatever a killed process left half-written is discarded (never served, never leaked).
 */
export function clearFills(s: IndexStores, now: number): number {
  let cleared = 0;
  s.writer.transact(() => {
    for (const { key, value } of s.fills.getRange({ start: FIRST_HASH })) {
      s.releaseBlocks(value.blocks, now);
      noteDroppedFill(s.state, value, OWNER_GONE);
      s.fills.remove(key);
      cleared++;
    }
    for (const key of s.fillKeys.getKeys()) s.fillKeys.remove(key);
  });
  return cleared;
}

/**
 * Frees every block handed out (below its class's `nextBlock`) that no object, fill or free-list entry holds: what a
 * worker killed between allocating a block and listing it in its fill record left behind (no record names such a
 * block, so nothing else ever frees it). Called by the primary at start, after clearFills, before any worker
 * starts, and only when a dead owner's fill was dropped since it last ran (UNLISTED_KEY): it reads every object
 * record, seconds for millions of them, which a clean restart does not pay. One pass over the objects and the free
 * list, with a bitmap per class. Returns how many it freed.
 */
export function reclaimUnlisted(s: IndexStores, now: number): number {
  if (s.state.get(UNLISTED_KEY) === 0) return 0;
  const held = new Map<number, Uint8Array>();
  for (const { key, value } of s.state.getRange({ start: 'nextBlock', end: 'nextBlock;' })) {
    const sizeClass = key === 'nextBlock' ? 0 : Number(String(key).slice('nextBlock:'.length));
    if (Number.isInteger(sizeClass) && typeof value === 'number' && value > 0) held.set(sizeClass, new Uint8Array(Math.ceil(value / 8)));
  }
  const mark = (id: number): void => {
    if (id === ABSENT_BLOCK) return;
    const bits = held.get(blockClass(id));
    const n = id % CLASS_SPAN;
    if (bits !== undefined && n < bits.length * 8) bits[n >> 3] = (bits[n >> 3] as number) | (1 << (n & 7));
  };
  let freed = 0;
  s.writer.transact(() => {
    for (const { value } of s.objects.getRange({ start: FIRST_HASH })) for (const id of value.blocks) mark(id);
    for (const { value } of s.fills.getRange({ start: FIRST_HASH })) for (const id of value.blocks) mark(id);
    for (const id of s.free.getKeys()) mark(id);
    const orphans: number[] = [];
    for (const [sizeClass, bits] of held) {
      const next = s.state.get(sizeClass === 0 ? 'nextBlock' : `nextBlock:${sizeClass}`) as number;
      for (let n = 0; n < next; n++) if (((bits[n >> 3] as number) & (1 << (n & 7))) === 0) orphans.push(sizeClass * CLASS_SPAN + n);
    }
    s.releaseBlocks(orphans, now);
    s.state.put(UNLISTED_KEY, 0);
    freed = orphans.length;
  });
  return freed;
}

/**
 * The fill table for /stats: `inProgress`, live leases of fills; `records`, every record (live leases,
 * hit-for-pass markers, and expired ones sweepFills has not reached yet); `seen`, the admission counts of objects
 * not stored yet (lapsed ones included until sweepSeen removes them).
 */
export function fillCounts(s: IndexStores, now: number): { inProgress: number; seen: number; records: number } {
  let inProgress = 0;
  let records = 0;
  for (const { value } of s.fills.getRange({ start: FIRST_HASH })) {
    records++;
    if (value.state === 'filling' && value.until > now) inProgress++;
  }
  return { inProgress, seen: (s.seen.getStats() as { entryCount: number }).entryCount, records };
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
export function sweepFills(s: IndexStores, after: Buffer | null, limit: number, now: number, isAlive: (pid: number) => boolean): { next: Buffer | null; removed: number } {
  const sweepable = (record: FillRecord): boolean => record.until <= now && (record.state === 'uncacheable' || !isAlive(record.pid));
  const found: Buffer[] = [];
  let last: Buffer | null = null;
  let read = 0;
  for (const { key, value } of s.fills.getRange({ start: after ?? FIRST_HASH, limit: limit + 1 })) {
    if (after !== null && key.equals(after)) continue; // the range starts at `after` itself, if it is still there
    if (read === limit) break;
    read++;
    last = key;
    if (sweepable(value)) found.push(Buffer.from(key));
  }
  let removed = 0;
  if (found.length > 0) {
    s.writer.transact(() => {
      for (const hash of found) {
        const current = s.fills.get(hash);
        if (current === undefined || !sweepable(current)) continue;
        s.releaseBlocks(current.blocks, now);
        noteDroppedFill(s.state, current, OWNER_GONE);
        s.removeFill(hash, current);
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
export function verify(s: IndexStores, deadline: number): { records: number; complete: boolean } {
  let records = 0;
  const walks: Array<Iterable<unknown>> = [
    s.objects.getRange({ start: FIRST_HASH }),
    s.fills.getRange({ start: FIRST_HASH }),
    ...[s.vary, s.keys, s.fillKeys, s.lru, s.atime, s.free, s.freeOrder, s.state, s.hits, s.seen, s.seenOrder].map((db) =>
      (db as Database<unknown, string>).getRange({}),
    ),
  ];
  for (const walk of walks) {
    for (const _ of walk) {
      if (++records % 1024 === 0 && Date.now() > deadline) return { records, complete: false };
    }
  }
  try {
    s.writer.transact(() => s.state.put('verifiedAt', Date.now()));
  } catch (error) {
    // A full file system is no damage: the primary's reserve (cache/disk-space.ts) deals with it.
    if (!isNoSpace(error, s.dir)) throw error;
  }
  return { records, complete: true };
}

/**
 * Lists the free blocks in `freeorder` when the index was written without it (an older Flint), once; returns
 * how many it listed then, else -1. Run by the primary before workers start.
 */
export function orderFreeBlocks(s: IndexStores, ): number {
  if (s.state.get('freeOrder') === FREE_ORDER_VERSION) return -1;
  let listed = 0;
  s.writer.transact(() => {
    s.freeOrder.clearSync();
    for (const { key, value } of s.free.getRange()) {
      s.freeOrder.put(freeOrderKey(blockClass(key), value, key), '');
      listed++;
    }
    s.state.put('freeOrder', FREE_ORDER_VERSION);
  });
  return listed;
}

/**
 * Removes admission counts whose window has ended, oldest first, at most `limit` in one transaction; returns how
 * many. Reads only those (`seenorder`), however many objects are being counted.
 */
export function sweepSeen(s: IndexStores, now: number, limit: number): number {
  const lapsed: Buffer[] = [];
  for (const key of s.seenOrder.getKeys({ end: seenOrderKey(now + 1, FIRST_HASH), limit })) lapsed.push(Buffer.from(key as Buffer));
  if (lapsed.length === 0) return 0;
  s.writer.transact(() => {
    for (const key of lapsed) {
      s.seenOrder.remove(key);
      const hash = key.subarray(LRU_TIME_BYTES, LRU_KEY_BYTES);
      // The count may have been renewed since (a new window, under another seenorder key).
      if (s.seen.get(hash)?.windowEnd === Number(key.readBigUInt64BE(0))) s.seen.remove(hash);
    }
  });
  return lapsed.length;
}

/**
 * The slots handed out per size class (`nextBlock[:class]`), the bytes of all of them (`footprint`), and the classes
 * with at least one released slot (in its grace period or not): what the evictor's slot reserve reads
 * (cache/slot-reserve.ts).
 */
export function slotState(s: IndexStores): { footprint: number; handedOut: Map<number, number>; withFree: Set<number> } {
  const handedOut = new Map<number, number>();
  for (const { key, value } of s.state.getRange({ start: 'nextBlock', end: 'nextBlock;' })) {
    const sizeClass = key === 'nextBlock' ? 0 : Number(String(key).slice('nextBlock:'.length));
    if (Number.isInteger(sizeClass) && typeof value === 'number' && value > 0) handedOut.set(sizeClass, value);
  }
  const withFree = new Set<number>();
  for (const sizeClass of handedOut.keys()) {
    for (const _ of s.freeOrder.getKeys({ start: freeOrderKey(sizeClass, 0, 0), end: freeOrderKey(sizeClass + 1, 0, 0), limit: 1 })) withFree.add(sizeClass);
  }
  return { footprint: (s.state.get('footprint') as number | undefined) ?? 0, handedOut, withFree };
}

/**
 * The least recently used object whose body is in slots of `sizeClass` and has no fill running, reading at most
 * `limit` objects of the recency order; null when none was found.
 */
export function oldestOfClass(s: IndexStores, sizeClass: number, now: number, limit: number): Buffer | null {
  for (const key of s.lru.getKeys({ limit })) {
    const hash = Buffer.from((key as Buffer).subarray(LRU_TIME_BYTES, LRU_KEY_BYTES));
    const meta = s.objects.get(hash);
    const first = meta?.blocks.find((id) => id !== ABSENT_BLOCK);
    if (first === undefined || blockClass(first) !== sizeClass) continue;
    const fill = s.fills.get(hash);
    if (fill !== undefined && fill.until > now) continue;
    return hash;
  }
  return null;
}
