/**
 * HotTier's byte budget (pipeline/hot-tier.ts): entries count their heap cost as well as their bodies, so bodiless
 * responses cannot grow the tier without bound, and the least recently used entries go first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectMeta } from '../../src/cache/index.js';
import { HotTier } from '../../src/pipeline/hot-tier.js';

function meta(i: number, size: number): ObjectMeta {
  return {
    key: `example.com\n/missing/${i}\0`, status: 404, headers: ['content-type', 'text/html', 'cache-control', 'max-age=60'], size, etag: null,
    lastModifiedMs: null, requestTime: 0, responseTime: 0, dateMs: null, ageHeaderSec: 0, ttlSec: 60, staleWhileRevalidateSec: 0, staleIfErrorSec: 0,
    revalidate: 'normal', mustRevalidate: false, ttlSource: 'origin', extendedSec: 0, inline: Buffer.alloc(size), blocks: [], blockSize: 4096, crcs: [], generation: 1,
  };
}

function put(hot: HotTier, i: number, size: number, now = 0): void {
  const m = meta(i, size);
  hot.put(`example.com\n/missing/${i}`, [], i.toString(16).padStart(32, '0'), m, Buffer.alloc(size), now);
}

test('bodiless entries are charged their heap cost: 10,000 cached 404s stay within a 1 MiB budget', () => {
  const budget = 1 << 20;
  const hot = new HotTier(budget, 1 << 20);
  for (let i = 0; i < 10_000; i++) put(hot, i, 0);
  assert.ok(hot.bytes <= budget, `${hot.bytes} bytes charged`);
  assert.ok(hot.size > 100 && hot.size < 1000, `${hot.size} entries held (about 1.5-2 KiB each)`);
  // The newest are the ones held.
  assert.notEqual(hot.lookup('example.com\n/missing/9999', [], 0), undefined);
  assert.equal(hot.lookup('example.com\n/missing/0', [], 0), undefined);
});

test('the charge of an entry is given back when it is dropped or replaced', () => {
  const hot = new HotTier(1 << 20, 1 << 20);
  put(hot, 1, 1000);
  const one = hot.bytes;
  assert.ok(one > 1000);
  put(hot, 1, 1000);
  assert.equal(hot.bytes, one, 'replacing an entry does not count it twice');
  hot.invalidate((1).toString(16).padStart(32, '0'));
  assert.equal(hot.bytes, 0);
  assert.equal(hot.size, 0);
});

test('hits keep least-recently-used order, also when a hit skips the move of the entry already newest', () => {
  // Budget for about three 20 KiB entries: a fourth evicts the least recently used one.
  const hot = new HotTier(72 << 10, 72 << 10);
  const lookup = (i: number): boolean => hot.lookup(`example.com\n/missing/${i}`, [], 0) !== undefined;
  put(hot, 1, 20_000);
  put(hot, 2, 20_000);
  put(hot, 3, 20_000);
  assert.ok(lookup(3) && lookup(3), 'hits on the newest entry');
  assert.ok(lookup(1), '1 is now the newest');
  assert.ok(lookup(3), '3 moves back behind 1');
  assert.ok(lookup(2) && lookup(2), '2 is the newest');
  put(hot, 4, 20_000);
  assert.equal(lookup(1), false, '1 was the least recently used');
  assert.ok(lookup(3) && lookup(2) && lookup(4));
  hot.invalidate((4).toString(16).padStart(32, '0'));
  assert.ok(lookup(3), 'after the newest entry is dropped, hits still move entries');
  put(hot, 5, 20_000);
  put(hot, 6, 20_000);
  assert.equal(lookup(2), false, '2 was the least recently used');
  assert.ok(lookup(3) && lookup(5) && lookup(6));
});

test('a URL whose Vary changes is looked up by its current Vary names only (the no-Vary shortcut follows put)', () => {
  const hot = new HotTier(1 << 20, 1 << 20);
  const primary = 'example.com\n/v';
  const plain = { ...meta(1, 10), key: `${primary}\0` };
  hot.put(primary, [], 'a'.repeat(32), plain, Buffer.alloc(10), 0);
  assert.equal(hot.lookup(primary, [], 0)?.meta, plain);
  // The origin now varies on Accept-Encoding: the stored no-Vary copy must not answer any more.
  const gzip = { ...meta(2, 10), key: `${primary}\0accept-encoding=gzip\n` };
  hot.put(primary, ['accept-encoding'], 'b'.repeat(32), gzip, Buffer.alloc(10), 0);
  assert.equal(hot.lookup(primary, ['accept-encoding', 'gzip'], 0)?.meta, gzip);
  assert.equal(hot.lookup(primary, [], 0), undefined, 'no variant for a request without Accept-Encoding');
  // And back to no Vary.
  const plain2 = { ...meta(3, 10), key: `${primary}\0` };
  hot.put(primary, [], 'c'.repeat(32), plain2, Buffer.alloc(10), 0);
  assert.equal(hot.lookup(primary, ['accept-encoding', 'gzip'], 0)?.meta, plain2);
  hot.invalidatePrimary(primary);
  assert.equal(hot.lookup(primary, [], 0), undefined, 'dropped with its URL');
  hot.put(primary, [], 'd'.repeat(32), plain2, Buffer.alloc(10), 0);
  hot.invalidate('d'.repeat(32));
  assert.equal(hot.lookup(primary, [], 0), undefined, 'dropped by its hash');
  hot.put(primary, [], 'e'.repeat(32), plain2, Buffer.alloc(10), 0);
  assert.equal(hot.lookup(primary, [], 2_000), undefined, 'due for a recheck');
});
