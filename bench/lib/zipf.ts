/**
 * @module bench/lib/zipf
 * The `zipf` scenario's workload, shared by the origin (which serves it), the load client (which requests it) and
 * the scenario (which sizes every cache from it). Pure and deterministic: the same objects, sizes and request
 * sequence on every machine and for every product.
 *
 * - Objects: `/z/<id>` for id 1..ZIPF_OBJECTS. The size of each depends on its id alone (zipfObjectSize).
 * - Sizes follow the SURGE web-file model (Barford & Crovella, "Generating representative Web workloads for network
 *   and server performance evaluation", SIGMETRICS 1998): a lognormal body (ln-bytes mean 9.357, sd 1.318,
 *   median about 11.3 KiB) below 133 KB for 93% of objects, and a Pareto tail (k 133 KB, alpha 1.1) for the other
 *   7%, truncated at 4 MiB so one object never dominates the working set. Result for the 100k objects: 4,651 MiB in
 *   all, mean 47.6 KiB, median 12.1 KiB; 58% at most 16 KiB, 87% at most 64 KiB, 99.4% at most 1 MiB; 21% of the
 *   bytes are in objects over 1 MiB.
 * - Popularity: Zipf with exponent ZIPF_EXPONENT over the ids (id 1 the most popular), independent of size, as
 *   SURGE assumes. Requests are drawn by inverse CDF from a seeded PRNG (lib/prng.ts).
 */
import { hashUniform, mulberry32 } from './prng.js';

/** Distinct objects of the workload. */
export const ZIPF_OBJECTS = 100_000;
/** Zipf exponent s: P(id) is proportional to 1 / id^s. 0.9 is within the 0.6-1.0 web proxy traces show (Breslau et al. 1999). */
export const ZIPF_EXPONENT = 0.9;
/** Path prefix of the workload's objects at the origin. */
export const ZIPF_PREFIX = '/z/';
/** The origin's count key for all of them (lib/objects.ts countKey: the trailing id becomes '*'). */
export const ZIPF_COUNT_PATH = '/z';

const BODY_MU = 9.357;
const BODY_SIGMA = 1.318;
const TAIL_SHARE = 0.07;
const TAIL_K = 133_000;
const TAIL_ALPHA = 1.1;
const MIN_BYTES = 100;
/** Largest object, bytes. */
export const ZIPF_MAX_BYTES = 4 * 1024 ** 2;

/** Body size in bytes of object `id` (1..ZIPF_OBJECTS): lognormal body or truncated Pareto tail (module header). */
export function zipfObjectSize(id: number): number {
  const pick = hashUniform(id);
  const u = hashUniform(id + 0x5bd1e995);
  if (pick >= TAIL_SHARE) {
    // Lognormal truncated to (0, TAIL_K): inverse CDF over the part of [0, 1) below TAIL_K.
    const top = normalCdf((Math.log(TAIL_K) - BODY_MU) / BODY_SIGMA);
    return Math.max(MIN_BYTES, Math.round(Math.exp(BODY_MU + BODY_SIGMA * normalQuantile(Math.max(1e-12, u * top)))));
  }
  // Pareto truncated to [TAIL_K, ZIPF_MAX_BYTES]: inverse CDF.
  const r = (TAIL_K / ZIPF_MAX_BYTES) ** TAIL_ALPHA;
  return Math.min(ZIPF_MAX_BYTES, Math.round(TAIL_K / (1 - u * (1 - r)) ** (1 / TAIL_ALPHA)));
}

/** Every object's size (index id - 1) and their sum. */
export function zipfSizes(): { sizes: Int32Array; totalBytes: number } {
  const sizes = new Int32Array(ZIPF_OBJECTS);
  let totalBytes = 0;
  for (let id = 1; id <= ZIPF_OBJECTS; id++) {
    const s = zipfObjectSize(id);
    sizes[id - 1] = s;
    totalBytes += s;
  }
  return { sizes, totalBytes };
}

/** Draws object ids 1..n with P(id) proportional to 1/id^s from a seeded PRNG: the same sequence for the same seed. */
export class ZipfSampler {
  readonly #cdf: Float64Array;
  readonly #rnd: () => number;

  constructor(n: number, s: number, seed: number) {
    this.#cdf = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += 1 / (i + 1) ** s;
      this.#cdf[i] = sum;
    }
    for (let i = 0; i < n; i++) this.#cdf[i] = (this.#cdf[i] as number) / sum;
    this.#rnd = mulberry32(seed);
  }

  /** The next id (1-based). */
  next(): number {
    const u = this.#rnd();
    let lo = 0;
    let hi = this.#cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#cdf[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo + 1;
  }
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 via erf; error below 1.5e-7, plenty for a size model). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549671010203281, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}
