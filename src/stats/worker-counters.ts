/**
 * @module stats/worker-counters
 * The counters of one worker: a Float64Array per vhost (indexed by stats/counters.ts) and the in-flight gauge.
 * Arrays outlive config reloads, and a vhost removed by a reload keeps its array, so every counter stays monotonic
 * for the life of the worker and the primary can simply sum snapshots. Runs in workers.
 */
import type { WorkerSnapshot } from '../ipc/messages.js';
import type { VhostCounterValues } from './counters.js';
import { createVhostCounters, namedCounters } from './counters.js';

export class WorkerCounters {
  readonly #byVhost = new Map<string, Float64Array>();
  readonly #workerIndex: number;
  readonly #startedAt = Date.now();
  /** Transactions in flight (gauge). */
  activeRequests = 0;

  constructor(workerIndex: number) {
    this.#workerIndex = workerIndex;
  }

  /** The counters of `vhost`, created on first use. */
  forVhost(vhost: string): Float64Array {
    let counters = this.#byVhost.get(vhost);
    if (counters === undefined) {
      counters = createVhostCounters();
      this.#byVhost.set(vhost, counters);
    }
    return counters;
  }

  /** A plain-data copy for IPC; `cache` carries the gauges the edge owns. */
  snapshot(configHash: string, cache: Pick<WorkerSnapshot, 'hot' | 'fills'>): WorkerSnapshot {
    const vhosts: Record<string, VhostCounterValues> = {};
    for (const [name, counters] of this.#byVhost) vhosts[name] = namedCounters(counters);
    return {
      workerIndex: this.#workerIndex,
      pid: process.pid,
      startedAt: this.#startedAt,
      activeRequests: this.activeRequests,
      configHash,
      vhosts,
      ...cache,
    };
  }
}
