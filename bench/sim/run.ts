/**
 * @module bench/sim/run
 * Trace-driven simulation of the eviction policies Flint ships (src/cache/eviction-policies.ts, the very code the
 * primary's evictor runs) on the `zipf` workload (bench/lib/zipf.ts: same ids, sizes and seeds) and on held-out
 * trace shapes, at a capacity of 10% of the working set's bytes (the bench's 465 MiB), byte-aware. No load, no
 * processes: `node dist/bench/sim/run.js [--requests N] [--warmup N] [--capacity-mib M]` prints a markdown table of
 * request and byte hit ratios per trace and policy. See bench/README.md "Eviction policies: simulation".
 * `--capacity-mib` runs the ideal rows and `lru, nginx's charges` at another capacity: what a cache holding that
 * many bytes could get (nginx's overshoot in `zipf`, for one).
 *
 * Traces:
 * - zipf: seed 1 for the warm-up, seed 2 measured, as the bench's load client draws them.
 * - scan: the zipf sequence with a sequential scan of objects asked for once mixed in (every 5th request, new ids
 *   past the working set, sizes from the same model): a crawler or a backup over a hot working set.
 * - shift: zipf whose popularity ranking moves by 5% of the ids every 100k requests: new content becoming popular
 *   while the old fades.
 * Rows: `ideal`: each policy charging the body's bytes, evicting at once, told of every hit at once. `as Flint runs
 * it`: slot-size charges plus a 1 KiB record each (cache/blocks.ts), a pass from HighWater 97% to LowWater 95%
 * every 300 requests (100 ms at the bench's rate), fills refused while the quota is full, hits told in batches every
 * 3,000 requests (the workers' 1 s touch flush). `lru, Flint before`: the evictor this replaced (the same, with a
 * pass from 90% to 70% every 3,000 requests). `+ admission 2` stores an object on its second request (vhost
 * <Admission>2).
 */
import { parseArgs } from 'node:util';
import { createEvictionPolicy, EVICTION_POLICIES } from '../../src/cache/eviction-policies.js';
import type { EvictionPolicyName } from '../../src/cache/eviction-policies.js';
import { sizeClassFor, slotBytes } from '../../src/cache/blocks.js';
import { ZIPF_EXPONENT, ZIPF_OBJECTS, ZipfSampler, zipfObjectSize, zipfSizes } from '../lib/zipf.js';

const BLOCK = 1024 * 1024;
const INLINE_MAX = 1024;
const RECORD = 1024;

type Trace = (phase: 'warmup' | 'measured') => () => number;

function zipfTrace(): Trace {
  return (phase) => {
    const s = new ZipfSampler(ZIPF_OBJECTS, ZIPF_EXPONENT, phase === 'warmup' ? 1 : 2);
    return () => s.next();
  };
}

function scanTrace(): Trace {
  let scanId = ZIPF_OBJECTS;
  return (phase) => {
    const s = new ZipfSampler(ZIPF_OBJECTS, ZIPF_EXPONENT, phase === 'warmup' ? 1 : 2);
    let n = 0;
    return () => (++n % 5 === 0 ? ++scanId : s.next());
  };
}

function shiftTrace(): Trace {
  let n = 0;
  return (phase) => {
    const s = new ZipfSampler(ZIPF_OBJECTS, ZIPF_EXPONENT, phase === 'warmup' ? 1 : 2);
    return () => {
      const offset = Math.floor(n++ / 100_000) * (ZIPF_OBJECTS / 20);
      return ((s.next() - 1 + offset) % ZIPF_OBJECTS) + 1;
    };
  };
}

/** What nginx's `du` counts for a body: a cache file of the body and its ~0.6 KiB header, in 4 KiB blocks. */
function nginxCharge(size: number): number {
  return Math.ceil((size + 600) / 4096) * 4096;
}

/** What Flint charges for a body: its slot (cache/blocks.ts) or inline bytes, plus the index record. */
function slotCharge(size: number): number {
  if (size <= INLINE_MAX) return size + RECORD;
  const cls = sizeClassFor(size, BLOCK, INLINE_MAX);
  return (cls === 0 ? Math.ceil(size / BLOCK) * BLOCK : slotBytes(BLOCK, cls)) + RECORD;
}

interface Row {
  readonly label: string;
  requestHit: number;
  byteHit: number;
  meanHeld: number;
}

interface Variant {
  readonly label: string;
  readonly policy: EvictionPolicyName;
  /** As Flint runs it: slot charges, eviction passes between the water marks, hits reported late (see the module doc). */
  readonly flint?: { readonly high: number; readonly low: number; readonly passEvery: number };
  readonly admission?: number;
  /** Charge nginx's file sizes (nginxCharge) instead of the body's bytes; eviction at once, as LRU. */
  readonly nginx?: boolean;
}

/** Requests between two eviction passes at the bench's ~3,000 requests a second: 1 s before, 100 ms now. */
const BEFORE = { high: 0.9, low: 0.7, passEvery: 3000 };
const NOW = { high: 0.97, low: 0.95, passEvery: 300 };
/** Workers report hits once a second (pipeline/edge.ts TOUCH_FLUSH_MS): about 3,000 requests of the bench. */
const HIT_LAG = 3000;

function simulate(trace: Trace, variant: Variant, capacity: number, warmup: number, measured: number): Row {
  const size = (id: number): number => (id <= ZIPF_OBJECTS ? (sizes[id - 1] as number) : zipfObjectSize(id));
  const flint = variant.flint;
  const charge = flint !== undefined ? slotCharge : variant.nginx === true ? nginxCharge : (b: number) => b;
  const policy = createEvictionPolicy<number>(variant.policy, capacity, (id) => id);
  const seen = new Map<number, number>();
  const lateHits = new Map<number, number>();
  let hits = 0;
  let hitBytes = 0;
  let requests = 0;
  let bytes = 0;
  let heldSum = 0;
  let samples = 0;
  let n = 0;
  for (const phase of ['warmup', 'measured'] as const) {
    const next = trace(phase);
    const count = phase === 'warmup' ? warmup : measured;
    for (let i = 0; i < count; i++, n++) {
      const id = next();
      const body = size(id);
      const counting = phase === 'measured';
      if (counting) {
        requests++;
        bytes += body;
      }
      if (policy.has(id)) {
        if (flint === undefined) policy.hit(id);
        else lateHits.set(id, (lateHits.get(id) ?? 0) + 1);
        if (counting) {
          hits++;
          hitBytes += body;
        }
      } else {
        const admitted = variant.admission === undefined || (seen.get(id) ?? 0) + 1 >= variant.admission;
        if (!admitted) {
          seen.delete(id);
          seen.set(id, (seen.get(id) ?? 0) + 1);
          if (seen.size > 200_000) seen.delete(seen.keys().next().value as number);
        } else {
          seen.delete(id);
          const c = charge(body);
          if (flint === undefined) {
            policy.insert(id, c);
            while (policy.bytes > capacity) policy.evict();
          } else if (policy.bytes + c <= capacity) policy.insert(id, c); // else the fill finds no room: not stored
        }
      }
      if (flint !== undefined) {
        if (n % HIT_LAG === 0) {
          for (const [hid, times] of lateHits) policy.hit(hid, times);
          lateHits.clear();
        }
        if (n % flint.passEvery === 0 && policy.bytes > capacity * flint.high) while (policy.bytes > capacity * flint.low) policy.evict();
      }
      if (counting && i % 1000 === 0) {
        heldSum += policy.bytes;
        samples++;
      }
    }
  }
  return { label: variant.label, requestHit: hits / requests, byteHit: hitBytes / bytes, meanHeld: heldSum / samples / capacity };
}

const { sizes, totalBytes } = zipfSizes();

function main(): void {
  const { values } = parseArgs({
    options: { requests: { type: 'string', default: '1000000' }, warmup: { type: 'string', default: '1000000' }, 'capacity-mib': { type: 'string' } },
  });
  const measured = Number(values.requests);
  const warmup = Number(values.warmup);
  const other = values['capacity-mib'];
  const capacity = other === undefined ? Math.round(totalBytes / 10) : Number(other) * 2 ** 20;
  if (!(capacity > 0)) throw new Error(`--capacity-mib must be a positive number of MiB, got ${String(other)}`);
  const ideal: Variant[] = [...EVICTION_POLICIES.map((p) => ({ label: `${p}, ideal`, policy: p })), { label: "lru, nginx's charges", policy: 'lru', nginx: true }];
  const variants: Variant[] = other !== undefined ? ideal : [
    { label: 'lru, Flint before (slots, 90% -> 70% each s)', policy: 'lru', flint: BEFORE },
    ...ideal,
    ...EVICTION_POLICIES.map((p) => ({ label: `${p}, as Flint runs it`, policy: p, flint: NOW })),
    { label: 'lru + admission 2, as Flint runs it', policy: 'lru', flint: NOW, admission: 2 },
    { label: 's3fifo + admission 2, as Flint runs it', policy: 's3fifo', flint: NOW, admission: 2 },
    { label: 'wtinylfu + admission 2, as Flint runs it', policy: 'wtinylfu', flint: NOW, admission: 2 },
  ];
  const traces: Array<[string, () => Trace]> = [
    ['zipf', zipfTrace],
    ['scan', scanTrace],
    ['shift', shiftTrace],
  ];
  console.log(`capacity ${(capacity / 2 ** 20).toFixed(0)} MiB (${((capacity / totalBytes) * 100).toFixed(1)}% of ${(totalBytes / 2 ** 20).toFixed(0)} MiB), warm-up ${warmup}, measured ${measured} requests\n`);
  console.log('| policy | ' + traces.map(([t]) => `${t} request | ${t} byte`).join(' | ') + ' | zipf mean held |');
  console.log('|---|' + traces.map(() => '---:|---:').join('|') + '|---:|');
  for (const variant of variants) {
    const cells: string[] = [];
    let held = 0;
    for (const [name, make] of traces) {
      const row = simulate(make(), variant, capacity, warmup, measured);
      cells.push(row.requestHit.toFixed(3), row.byteHit.toFixed(3));
      if (name === 'zipf') held = row.meanHeld;
    }
    cells.push(`${(held * 100).toFixed(0)}%`);
    console.log(`| ${variant.label} | ${cells.join(' | ')} |`);
  }
}

main();
