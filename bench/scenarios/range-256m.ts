/**
 * @module bench/scenarios/range-256m
 * Scenario `range-256m`: 1,000 single-range GETs (`Range: bytes=a-b`, 1 KiB..1 MiB long, positions and lengths
 * from a seeded PRNG, the same for every product) over one cold 256 MiB object, one at a time over a kept-alive
 * connection (bench/clients/http-client.js). Reported per target: origin bytes / object size (counted at the
 * origin once its traffic has settled, so a fill that runs on after the last client response counts too), origin
 * requests, requests done and correct (206, Content-Range, every byte), latency and CPU. Bounded at 60 s per
 * target. Targets: Flint 1w/2w, nginx with the slice module (1 MiB slices) 1w/2w, nginx plain proxy_cache 2w,
 * Varnish.
 */
import { runClient } from '../lib/client.js';
import { originTraffic, settledOriginTraffic, trafficDelta } from '../lib/origin-counts.js';
import { CACHE_OBJECTS, cachePath } from '../lib/objects.js';
import { flintTarget, nginxCacheTarget, runCacheScenario, varnishTarget } from './cache-common.js';
import { problemSummary, quantile } from './cold-100.js';
import type { RunRecord } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import type { CacheTarget } from './cache-common.js';

const NAME = 'range-256m';
const COUNT = 1000;
const SIZE = CACHE_OBJECTS['256m'];
const SEED = 1;
const CONCURRENCY = 1;
const DEADLINE_MS = 60_000;

const TARGETS: readonly CacheTarget[] = [
  nginxCacheTarget('nginx-slice', 1, { lock: true, slice: true }),
  flintTarget(1),
  nginxCacheTarget('nginx-slice-2w', 2, { lock: true, slice: true }),
  nginxCacheTarget('nginx-plain-2w', 2, { lock: true, slice: false }),
  flintTarget(2),
  varnishTarget(),
];

export const range256m: Scenario = {
  name: NAME,
  summary: '1,000 random single-range GETs (1 KiB..1 MiB) over a cold 256 MiB object, one at a time: origin bytes / object size',
  async run(o, log) {
    return runCacheScenario(
      NAME,
      TARGETS,
      o,
      log,
      async (target, origin) => {
        const path = cachePath('256m', `range/${target.name}`);
        const url = `${target.baseUrl}${path}`;
        const before = await originTraffic(origin.baseUrl, path);
        const args = ['ranges', '--url', url, '--count', String(COUNT), '--size', String(SIZE), '--seed', String(SEED), '--concurrency', String(CONCURRENCY)];
        const { report, cpu, command } = await runClient(args, DEADLINE_MS, target.pid, origin.pid);
        const traffic = trafficDelta(before, await settledOriginTraffic(origin.baseUrl, path));
        const reqs = report.requests;
        const ok = reqs.filter((r) => r.ok).length;
        const latencies = reqs.map((r) => r.doneMs - r.startMs);
        const notes: string[] = [];
        if (ok < reqs.length) notes.push(`${reqs.length - ok} of ${reqs.length} wrong: ${problemSummary(reqs)}`);
        if (reqs.length < COUNT) notes.push(`only ${reqs.length} of ${COUNT} requests within ${DEADLINE_MS / 1000} s`);
        const row: RunRecord = {
          scenario: NAME,
          target: target.name,
          workers: target.workers,
          round: 1,
          status: ok === COUNT ? 'ok' : 'failed',
          note: notes.join('; '),
          url,
          loadCommand: [command],
          configs: target.configs,
          table: 'figures',
          figures: {
            done: reqs.length,
            ok,
            'origin req': traffic.requests,
            'origin MiB': Math.round(traffic.bytes / 1024 ** 2),
            'origin bytes / object': (traffic.bytes / SIZE).toFixed(3),
            'wall s': Math.round(report.wallMs) / 1000,
            'p50 ms': quantile(latencies, 0.5),
            'p99 ms': quantile(latencies, 0.99),
            'server CPU s': cpu.serverCpuS,
            'client CPU s': cpu.clientCpuS,
            'other CPU s': cpu.otherCpuS,
            'steal s': cpu.stealS,
          },
          extra: { cpu, originTraffic: traffic, requests: reqs, wallMs: report.wallMs, seed: SEED, concurrency: CONCURRENCY },
        };
        return [row];
      },
      'figures',
    );
  },
};
