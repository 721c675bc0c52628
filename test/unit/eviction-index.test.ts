/**
 * The evictor's policy over a real index (cache/eviction.ts PolicyEviction, LMDB in a temp dir): it never chooses an
 * object with a fill running, under every policy; it follows objects stored and hit after it started (the hits the
 * workers batch into the index); and a policy rebuilt from the index when the primary restarts (its state is not
 * persisted) keeps a frequently hit object over ones stored once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheIndex, INDEX_RECORD_BYTES } from '../../src/cache/index.js';
import type { FillRecord, ObjectMeta } from '../../src/cache/index.js';
import { PolicyEviction } from '../../src/cache/eviction.js';
import { EVICTION_POLICIES } from '../../src/cache/eviction-policies.js';
import { keyHash, objectKey } from '../../src/cache/key.js';

const BODY = 1000;
const OBJECT_BYTES = BODY + INDEX_RECORD_BYTES;

function meta(key: string): ObjectMeta {
  const now = Date.now();
  return {
    key, status: 200, headers: [], size: BODY, etag: null, lastModifiedMs: null, requestTime: now, responseTime: now, dateMs: null, ageHeaderSec: 0,
    ttlSec: 60, staleWhileRevalidateSec: 0, staleIfErrorSec: 0, revalidate: 'normal', mustRevalidate: false, ttlSource: 'origin', extendedSec: 0,
    inline: Buffer.alloc(BODY, 1), blocks: [], blockSize: 4096, crcs: [], generation: 1,
  };
}

const keyOf = (name: string): string => objectKey(`example.com\n/${name}`, '');

async function store(index: CacheIndex, name: string, now: number): Promise<Buffer> {
  const key = keyOf(name);
  assert.equal(await index.commit(keyHash(key), keyHash(key), [], meta(key), null, now), 'stored');
  return keyHash(key);
}

/** Hits as a worker reports them: one touch per object, with its count. */
function hit(index: CacheIndex, hashes: readonly Buffer[], times: number, ms: number): Promise<unknown> {
  const touches = new Map(hashes.map((h) => [h.toString('hex'), ms]));
  const hits = new Map(hashes.map((h) => [h.toString('hex'), times]));
  return index.touchMany(touches, hits);
}

async function withIndex(run: (index: CacheIndex, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flint-evict-'));
  try {
    await run(new CacheIndex(dir), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const policy of EVICTION_POLICIES) {
  test(`${policy}: an object with a fill running is never a victim, even when everything else must go`, async () => {
    await withIndex(async (index) => {
      const now = Date.now();
      const hashes: Buffer[] = [];
      for (let i = 0; i < 20; i++) hashes.push(await store(index, `o${i}`, now + i));
      const filling = hashes[0] as Buffer;
      const record: FillRecord = { id: 'f1', pid: process.pid, until: now + 60_000, state: 'filling', status: 0, headers: null, timing: null, size: -1, blockSize: 4096, blocks: [], crcs: [] };
      assert.equal(index.acquireLease(filling, record, now, () => true).acquired, true);
      const eviction = new PolicyEviction(index, policy, 20 * OBJECT_BYTES);
      const victims = eviction.chooseVictims(100 * OBJECT_BYTES, now);
      assert.equal(victims.length, 19);
      assert.ok(!victims.some((v) => v.equals(filling)), 'the object being filled stays');
      // Once its fill ended (the record expired), it may go.
      assert.equal(eviction.chooseVictims(OBJECT_BYTES, now + 120_000).length, 1);
      await index.close();
    });
  });
}

test('the policy follows objects stored and hit after it started, and is rebuilt from the index at restart', async () => {
  await withIndex(async (index, dir) => {
    const t0 = Date.now() - 60_000;
    const eviction = new PolicyEviction(index, 's3fifo', 10 * OBJECT_BYTES);
    assert.equal(eviction.tracked, 0);
    const hot = await store(index, 'hot', t0);
    const cold: Buffer[] = [];
    for (let i = 0; i < 9; i++) cold.push(await store(index, `cold${i}`, t0 + 10 + i));
    await hit(index, [hot], 5, t0 + 100);
    eviction.sync();
    assert.equal(eviction.tracked, 10);
    // The hot object was stored first, but it is the last to go: it was hit while newer objects were not.
    const order = eviction.chooseVictims(10 * OBJECT_BYTES, Date.now()).map((h) => h.toString('hex'));
    assert.equal(order.length, 10);
    assert.equal(order.indexOf(hot.toString('hex')), 9, 'the hot object goes last');
    await index.close();

    // Restart: a new index handle and a new policy, rebuilt from what the index holds.
    const reopened = new CacheIndex(dir);
    const again = new PolicyEviction(reopened, 's3fifo', 10 * OBJECT_BYTES);
    assert.equal(again.tracked, 10, 'every stored object is tracked again');
    for (let i = 0; i < 5; i++) await store(reopened, `new${i}`, Date.now() + i);
    again.sync();
    assert.equal(again.tracked, 15);
    const victims = again.chooseVictims(10 * OBJECT_BYTES, Date.now()).map((h) => h.toString('hex'));
    assert.equal(victims.length, 10);
    assert.ok(!victims.includes(hot.toString('hex')), 'the hot object survives ten evictions after the restart');
    // A reload that changes the policy rebuilds it from the index: the five left are tracked by the new one.
    reopened.removeMany(victims.map((hex) => Buffer.from(hex, 'hex')), Date.now());
    again.configure('lru', 10 * OBJECT_BYTES);
    assert.equal(again.policy, 'lru');
    assert.equal(again.tracked, 5);
    assert.equal(again.chooseVictims(100 * OBJECT_BYTES, Date.now()).length, 5);
    await reopened.close();
  });
});
