/**
 * @module primary/stats-windows
 * Time windows over the merged counters, for /monitoring/realtime, /monitoring/average and /stats. Every bucket
 * (1 s; FLINT_STATS_BUCKET_MS shortens it for tests) the primary records one cumulative sample of the merged
 * per-vhost counters, host CPU jiffies and per-worker CPU/requests. A window is the difference of two samples, so
 * workers pay nothing beyond their counter bumps and memory stays bounded:
 *
 *   seconds ring: the last 61 samples  -> realtime (last bucket) and the 1-minute average (exactly 60 buckets)
 *   minutes ring: one sample every 60 buckets, the last 61 -> n-minute averages for n = 2..60
 *
 * An n-minute average (n >= 2) starts at the newest minute sample at least n minutes old, so it covers between
 * n and n+1 minutes (or everything since start when Flint is younger); rates divide by the real elapsed time, so
 * they are exact for the span reported in `seconds`. Runs only in the primary.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { VhostCounterValues } from '../stats/counters.js';
import { CACHE_RESULTS, VHOST_COUNTERS } from '../stats/counters.js';
import type { LatencyCounts } from '../stats/latency.js';
import { LATENCY_BOUNDS_MS } from '../stats/latency.js';

const SECOND_SAMPLES = 61;
const MINUTE_SAMPLES = 61;
export const BUCKETS_PER_MINUTE = 60;

/** Bucket length: 1000 ms, or FLINT_STATS_BUCKET_MS (50..1000) so tests can watch windows move in seconds. */
export function statsBucketMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.FLINT_STATS_BUCKET_MS);
  return Number.isInteger(value) && value >= 50 && value <= 1000 ? value : 1000;
}

/** Host CPU time by mode, cumulative seconds over all cores (/proc/stat, or os.cpus() elsewhere). */
export interface CpuTimes {
  readonly user: number;
  readonly nice: number;
  readonly system: number;
  readonly idle: number;
  readonly iowait: number;
  readonly irq: number;
  readonly softirq: number;
  readonly steal: number;
}

export function readHostCpu(): CpuTimes {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] as string;
    // USER_HZ is 100 on every Linux build node supports
    const [, user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .map((v) => Number(v) / 100);
    return { user, nice, system, idle, iowait, irq, softirq, steal };
  } catch {
    const sum = { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 };
    for (const cpu of cpus()) {
      sum.user += cpu.times.user;
      sum.nice += cpu.times.nice;
      sum.system += cpu.times.sys;
      sum.idle += cpu.times.idle;
      sum.irq += cpu.times.irq;
    }
    for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] /= 1000;
    return sum;
  }
}

/** One worker in a sample, keyed by pid so a restarted worker starts a new series. */
export interface WorkerSample {
  readonly index: number;
  readonly pid: number;
  readonly requests: number;
  readonly cpuUs: number;
  /** Garbage-collection pause time (monotonic, microseconds). */
  readonly gcUs: number;
  readonly rssBytes: number;
}

/** Cumulative figures at one instant. */
export interface Sample {
  readonly at: number;
  /** Per vhost: VHOST_COUNTERS values, CACHE_RESULTS values, then TTFB histogram slots, cumulative since Flint started. */
  readonly vhosts: ReadonlyMap<string, Float64Array>;
  readonly cpu: CpuTimes;
  readonly workers: readonly WorkerSample[];
  readonly evictedObjects: number;
  readonly evictedBytes: number;
}

/** Where a sample's TTFB histogram slots start, and the width of a sample's per-vhost array. */
const TTFB_AT = VHOST_COUNTERS.length + CACHE_RESULTS.length;
const SAMPLE_WIDTH = TTFB_AT + LATENCY_BOUNDS_MS.length + 1;

/** A vhost's counters, then its cumulative TTFB histogram (stats/latency.ts) so windows can give percentiles. */
export function flatten(values: VhostCounterValues, latency?: LatencyCounts): Float64Array {
  const flat = new Float64Array(SAMPLE_WIDTH);
  VHOST_COUNTERS.forEach((c, i) => (flat[i] = values[c.name]));
  CACHE_RESULTS.forEach((r, i) => (flat[VHOST_COUNTERS.length + i] = values.cacheResults[r]));
  if (latency !== undefined) latency.ttfb.forEach((n, i) => (flat[TTFB_AT + i] = n));
  return flat;
}

/**
 * The `q` quantile (0..1) of the TTFB histogram difference `d(slot)`, in ms, interpolated linearly inside its
 * bucket as Prometheus' histogram_quantile does; the +Inf bucket answers the last bound; 0 without observations.
 */
function ttfbQuantile(d: (i: number) => number, q: number): number {
  let total = 0;
  for (let i = 0; i <= LATENCY_BOUNDS_MS.length; i++) total += d(TTFB_AT + i);
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
    const n = d(TTFB_AT + i);
    if (seen + n >= rank && n > 0) {
      const lower = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] as number);
      const upper = LATENCY_BOUNDS_MS[i] as number;
      return round(lower + ((upper - lower) * (rank - seen)) / n, 2);
    }
    seen += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] as number;
}

/** The counters shown as counts and rates (the millisecond sums only feed the averages). */
const COUNTED = VHOST_COUNTERS.map((c, i) => ({ name: c.name, index: i, unit: (c as { unit?: string }).unit })).filter((c) => c.unit !== 'milliseconds');
const I = Object.fromEntries(VHOST_COUNTERS.map((c, i) => [c.name, i])) as Record<(typeof VHOST_COUNTERS)[number]['name'], number>;

/** What a window says about one vhost (or the sum of all, for the host). */
export interface WindowFigures {
  /** Counts in the window. */
  readonly counts: Record<string, number>;
  /** Responses per cache result code (STON's Squid-style codes) in the window. */
  readonly cacheResults: Record<string, number>;
  /** The same counts per second of the window. */
  readonly perSecond: Record<string, number>;
  /** Average time to first byte / to completion of the responses in the window (ms). */
  readonly ttfbMs: number;
  readonly totalMs: number;
  /** Median and 99th percentile of time to first byte in the window (ms), from the latency histograms' buckets. */
  readonly ttfbP50Ms: number;
  readonly ttfbP99Ms: number;
  /** Share of requests answered with a *_HIT result, 0..1. */
  readonly requestHitRatio: number;
  /** 1 - origin body bytes / client body bytes, can go negative. */
  readonly byteHitRatio: number;
}

const round = (n: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** The figures between cumulative arrays `from` (undefined = zero) and `to` over `seconds`. */
export function windowFigures(from: Float64Array | undefined, to: Float64Array, seconds: number): WindowFigures {
  const d = (i: number): number => Math.max(0, (to[i] ?? 0) - (from?.[i] ?? 0));
  const counts: Record<string, number> = {};
  const perSecond: Record<string, number> = {};
  for (const c of COUNTED) {
    counts[c.name] = d(c.index);
    perSecond[c.name] = seconds > 0 ? round(d(c.index) / seconds) : 0;
  }
  const cacheResults: Record<string, number> = {};
  let hits = 0;
  CACHE_RESULTS.forEach((r, i) => {
    const n = d(VHOST_COUNTERS.length + i);
    cacheResults[r] = n;
    if (r.endsWith('_HIT')) hits += n;
  });
  const responses = d(I.responses1xx) + d(I.responses2xx) + d(I.responses3xx) + d(I.responses4xx) + d(I.responses5xx);
  const requests = d(I.requests);
  const out = d(I.clientOutBytes);
  return {
    counts,
    cacheResults,
    perSecond,
    ttfbMs: responses === 0 ? 0 : round(d(I.ttfbMsSum) / responses, 2),
    totalMs: responses === 0 ? 0 : round(d(I.totalMsSum) / responses, 2),
    ttfbP50Ms: ttfbQuantile(d, 0.5),
    ttfbP99Ms: ttfbQuantile(d, 0.99),
    requestHitRatio: requests === 0 ? 0 : round(hits / requests, 4),
    byteHitRatio: out === 0 ? 0 : round(1 - d(I.originInBytes) / out, 4),
  };
}

/** Sum of every vhost's cumulative array in a sample. */
export function hostTotal(sample: Sample): Float64Array {
  const total = new Float64Array(SAMPLE_WIDTH);
  for (const values of sample.vhosts.values()) for (let i = 0; i < total.length; i++) total[i] = (total[i] as number) + (values[i] as number);
  return total;
}

/** Host CPU use in the window, percent per mode (0..100 of all cores). */
export function cpuPercent(from: CpuTimes, to: CpuTimes): Record<keyof CpuTimes, number> {
  const keys = Object.keys(to) as Array<keyof CpuTimes>;
  const total = keys.reduce((sum, k) => sum + Math.max(0, to[k] - from[k]), 0);
  const result = {} as Record<keyof CpuTimes, number>;
  for (const k of keys) result[k] = total === 0 ? 0 : round((Math.max(0, to[k] - from[k]) / total) * 100, 1);
  return result;
}

/** A window: two samples. */
export interface Window {
  readonly from: Sample;
  readonly to: Sample;
  readonly seconds: number;
}

export class StatsWindows {
  readonly bucketMs: number;
  readonly #seconds: Sample[] = [];
  readonly #minutes: Sample[] = [];
  #ticks = 0;

  constructor(bucketMs: number) {
    this.bucketMs = bucketMs;
  }

  /** Records this bucket's sample. */
  record(sample: Sample): void {
    this.#seconds.push(sample);
    if (this.#seconds.length > SECOND_SAMPLES) this.#seconds.shift();
    if (this.#ticks % BUCKETS_PER_MINUTE === 0) {
      this.#minutes.push(sample);
      if (this.#minutes.length > MINUTE_SAMPLES) this.#minutes.shift();
    }
    this.#ticks++;
  }

  get latest(): Sample | undefined {
    return this.#seconds[this.#seconds.length - 1];
  }

  /** The last bucket (empty, 0 s, until two samples exist). */
  realtime(): Window | null {
    const to = this.latest;
    if (to === undefined) return null;
    return span(this.#seconds[this.#seconds.length - 2] ?? to, to);
  }

  /** The last `minutes` minutes (see the module comment for n >= 2). */
  average(minutes: number): Window | null {
    const to = this.latest;
    if (to === undefined) return null;
    const back = minutes * BUCKETS_PER_MINUTE;
    if (back < this.#seconds.length) return span(this.#seconds[this.#seconds.length - 1 - back] as Sample, to);
    if (this.#seconds.length < SECOND_SAMPLES) return span(this.#seconds[0] as Sample, to);
    const target = to.at - minutes * BUCKETS_PER_MINUTE * this.bucketMs + this.bucketMs / 2;
    let from = this.#minutes[0] as Sample;
    for (const sample of this.#minutes) if (sample.at <= target) from = sample;
    return span(from, to);
  }
}

function span(from: Sample, to: Sample): Window {
  return { from, to, seconds: (to.at - from.at) / 1000 };
}
