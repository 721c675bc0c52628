/**
 * @module primary/stats-collector
 * Merges worker counter snapshots into the cluster view served by /stats. Workers push a snapshot about once a
 * second; a /stats call asks every live worker for a fresh one (up to FRESH_TIMEOUT_MS) so totals are exact.
 * The last snapshot of a worker that exited is folded into `retired`, so totals never go backwards across
 * restarts (a crashed worker loses at most its last second). Runs only in the primary.
 */
import type { WorkerSnapshot } from '../ipc/messages.js';
import type { VhostCounterValues } from '../stats/counters.js';
import { addCounters, emptyCounters } from '../stats/counters.js';
import type { LatencyCounts } from '../stats/latency.js';
import { addLatency, emptyLatency } from '../stats/latency.js';
import type { TopUrl } from '../stats/top-urls.js';
import { mergeTopUrls } from '../stats/top-urls.js';
import type { Slot } from './supervisor.js';

const FRESH_TIMEOUT_MS = 500;

export interface StatsDocument {
  readonly time: string;
  readonly uptimeSec: number;
  readonly configHash: string;
  readonly totals: VhostCounterValues & { readonly activeRequests: number };
  readonly vhosts: Record<string, VhostCounterValues>;
  readonly cache: CacheSummary;
  /** The most requested paths over all vhosts, merged from the live workers' summaries (stats/top-urls.ts); counts are lower bounds. */
  readonly topUrls: readonly TopUrl[];
  readonly workers: ReadonlyArray<{
    readonly index: number;
    readonly pid: number | null;
    readonly ready: boolean;
    readonly restarts: number;
    readonly requests: number;
    readonly activeRequests: number;
    readonly fills: number;
    readonly startedAt: string | null;
    /** CPU time the worker used since it started, and its resident memory, from its last snapshot. */
    readonly cpuSeconds: number;
    readonly rssBytes: number;
    /** Its garbage collections since it started: main-thread pause time, collections, full ones among them. */
    readonly gcSeconds: number;
    readonly gcs: number;
    readonly majorGcs: number;
  }>;
}

/** Cache figures across workers. Ratios are 0..1 (byte hit ratio can go negative when origins send more than clients get). */
export interface CacheSummary {
  /** Share of requests answered with a *_HIT result. */
  readonly requestHitRatio: number;
  /** 1 - origin body bytes / client body bytes. */
  readonly byteHitRatio: number;
  readonly hot: { readonly hits: number; readonly misses: number; readonly hitRatio: number; readonly bytes: number; readonly objects: number };
  /** The workers' block memories (blocks of bodies over HotObjectMaxSize kept in memory), summed. */
  readonly blockMemory: { readonly hits: number; readonly misses: number; readonly hitRatio: number; readonly bytes: number; readonly blocks: number };
  readonly fillsInProgress: number;
}

/** Cache results that count as hits for the request hit ratio (STON counts every *_HIT). */
function hitCount(counters: VhostCounterValues): number {
  let hits = 0;
  for (const [result, count] of Object.entries(counters.cacheResults)) if (result.endsWith('_HIT')) hits += count;
  return hits;
}

function cacheSummary(totals: VhostCounterValues, snapshots: Iterable<WorkerSnapshot>): CacheSummary {
  let hits = 0;
  let misses = 0;
  let bytes = 0;
  let objects = 0;
  let fills = 0;
  const blocks = { hits: 0, misses: 0, bytes: 0, blocks: 0 };
  for (const s of snapshots) {
    hits += s.hot.hits;
    misses += s.hot.misses;
    bytes += s.hot.bytes;
    objects += s.hot.objects;
    fills += s.fills;
    blocks.hits += s.blockMemory.hits;
    blocks.misses += s.blockMemory.misses;
    blocks.bytes += s.blockMemory.bytes;
    blocks.blocks += s.blockMemory.blocks;
  }
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : Math.round((a / b) * 10_000) / 10_000);
  return {
    requestHitRatio: ratio(hitCount(totals), totals.requests),
    byteHitRatio: totals.clientOutBytes === 0 ? 0 : Math.round((1 - totals.originInBytes / totals.clientOutBytes) * 10_000) / 10_000,
    hot: { hits, misses, hitRatio: ratio(hits, hits + misses), bytes, objects },
    blockMemory: { ...blocks, hitRatio: ratio(blocks.hits, blocks.hits + blocks.misses) },
    fillsInProgress: fills,
  };
}

export class StatsCollector {
  readonly #latest = new Map<number, WorkerSnapshot>();
  readonly #retired = new Map<string, VhostCounterValues>();
  readonly #retiredLatency = new Map<string, LatencyCounts>();
  /** Connections refused by workers that have exited (<MaxSockets>), so the total never goes backwards. */
  #retiredRefused = 0;
  readonly #waiting = new Map<number, { pending: Set<number>; done: () => void }>();
  readonly #startedAt = Date.now();
  #nextRequestId = 1;

  /** Records a snapshot (periodic or requested). */
  receive(requestId: number | null, snapshot: WorkerSnapshot): void {
    this.#latest.set(snapshot.workerIndex, snapshot);
    if (requestId === null) return;
    const wait = this.#waiting.get(requestId);
    if (wait === undefined) return;
    wait.pending.delete(snapshot.workerIndex);
    if (wait.pending.size === 0) wait.done();
  }

  /** A worker of slot `index` exited: keep its counts in the retired totals. */
  retire(index: number): void {
    const last = this.#latest.get(index);
    if (last === undefined) return;
    this.#latest.delete(index);
    this.#retiredRefused += last.refusedConnections ?? 0;
    for (const [name, counters] of Object.entries(last.vhosts)) {
      const into = this.#retired.get(name) ?? emptyCounters();
      addCounters(into, counters);
      this.#retired.set(name, into);
    }
    for (const [name, counts] of Object.entries(last.latency ?? {})) {
      const into = this.#retiredLatency.get(name) ?? emptyLatency();
      addLatency(into, counts);
      this.#retiredLatency.set(name, into);
    }
  }

  /** Cluster-wide cumulative counters per vhost: retired workers plus the latest snapshot of each live one. */
  vhostTotals(): Record<string, VhostCounterValues> {
    const vhosts: Record<string, VhostCounterValues> = {};
    const add = (name: string, counters: VhostCounterValues): void => {
      const into = vhosts[name] ?? emptyCounters();
      addCounters(into, counters);
      vhosts[name] = into;
    };
    for (const [name, counters] of this.#retired) add(name, counters);
    for (const snapshot of this.#latest.values()) for (const [name, counters] of Object.entries(snapshot.vhosts)) add(name, counters);
    return vhosts;
  }

  /** Cluster-wide cumulative latency histograms per vhost, merged like `vhostTotals`. */
  latencyTotals(): Record<string, LatencyCounts> {
    const vhosts: Record<string, LatencyCounts> = {};
    const add = (name: string, counts: LatencyCounts): void => {
      const into = vhosts[name] ?? emptyLatency();
      addLatency(into, counts);
      vhosts[name] = into;
    };
    for (const [name, counts] of this.#retiredLatency) add(name, counts);
    for (const snapshot of this.#latest.values()) for (const [name, counts] of Object.entries(snapshot.latency ?? {})) add(name, counts);
    return vhosts;
  }

  /** The latest snapshot of the worker in slot `index`, if any. */
  latest(index: number): WorkerSnapshot | undefined {
    return this.#latest.get(index);
  }

  /** Asks the given workers for fresh snapshots; resolves when all answered or after a short timeout. */
  refresh(slots: readonly Slot[], request: (slot: Slot, requestId: number) => void): Promise<void> {
    const live = slots.filter((s) => s.worker !== null && s.ready);
    if (live.length === 0) return Promise.resolve();
    const requestId = this.#nextRequestId++;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(requestId);
        resolve();
      };
      const timer = setTimeout(done, FRESH_TIMEOUT_MS);
      this.#waiting.set(requestId, { pending: new Set(live.map((s) => s.index)), done });
      for (const slot of live) request(slot, requestId);
    });
  }

  /** Client connections open on the service ports: the sum of the live workers' latest gauges. */
  clientConnections(): number {
    let open = 0;
    for (const snapshot of this.#latest.values()) open += snapshot.clientConnections;
    return open;
  }

  /** <MaxSockets>: connections refused since start (exited workers included) and workers refusing right now. */
  connectionLimit(): { refusedConnections: number; refusingWorkers: number } {
    let refusedConnections = this.#retiredRefused;
    let refusingWorkers = 0;
    for (const snapshot of this.#latest.values()) {
      refusedConnections += snapshot.refusedConnections ?? 0;
      if (snapshot.refusingConnections === true) refusingWorkers++;
    }
    return { refusedConnections, refusingWorkers };
  }

  /** The merged document. */
  document(slots: readonly Slot[], configHash: string): StatsDocument {
    const vhosts = this.vhostTotals();
    let activeRequests = 0;
    for (const snapshot of this.#latest.values()) activeRequests += snapshot.activeRequests;
    const totals = emptyCounters();
    for (const counters of Object.values(vhosts)) addCounters(totals, counters);
    return {
      time: new Date().toISOString(),
      uptimeSec: Math.round((Date.now() - this.#startedAt) / 1000),
      configHash,
      totals: { ...totals, activeRequests },
      vhosts,
      cache: cacheSummary(totals, this.#latest.values()),
      workers: slots.map((slot) => {
        const snapshot = this.#latest.get(slot.index);
        let requests = 0;
        if (snapshot !== undefined) for (const c of Object.values(snapshot.vhosts)) requests += c.requests;
        return {
          index: slot.index,
          pid: slot.worker?.process.pid ?? null,
          ready: slot.ready,
          restarts: slot.restarts,
          requests,
          activeRequests: snapshot?.activeRequests ?? 0,
          fills: snapshot?.fills ?? 0,
          startedAt: slot.worker === null ? null : new Date(slot.startedAt).toISOString(),
          cpuSeconds: snapshot?.process === undefined ? 0 : Math.round((snapshot.process.cpuUserUs + snapshot.process.cpuSystemUs) / 1000) / 1000,
          rssBytes: snapshot?.process?.rssBytes ?? 0,
          gcSeconds: (snapshot?.process?.gc.pauseUs ?? 0) / 1e6,
          gcs: snapshot?.process?.gc.count ?? 0,
          majorGcs: snapshot?.process?.gc.majorCount ?? 0,
        };
      }),
      topUrls: mergeTopUrls([...this.#latest.values()].map((s) => s.topUrls)),
    };
  }
}
