/**
 * StatsWindows with synthetic samples: realtime is the last bucket, the 1-minute average exactly 60 buckets,
 * n-minute averages start at the newest minute sample at least n minutes old, a young process averages since
 * start, and figures (rates, averages, ratios) come out of the counter deltas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsWindows, flatten, windowFigures } from '../../src/primary/stats-windows.js';
import type { Sample } from '../../src/primary/stats-windows.js';
import { emptyCounters } from '../../src/stats/counters.js';

const CPU = { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 };

/** A sample at bucket `tick` (1 s buckets) where vhost "v" has served `requests` requests so far. */
function sample(tick: number, requests: number): Sample {
  const c = emptyCounters();
  c.requests = requests;
  c.responses2xx = requests;
  c.ttfbMsSum = requests * 2;
  c.totalMsSum = requests * 3;
  c.clientOutBytes = requests * 1000;
  c.originInBytes = requests * 250;
  c.cacheResults.TCP_HIT = Math.floor(requests / 2);
  c.cacheResults.TCP_MISS = requests - Math.floor(requests / 2);
  return { at: tick * 1000, vhosts: new Map([['v', flatten(c)]]), cpu: CPU, workers: [], evictedObjects: 0, evictedBytes: 0 };
}

test('realtime is the last bucket; a young process averages since start', () => {
  const w = new StatsWindows(1000);
  assert.equal(w.realtime(), null);
  for (let t = 0; t <= 10; t++) w.record(sample(t, t * 10));
  const rt = w.realtime();
  assert.ok(rt !== null);
  assert.equal(rt.seconds, 1);
  const avg = w.average(5);
  assert.ok(avg !== null);
  assert.equal(avg.from.at, 0, '10 s old: the 5-minute average starts at the first sample');
  assert.equal(avg.seconds, 10);
});

test('1-minute average is exactly 60 buckets; n-minute averages cover n to n+1 minutes', () => {
  const w = new StatsWindows(1000);
  const last = 60 * 12 + 25; // 12 min 25 s of 1 request per second
  for (let t = 0; t <= last; t++) w.record(sample(t, t));
  const one = w.average(1);
  assert.ok(one !== null);
  assert.equal(one.seconds, 60);
  for (const n of [2, 5, 12]) {
    const a = w.average(n);
    assert.ok(a !== null);
    assert.ok(a.seconds >= n * 60 && a.seconds < (n + 1) * 60, `n=${n}: ${a.seconds}`);
    const f = windowFigures(a.from.vhosts.get('v'), a.to.vhosts.get('v') as Float64Array, a.seconds);
    assert.equal(f.perSecond.requests, 1);
  }
  const sixty = w.average(60);
  assert.ok(sixty !== null);
  assert.equal(sixty.from.at, 0, 'older than Flint: everything since start');
});

test('memory stays bounded over hours of samples', () => {
  const w = new StatsWindows(1000);
  for (let t = 0; t <= 3 * 3600; t++) w.record(sample(t, t));
  const a = w.average(60);
  assert.ok(a !== null);
  assert.ok(a.seconds >= 3600 && a.seconds < 3660, String(a.seconds));
});

test('figures: counts, rates, averages and ratios from deltas', () => {
  const f = windowFigures(flatten(emptyCounters()), sample(0, 100).vhosts.get('v') as Float64Array, 4);
  assert.equal(f.counts.requests, 100);
  assert.equal(f.perSecond.requests, 25);
  assert.equal(f.ttfbMs, 2);
  assert.equal(f.totalMs, 3);
  assert.equal(f.requestHitRatio, 0.5);
  assert.equal(f.byteHitRatio, 0.75);
  assert.equal(f.cacheResults.TCP_MISS, 50);
  const zero = windowFigures(undefined, flatten(emptyCounters()), 0);
  assert.equal(zero.perSecond.requests, 0);
  assert.equal(zero.ttfbMs, 0);
});
