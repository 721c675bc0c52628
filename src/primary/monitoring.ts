/**
 * @module primary/monitoring
 * The primary's monitoring service: ticks once per stats bucket (fresh worker snapshots, then one sample into
 * StatsWindows), and builds the documents of /monitoring/realtime, /monitoring/average, the window part of /stats
 * and the /metrics text. Host figures come from the os module and /proc; cache disk figures from the evictor.
 * Runs only in the primary.
 */
import { freemem, loadavg, totalmem } from 'node:os';
import type { DiskStats } from './evictor.js';
import { FlintMetrics } from './metrics.js';
import type { StatsCollector } from './stats-collector.js';
import type { Sample, Window, WindowFigures, WorkerSample } from './stats-windows.js';
import { StatsWindows, cpuPercent, flatten, hostTotal, readHostCpu, statsBucketMs, windowFigures } from './stats-windows.js';
import type { Slot } from './supervisor.js';

/** What the service reads from the primary. */
export interface MonitoringSources {
  readonly collector: StatsCollector;
  slots(): readonly Slot[];
  /** Vhost names of the running config. */
  vhostNames(): readonly string[];
  /** Per-disk figures (counts the index: call per request, not per bucket). */
  disks(): DiskStats[];
  /** Evictions since start over all disks (cheap, sampled every bucket). */
  evictions(): { readonly objects: number; readonly bytes: number };
  /** Asks live workers for fresh snapshots (resolves after all answered or a short timeout). */
  refresh(): Promise<void>;
  /** Client connections open on the service ports (the workers' uWS counts, stats/connections.ts). */
  clientSessions(): number;
}

/** A /monitoring/* document (also embedded in /stats). */
export interface WindowDocument {
  readonly kind: 'realtime' | 'average';
  readonly minutes?: number;
  readonly bucketMs: number;
  readonly from: string;
  readonly to: string;
  readonly seconds: number;
  readonly host: WindowFigures & {
    readonly activeRequests: number;
    readonly clientSessions?: number;
    /** Origin connections of all workers now: open, and busy with a request. */
    readonly originSessions: { readonly open: number; readonly active: number };
    readonly system: {
      readonly cpu: Record<string, number>;
      readonly memory: { readonly totalBytes: number; readonly freeBytes: number; readonly primaryRssBytes: number };
      readonly loadAverage: { readonly load1: number; readonly load5: number; readonly load15: number };
    };
    readonly cache: { readonly objects: number; readonly usedBytes: number; readonly limitBytes: number; readonly fillsInProgress: number; readonly evictedObjects: number; readonly evictedBytes: number };
    readonly workers: ReadonlyArray<{ readonly index: number; readonly pid: number; readonly requestsPerSec: number; readonly cpuPercent: number; readonly gcPercent: number; readonly rssBytes: number }>;
  };
  readonly vhosts: ReadonlyArray<WindowFigures & { readonly name: string }>;
}

/** Thrown for a vhost filter naming an unknown vhost (the route answers 404). */
export class UnknownVhostError extends Error {
  override readonly name = 'UnknownVhostError';
}

export class Monitoring {
  readonly #sources: MonitoringSources;
  readonly windows: StatsWindows;
  readonly #metrics = new FlintMetrics();
  readonly #startedAt = Date.now();
  #timer: NodeJS.Timeout | null = null;
  #ticking = false;

  constructor(sources: MonitoringSources, bucketMs = statsBucketMs()) {
    this.#sources = sources;
    this.windows = new StatsWindows(bucketMs);
  }

  /** Takes the first sample and starts ticking. */
  start(): void {
    this.windows.record(this.#sample());
    this.#timer = setInterval(() => void this.#tick(), this.windows.bucketMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return; // a slow refresh skips a bucket instead of piling up
    this.#ticking = true;
    try {
      await this.#sources.refresh();
      this.windows.record(this.#sample());
    } finally {
      this.#ticking = false;
    }
  }

  #sample(): Sample {
    const collector = this.#sources.collector;
    const vhosts = new Map<string, Float64Array>();
    const latency = collector.latencyTotals();
    for (const [name, values] of Object.entries(collector.vhostTotals())) vhosts.set(name, flatten(values, latency[name]));
    const workers: WorkerSample[] = [];
    for (const slot of this.#sources.slots()) {
      const snapshot = collector.latest(slot.index);
      if (snapshot === undefined) continue;
      let requests = 0;
      for (const c of Object.values(snapshot.vhosts)) requests += c.requests;
      const p = snapshot.process;
      workers.push({ index: slot.index, pid: snapshot.pid, requests, cpuUs: p === undefined ? 0 : p.cpuUserUs + p.cpuSystemUs, gcUs: p?.gc.pauseUs ?? 0, rssBytes: p?.rssBytes ?? 0 });
    }
    const evictions = this.#sources.evictions();
    return { at: Date.now(), vhosts, cpu: readHostCpu(), workers, evictedObjects: evictions.objects, evictedBytes: evictions.bytes };
  }

  /** Validates a vhost filter against the running config and the names seen in counters. */
  #checkVhosts(filter: readonly string[] | null, sample: Sample): void {
    if (filter === null) return;
    const known = new Set([...this.#sources.vhostNames(), ...sample.vhosts.keys()]);
    const unknown = filter.filter((name) => !known.has(name));
    if (unknown.length > 0) throw new UnknownVhostError(`unknown vhost: ${unknown.join(', ')}`);
  }

  /** The last bucket. */
  async realtime(filter: readonly string[] | null): Promise<WindowDocument> {
    return this.#document('realtime', undefined, this.#windowOrNow(this.windows.realtime()), filter, this.#live());
  }

  /** The average over the last `minutes` minutes (1..60). */
  async average(minutes: number, filter: readonly string[] | null): Promise<WindowDocument> {
    return this.#document('average', minutes, this.#windowOrNow(this.windows.average(minutes)), filter, this.#live());
  }

  /** The window part of /stats: realtime plus 1- and 5-minute averages. */
  async statsWindows(): Promise<{ realtime: WindowDocument; average1: WindowDocument; average5: WindowDocument }> {
    const live = this.#live();
    return {
      realtime: this.#document('realtime', undefined, this.#windowOrNow(this.windows.realtime()), null, live),
      average1: this.#document('average', 1, this.#windowOrNow(this.windows.average(1)), null, live),
      average5: this.#document('average', 5, this.#windowOrNow(this.windows.average(5)), null, live),
    };
  }

  /** The figures read at request time (they count the cache index, so once per request). */
  #live(): { sessions: number; disks: DiskStats[] } {
    return { sessions: this.#sources.clientSessions(), disks: this.#sources.disks() };
  }

  #windowOrNow(window: Window | null): Window {
    if (window !== null) return window;
    const now = this.#sample();
    return { from: now, to: now, seconds: 0 };
  }

  #document(kind: 'realtime' | 'average', minutes: number | undefined, w: Window, filter: readonly string[] | null, live: { sessions: number; disks: DiskStats[] }): WindowDocument {
    this.#checkVhosts(filter, w.to);
    const names = filter ?? [...new Set([...this.#sources.vhostNames(), ...w.to.vhosts.keys()])].sort();
    const zeros = new Float64Array(hostTotal(w.to).length);
    const { sessions, disks } = live;
    const sum = (pick: (d: DiskStats) => number): number => disks.reduce((n, d) => n + pick(d), 0);
    const [load1 = 0, load5 = 0, load15 = 0] = loadavg().map((l) => Math.round(l * 100) / 100);
    const { activeRequests, originSessions } = this.#gauges();
    const workers = w.to.workers.map((to) => {
      // a worker absent from the older sample was born inside the window: its counters started at zero
      const from = w.from.workers.find((f) => f.pid === to.pid) ?? { requests: 0, cpuUs: 0, gcUs: 0 };
      const seconds = w.seconds;
      return {
        index: to.index,
        pid: to.pid,
        requestsPerSec: seconds === 0 ? 0 : Math.round(((to.requests - from.requests) / seconds) * 1000) / 1000,
        cpuPercent: seconds === 0 ? 0 : Math.round(((to.cpuUs - from.cpuUs) / (seconds * 1e6)) * 1000) / 10,
        // Share of the window the worker's main thread stood still in GC pauses.
        gcPercent: seconds === 0 ? 0 : Math.round(((to.gcUs - from.gcUs) / (seconds * 1e6)) * 1000) / 10,
        rssBytes: to.rssBytes,
      };
    });
    return {
      kind,
      ...(minutes === undefined ? {} : { minutes }),
      bucketMs: this.windows.bucketMs,
      from: new Date(w.from.at).toISOString(),
      to: new Date(w.to.at).toISOString(),
      seconds: w.seconds,
      host: {
        ...windowFigures(hostTotal(w.from), hostTotal(w.to), w.seconds),
        activeRequests,
        originSessions,
        clientSessions: sessions,
        system: {
          cpu: cpuPercent(w.from.cpu, w.to.cpu),
          memory: { totalBytes: totalmem(), freeBytes: freemem(), primaryRssBytes: process.memoryUsage.rss() },
          loadAverage: { load1, load5, load15 },
        },
        cache: {
          objects: sum((d) => d.objects),
          usedBytes: sum((d) => d.usedBytes),
          limitBytes: sum((d) => d.limitBytes),
          fillsInProgress: sum((d) => d.fillsInProgress),
          evictedObjects: Math.max(0, w.to.evictedObjects - w.from.evictedObjects),
          evictedBytes: Math.max(0, w.to.evictedBytes - w.from.evictedBytes),
        },
        workers,
      },
      vhosts: names.map((name) => ({ name, ...windowFigures(w.from.vhosts.get(name), w.to.vhosts.get(name) ?? zeros, w.seconds) })),
    };
  }

  /** Gauges summed over the latest snapshot of each worker. */
  #gauges(): { activeRequests: number; originSessions: { open: number; active: number } } {
    let activeRequests = 0;
    const originSessions = { open: 0, active: 0 };
    for (const slot of this.#sources.slots()) {
      const s = this.#sources.collector.latest(slot.index);
      if (s === undefined) continue;
      activeRequests += s.activeRequests;
      originSessions.open += s.originSessions?.open ?? 0;
      originSessions.active += s.originSessions?.active ?? 0;
    }
    return { activeRequests, originSessions };
  }

  get metricsContentType(): string {
    return this.#metrics.contentType;
  }

  /** The Prometheus text, from fresh worker snapshots. */
  async metrics(): Promise<string> {
    await this.#sources.refresh();
    const collector = this.#sources.collector;
    const [load1 = 0] = loadavg();
    return this.#metrics.render({
      vhosts: collector.vhostTotals(),
      latency: collector.latencyTotals(),
      disks: this.#sources.disks(),
      workers: this.#sources.slots().map((slot) => {
        const s = collector.latest(slot.index);
        let requests = 0;
        if (s !== undefined) for (const c of Object.values(s.vhosts)) requests += c.requests;
        return {
          index: slot.index,
          pid: s?.pid ?? 0,
          ready: slot.ready,
          restarts: slot.restarts,
          requests,
          cpuSeconds: s?.process === undefined ? 0 : (s.process.cpuUserUs + s.process.cpuSystemUs) / 1e6,
          rssBytes: s?.process?.rssBytes ?? 0,
          gcSeconds: (s?.process?.gc.pauseUs ?? 0) / 1e6,
          majorGcs: s?.process?.gc.majorCount ?? 0,
          activeRequests: s?.activeRequests ?? 0,
        };
      }),
      hostCpu: readHostCpu(),
      memory: { totalBytes: totalmem(), freeBytes: freemem() },
      load1,
      clientConnections: this.#sources.clientSessions(),
      connectionLimit: this.#sources.collector.connectionLimit(),
      originConnections: this.#gauges().originSessions,
      uptimeSec: Math.round((Date.now() - this.#startedAt) / 1000),
    });
  }
}
