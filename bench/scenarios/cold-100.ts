/**
 * @module bench/scenarios/cold-100
 * Scenario `cold-100` (request coalescing): 100 GETs at once, each on a fresh connection (bench/clients/
 * http-client.js, not wrk), for one cold 64 MiB object that the origin streams at its paced rate (128 MiB/s per
 * response, so a fill takes about 0.5 s). Reported per target: how many requests the origin got for the object
 * and how many bytes it sent (counted at the origin, the same way for every product), the time until all 100
 * responses were complete, the time to first byte (response head) of the first, median and last request, CPU,
 * and whether a GET afterwards is a hit. Every response is checked byte for byte. Targets: Flint 1w/2w, nginx
 * proxy_cache with and without proxy_cache_lock (1w/2w), Varnish. Each target has its own object path, so every
 * target starts cold. nginx without the lock only with 2 workers (see TARGETS).
 */
import { runClient } from '../lib/client.js';
import { httpGet } from '../lib/http-probe.js';
import { originTraffic, settledOriginTraffic, trafficDelta } from '../lib/origin-counts.js';
import { CACHE_OBJECTS, cachePath } from '../lib/objects.js';
import { checkResponse } from '../lib/verify.js';
import { flintTarget, headerLine, nginxCacheTarget, runCacheScenario, varnishTarget } from './cache-common.js';
import type { ClientRequest } from '../clients/http-client.js';
import type { RunRecord } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import type { CacheTarget } from './cache-common.js';

const NAME = 'cold-100';
const COUNT = 100;
const SIZE = CACHE_OBJECTS['64m'];
/** Longest a target may take for the 100 responses before the client gives up on the rest. */
const DEADLINE_MS = 45_000;

/**
 * nginx without the lock runs with 2 workers only: its 100 origin fetches and 6.4 GiB written to its cache dir do
 * not depend on the worker count, and the run takes about 20 s, which a second copy would add to the scenario.
 */
const TARGETS: readonly CacheTarget[] = [
  nginxCacheTarget('nginx-lock', 1, { lock: true, slice: false }),
  flintTarget(1),
  nginxCacheTarget('nginx-lock-2w', 2, { lock: true, slice: false }),
  nginxCacheTarget('nginx-nolock-2w', 2, { lock: false, slice: false }),
  flintTarget(2),
  varnishTarget(),
];

/** The value at quantile q (0..1) of `xs` (nearest rank), or -1 when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return -1;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** "37 x status 502 (cache-status: ...)", the commonest problems first, for a failure note. */
export function problemSummary(requests: readonly ClientRequest[]): string {
  const byProblem = new Map<string, number>();
  for (const r of requests) {
    if (r.ok) continue;
    const key = `${r.problem ?? '?'}${r.cache === '' ? '' : ` [${r.cache}]`}`;
    byProblem.set(key, (byProblem.get(key) ?? 0) + 1);
  }
  return [...byProblem.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([p, n]) => `${n} x ${p}`)
    .join('; ');
}

export const cold100: Scenario = {
  name: NAME,
  summary: '100 concurrent fresh-connection GETs of one cold 64 MiB object streamed by the origin: origin requests, time to all done, TTFB of the last follower',
  async run(o, log) {
    return runCacheScenario(
      NAME,
      TARGETS,
      o,
      log,
      async (target, origin) => {
        const path = cachePath('64m', `cold/${target.name}`);
        const url = `${target.baseUrl}${path}`;
        const before = await originTraffic(origin.baseUrl, path);
        const { report, cpu, command } = await runClient(['concurrent', '--url', url, '--count', String(COUNT), '--size', String(SIZE)], DEADLINE_MS, target.pid, origin.pid);
        const traffic = trafficDelta(before, await settledOriginTraffic(origin.baseUrl, path));
        // Afterwards the object must be cached: one more GET is a hit with the right bytes.
        let after = '';
        try {
          const r = await httpGet(url, 10_000);
          const problems = checkResponse(r, { status: 200, bodyBytes: SIZE, cache: 'hit', content: true });
          after = problems.length === 0 ? 'hit' : `${problems.join('; ')} (${headerLine(r)})`;
        } catch (err) {
          after = `failed: ${(err as Error).message}`;
        }
        const reqs = report.requests;
        const ok = reqs.filter((r) => r.ok).length;
        const heads = reqs.filter((r) => r.headersMs >= 0).map((r) => r.headersMs);
        const bodies = reqs.filter((r) => r.firstBodyMs >= 0).map((r) => r.firstBodyMs);
        const notes: string[] = [];
        if (ok < COUNT) notes.push(`${COUNT - ok} of ${COUNT} failed: ${problemSummary(reqs)}`);
        if (report.deadlineHit) notes.push(`deadline of ${DEADLINE_MS / 1000} s hit`);
        if (after !== 'hit') notes.push(`GET afterwards: ${after}`);
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
            'ok of 100': ok,
            'origin req': traffic.requests,
            'origin MiB': Math.round(traffic.bytes / 1024 ** 2),
            'all done s': Math.round(Math.max(0, ...reqs.map((r) => r.doneMs))) / 1000,
            'TTFB first ms': quantile(heads, 0),
            'TTFB median ms': quantile(heads, 0.5),
            'TTFB last ms': quantile(heads, 1),
            'first body byte last ms': quantile(bodies, 1),
            'server CPU s': cpu.serverCpuS,
            'client CPU s': cpu.clientCpuS,
            'other CPU s': cpu.otherCpuS,
            'steal s': cpu.stealS,
            'hit after': after === 'hit' ? 'yes' : 'no',
          },
          extra: { cpu, originTraffic: traffic, requests: reqs, wallMs: report.wallMs },
        };
        return [row];
      },
      'figures',
    );
  },
};
