/**
 * @module bench/scenarios/hit
 * Scenarios `hit-1k`, `hit-64k`, `hit-1m`, `hit-64m`: wrk on one cached object, against Flint (1 and 2 workers),
 * nginx proxy_cache (1 and 2 workers) and Varnish (malloc). Each target is primed (GET until the response is a
 * hit), verified (two more GETs: hit, 200, every byte right), warmed and measured; the origin counts its requests
 * for the object during the measured run, which must stay 0. Small objects are read as req/s and CPU per request,
 * large ones as MiB/s and CPU per GiB.
 */
import { measureTarget } from '../lib/measure.js';
import { missingToolLine } from '../lib/environment.js';
import { CACHE_OBJECTS, cachePath } from '../lib/objects.js';
import { STANDARD_TARGETS, headerLine, primeUntilHit, runCacheScenario } from './cache-common.js';
import type { CacheObjectName } from '../lib/objects.js';
import type { RunRecord } from '../lib/results.js';
import type { BenchOptions, Scenario } from '../lib/scenario.js';
import type { Expected } from '../lib/verify.js';

/** How one hit scenario differs from the others. */
interface HitSpec {
  readonly object: CacheObjectName;
  /** wrk -c: null = --connections (default 50). */
  readonly connections: number | null;
  /** Report CPU per GiB (large objects). */
  readonly perGiB: boolean;
  /** wrk --timeout in seconds, when one response may take longer than wrk's default 2 s. */
  readonly wrkTimeoutS?: number;
  readonly summary: string;
}

function hitScenario(spec: HitSpec): Scenario {
  const name = `hit-${spec.object}`;
  const path = cachePath(spec.object);
  const size = CACHE_OBJECTS[spec.object];
  const expect: Expected = { status: 200, bodyBytes: size, cache: 'hit', content: true };
  return {
    name,
    summary: spec.summary,
    async run(o: BenchOptions, log) {
      if (o.tools.wrk === null) return { runs: [], skipped: [missingToolLine('wrk', name)], originConfigs: null };
      const wrkBin = o.tools.wrk;
      const connections = spec.connections === null ? o.connections : Math.min(spec.connections, o.connections);
      return runCacheScenario(name, STANDARD_TARGETS, o, log, async (target, origin) => {
        const primed = await primeUntilHit(`${target.baseUrl}${path}`, expect);
        log(`  ${target.name}: primed, ${headerLine(primed)}`);
        const rows: RunRecord[] = [];
        for (let round = 1; round <= o.repeat; round++) {
          const r = await measureTarget({ scenario: name, target, origin, path, expect, opts: o, wrkBin, round, connections, originPath: path, perGiB: spec.perGiB, wrkTimeoutS: spec.wrkTimeoutS });
          const originRequests = r.metrics?.originRequests ?? 0;
          rows.push(originRequests > 0 ? { ...r, note: [r.note, `${originRequests} origin requests during the hit run`].filter((s) => s !== '').join('; ') } : r);
        }
        return rows;
      });
    },
  };
}

export const hit1k = hitScenario({ object: '1k', connections: null, perGiB: false, summary: 'cache hits of one 1 KiB object (wrk -c50): Flint 1w/2w, nginx proxy_cache 1w/2w, Varnish' });
export const hit64k = hitScenario({ object: '64k', connections: null, perGiB: false, summary: 'cache hits of one 64 KiB object (wrk -c50), same targets' });
export const hit1m = hitScenario({ object: '1m', connections: null, perGiB: true, summary: 'cache hits of one 1 MiB object (wrk -c50): MiB/s and CPU per GiB, same targets' });
export const hit64m = hitScenario({ object: '64m', connections: 10, perGiB: true, wrkTimeoutS: 10, summary: 'cache hits of one 64 MiB object (wrk -c10): MiB/s and CPU per GiB, same targets' });
