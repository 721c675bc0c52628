/**
 * The offline hit-ratio bound (bench/sim/bound.ts) that bench/README.md cites to say no policy can meet a bar: it
 * must never be below what a real cache gets (every policy Flint ships, evicting at once, and an offline cache that
 * knows the future, on random Zipf traces of random sizes at several capacities), must be the compulsory-miss limit when everything fits, and must hold what
 * the cache carries into the measured window to its capacity (without that, the bound of a window whose objects
 * were all asked for before it is far too high).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offlineHitBound } from '../../bench/sim/bound.js';
import { EVICTION_POLICIES, createEvictionPolicy } from '../../src/cache/eviction-policies.js';
import { seeded } from '../helpers/prng.js';

/** A trace of `length` ids over 1..objects with Zipf-like popularity (s = 0.9) from `rnd`. */
function zipfTrace(rnd: () => number, objects: number, length: number): Int32Array {
  const cdf: number[] = [];
  let sum = 0;
  for (let i = 1; i <= objects; i++) cdf.push((sum += 1 / i ** 0.9));
  const trace = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const u = rnd() * sum;
    let id = cdf.findIndex((c) => c > u);
    if (id < 0) id = objects - 1;
    trace[i] = id + 1;
  }
  return trace;
}

/** What a real cache of `capacity` bytes running `name` gets over the window from `from` on (request, byte). */
function simulate(name: (typeof EVICTION_POLICIES)[number], trace: Int32Array, size: (id: number) => number, from: number, capacity: number) {
  const p = createEvictionPolicy<number>(name, capacity, (k) => k);
  let hits = 0;
  let hitBytes = 0;
  let bytes = 0;
  for (let i = 0; i < trace.length; i++) {
    const id = trace[i] as number;
    const s = size(id);
    const hit = p.has(id);
    if (hit) p.hit(id);
    else if (s <= capacity) {
      p.insert(id, s);
      while (p.bytes > capacity) p.evict();
    }
    if (i >= from) {
      bytes += s;
      if (hit) {
        hits++;
        hitBytes += s;
      }
    }
  }
  return { request: hits / (trace.length - from), byte: hitBytes / bytes };
}

/**
 * A cache that knows the future (Belady's rule, by bytes): on a miss it evicts what is asked for again furthest
 * ahead until the object fits, and does not store an object asked for again later than everything it would evict.
 * A real cache, offline: the bound must be above it too, and it comes much closer than the online policies.
 */
function belady(trace: Int32Array, size: (id: number) => number, from: number, capacity: number) {
  const next = new Int32Array(trace.length);
  const seen = new Map<number, number>();
  for (let i = trace.length - 1; i >= 0; i--) {
    next[i] = seen.get(trace[i] as number) ?? Number.MAX_SAFE_INTEGER;
    seen.set(trace[i] as number, i);
  }
  const held = new Map<number, number>(); // id -> its next request
  let bytes = 0;
  let hits = 0;
  let hitBytes = 0;
  let all = 0;
  for (let i = 0; i < trace.length; i++) {
    const id = trace[i] as number;
    const s = size(id);
    const hit = held.has(id);
    if (i >= from) {
      all += s;
      if (hit) {
        hits++;
        hitBytes += s;
      }
    }
    if (hit) {
      held.set(id, next[i] as number);
      continue;
    }
    if (s > capacity || next[i] === Number.MAX_SAFE_INTEGER) continue;
    const victims = [...held].sort((a, b) => b[1] - a[1]);
    let freed = capacity - bytes;
    const chosen: number[] = [];
    for (const [victim, when] of victims) {
      if (freed >= s) break;
      if (when < (next[i] as number)) break; // everything left is wanted sooner than this object
      chosen.push(victim);
      freed += size(victim);
    }
    if (freed < s) continue;
    for (const victim of chosen) {
      held.delete(victim);
      bytes -= size(victim);
    }
    held.set(id, next[i] as number);
    bytes += s;
  }
  return { request: hits / (trace.length - from), byte: hitBytes / all };
}

test('never below a real cache: every policy Flint ships, and one that knows the future', () => {
  const rnd = seeded(11);
  for (let round = 0; round < 12; round++) {
    const objects = 200 + Math.floor(rnd() * 800);
    const sizes = Array.from({ length: objects }, () => 1 + Math.floor(rnd() ** 3 * 5000));
    const size = (id: number): number => sizes[id - 1] as number;
    const total = sizes.reduce((a, b) => a + b, 0);
    const trace = zipfTrace(rnd, objects, 6000);
    const from = Math.floor(rnd() * 3000);
    for (const share of [0.02, 0.1, 0.3]) {
      const capacity = Math.round(total * share);
      const bound = offlineHitBound(trace, size, from, capacity);
      const reals = [...EVICTION_POLICIES.map((name) => [name, simulate(name, trace, size, from, capacity)] as const), ['belady', belady(trace, size, from, capacity)] as const];
      for (const [name, real] of reals) {
        assert.ok(bound.request >= real.request, `round ${round}, ${share}, ${name}: request bound ${bound.request} below ${real.request}`);
        assert.ok(bound.byte >= real.byte, `round ${round}, ${share}, ${name}: byte bound ${bound.byte} below ${real.byte}`);
      }
    }
  }
});

test('everything fits: the bound is every request but each object first asked for in the window', () => {
  // Window from index 2: ids 1 (asked before), 3 (new), 1, 3, 4 (new): hits possible on 3 of 5, bytes 10+30+10+30 of 10+30+10+30+40.
  const trace = [1, 2, 1, 3, 1, 3, 4];
  const size = (id: number): number => id * 10;
  const bound = offlineHitBound(trace, size, 2, 1000);
  assert.equal(bound.request, 3 / 5);
  assert.equal(bound.byte, 50 / 120);
});

test('space-time: two objects taking turns in a cache of one', () => {
  // 1 2 1 2, each size 1, capacity 1: each reuse holds one byte for two requests; four requests give four
  // byte-requests of space-time, enough for both reuses in the relaxation (a real cache gets one of them).
  const bound = offlineHitBound([1, 2, 1, 2], () => 1, 0, 1);
  assert.equal(bound.request, 0.5);
  // Half the capacity: half the space-time, one reuse.
  assert.equal(offlineHitBound([1, 2, 1, 2], () => 2, 0, 1).request, 0.25);
});

test('an object carried into the window is charged only from the window on', () => {
  // 1 is asked for long before the window and again as it opens; then 7 twice. A cache of one byte that keeps 1
  // through the warm-up and then 7 gets both hits, so the bound must allow both.
  const bound = offlineHitBound([1, 2, 3, 4, 5, 6, 1, 7, 7], () => 1, 6, 1);
  assert.ok(Math.abs(bound.request - 2 / 3) < 1e-6, `request bound ${bound.request}`);
});

test('a reuse within the free gap costs nothing (a hit collapsed onto a fill in flight)', () => {
  // No capacity at all: no hit by space-time; the second request within one request of the first is free.
  assert.equal(offlineHitBound([1, 1], () => 10, 0, 0).request, 0);
  assert.equal(offlineHitBound([1, 1], () => 10, 0, 0, 1).request, 0.5);
  assert.equal(offlineHitBound([1, 2, 1], () => 10, 0, 0, 1).request, 0);
  // In flight as the window opens is not held either: the window's one request can still be a hit.
  assert.equal(offlineHitBound([1, 1], () => 10, 1, 0, 1).request, 1);
});

test('what the window opens with is held to the capacity', () => {
  // Four objects of 10 bytes asked for before the window, then each once in it. A cache of 10 bytes holds one of
  // them as the window opens, so at most one hit of four; by space-time alone three and a third would fit.
  const trace = [1, 2, 3, 4, 1, 2, 3, 4];
  const bound = offlineHitBound(trace, () => 10, 4, 10);
  assert.ok(Math.abs(bound.request - 0.25) < 1e-6, `request bound ${bound.request}`);
  assert.ok(Math.abs(bound.byte - 0.25) < 1e-6, `byte bound ${bound.byte}`);
});
