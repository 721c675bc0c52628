/**
 * A small MetricsInput (one vhost, one disk, one worker) for tests that render FlintMetrics without a running
 * Flint.
 */
import type { MetricsInput } from '../../src/primary/metrics.js';
import { emptyCounters } from '../../src/stats/counters.js';
import { emptyLatency } from '../../src/stats/latency.js';

export function sampleMetricsInput(): MetricsInput {
  return {
    vhosts: { 'a.test': emptyCounters() },
    latency: { 'a.test': emptyLatency() },
    disks: [{ path: '/cache', objects: 1, usedBytes: 1, limitBytes: 2, fillsInProgress: 0, admissionSeen: 0, fillRecords: 0, evictedObjects: 0, evictedBytes: 0 }],
    workers: [{ index: 0, pid: 1, ready: true, restarts: 0, requests: 0, cpuSeconds: 0, rssBytes: 0, gcSeconds: 0, majorGcs: 0, activeRequests: 0 }],
    hostCpu: { user: 1, nice: 0, system: 1, idle: 1, iowait: 0, irq: 0, softirq: 0, steal: 0 },
    memory: { totalBytes: 2, freeBytes: 1 },
    load1: 0,
    clientConnections: 0,
    originConnections: { open: 0, active: 0 },
    uptimeSec: 1,
  };
}
