/**
 * The dashboard's live figures computed from counters: the most-requested-paths summary (stats/top-urls.ts: exact
 * while it has room, bounded and still finding the heavy hitters under a flood of distinct paths, long paths cut,
 * worker lists merged), and the TTFB percentiles of a stats window (primary/stats-windows.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOP_URL_CAPACITY, TOP_URL_MAX_KEY, TopUrls, mergeTopUrls } from '../../src/stats/top-urls.js';
import { flatten, windowFigures } from '../../src/primary/stats-windows.js';
import { emptyCounters } from '../../src/stats/counters.js';
import { emptyLatency } from '../../src/stats/latency.js';

test('TopUrls counts exactly while it has room, largest first', () => {
  const top = new TopUrls();
  for (let i = 0; i < 5; i++) top.observe('/a');
  for (let i = 0; i < 3; i++) top.observe('/b');
  top.observe('/c');
  assert.deepEqual(top.top(), [['/a', 5], ['/b', 3], ['/c', 1]]);
  assert.deepEqual(top.top(1), [['/a', 5]]);
});

test('TopUrls stays bounded under a flood of distinct paths and keeps the heavy hitters', () => {
  const top = new TopUrls();
  const started = performance.now();
  for (let i = 0; i < 200_000; i++) {
    top.observe(`/flood/${i}`);
    if (i % 10 === 0) top.observe('/hot');
    if (i % 50 === 0) top.observe('/warm');
  }
  assert.ok(performance.now() - started < 2000, 'amortised O(1)');
  const list = top.top(TOP_URL_CAPACITY * 2);
  assert.ok(list.length <= TOP_URL_CAPACITY);
  assert.equal(list[0]?.[0], '/hot');
  assert.equal(list[1]?.[0], '/warm');
  // A lower bound, short by at most n / (capacity + 1).
  const n = 200_000 + 20_000 + 4_000;
  assert.ok((list[0]?.[1] as number) <= 20_000 && (list[0]?.[1] as number) >= 20_000 - n / (TOP_URL_CAPACITY + 1));
  top.observe(`/${'x'.repeat(10_000)}`);
  assert.ok(top.top(TOP_URL_CAPACITY).every(([path]) => path.length <= TOP_URL_MAX_KEY));
});

test('mergeTopUrls sums workers per vhost and path', () => {
  const merged = mergeTopUrls([{ a: [['/x', 5], ['/y', 1]] }, { a: [['/x', 2]], b: [['/x', 6]] }, undefined], 2);
  assert.deepEqual(merged, [
    { vhost: 'a', path: '/x', count: 7 },
    { vhost: 'b', path: '/x', count: 6 },
  ]);
});

test('a window gives TTFB percentiles from the histogram buckets (interpolated inside a bucket)', () => {
  const before = emptyLatency();
  const after = emptyLatency();
  // 100 responses: 90 in (1, 2.5] ms, 10 in (100, 250] ms.
  after.ttfb[1] = 90;
  after.ttfb[7] = 10;
  const counters = emptyCounters();
  const f = windowFigures(flatten(counters, before), flatten(counters, after), 1);
  assert.equal(f.ttfbP50Ms, 1.83, "1 + 1.5 * 50 / 90, rounded to 0.01 ms");
  assert.equal(f.ttfbP99Ms, 235, "100 + 150 * 9 / 10");
  const none = windowFigures(undefined, flatten(counters), 1);
  assert.deepEqual([none.ttfbP50Ms, none.ttfbP99Ms], [0, 0]);
});
