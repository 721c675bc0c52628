/**
 * @module stats/worker-counters
 * The counters of one worker: a Float64Array per vhost (indexed by stats/counters.ts) and the in-flight gauge.
 * Arrays outlive config reloads, and a vhost removed by a reload keeps its array, so every counter stays monotonic
 * for the life of the worker and the primary can simply sum snapshots. Runs in workers.
 */
import type { WorkerSnapshot } from '../ipc/messages.js';
import { clientConnections } from './connections.js';
import type { VhostCounterValues } from './counters.js';
import { createVhostCounters, namedCounters } from './counters.js';
import { GcWatch } from './gc-watch.js';
import type { LatencyCounts } from './latency.js';
import { createLatency, latencyCounts, observeLatency } from './latency.js';
import { TopUrls } from './top-urls.js';

export class WorkerCounters {
  readonly #byVhost = new Map<string, Float64Array>();
  readonly #latency = new Map<string, Float64Array>();
  readonly #topUrls = new Map<string, TopUrls>();
  readonly #workerIndex: number;
  readonly #startedAt = Date.now();
  readonly #gc = new GcWatch();
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

  /** Records one finished transaction's latency for `vhost`; `ttfbMs` < 0 when no byte was sent. */
  observe(vhost: string, ttfbMs: number, totalMs: number): void {
    let latency = this.#latency.get(vhost);
    if (latency === undefined) {
      latency = createLatency();
      this.#latency.set(vhost, latency);
    }
    observeLatency(latency, ttfbMs, totalMs);
  }

  /** Counts one request for `path` in `vhost`'s most-requested table. */
  observePath(vhost: string, path: string): void {
    let top = this.#topUrls.get(vhost);
    if (top === undefined) {
      top = new TopUrls();
      this.#topUrls.set(vhost, top);
    }
    top.observe(path);
  }

  /** A plain-data copy for IPC; `cache` carries the gauges the edge owns. */
  snapshot(configHash: string, cache: Pick<WorkerSnapshot, 'hot' | 'blockMemory' | 'fills' | 'originSessions'>): WorkerSnapshot {
    const vhosts: Record<string, VhostCounterValues> = {};
    for (const [name, counters] of this.#byVhost) vhosts[name] = namedCounters(counters);
    const latency: Record<string, LatencyCounts> = {};
    for (const [name, values] of this.#latency) latency[name] = latencyCounts(values);
    const topUrls: Record<string, Array<[string, number]>> = {};
    for (const [name, top] of this.#topUrls) topUrls[name] = top.top();
    const cpu = process.cpuUsage();
    return {
      workerIndex: this.#workerIndex,
      pid: process.pid,
      startedAt: this.#startedAt,
      activeRequests: this.activeRequests,
      clientConnections: clientConnections.open,
      refusedConnections: clientConnections.refused,
      refusingConnections: clientConnections.refusing,
      configHash,
      vhosts,
      latency,
      topUrls,
      process: { cpuUserUs: cpu.user, cpuSystemUs: cpu.system, rssBytes: process.memoryUsage.rss(), gc: this.#gc.totals },
      ...cache,
    };
  }
}
