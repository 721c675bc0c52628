/**
 * The admission filter's bookkeeping in the index, on a real LMDB file: a commit short of the count keeps a count
 * instead of the object (and frees its blocks); the next lease carries the count on; a fill another worker marked
 * followed is stored whatever the count, and the mark survives the owner's progress updates; a lapsed count starts
 * over, and a sweep removes lapsed counts only, reading no others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheIndex } from '../../src/cache/index.js';
import type { Admission, FillRecord, ObjectMeta } from '../../src/cache/index.js';
import { keyHash, objectKey } from '../../src/cache/key.js';

const ALIVE = (): boolean => true;
const TWICE: Admission = { minUses: 2, windowMs: 60_000 };

/** A lease record of a fill subject to admission (`uses` set), as Fill writes it. */
function lease(id: string, now: number): FillRecord {
  return { id, pid: process.pid, until: now + 10_000, state: 'filling', status: 0, headers: null, timing: null, size: -1, blockSize: 4096, blocks: [], crcs: [], uses: 0 };
}

function meta(key: string, blocks: number[]): ObjectMeta {
  const now = Date.now();
  return {
    key, status: 200, headers: [], size: blocks.length * 4096, etag: null, lastModifiedMs: null, requestTime: now, responseTime: now, dateMs: null,
    ageHeaderSec: 0, ttlSec: 60, staleWhileRevalidateSec: 0, staleIfErrorSec: 0, revalidate: 'normal', mustRevalidate: false, ttlSource: 'origin',
    extendedSec: 0, inline: null, blocks, blockSize: 4096, crcs: blocks.map(() => 0), generation: 1,
  };
}

async function withIndex(run: (index: CacheIndex) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flint-admission-'));
  const index = new CacheIndex(dir);
  try {
    await run(index);
  } finally {
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Takes the lease, writes one block and commits under `admission`; returns the outcome and the block. */
async function fillOnce(index: CacheIndex, key: string, id: string, now: number, admission: Admission | null): Promise<{ outcome: string; uses: number | undefined; block: number }> {
  const hash = keyHash(key);
  const taken = index.acquireLease(hash, lease(id, now), now, ALIVE);
  assert.equal(taken.acquired, true);
  const [block] = index.allocateBlocks(1, 0, now, 0) as [number];
  const outcome = await index.commit(hash, hash, [], meta(key, [block]), { hash, id }, now, admission);
  return { outcome, uses: taken.record.uses, block };
}

test('a commit short of the count keeps a count instead of the object; the next request is stored', async () => {
  await withIndex(async (index) => {
    const now = Date.now();
    const key = objectKey('example.com\n/once', '');
    const first = await fillOnce(index, key, 'a', now, TWICE);
    assert.deepEqual([first.outcome, first.uses], ['not-admitted', 0]);
    assert.equal(index.getObject(keyHash(key)), undefined);
    assert.equal(index.usedBytes(), 0, 'nothing counted against the quota');
    assert.equal(index.getFill(keyHash(key)), undefined, 'the lease is gone');
    assert.deepEqual(index.fillCounts(now), { inProgress: 0, seen: 1, records: 0 });
    // The block went back to the free list (reusable at once when the grace period is 0).
    assert.deepEqual(index.allocateBlocks(1, 0, now + 1, 0), [first.block]);

    const second = await fillOnce(index, key, 'b', now + 10, TWICE);
    assert.deepEqual([second.outcome, second.uses], ['stored', 1], 'the lease carried the count on');
    assert.equal(index.getObject(keyHash(key))?.blocks[0], second.block);
    assert.equal(index.getFill(keyHash(key)), undefined);
    assert.equal(index.fillCounts(now).seen, 0, 'the count went with the commit');
  });
});

test('a fill marked followed is stored on its first request, and the mark survives progress updates', async () => {
  await withIndex(async (index) => {
    const now = Date.now();
    const key = objectKey('example.com\n/followed', '');
    const hash = keyHash(key);
    assert.equal(index.acquireLease(hash, lease('a', now), now, ALIVE).acquired, true);
    assert.equal(index.markFollowed(hash, 'a'), true);
    assert.equal(index.markFollowed(hash, 'other'), false, 'another fill id is not this fill');
    // The owner publishes its progress without knowing of the mark.
    assert.equal(index.updateFill(hash, { ...lease('a', now), size: 10 }), true);
    assert.equal(index.getFill(hash)?.followed, true);
    const outcome = await index.commit(hash, hash, [], meta(key, []), { hash, id: 'a' }, now, TWICE);
    assert.equal(outcome, 'stored');
    assert.equal(index.markFollowed(hash, 'a'), false, 'a finished fill cannot be marked');
  });
});

test('a count lapses after its window, and an object already stored is replaced whatever the count', async () => {
  await withIndex(async (index) => {
    const now = Date.now();
    const key = objectKey('example.com\n/lapse', '');
    assert.equal((await fillOnce(index, key, 'a', now, TWICE)).outcome, 'not-admitted');
    const later = now + TWICE.windowMs + 1;
    const again = await fillOnce(index, key, 'b', later, TWICE);
    assert.deepEqual([again.outcome, again.uses], ['not-admitted', 0], 'the lapsed count is not carried on');
    assert.equal(index.fillCounts(later).seen, 1, 'the new count replaced the lapsed one');

    const storedKey = objectKey('example.com\n/stored', '');
    assert.equal((await fillOnce(index, storedKey, 'c', now, null)).outcome, 'stored');
    assert.equal((await fillOnce(index, storedKey, 'd', now + 10, TWICE)).outcome, 'stored');
  });
});

test('a sweep removes the counts whose window ended, and only those', async () => {
  await withIndex(async (index) => {
    const now = Date.now();
    const short: Admission = { minUses: 2, windowMs: 1_000 };
    for (let i = 0; i < 5; i++) assert.equal((await fillOnce(index, objectKey(`example.com\n/short/${i}`, ''), `s${i}`, now, short)).outcome, 'not-admitted');
    for (let i = 0; i < 3; i++) assert.equal((await fillOnce(index, objectKey(`example.com\n/long/${i}`, ''), `l${i}`, now, TWICE)).outcome, 'not-admitted');
    assert.equal(index.sweepSeen(now + 500, 100), 0, 'nothing lapsed yet');
    assert.equal(index.sweepSeen(now + 1_001, 2), 2, 'at most `limit` per call');
    assert.equal(index.sweepSeen(now + 1_001, 100), 3);
    assert.equal(index.fillCounts(now).seen, 3);
    // A request after the sweep counts from 1 again; one within the window still carries its count.
    assert.equal((await fillOnce(index, objectKey('example.com\n/short/0', ''), 'again', now + 1_002, short)).uses, 0);
    assert.equal((await fillOnce(index, objectKey('example.com\n/long/0', ''), 'again2', now + 1_002, TWICE)).outcome, 'stored');
  });
});
