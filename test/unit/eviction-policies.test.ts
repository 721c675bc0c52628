/**
 * The eviction policies (cache/eviction-policies.ts) on their own: after thousands of random inserts, hits, removals
 * and evictions each keeps exact byte counts, returns only keys it holds, each once, and never a key the caller
 * pins (an object being filled); with everything pinned it gives up. A frequently hit object survives a scan many
 * times the capacity under S3-FIFO and W-TinyLFU (under LRU it does not: the control that the scan is long enough).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVICTION_POLICIES, createEvictionPolicy } from '../../src/cache/eviction-policies.js';
import type { EvictionPolicyName } from '../../src/cache/eviction-policies.js';
import { seeded } from '../helpers/prng.js';

const policy = (name: EvictionPolicyName, capacity: number) => createEvictionPolicy<number>(name, capacity, (k) => k);

for (const name of EVICTION_POLICIES) {
  test(`${name}: exact bytes, only held keys, never a pinned one, through 20,000 random operations`, () => {
    const capacity = 200_000;
    const p = policy(name, capacity);
    const held = new Map<number, number>();
    const rnd = seeded(7);
    const pinned = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const key = Math.floor(rnd() * 500);
      const op = rnd();
      if (op < 0.1 && held.has(key)) {
        p.remove(key);
        held.delete(key);
      } else if (op < 0.5 && held.has(key)) {
        p.hit(key, 1 + Math.floor(rnd() * 3));
      } else if (!held.has(key)) {
        const bytes = 100 + Math.floor(rnd() * 5_000);
        p.insert(key, bytes);
        held.set(key, bytes);
      }
      if (rnd() < 0.05) {
        pinned.clear();
        for (const k of held.keys()) if (rnd() < 0.2) pinned.add(k);
      }
      while (p.bytes > capacity) {
        const victim = p.evict((k) => !pinned.has(k));
        if (victim === undefined) break;
        assert.ok(held.has(victim), `${name} evicted ${victim}, which it does not hold`);
        assert.ok(!pinned.has(victim), `${name} evicted pinned ${victim}`);
        held.delete(victim);
        assert.equal(p.has(victim), false);
      }
      let sum = 0;
      for (const b of held.values()) sum += b;
      assert.equal(p.bytes, sum, `${name} bytes after operation ${i}`);
      assert.equal(p.size, held.size);
    }
    // Everything pinned: nothing may go, and the search ends.
    assert.equal(p.evict(() => false), undefined);
    assert.equal(p.size, held.size);
  });

  test(`${name}: restored objects (start-up) are all evictable, then none is left`, () => {
    const p = policy(name, 10_000);
    for (let k = 0; k < 50; k++) p.insert(k, 100, k % 3);
    const out = new Set<number>();
    for (let v = p.evict(); v !== undefined; v = p.evict()) out.add(v);
    assert.equal(out.size, 50);
    assert.equal(p.bytes, 0);
  });
}

/** 1,000 objects of 1 KiB in a 100 KiB cache, with a hot key hit between every 5 scanned ones; is the hot key still held? */
function survivesScan(name: EvictionPolicyName): boolean {
  const capacity = 100 * 1024;
  const p = policy(name, capacity);
  const hot = -1;
  p.insert(hot, 1024);
  for (let i = 0; i < 10; i++) p.hit(hot);
  for (let k = 0; k < 1000; k++) {
    if (!p.has(k)) p.insert(k, 1024);
    // The hot object is hit less often than once per cache turnover at the end of the scan, but often overall.
    if (k % 150 === 0 && p.has(hot)) p.hit(hot);
    while (p.bytes > capacity) p.evict();
  }
  return p.has(hot);
}

test('a frequently hit object survives a scan of 10x the capacity under s3fifo and wtinylfu, not under lru', () => {
  assert.equal(survivesScan('s3fifo'), true);
  assert.equal(survivesScan('wtinylfu'), true);
  assert.equal(survivesScan('lru'), false, 'the control: the scan pushes the hot object out of an LRU');
});

test('sieve keeps a visited object and evicts the unvisited ones around it, oldest first', () => {
  const p = policy('sieve', 3);
  for (const k of [1, 2, 3]) p.insert(k, 1);
  p.hit(1);
  p.insert(4, 1);
  assert.equal(p.evict(), 2);
  p.insert(5, 1);
  assert.equal(p.evict(), 3);
  assert.equal(p.has(1), true);
});
