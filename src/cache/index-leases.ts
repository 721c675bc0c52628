/**
 * @module cache/index-leases
 * Fill lease bookkeeping of the shared object index (cache/index.ts): taking a fill's lease (whole object or one
 * per missing block of a partial fetch), publishing its progress, marking it followed, releasing it, and merging a
 * partial fetch's blocks under its block leases. Module
 * functions over the index's databases (cache/index-stores.ts) that CacheIndex delegates to; run by the workers on
 * misses (the lease is what makes one worker fetch while the others follow).
 */
import type { IndexStores } from './index-stores.js';
import { ABSENT_BLOCK, noteDroppedFill, sameRepresentation, storedBytes } from './index-records.js';
import type { BlockLease, FillRecord, LeaseResult, ObjectMeta } from './index-records.js';
import { placeStored } from './index-recency.js';
import { sealRecord } from './inline-crc.js';

/**
 * Takes the fill lease of an object unless a live one exists (atomic across processes). An expired lease, or one
 * whose owner pid is gone, is taken over; the blocks it had written are released. Commits synchronously: for the
 * rare paths that need the answer at once (a takeover, a revalidation, a range fetch answered whole).
 */
export function acquireLease(s: IndexStores, objectHash: Buffer, record: FillRecord, now: number, isAlive: (pid: number) => boolean): LeaseResult {
  let result: LeaseResult = { acquired: true, record };
  s.writer.transact(() => {
    result = takeLease(s, objectHash, record, now, isAlive);
  });
  return result;
}

/**
 * acquireLease in this event-loop turn's write batch (see IndexWriter.inTurnBatch): the lease of a plain miss.
 * Resolves once the batch committed, so the caller still fetches only with the lease visible to every worker.
 */
export function acquireLeaseBatched(s: IndexStores, objectHash: Buffer, record: FillRecord, now: number, isAlive: (pid: number) => boolean): Promise<LeaseResult> {
  return s.writer.inTurnBatch(() => takeLease(s, objectHash, record, now, isAlive));
}

/**
 * acquireLease's check-and-set, inside a write transaction. A lease subject to admission (`record.uses` set)
 * carries the object's count, if one is still in its window.
 */
function takeLease(s: IndexStores, objectHash: Buffer, record: FillRecord, now: number, isAlive: (pid: number) => boolean): LeaseResult {
  const current = s.fills.get(objectHash);
  if (current !== undefined && current.until > now && isAlive(current.pid)) return { acquired: false, record: current };
  if (current !== undefined) {
    s.releaseBlocks(current.blocks, now);
    noteDroppedFill(s.state, current, isAlive);
  }
  if (current?.key !== undefined && current.key !== record.key) s.fillKeys.remove(current.key);
  const seen = record.uses === undefined ? undefined : s.seen.get(objectHash);
  const taken = seen !== undefined && seen.windowEnd > now ? { ...record, uses: seen.uses } : record;
  s.fills.put(objectHash, taken);
  if (record.key !== undefined) s.fillKeys.put(record.key, objectHash);
  return { acquired: true, record: taken };
}

/**
 * Block leases of a partial fetch, in one transaction: for each lease (one per missing block), takes it unless a
 * live one exists. Returns which leases this call now holds. Each lease is listed in `fillkeys` under its key
 * string (`primary \0 variant #blockN`, inside the object key's purge range), so controlFills marks it like a
 * whole-object fill and mergePartial can see that a purge ran while the blocks were fetched.
 */
export function acquireBlockLeases(s: IndexStores, leases: readonly BlockLease[], record: FillRecord, now: number, isAlive: (pid: number) => boolean): boolean[] {
  const held: boolean[] = [];
  s.writer.transact(() => {
    for (const { hash, key } of leases) {
      const current = s.fills.get(hash);
      const free = current === undefined || current.until <= now || !isAlive(current.pid);
      if (free && current !== undefined) noteDroppedFill(s.state, current, isAlive);
      if (free) {
        s.fills.put(hash, { ...record, key });
        s.fillKeys.put(key, hash);
      }
      held.push(free);
    }
  });
  return held;
}

/** Whether a live lease exists on `key`. */
export function leaseAlive(s: IndexStores, key: Buffer, now: number, isAlive: (pid: number) => boolean): boolean {
  const current = s.fills.get(key);
  return current !== undefined && current.until > now && isAlive(current.pid);
}

/** Drops block leases taken by `id`. */
export function releaseBlockLeases(s: IndexStores, leases: readonly BlockLease[], id: string): void {
  s.writer.transact(() => {
    for (const { hash } of leases) {
      const current = s.fills.get(hash);
      if (current?.id === id) s.removeFill(hash, current);
    }
  });
}

/**
 * Replaces the fill record if `id` still owns it; false when the lease was lost (taken over). Commands a purge
 * wrote into the record meanwhile are kept (the owner does not know of them).
 */
export function updateFill(s: IndexStores, objectHash: Buffer, record: FillRecord): boolean {
  let owned = false;
  s.writer.transact(() => {
    owned = updateFillInTxn(s, objectHash, record);
  });
  return owned;
}

/**
 * updateFill in this event-loop turn's write batch (see IndexWriter.inTurnBatch): a fill's progress for
 * followers in other workers, visible a turn later.
 */
export function updateFillBatched(s: IndexStores, objectHash: Buffer, record: FillRecord, unlisted?: Set<number>): Promise<boolean> {
  return s.writer.inTurnBatch(() => {
    const owned = updateFillInTxn(s, objectHash, record);
    if (unlisted !== undefined) settleUnlisted(s, owned ? record.blocks : null, unlisted, Date.now());
    return owned;
  });
}

/**
 * A fill's written blocks that no committed record lists yet (`unlisted`, the fill's own set), settled inside the
 * transaction that decides their fate, so the order of the fill's batched steps decides it and not the order their
 * promises resolve in: the blocks `listed` now (a record of the fill's own, or null when it has none: taken over,
 * or released by the fill's end) leave the set; with no record, the rest are released (nobody else can list them,
 * and once this process forgot them they stayed allocated until the cache was wiped). A step re-run after
 * a failed transaction may leave some unreleased, never released twice.
 */
function settleUnlisted(s: IndexStores, listed: readonly number[] | null, unlisted: Set<number>, now: number): void {
  if (listed !== null) {
    for (const id of listed) unlisted.delete(id);
    return;
  }
  if (unlisted.size === 0) return;
  s.releaseBlocks([...unlisted], now);
  unlisted.clear();
}

function updateFillInTxn(s: IndexStores, objectHash: Buffer, record: FillRecord): boolean {
  const current = s.fills.get(objectHash);
  if (current === undefined || current.id !== record.id) return false;
  let merged = record;
  if (current.controls !== undefined) merged = { ...merged, controls: current.controls };
  if (current.followed === true) merged = { ...merged, followed: true };
  s.fills.put(objectHash, merged);
  return true;
}

/**
 * Notes on the fill `id` that a request in another worker follows it, so its commit stores the object whatever
 * the admission count (a follower reads the body from the stored blocks and the committed object). False when the
 * fill is over (the follower looks the object up again).
 */
export function markFollowed(s: IndexStores, objectHash: Buffer, id: string): boolean {
  let live = false;
  s.writer.transact(() => {
    const current = s.fills.get(objectHash);
    live = current !== undefined && current.id === id;
    if (live && current?.followed !== true) s.fills.put(objectHash, { ...(current as FillRecord), followed: true });
  });
  return live;
}

/** Drops the fill record of a fill that did not commit, if `id` still owns it; its blocks go back to the free list. */
export function releaseLease(s: IndexStores, objectHash: Buffer, id: string, now: number): void {
  s.writer.transact(() => releaseLeaseInTxn(s, objectHash, id, now));
}

/**
 * releaseLease in this event-loop turn's write batch, after the fill's own progress updates queued before it (a
 * synchronous release read the record before them, and the blocks they listed were never freed: 57 of 141 whole
 * blocks of a zipf run), and with its written blocks no record lists (see settleUnlisted).
 */
export function releaseLeaseBatched(s: IndexStores, objectHash: Buffer, id: string, now: number, unlisted: Set<number>): Promise<void> {
  return s.writer.inTurnBatch(() => {
    const released = releaseLeaseInTxn(s, objectHash, id, now);
    if (released !== null) settleUnlisted(s, released, unlisted, now);
    settleUnlisted(s, null, unlisted, now);
  });
}

/** The blocks released with the record, or null when `id` does not own it. */
function releaseLeaseInTxn(s: IndexStores, objectHash: Buffer, id: string, now: number): readonly number[] | null {
  const current = s.fills.get(objectHash);
  if (current === undefined || current.id !== id) return null;
  s.releaseBlocks(current.blocks, now);
  s.removeFill(objectHash, current);
  return current.blocks;
}

/**
 * Adds fetched blocks to a partial object. When the stored record is the same representation, blocks it lacks
 * are filled in (blocks another worker fetched meanwhile win; ours are released); otherwise (absent, changed at
 * the origin) `template` with our blocks replaces it. Returns the record as committed, or null when the merge was
 * refused: a purge, expire or hardpurge reached one of the fetch's block leases (`lease`: the leases of the fetched
 * blocks, held by `lease.id`) while it was in flight, or a lease was lost (expired and taken over, so a purge may
 * have marked the taker's record instead). The blocks may then be bytes of the version the purge invalidated, and
 * merging them could bring a purged record back (recreate a hardpurged one, refresh a purged one, or mix old
 * blocks into a refetched new version), so nothing is written (the caller releases the blocks). This is the
 * partial-object counterpart of commit's `controls` check, read in the same transaction as the write, so a purge
 * either runs its controlFills before this transaction (refused here) or after it (its applyControl then reaches
 * the merged record). Unlike commit, no stale copy is kept: a partial copy is never served stale, so the caller fetches the
 * object whole instead.
 */
export function mergePartial(
  s: IndexStores,
  objectHash: Buffer,
  primaryHash: Buffer,
  vary: readonly string[],
  template: ObjectMeta,
  fetched: ReadonlyMap<number, { id: number; crc: number }>,
  lease: { readonly leases: readonly BlockLease[]; readonly id: string },
  now: number,
): ObjectMeta | null {
  let result: ObjectMeta | null = template;
  s.writer.transact(() => {
    for (const { hash } of lease.leases) {
      const fill = s.fills.get(hash);
      if (fill === undefined || fill.id !== lease.id || fill.controls !== undefined) {
        result = null;
        return;
      }
    }
    const current = s.objects.get(objectHash);
    if (current !== undefined && current.complete !== false && sameRepresentation(current, template)) {
      // Someone stored the whole object meanwhile.
      s.releaseBlocks([...fetched.values()].map((b) => b.id), now);
      result = current;
      return;
    }
    const base = current !== undefined && current.complete === false && sameRepresentation(current, template) ? current : template;
    const blocks = [...base.blocks];
    const crcs = [...base.crcs];
    const unused: number[] = [];
    for (const [index, block] of fetched) {
      if (blocks[index] === ABSENT_BLOCK) {
        blocks[index] = block.id;
        crcs[index] = block.crc;
      } else unused.push(block.id);
    }
    s.releaseBlocks(unused, now);
    const merged: ObjectMeta = { ...base, blocks, crcs, complete: !blocks.includes(ABSENT_BLOCK) };
    let used = (s.state.get('usedBytes') as number | undefined) ?? 0;
    if (current !== undefined) {
      used -= storedBytes(current);
      if (base !== current) s.releaseBlocks(current.blocks, now);
    }
    const mergedTagged = sealRecord(merged, s.tags.change(merged.key, objectHash, current, merged.tags));
    placeStored(s, objectHash, current, mergedTagged, now);
    s.objects.put(objectHash, mergedTagged);
    if (vary.length > 0) s.vary.put(primaryHash, [...vary]);
    s.keys.put(merged.key, objectHash);
    s.state.put('usedBytes', used + storedBytes(merged));
    result = mergedTagged;
  });
  return result;
}
