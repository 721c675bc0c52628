/**
 * Records the index must not keep for good, on a real LMDB file. CacheIndex.sweepFills: which fill records go
 * (expired hit-for-pass markers, expired leases of dead processes, whose blocks return to the free list), which
 * stay (live markers, live owners' leases even when expired), and a walk in steps over more records than one step
 * reads. Removing a URL's last variant removes its Vary names. An index counted by the older rule (bodies only) is
 * recounted when opened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { CacheIndex, INDEX_RECORD_BYTES } from '../../src/cache/index.js';
import type { FillRecord, ObjectMeta } from '../../src/cache/index.js';
import { keyHash, objectKey } from '../../src/cache/key.js';
import { isProcessAlive } from '../../src/cache/store.js';
import { controlApplied } from '../../src/cache/index-records.js';

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.equal(child.status, 0);
  return child.pid as number;
}

const hashOf = (name: string): Buffer => createHash('sha256').update(name).digest().subarray(0, 16);

function fill(pid: number, until: number, state: FillRecord['state'], blocks: number[] = []): FillRecord {
  return { id: `f${Math.random()}`, pid, until, state, status: 0, headers: null, timing: null, size: -1, blockSize: 4096, blocks, crcs: blocks.map(() => 0) };
}

async function withIndex(run: (index: CacheIndex, dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flint-index-'));
  const index = new CacheIndex(dir);
  try {
    await run(index, dir);
  } finally {
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a sweep removes expired markers and dead owners\' expired leases (freeing their blocks), and keeps the rest', async () => {
  await withIndex((index) => {
    const now = Date.now();
    const dead = deadPid();
    const alive = (): boolean => true;
    const blocks = index.allocateBlocks(2, 0, now, 0) as number[];
    const records: Array<[string, FillRecord]> = [
      ['marker-expired', fill(process.pid, now - 1, 'uncacheable')],
      ['marker-live', fill(process.pid, now + 10_000, 'uncacheable')],
      ['lease-dead-expired', fill(dead, now - 1, 'filling', blocks)],
      ['lease-dead-live', fill(dead, now + 10_000, 'filling')],
      ['lease-alive-expired', fill(process.pid, now - 1, 'filling')],
    ];
    for (const [name, record] of records) assert.equal(index.acquireLease(hashOf(name), record, now - 5_000, alive).acquired, true);
    assert.deepEqual(index.fillCounts(now), { inProgress: 1, seen: 0, records: 5 });

    const swept = index.sweepFills(null, 1000, now, isProcessAlive);
    assert.deepEqual(swept, { next: null, removed: 2 });
    const left = records.map(([name]) => name).filter((name) => index.getFill(hashOf(name)) !== undefined);
    assert.deepEqual(left, ['marker-live', 'lease-dead-live', 'lease-alive-expired']);
    // The dead fill's blocks are free again: the next allocation gets them back rather than new ids.
    assert.deepEqual(index.allocateBlocks(2, 0, now, 0)?.sort(), [...blocks].sort());
  });
});

test('a sweep over more records than one step reads walks them in steps and removes them all', async () => {
  await withIndex((index) => {
    const now = Date.now();
    for (let i = 0; i < 2500; i++) index.acquireLease(hashOf(`u${i}`), fill(process.pid, now - 1, 'uncacheable'), now - 5_000, () => true);
    assert.equal(index.fillCounts(now).records, 2500);
    let after: Buffer | null = null;
    let steps = 0;
    let removed = 0;
    do {
      const step = index.sweepFills(after, 1000, now, isProcessAlive);
      removed += step.removed;
      after = step.next;
      steps++;
    } while (after !== null && steps < 10);
    assert.equal(removed, 2500);
    assert.equal(steps, 3);
    assert.equal(index.fillCounts(now).records, 0);
  });
});

function meta(key: string): ObjectMeta {
  const now = Date.now();
  return {
    key, status: 200, headers: [], size: 2, etag: null, lastModifiedMs: null, requestTime: now, responseTime: now, dateMs: null, ageHeaderSec: 0,
    ttlSec: 60, staleWhileRevalidateSec: 0, staleIfErrorSec: 0, revalidate: 'normal', mustRevalidate: false, ttlSource: 'origin', extendedSec: 0,
    inline: Buffer.from('ok'), blocks: [], blockSize: 4096, crcs: [], generation: 1,
  };
}

test('a URL\'s Vary names stay while a variant is stored and go with its last one', async () => {
  await withIndex(async (index) => {
    const now = Date.now();
    const primary = 'example.com\n/page';
    const primaryHash = keyHash(primary);
    const gzip = objectKey(primary, 'accept-encoding=gzip\n');
    const plain = objectKey(primary, 'accept-encoding=\n');
    for (const key of [gzip, plain]) assert.equal(await index.commit(keyHash(key), primaryHash, ['accept-encoding'], meta(key), null, now), 'stored');
    assert.deepEqual(index.getVary(primaryHash), ['accept-encoding']);
    index.remove(keyHash(gzip), now);
    assert.deepEqual(index.getVary(primaryHash), ['accept-encoding'], 'one variant left');
    index.remove(keyHash(plain), now);
    assert.equal(index.getVary(primaryHash), undefined);
    assert.equal(index.objectCount(), 0);
  });
});

test('an index whose usage was counted by the older rule (bodies only) is recounted when opened, once', async () => {
  await withIndex(async (index, dir) => {
    const now = Date.now();
    assert.equal(index.recountUsage(), false, 'a new index has nothing to recount');
    for (const key of ['a', 'b', 'c'].map((p) => objectKey(`example.com\n/${p}`, ''))) await index.commit(keyHash(key), keyHash(key), [], meta(key), null, now);
    const counted = 3 * (2 + INDEX_RECORD_BYTES);
    assert.equal(index.usedBytes(), counted);
    await index.close();
    // What an older Flint left: bodies only, and no rule marker.
    const env = open({ path: join(dir, 'index.lmdb'), noSubdir: true, maxDbs: 16 });
    const state = env.openDB({ name: 'state' });
    await state.put('usedBytes', 6);
    await state.remove('usageRule');
    await env.close();
    const reopened = new CacheIndex(dir);
    try {
      assert.equal(reopened.usedBytes(), 6);
      assert.equal(reopened.recountUsage(), true);
      assert.equal(reopened.usedBytes(), counted);
      assert.equal(reopened.recountUsage(), false, 'counted by this rule now');
    } finally {
      await reopened.close();
    }
  });
});

test('records keep their field names once (shared structures): old records still read, scans and counts skip them', async () => {
  await withIndex(async (index, dir) => {
    const now = Date.now();
    await index.close();
    // What an older Flint wrote: every record with its own field names.
    const oldKey = objectKey('example.com\n/old', '');
    const env = open({ path: join(dir, 'index.lmdb'), noSubdir: true, maxDbs: 16 });
    const oldMeta = meta(oldKey);
    await env.openDB({ name: 'objects', keyEncoding: 'binary' }).put(keyHash(oldKey), oldMeta);
    await env.close();

    const reopened = new CacheIndex(dir);
    try {
      assert.deepEqual(reopened.getObject(keyHash(oldKey)), oldMeta);
      const keys = ['a', 'b'].map((p) => objectKey(`example.com\n/${p}`, ''));
      for (const key of keys) await reopened.commit(keyHash(key), keyHash(key), [], { ...meta(key), purged: true }, null, now);
      reopened.acquireLease(hashOf('lease'), fill(process.pid, now + 10_000, 'filling'), now, () => true);
      assert.equal(reopened.objectCount(), 3, 'the structures entry is not an object');
      assert.deepEqual(reopened.fillCounts(now), { inProgress: 1, seen: 0, records: 1 });
      assert.equal(reopened.clearFills(now), 1);
      assert.equal(reopened.recountUsage(), true);
      assert.equal(reopened.usedBytes(), 3 * (2 + INDEX_RECORD_BYTES));
      // The new records name a shared structure, not their fields, and another process reads them.
      const raw = open({ path: join(dir, 'index.lmdb'), noSubdir: true, maxDbs: 16 });
      const bytes = raw.openDB({ name: 'objects', encoding: 'binary', keyEncoding: 'binary' }).getBinary(keyHash(keys[0] as string)) as Buffer;
      assert.equal(bytes.includes('responseTime'), false, 'no field names in a new record');
      await raw.close();
      const other = new CacheIndex(dir);
      try {
        for (const key of [oldKey, ...keys]) assert.equal(other.getObject(keyHash(key))?.key, key);
        assert.equal(other.getObject(keyHash(keys[1] as string))?.purged, true);
      } finally {
        await other.close();
      }
    } finally {
      await reopened.close();
    }
  });
});

/** Commits one object per block of `blocks` and removes it at `releasedAt[i]`: the block is released then. */
async function releaseAt(index: CacheIndex, blocks: readonly number[], releasedAt: readonly number[]): Promise<void> {
  for (const [i, id] of blocks.entries()) {
    const key = objectKey(`example.com\n/block-${id}`, '');
    const stored = { ...meta(key), inline: null, size: 4096, blocks: [id], crcs: [0] };
    assert.equal(await index.commit(keyHash(key), keyHash(key), [], stored, null, Date.now()), 'stored');
    assert.equal(index.remove(keyHash(key), releasedAt[i] as number), 4096 + INDEX_RECORD_BYTES);
  }
}

test('at its capacity a class reuses released blocks longest released first, past their grace or not', async () => {
  await withIndex(async (index) => {
    const now = Date.now();
    const grace = 120_000;
    const ids = index.allocateBlocks(8, 8, now, grace) as number[];
    assert.deepEqual(ids, [0, 1, 2, 3, 4, 5, 6, 7]);
    // Ids 0-5 released in the last minute (still in their grace), 7 five minutes ago, 6 two minutes ago.
    await releaseAt(index, [0, 1, 2, 3, 4, 5, 7, 6], [now - 1_000, now - 2_000, now - 3_000, now - 4_000, now - 5_000, now - 60_000, now - 300_000, now - 121_000]);
    assert.deepEqual(index.allocateBlocks(1, 8, now, grace), [7], 'past its grace, although five lower ids are free');
    assert.deepEqual(index.allocateBlocks(1, 8, now, grace), [6]);
    assert.deepEqual(index.allocateBlocks(2, 8, now, grace), [5, 4], 'then the longest released within the grace');
    // A block released again moves to its new release time.
    await releaseAt(index, [7], [now - 400_000]);
    assert.deepEqual(index.allocateBlocks(4, 8, now, grace), [7, 3, 2, 1]);
    assert.deepEqual(index.allocateBlocks(1, 8, now, grace), [0]);
    assert.equal(index.allocateBlocks(1, 8, now, grace), null, 'nothing free and no capacity');
  });
});

test('an index whose free blocks have no release order (an older Flint) gets one when opened, once', async () => {
  await withIndex(async (index, dir) => {
    const now = Date.now();
    assert.equal(index.orderFreeBlocks(), 0, 'a new index lists its (no) free blocks once');
    assert.equal(index.orderFreeBlocks(), -1);
    await index.close();
    // What an older Flint left: three released blocks in `free` only, and no order marker.
    const env = open({ path: join(dir, 'index.lmdb'), noSubdir: true, maxDbs: 16 });
    const free = env.openDB({ name: 'free', keyEncoding: 'uint32' });
    for (const [id, released] of [[0, now - 1_000], [1, now - 500_000], [2, now - 200_000]] as const) await free.put(id, released);
    await env.openDB({ name: 'state' }).put('nextBlock', 3);
    await env.openDB({ name: 'state' }).remove('freeOrder');
    await env.close();
    const reopened = new CacheIndex(dir);
    try {
      assert.equal(reopened.orderFreeBlocks(), 3);
      assert.equal(reopened.orderFreeBlocks(), -1, 'listed once');
      assert.deepEqual(reopened.allocateBlocks(3, 3, now, 120_000), [1, 2, 0]);
    } finally {
      await reopened.close();
    }
  });
});

test('purge and expire leave a copy stale at the very age they ran at, whatever the float rounding', () => {
  // `(age - ttl) + ttl` lands above `age` for about half of these ages: a reader in the same millisecond would
  // have found the copy fresh (the CI failure this guards: a request right after an expire got the old copy).
  for (const ttlSec of [60, 3600, 31_536_000]) {
    for (let i = 1; i < 2000; i++) {
      const ageSec = i / 1000 + 0.0001 * i;
      for (const action of ['purge', 'expire'] as const) {
        const out = controlApplied({ ...meta('/k'), ttlSec }, action, 0, ageSec);
        assert.ok(out.ttlSec + out.extendedSec <= ageSec, `${action} at age ${ageSec} (ttl ${ttlSec}) left it fresh`);
      }
      const later = controlApplied({ ...meta('/k'), ttlSec }, 'expireafter', 30, ageSec);
      const lifetime = later.ttlSec + later.extendedSec;
      assert.ok(lifetime <= ageSec + 30 && lifetime > ageSec + 29, `expireafter 30 at age ${ageSec}: lifetime ${lifetime}`);
    }
  }
});
