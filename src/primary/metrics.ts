/**
 * @module primary/metrics
 * Prometheus exposition of the merged worker counters (the only importer of prom-client). Workers never touch
 * prom-client: the primary's Registry holds collectors that read one `MetricsInput` built per scrape from the
 * StatsCollector (retired + live workers, so counters never go backwards across worker restarts). Counters are
 * `flint_*_total` with a `vhost` label; latency histograms come from the workers' fixed buckets (stats/latency.ts);
 * host, per-worker and cache-disk gauges follow, plus prom-client's default process metrics of the primary
 * (`flint_primary_*`). Runs only in the primary.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Metric } from 'prom-client';
import type { VhostCounterValues } from '../stats/counters.js';
import { CACHE_RESULTS } from '../stats/counters.js';
import type { LatencyCounts } from '../stats/latency.js';
import { LATENCY_BOUNDS_MS } from '../stats/latency.js';
import type { DiskStats } from './evictor.js';
import type { CpuTimes } from './stats-windows.js';

/** A sample whose value prom-client wrote as `Nan`. */
const NAN_VALUE = / Nan\n/g;

/** Everything one scrape shows. */
export interface MetricsInput {
  readonly vhosts: Readonly<Record<string, VhostCounterValues>>;
  readonly latency: Readonly<Record<string, LatencyCounts>>;
  readonly disks: readonly DiskStats[];
  readonly workers: ReadonlyArray<{ readonly index: number; readonly pid: number; readonly ready: boolean; readonly restarts: number; readonly requests: number; readonly cpuSeconds: number; readonly rssBytes: number; readonly gcSeconds: number; readonly majorGcs: number; readonly activeRequests: number }>;
  /** Cumulative seconds per mode. */
  readonly hostCpu: CpuTimes;
  readonly memory: { readonly totalBytes: number; readonly freeBytes: number };
  readonly load1: number;
  readonly clientConnections: number | null;
  /** <MaxSockets>: connections refused (monotonic) and workers refusing now; absent = not reported. */
  readonly connectionLimit?: { readonly refusedConnections: number; readonly refusingWorkers: number };
  readonly originConnections: { readonly open: number; readonly active: number };
  readonly uptimeSec: number;
}

type Labels = Record<string, string>;
interface Value {
  readonly value: number;
  readonly labels: Labels;
  readonly metricName?: string;
}

/** A metric whose values are computed from the current scrape's input (prom-client formats the text). */
function collector(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: (input: MetricsInput) => Value[], input: () => MetricsInput): Metric<string> {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values(input()) }),
  };
  return metric as unknown as Metric<string>;
}

/** One counter value per vhost from a named counter. */
function perVhost(field: keyof Omit<VhostCounterValues, 'cacheResults'>, scale = 1): (input: MetricsInput) => Value[] {
  return (input) => Object.entries(input.vhosts).map(([vhost, c]) => ({ value: c[field] * scale, labels: { vhost } }));
}

/** One series per vhost and status class of the counters `${prefix}1xx` .. `${prefix}5xx`. */
function byStatusClass(prefix: 'responses' | 'originResponses'): (input: MetricsInput) => Value[] {
  return (input) =>
    Object.entries(input.vhosts).flatMap(([vhost, c]) =>
      (['1xx', '2xx', '3xx', '4xx', '5xx'] as const).map((cls) => ({ value: c[`${prefix}${cls}`], labels: { vhost, class: cls } })),
    );
}

/** Prometheus histogram series from non-cumulative bucket counts (ms bounds -> seconds) and a sum in ms. */
function histogram(name: string, pick: (l: LatencyCounts) => number[], sumMs: (c: VhostCounterValues) => number): (input: MetricsInput) => Value[] {
  return (input) => {
    const values: Value[] = [];
    for (const [vhost, counts] of Object.entries(input.latency)) {
      const buckets = pick(counts);
      let cumulative = 0;
      LATENCY_BOUNDS_MS.forEach((bound, i) => {
        cumulative += buckets[i] ?? 0;
        values.push({ metricName: `${name}_bucket`, value: cumulative, labels: { vhost, le: String(bound / 1000) } });
      });
      cumulative += buckets[LATENCY_BOUNDS_MS.length] ?? 0;
      values.push({ metricName: `${name}_bucket`, value: cumulative, labels: { vhost, le: '+Inf' } });
      const counters = input.vhosts[vhost];
      values.push({ metricName: `${name}_sum`, value: counters === undefined ? 0 : sumMs(counters) / 1000, labels: { vhost } });
      values.push({ metricName: `${name}_count`, value: cumulative, labels: { vhost } });
    }
    return values;
  };
}

export class FlintMetrics {
  readonly registry = new Registry();
  #input: MetricsInput | null = null;

  constructor() {
    const input = (): MetricsInput => {
      if (this.#input === null) throw new Error('metrics scraped without input');
      return this.#input;
    };
    const add = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: (i: MetricsInput) => Value[]): void =>
      this.registry.registerMetric(collector(name, help, type, values, input));

    add('flint_requests_total', 'Client requests received.', 'counter', perVhost('requests'));
    add('flint_responses_total', 'Responses sent, by status class.', 'counter', byStatusClass('responses'));
    add('flint_client_aborted_total', 'Transactions the client aborted before the response ended.', 'counter', perVhost('aborted'));
    add('flint_client_in_bytes_total', 'Request body bytes received from clients.', 'counter', perVhost('clientInBytes'));
    add('flint_client_out_bytes_total', 'Response body bytes sent to clients.', 'counter', perVhost('clientOutBytes'));
    add('flint_client_rate_limited_total', 'Requests answered 429 because their client address passed <RateLimit>.', 'counter', perVhost('rateLimited'));
    add('flint_throttled_responses_total', 'Responses paced by <BandwidthThrottling>.', 'counter', perVhost('throttledResponses'));
    add('flint_throttled_bytes_total', 'Response body bytes sent paced by <BandwidthThrottling>.', 'counter', perVhost('throttledBytes'));
    add('flint_origin_requests_total', 'Requests sent to origins.', 'counter', perVhost('originRequests'));
    add('flint_origin_responses_total', 'Origin responses, by status class.', 'counter', byStatusClass('originResponses'));
    add('flint_origin_errors_total', 'Origin transactions that failed (connect, timeout, reset).', 'counter', perVhost('originErrors'));
    add('flint_origin_in_bytes_total', 'Response body bytes received from origins.', 'counter', perVhost('originInBytes'));
    add('flint_cache_results_total', 'Responses by cache result code (TCP_HIT, TCP_MISS, ...).', 'counter', (i) =>
      Object.entries(i.vhosts).flatMap(([vhost, c]) => CACHE_RESULTS.map((result) => ({ value: c.cacheResults[result], labels: { vhost, result } }))),
    );
    const byEncoding = (name: 'Compressions' | 'InBytes' | 'OutBytes' | 'Responses') => (i: MetricsInput): Value[] =>
      Object.entries(i.vhosts).flatMap(([vhost, c]) => (['br', 'gzip'] as const).map((encoding) => ({ value: c[`${encoding}${name}`], labels: { vhost, encoding } })));
    add('flint_compressions_total', 'Encoded copies made of cached objects (<Compression>), by encoding.', 'counter', byEncoding('Compressions'));
    add('flint_compression_in_bytes_total', 'Identity bytes compressed, by encoding.', 'counter', byEncoding('InBytes'));
    add('flint_compression_out_bytes_total', 'Encoded bytes the compressions made, by encoding.', 'counter', byEncoding('OutBytes'));
    add('flint_compressed_responses_total', 'Responses sent with a Content-Encoding Flint applied, by encoding.', 'counter', byEncoding('Responses'));
    add('flint_dims_conversions_total', 'DIMS variants converted (<Dims>), each once across workers.', 'counter', perVhost('dimsConversions'));
    add('flint_dims_failures_total', 'DIMS conversions that failed; the original was served.', 'counter', perVhost('dimsFailures'));
    add('flint_dims_refused_total', 'DIMS requests refused with 503: the conversion queue was full.', 'counter', perVhost('dimsRefused'));
    add('flint_dims_conversion_seconds_total', 'Time spent in DIMS conversions (queueing included); divide by conversions for the mean.', 'counter', (i) => Object.entries(i.vhosts).map(([vhost, c]) => ({ value: c.dimsMsSum / 1000, labels: { vhost } })));
    const MEDIA_KINDS = [['relocate', 'mediaRelocate'], ['trim', 'mediaTrim'], ['hls-playlist', 'mediaHlsPlaylist'], ['hls-segment', 'mediaHlsSegment'], ['mp3-trim', 'mediaMp3Trim'], ['mp3-hls-playlist', 'mediaMp3HlsPlaylist'], ['mp3-hls-segment', 'mediaMp3HlsSegment']] as const;
    add('flint_media_requests_total', 'Media requests (<Media>), by kind.', 'counter', (i) =>
      Object.entries(i.vhosts).flatMap(([vhost, c]) => MEDIA_KINDS.map(([kind, name]) => ({ value: c[name], labels: { vhost, kind } }))),
    );
    add('flint_media_hls_segments_total', 'HLS segments built (MP4 and MP3).', 'counter', perVhost('mediaSegmentsBuilt'));
    add('flint_media_failures_total', 'Media files that could not be parsed or built from; the original was served.', 'counter', perVhost('mediaFailures'));
    add('flint_media_refused_total', 'Media requests answered 400 (malformed or out-of-range parameters).', 'counter', perVhost('mediaRefused'));
    add('flint_ttfb_seconds', 'Time from request to the first response byte.', 'histogram', histogram('flint_ttfb_seconds', (l) => l.ttfb, (c) => c.ttfbMsSum));
    add('flint_response_seconds', 'Time from request to the end of the response.', 'histogram', histogram('flint_response_seconds', (l) => l.total, (c) => c.totalMsSum));

    add('flint_cache_objects', 'Objects in the cache index, per disk.', 'gauge', (i) => i.disks.map((d) => ({ value: d.objects, labels: { disk: d.path } })));
    add('flint_cache_bytes', 'Bytes used by cached objects, per disk.', 'gauge', (i) => i.disks.map((d) => ({ value: d.usedBytes, labels: { disk: d.path } })));
    add('flint_cache_limit_bytes', 'Eviction limit, per disk.', 'gauge', (i) => i.disks.map((d) => ({ value: d.limitBytes, labels: { disk: d.path } })));
    add('flint_cache_evicted_objects_total', 'Objects evicted, per disk.', 'counter', (i) => i.disks.map((d) => ({ value: d.evictedObjects, labels: { disk: d.path } })));
    add('flint_cache_evicted_bytes_total', 'Bytes evicted, per disk.', 'counter', (i) => i.disks.map((d) => ({ value: d.evictedBytes, labels: { disk: d.path } })));
    add('flint_cache_fills', 'Origin fills in progress, per disk.', 'gauge', (i) => i.disks.map((d) => ({ value: d.fillsInProgress, labels: { disk: d.path } })));
    add('flint_cache_not_admitted_total', 'Responses fetched for the cache but not stored by the admission filter (<Admission>).', 'counter', perVhost('notAdmitted'));
    add('flint_tags_dropped_total', 'Cache tags from origin responses dropped by the <CacheTag> bounds (too many, too long, bytes outside visible ASCII).', 'counter', perVhost('tagsDropped'));
    add('flint_cache_admission_seen', 'Objects the admission filter counted requests for but has not stored yet, per disk.', 'gauge', (i) =>
      i.disks.map((d) => ({ value: d.admissionSeen, labels: { disk: d.path } })),
    );

    add('flint_active_requests', 'Transactions in flight, per worker.', 'gauge', (i) => i.workers.map((w) => ({ value: w.activeRequests, labels: { worker: String(w.index) } })));
    add('flint_client_connections', 'Established client connections on the service ports.', 'gauge', (i) =>
      i.clientConnections === null ? [] : [{ value: i.clientConnections, labels: {} }],
    );
    add('flint_client_connections_refused_total', 'Client connections closed at once because <MaxSockets> was reached.', 'counter', (i) =>
      i.connectionLimit === undefined ? [] : [{ value: i.connectionLimit.refusedConnections, labels: {} }],
    );
    add('flint_client_connections_refusing', 'Workers refusing new client connections now (<MaxSockets> reached, not yet below Reopen).', 'gauge', (i) =>
      i.connectionLimit === undefined ? [] : [{ value: i.connectionLimit.refusingWorkers, labels: {} }],
    );
    add('flint_origin_connections', 'Origin connections of all workers: open, and active (busy with a request).', 'gauge', (i) => [
      { value: i.originConnections.open, labels: { state: 'open' } },
      { value: i.originConnections.active, labels: { state: 'active' } },
    ]);
    add('flint_worker_up', 'Worker listening (1) or not (0).', 'gauge', (i) => i.workers.map((w) => ({ value: w.ready ? 1 : 0, labels: { worker: String(w.index) } })));
    add('flint_worker_restarts_total', 'Worker restarts, per worker slot.', 'counter', (i) => i.workers.map((w) => ({ value: w.restarts, labels: { worker: String(w.index) } })));
    add('flint_worker_requests_total', 'Requests served by the current process of a worker slot (resets on restart).', 'counter', (i) =>
      i.workers.map((w) => ({ value: w.requests, labels: { worker: String(w.index) } })),
    );
    add('flint_worker_cpu_seconds_total', 'CPU time of the current process of a worker slot (resets on restart).', 'counter', (i) =>
      i.workers.map((w) => ({ value: w.cpuSeconds, labels: { worker: String(w.index) } })),
    );
    add('flint_worker_gc_seconds_total', 'Garbage-collection pause time of the current process of a worker slot (resets on restart).', 'counter', (i) =>
      i.workers.map((w) => ({ value: w.gcSeconds, labels: { worker: String(w.index) } })),
    );
    add('flint_worker_major_gcs_total', 'Full (mark-compact) garbage collections of the current process of a worker slot (resets on restart).', 'counter', (i) =>
      i.workers.map((w) => ({ value: w.majorGcs, labels: { worker: String(w.index) } })),
    );
    add('flint_worker_resident_memory_bytes', 'Resident memory of a worker process.', 'gauge', (i) =>
      i.workers.map((w) => ({ value: w.rssBytes, labels: { worker: String(w.index) } })),
    );
    add('flint_host_cpu_seconds_total', 'Host CPU time by mode (all cores).', 'counter', (i) =>
      Object.entries(i.hostCpu).map(([mode, seconds]) => ({ value: seconds as number, labels: { mode } })),
    );
    add('flint_host_memory_bytes', 'Host memory.', 'gauge', (i) => [
      { value: i.memory.totalBytes, labels: { kind: 'total' } },
      { value: i.memory.freeBytes, labels: { kind: 'free' } },
    ]);
    add('flint_host_load1', 'Host 1-minute load average.', 'gauge', (i) => [{ value: i.load1, labels: {} }]);
    add('flint_uptime_seconds', 'Seconds since the primary started.', 'gauge', (i) => [{ value: i.uptimeSec, labels: {} }]);
    collectDefaultMetrics({ register: this.registry, prefix: 'flint_primary_' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The exposition text for `input`. prom-client spells a not-a-number value `Nan` (the primary's event-loop lag
   * before its first sample); the text format's spelling is `NaN`, which strict parsers (OpenMetrics) require.
   */
  async render(input: MetricsInput): Promise<string> {
    this.#input = input;
    try {
      return (await this.registry.metrics()).replace(NAN_VALUE, ' NaN\n');
    } finally {
      this.#input = null;
    }
  }
}
