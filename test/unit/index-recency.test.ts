/**
 * The index's recency order (cache/index-recency.ts), randomized: 3,000 steps over 40 URLs through a real index
 * (new objects and replacements with records as a fill builds them, batched hits at times before and after an
 * object's place, 304-style rewrites from a copy that does not know its place, removals, hits on objects already
 * gone). After every step the `lru` order must list every stored object exactly once, no other, at the time a
 * model says (stored at, or the latest hit after), and the inspector must report that time as its last access.
 * A new object must have no `atime` entry (what the change saved) until it is hit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { CacheIndex } from '../../src/cache/index.js';
import type { ObjectMeta } from '../../src/cache/index.js';
import { keyHash, objectKey } from '../../src/cache/key.js';
import { seeded } from '../helpers/prng.js';

const URLS = 40;

function record(key: string, now: number, generation: number): ObjectMeta {
  return {
    key, status: 200, headers: ['etag', `"${generation}"`], size: 3, etag: `"${generation}"`, lastModifiedMs: null, requestTime: now, responseTime: now,
    dateMs: null, ageHeaderSec: 0, ttlSec: 600, staleWhileRevalidateSec: 0, staleIfErrorSec: 0, revalidate: 'normal', mustRevalidate: false,
    ttlSource: 'origin', extendedSec: 0, inline: Buffer.from('abc'), blocks: [], blockSize: 65536, crcs: [], generation,
  };
}

test('the recency order lists every stored object once, at its last access, through 3,000 random stores, hits, rewrites and removals', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-recency-'));
  const index = new CacheIndex(dir);
  const rnd = seeded(2312);
  /** Model: primary -> the time the object's place must say. */
  const expected = new Map<string, number>();
  const primaryOf = (i: number): string => `example.com\n/r${i}`;
  const hashOf = (primary: string): Buffer => keyHash(objectKey(primary, ''));
  let now = 1_800_000_000_000;
  const counts = { stored: 0, replaced: 0, touched: 0, rewritten: 0, removed: 0, goneTouched: 0 };

  const check = (step: number): void => {
    const listed = new Map<string, number>();
    for (const { hex, atime } of index.accessedSince(0)) {
      assert.equal(listed.has(hex), false, `step ${step}: ${hex} listed twice in the recency order`);
      listed.set(hex, atime);
    }
    assert.equal(listed.size, expected.size, `step ${step}: the recency order lists ${listed.size} objects, ${expected.size} are stored`);
    assert.equal(index.objectCount(), expected.size, `step ${step}: object count`);
    for (const [primary, ms] of expected) {
      const hex = hashOf(primary).toString('hex');
      assert.equal(listed.get(hex), ms, `step ${step}: ${primary} sits at ${listed.get(hex)}, expected ${ms}`);
      const [inspected] = index.inspect(primary);
      assert.equal(inspected?.lastAccessMs, ms, `step ${step}: the inspector's last access of ${primary}`);
    }
  };

  try {
    for (let step = 0; step < 3000; step++) {
      now += 1 + Math.floor(rnd() * 5);
      const primary = primaryOf(Math.floor(rnd() * URLS));
      const hash = hashOf(primary);
      const key = objectKey(primary, '');
      const current = index.getObject(hash);
      const r = rnd();
      if (r < 0.35) {
        // A fill's commit: a new record, or one replacing the stored copy.
        const generation = (current?.generation ?? 0) + 1;
        assert.equal(await index.commit(hash, keyHash(primary), [], record(key, now, generation), null, now), 'stored');
        expected.set(primary, now);
        if (current === undefined) counts.stored++;
        else counts.replaced++;
      } else if (r < 0.7) {
        // A worker's batched hits: this object and a few others, at times before and after their places.
        const touches = new Map<string, number>();
        const targets = [primary, primaryOf(Math.floor(rnd() * URLS)), primaryOf(Math.floor(rnd() * URLS))];
        for (const p of targets) {
          const ms = now - Math.floor(rnd() * 40);
          touches.set(hashOf(p).toString('hex'), ms);
        }
        await index.touchMany(touches);
        for (const p of new Set(targets)) {
          const ms = touches.get(hashOf(p).toString('hex')) as number;
          const at = expected.get(p);
          if (at === undefined) counts.goneTouched++;
          else {
            counts.touched++;
            if (ms > at) expected.set(p, ms);
          }
        }
      } else if (r < 0.85) {
        if (current === undefined) continue;
        // A 304 refresh: the record rewritten from a copy, which may not carry its place.
        const copy = { ...current, ttlSec: current.ttlSec + 1 } as { storedMs?: number } & ObjectMeta;
        if (rnd() < 0.5) copy.storedMs = 0;
        assert.equal(index.updateMeta(hash, copy), true);
        assert.equal(index.getObject(hash)?.storedMs, current.storedMs, 'a rewrite keeps the record\'s place');
        counts.rewritten++;
      } else {
        if (current === undefined) continue;
        index.remove(hash, now);
        expected.delete(primary);
        counts.removed++;
      }
      check(step);
    }
    for (const [name, count] of Object.entries(counts)) assert.ok(count > 50, `${name}: only ${count} steps`);
  } finally {
    await index.close();
  }

  // What was saved: objects never hit since they were stored have no `atime` entry; hit ones have one.
  const env = open({ path: join(dir, 'index.lmdb'), noSubdir: true, readOnly: true, maxDbs: 32 });
  try {
    const atime = env.openDB<number, Buffer>({ name: 'atime', keyEncoding: 'binary' });
    const withEntry = [...atime.getKeys()].length;
    assert.ok(withEntry > 0 && withEntry < expected.size, `${withEntry} of ${expected.size} objects have an atime entry`);
  } finally {
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
