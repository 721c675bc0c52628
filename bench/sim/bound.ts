/**
 * @module bench/sim/bound
 * An upper bound on the hit ratios of any cache of a given capacity on a given trace: any eviction order, any
 * admission rule, sizes favoured or not, with perfect knowledge of the future. A bar that asks more than this of a
 * cache held to its quota cannot be met by any policy (bench/README.md "Hit ratio: the most any cache could get at
 * the quota").
 *
 * The bound relaxes offline caching as in Berger, Beckmann and Harchol-Balter, "Practical Bounds on Optimal Caching
 * with Variable Object Sizes" (SIGMETRICS 2018, their PFOO-U). A request can be a hit only if its object was held
 * from the object's previous request to this one (a cache does not fetch unasked), which takes size x interval of
 * space-time; a cache of C bytes has C x T of it over T requests. Choosing the intervals to hold under that one sum,
 * instead of "at most C at every instant", is a fractional knapsack, solved exactly by taking intervals cheapest per
 * unit of value first (per hit: size x length; per hit byte: length). Every real cache's hits are one such choice,
 * so none can exceed the bound.
 *
 * A request collapsed onto a fill still in flight is a hit in the bench's counts (no origin request) without a
 * stored copy; `freeGap` makes reuses that close (in requests) cost nothing, to show that this does not move the
 * bound.
 *
 * Only the measured window's requests count. An interval that began before the window is charged from the window's
 * start, and what the cache held as the window opened is kept to C bytes too (a second constraint, relaxed with a
 * multiplier: `carryInBound`); without it, short windows get a bound several points too loose.
 */

export interface HitBound {
  /** Upper bound on hits / requests over the measured window. */
  readonly request: number;
  /** Upper bound on hit bytes / requested bytes over the measured window. */
  readonly byte: number;
}

/** The reuse intervals ending in the measured window. */
interface Intervals {
  readonly sizes: Float64Array;
  /** Requests from the interval's start (or the window's) to its end. */
  readonly lengths: Float64Array;
  /** 1 when the interval began before the window: its object must be held as the window opens. */
  readonly carried: Uint8Array;
  readonly requests: number;
  readonly bytes: number;
}

function intervalsOf(trace: ArrayLike<number>, sizeOf: (id: number) => number, measuredFrom: number, freeGap: number): Intervals {
  const previous = new Map<number, number>();
  const sizes: number[] = [];
  const lengths: number[] = [];
  const carried: number[] = [];
  let requests = 0;
  let bytes = 0;
  for (let i = 0; i < trace.length; i++) {
    const id = trace[i] as number;
    if (i >= measuredFrom) {
      const size = sizeOf(id);
      requests++;
      bytes += size;
      const before = previous.get(id);
      if (before !== undefined) {
        // A free reuse is in flight, not held: neither space-time nor the window's opening contents.
        const free = i - before <= freeGap;
        sizes.push(size);
        lengths.push(free ? 0 : i - Math.max(before, measuredFrom));
        carried.push(!free && before < measuredFrom ? 1 : 0);
      }
    }
    previous.set(id, i);
  }
  return { sizes: Float64Array.from(sizes), lengths: Float64Array.from(lengths), carried: Uint8Array.from(carried), requests, bytes };
}

/**
 * The Lagrangian bound for one multiplier `lambda` >= 0 on the carry-in constraint: every carried interval's value
 * is lowered by lambda x its size, lambda x capacity is added back, and the space-time knapsack is solved greedily.
 * Valid for every lambda (weak duality); the caller takes the least.
 */
function lagrangian(iv: Intervals, byBytes: boolean, capacity: number, budget: number, lambda: number): number {
  const n = iv.sizes.length;
  const ratio = new Float64Array(n);
  const value = new Float64Array(n);
  const order: number[] = [];
  for (let k = 0; k < n; k++) {
    const size = iv.sizes[k] as number;
    const v = (byBytes ? size : 1) - (iv.carried[k] === 1 ? lambda * size : 0);
    if (v <= 0) continue;
    value[k] = v;
    ratio[k] = (size * (iv.lengths[k] as number)) / v;
    order.push(k);
  }
  order.sort((a, b) => (ratio[a] as number) - (ratio[b] as number));
  let left = budget;
  let total = lambda * capacity;
  for (const k of order) {
    const cost = (iv.sizes[k] as number) * (iv.lengths[k] as number);
    const v = value[k] as number;
    if (cost <= left) {
      left -= cost;
      total += v;
    } else {
      total += (v * left) / cost;
      break;
    }
  }
  return total;
}

/** The least Lagrangian over lambda: the dual is convex in lambda, so a golden-section search on log(lambda). */
function carryInBound(iv: Intervals, byBytes: boolean, capacity: number): number {
  const budget = capacity * iv.requests;
  // Per unit of value, one byte held at the window's start is worth at most 1 (bytes) or 1 / smallest size (hits).
  let minSize = Infinity;
  for (const s of iv.sizes) minSize = Math.min(minSize, s);
  const top = byBytes ? 1 : 1 / Math.max(1, minSize);
  const at = (x: number): number => lagrangian(iv, byBytes, capacity, budget, x <= -40 ? 0 : top * Math.exp(x));
  let lo = -40;
  let hi = 0;
  const phi = (Math.sqrt(5) - 1) / 2;
  let a = hi - phi * (hi - lo);
  let b = lo + phi * (hi - lo);
  let fa = at(a);
  let fb = at(b);
  for (let i = 0; i < 24; i++) {
    if (fa <= fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = at(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = at(b);
    }
  }
  return Math.min(fa, fb, at(-40), at(0));
}

/**
 * The bound for `trace` (object ids in request order; `sizeOf(id)` its body bytes), counting requests from index
 * `measuredFrom` on, for a cache of `capacity` bytes; a reuse at most `freeGap` requests after the previous request
 * of its object is free (see the module doc).
 */
export function offlineHitBound(trace: ArrayLike<number>, sizeOf: (id: number) => number, measuredFrom: number, capacity: number, freeGap = 0): HitBound {
  const iv = intervalsOf(trace, sizeOf, measuredFrom, freeGap);
  if (iv.requests === 0) return { request: 0, byte: 0 };
  return {
    request: Math.min(1, carryInBound(iv, false, capacity) / iv.requests),
    byte: Math.min(1, carryInBound(iv, true, capacity) / iv.bytes),
  };
}
