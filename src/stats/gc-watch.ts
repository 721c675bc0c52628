/**
 * @module stats/gc-watch
 * Time this process spent in V8 garbage-collection pauses, and how many collections ran, for /stats and /metrics.
 * A worker's GC share is where a retention bug shows first: the one fixed in churn-table.ts made scavenges take
 * 8 ms every ~100 ms and a full GC run every second, while CPU figures only showed a busy worker. Node reports each
 * collection to a PerformanceObserver after the fact (batched), so watching costs nothing on the request path.
 * Runs in workers.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';

/** Monotonic GC figures of this process since the watch started. */
export interface GcTotals {
  /** Main-thread pause time, in microseconds (V8's helper threads are not in it). */
  readonly pauseUs: number;
  readonly count: number;
  /** Full (mark-compact) collections among `count`. */
  readonly majorCount: number;
}

export class GcWatch {
  #pauseUs = 0;
  #count = 0;
  #majorCount = 0;
  readonly #observer: PerformanceObserver;

  constructor() {
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.#pauseUs += entry.duration * 1000;
        this.#count++;
        if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.#majorCount++;
      }
    });
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  get totals(): GcTotals {
    return { pauseUs: Math.round(this.#pauseUs), count: this.#count, majorCount: this.#majorCount };
  }
}
