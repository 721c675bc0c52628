/**
 * @module bench/scenarios/hit
 * Scenarios `hit-1k`, `hit-64k`, `hit-1m`, `hit-64m` (wrk -c50), `hit-1k-c200`, `hit-64k-c200` (the same at 200
 * connections) and `revalidate-304`: wrk on one cached object, against Flint (1 and 2 workers), nginx proxy_cache
 * (1 and 2 workers) and Varnish (malloc). Each target is primed (GET until the response is a hit), verified (two
 * more GETs: hit, 200, every byte right), warmed and measured; the origin counts its requests for the object during
 * the measured run, which must stay 0. Small objects are read as req/s and CPU per request, large ones as MiB/s and
 * CPU per GiB. `revalidate-304` sends `If-None-Match: <the object's ETag>` with every request, so every answer is a
 * 304 from the cache: verified as 304 + hit before the load, and after it by wrk's bytes per response (a 304 is a
 * few hundred bytes, a 200 of the 64 KiB object at least 64 KiB).
 */
import { measureTarget } from '../lib/measure.js';
import { parseWrk } from '../lib/wrk.js';
import { missingToolLine } from '../lib/environment.js';
import { CACHE_OBJECTS, cachePath } from '../lib/objects.js';
import { STANDARD_TARGETS, flintTarget, floorHitTarget, headerLine, primeUntilHit, runCacheScenario } from './cache-common.js';
import type { CacheTarget } from './cache-common.js';
import type { CacheObjectName } from '../lib/objects.js';
import type { RunRecord } from '../lib/results.js';
import type { BenchOptions, Scenario } from '../lib/scenario.js';
import type { Expected } from '../lib/verify.js';

/** How one hit scenario differs from the others. */
interface HitSpec {
  readonly object: CacheObjectName;
  /** Scenario name; default hit-<object>. */
  readonly name?: string;
  /** wrk -c: null = --connections (default 50); a number caps it; `exact` uses it whatever --connections says. */
  readonly connections: number | null;
  readonly exact?: boolean;
  /** Send If-None-Match with the primed response's ETag: every answer must be a 304 from the cache. */
  readonly revalidate?: boolean;
  /** Report CPU per GiB (large objects). */
  readonly perGiB: boolean;
  /** wrk --timeout in seconds, when one response may take longer than wrk's default 2 s. */
  readonly wrkTimeoutS?: number;
  /** Also run the large-hit floors (bench/floor-hit.ts) after the standard targets. */
  readonly floors?: boolean;
  /** A tail scenario: also run `flint-1w-pargc` (`<ParallelGc>ON`) and the floors `floor-hit-mem[-stgc]` after the standard targets. */
  readonly tails?: boolean;
  readonly summary: string;
}

/** The standard targets, then what a large hit costs on Flint's stack from memory and from a file (floor-hit.ts). */
const LARGE_HIT_TARGETS: readonly CacheTarget[] = [...STANDARD_TARGETS, floorHitTarget('floor-hit-mem', false), floorHitTarget('floor-hit-file', true)];

/**
 * The standard targets, then flint-1w with V8's parallel GC (the tails' A/B twin, bench/README.md "Tails") and the
 * bare uWS server answering from memory (floor-hit.ts, 304s included), the tail this stack has before Flint's work:
 * with V8's defaults, and with the GC flag Flint's workers run with (`--single-threaded-gc`).
 */
const TAIL_TARGETS: readonly CacheTarget[] = [
  ...STANDARD_TARGETS,
  flintTarget(1, undefined, 'flint-1w-pargc', undefined, '<ParallelGc>ON</ParallelGc>'),
  floorHitTarget('floor-hit-mem', false),
  floorHitTarget('floor-hit-mem-stgc', false, ['--single-threaded-gc']),
];

function hitScenario(spec: HitSpec): Scenario {
  const name = spec.name ?? `hit-${spec.object}`;
  const path = cachePath(spec.object);
  const size = CACHE_OBJECTS[spec.object];
  const expect: Expected = { status: 200, bodyBytes: size, cache: 'hit', content: true };
  const expect304: Expected = { status: 304, bodyBytes: 0, cache: 'hit' };
  return {
    name,
    summary: spec.summary,
    async run(o: BenchOptions, log) {
      if (o.tools.wrk === null) return { runs: [], skipped: [missingToolLine('wrk', name)], originConfigs: null };
      const wrkBin = o.tools.wrk;
      const connections = spec.connections === null ? o.connections : spec.exact === true ? spec.connections : Math.min(spec.connections, o.connections);
      return runCacheScenario(name, spec.floors === true ? LARGE_HIT_TARGETS : spec.tails === true ? TAIL_TARGETS : STANDARD_TARGETS, o, log, async (target, origin) => {
        const primed = await primeUntilHit(`${target.baseUrl}${path}`, expect);
        log(`  ${target.name}: primed, ${headerLine(primed)}`);
        const etag = primed.headers['etag'];
        if (spec.revalidate === true && typeof etag !== 'string') throw new Error(`no ETag on the primed response (${headerLine(primed)})`);
        const headers = spec.revalidate === true ? { 'If-None-Match': String(etag) } : undefined;
        const rows: RunRecord[] = [];
        for (let round = 1; round <= o.repeat; round++) {
          const r = await measureTarget({ scenario: name, target, origin, path, expect: headers === undefined ? expect : expect304, headers, opts: o, wrkBin, round, connections, originPath: path, perGiB: spec.perGiB, wrkTimeoutS: spec.wrkTimeoutS });
          const notes = [r.note];
          const originRequests = r.metrics?.originRequests ?? 0;
          if (originRequests > 0) notes.push(`${originRequests} origin requests during the hit run`);
          if (headers !== undefined && r.rawOutput !== undefined) {
            // Every answer a 304 means far fewer bytes per response than the object's size.
            const w = parseWrk(r.rawOutput);
            const perResponse = w.requests > 0 ? w.bytesRead / w.requests : 0;
            if (perResponse >= 1024) notes.push(`${perResponse.toFixed(0)} bytes per response: not all were 304s`);
          }
          rows.push({ ...r, note: notes.filter((x) => x !== '').join('; ') });
        }
        return rows;
      });
    },
  };
}

export const hit1k = hitScenario({ object: '1k', connections: null, perGiB: false, summary: 'cache hits of one 1 KiB object (wrk -c50): Flint 1w/2w, nginx proxy_cache 1w/2w, Varnish' });
export const hit64k = hitScenario({ object: '64k', connections: null, perGiB: false, tails: true, summary: 'cache hits of one 64 KiB object (wrk -c50), same targets, then flint-1w-pargc, floor-hit-mem and floor-hit-mem-stgc' });
export const hit1m = hitScenario({ object: '1m', connections: null, perGiB: true, floors: true, summary: 'cache hits of one 1 MiB object (wrk -c50): MiB/s and CPU per GiB, same targets, then floor-hit-mem and floor-hit-file' });
export const hit64m = hitScenario({ object: '64m', connections: 10, perGiB: true, wrkTimeoutS: 10, floors: true, summary: 'cache hits of one 64 MiB object (wrk -c10): MiB/s and CPU per GiB, same targets, then floor-hit-mem and floor-hit-file' });
export const hit1kC200 = hitScenario({ object: '1k', name: 'hit-1k-c200', connections: 200, exact: true, perGiB: false, summary: 'hit-1k at 200 connections (wrk -c200), same targets' });
export const hit64kC200 = hitScenario({ object: '64k', name: 'hit-64k-c200', connections: 200, exact: true, perGiB: false, tails: true, summary: 'hit-64k at 200 connections (wrk -c200), same targets, then flint-1w-pargc, floor-hit-mem and floor-hit-mem-stgc' });
export const revalidate304 = hitScenario({
  object: '64k',
  name: 'revalidate-304',
  connections: null,
  perGiB: false,
  revalidate: true,
  tails: true,
  summary: "conditional GETs of one cached 64 KiB object with If-None-Match: its ETag (wrk -c50): every answer a 304 from the cache, same targets, then flint-1w-pargc, floor-hit-mem and floor-hit-mem-stgc",
});
