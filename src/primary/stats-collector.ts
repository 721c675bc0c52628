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
import type { Slot } from './supervisor.js';

const FRESH_TIMEOUT_MS = 500;

export interface StatsDocument {
  readonly time: string;
  readonly uptimeSec: number;
  readonly configHash: string;
  readonly totals: VhostCounterValues & { readonly activeRequests: number };
  readonly vhosts: Record<string, VhostCounterValues>;
  readonly cache: CacheSummary;
  readonly workers: ReadonlyArray<{
    readonly index: number;
    readonly pid: number | null;
    readonly ready: boolean;
    readonly restarts: number;
    readonly requests: number;
    readonly activeRequests: number;
    readonly fills: number;
    readonly startedAt: string | null;
  }>;
}

/** Cache figures across workers. Ratios are 0..1 (byte hit ratio can go negative when origins send more than clients get). */
export interface CacheSummary {
  /** Share of requests answered with a *_HIT result. */
  readonly requestHitRatio: number;
  /** 1 - origin body bytes / client body bytes. */
  readonly byteHitRatio: number;
  readonly hot: { readonly hits: number; readonly misses: number; readonly hitRatio: number; readonly bytes: number; readonly objects: number };
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
  for (const s of snapshots) {
    hits += s.hot.hits;
    misses += s.hot.misses;
    bytes += s.hot.bytes;
    objects += s.hot.objects;
    fills += s.fills;
  }
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : Math.round((a / b) * 10_000) / 10_000);
  return {
    requestHitRatio: ratio(hitCount(totals), totals.requests),
    byteHitRatio: totals.clientOutBytes === 0 ? 0 : Math.round((1 - totals.originInBytes / totals.clientOutBytes) * 10_000) / 10_000,
    hot: { hits, misses, hitRatio: ratio(hits, hits + misses), bytes, objects },
    fillsInProgress: fills,
  };
}

export class StatsCollector {
  readonly #latest = new Map<number, WorkerSnapshot>();
  readonly #retired = new Map<string, VhostCounterValues>();
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
    for (const [name, counters] of Object.entries(last.vhosts)) {
      const into = this.#retired.get(name) ?? emptyCounters();
      addCounters(into, counters);
      this.#retired.set(name, into);
    }
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

  /** The merged document. */
  document(slots: readonly Slot[], configHash: string): StatsDocument {
    const vhosts: Record<string, VhostCounterValues> = {};
    const add = (name: string, counters: VhostCounterValues): void => {
      const into = vhosts[name] ?? emptyCounters();
      addCounters(into, counters);
      vhosts[name] = into;
    };
    for (const [name, counters] of this.#retired) add(name, counters);
    let activeRequests = 0;
    for (const snapshot of this.#latest.values()) {
      activeRequests += snapshot.activeRequests;
      for (const [name, counters] of Object.entries(snapshot.vhosts)) add(name, counters);
    }
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
        };
      }),
    };
  }
}
