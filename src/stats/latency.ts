/**
 * @module stats/latency
 * Latency histograms a worker keeps per vhost for time to first byte and total transaction time, so the primary
 * can serve Prometheus histograms (and quantiles in Grafana) summed across workers. Fixed bucket bounds, one
 * Float64Array per vhost holding non-cumulative counts: [ttfb buckets..., ttfb +Inf, total buckets..., total +Inf];
 * an observation is a short linear scan over 14 bounds and one typed-array store. Shared by workers and primary.
 */

/** Upper bounds in milliseconds (Prometheus `le` is these / 1000 seconds); a final +Inf bucket follows. */
export const LATENCY_BOUNDS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000] as const;

const SLOTS = LATENCY_BOUNDS_MS.length + 1;

/** Histogram counts of one vhost as sent over IPC: non-cumulative, `LATENCY_BOUNDS_MS.length + 1` entries each. */
export interface LatencyCounts {
  readonly ttfb: number[];
  readonly total: number[];
}

export function createLatency(): Float64Array {
  return new Float64Array(SLOTS * 2);
}

function slotOf(ms: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms > (LATENCY_BOUNDS_MS[i] as number)) i++;
  return i;
}

/** Records one transaction; `ttfbMs` < 0 means no byte was sent (only the total is recorded). */
export function observeLatency(into: Float64Array, ttfbMs: number, totalMs: number): void {
  if (ttfbMs >= 0) {
    const i = slotOf(ttfbMs);
    into[i] = (into[i] as number) + 1;
  }
  const j = SLOTS + slotOf(totalMs);
  into[j] = (into[j] as number) + 1;
}

export function latencyCounts(values: Float64Array): LatencyCounts {
  return { ttfb: Array.from(values.subarray(0, SLOTS)), total: Array.from(values.subarray(SLOTS)) };
}

export function emptyLatency(): LatencyCounts {
  return { ttfb: new Array<number>(SLOTS).fill(0), total: new Array<number>(SLOTS).fill(0) };
}

/** Adds `from` into `into`; tolerates a shorter/absent `from` (an older worker). */
export function addLatency(into: LatencyCounts, from: LatencyCounts | undefined): void {
  if (from === undefined) return;
  for (let i = 0; i < SLOTS; i++) {
    into.ttfb[i] = (into.ttfb[i] as number) + (from.ttfb[i] ?? 0);
    into.total[i] = (into.total[i] as number) + (from.total[i] ?? 0);
  }
}
