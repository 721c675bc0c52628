/**
 * @module bench/scenarios/cache-common
 * What every cache scenario shares: its targets (Flint with 1 and 2 workers, nginx proxy_cache with 1 and 2
 * workers, Varnish with malloc storage), the loop that starts each target in turn on one uWS origin, hands it to
 * the scenario, and stops it whatever happens, and the "prime, then wait for a hit" step. Cache scenarios always
 * use the uWS origin: it counts requests and bytes per path and paces large bodies (bench/origin.ts).
 */
import { missingToolLine } from '../lib/environment.js';
import { httpGet } from '../lib/http-probe.js';
import { sleep } from '../lib/processes.js';
import { summaryLine } from '../lib/results.js';
import { cacheOutcome, checkResponse } from '../lib/verify.js';
import { flintUnavailable, startFlint } from '../targets/flint.js';
import { startFloor } from '../targets/floor.js';
import { cacheServerBlock, startNginx } from '../targets/nginx.js';
import { startOrigin } from '../targets/origin.js';
import { VARNISH_THREAD_POOLS, startVarnish } from '../targets/varnish.js';
import type { ProbeResponse } from '../lib/http-probe.js';
import type { RunRecord } from '../lib/results.js';
import type { BenchOptions, PeerName, ScenarioResult } from '../lib/scenario.js';
import type { Expected } from '../lib/verify.js';
import type { FlintStorage } from '../targets/flint.js';
import type { NginxCacheOptions } from '../targets/nginx.js';
import type { RunningTarget } from '../targets/target.js';

/** How long a target's stop() waits after SIGTERM before SIGKILL (lib/processes.ts default, Flint's too). */
const STOP_GRACE_MS = 15_000;

/** Path every cache target must answer 200 on before it counts as started: the no-store object, never cached. */
const READY_PATH = '/1k';

/** One target of a cache scenario. `peer` is set for targets that are a peer's, not Flint's (or a floor's). */
export interface CacheTarget {
  readonly name: string;
  readonly workers: number;
  readonly peer?: PeerName;
  /** False for a target that never stores (floor-proxy): it is not expected to answer a hit. */
  readonly stores?: boolean;
  start(o: BenchOptions, originPort: number): Promise<RunningTarget>;
}

/**
 * Flint with `workers` workers, named flint-<n>w unless `name` is given; `storage` sets a quota or block size,
 * `vhostExtra` / `cacheExtra` add XML inside the vhost / `<Cache>`.
 */
export function flintTarget(workers: number, storage?: FlintStorage, name = `flint-${workers}w`, vhostExtra?: string, cacheExtra?: string): CacheTarget {
  return { name, workers, start: (o, port) => startFlint({ name, workers, originPort: port, readyPath: READY_PATH, cacheRoot: o.cacheRoot, storage, vhostExtra, cacheExtra }) };
}

/**
 * bench/floor-cache.ts: `floor-lmdb` (uWS + undici + a shared LMDB index, nothing else of a cache) with an index,
 * `floor-proxy` (uWS + undici) without. What a miss costs on Flint's stack before any of Flint's own work.
 */
export function floorTarget(name: string, withIndex: boolean): CacheTarget {
  return {
    name,
    workers: 1,
    stores: withIndex,
    start: (o, port) => startFloor({ name, originPort: port, readyPath: READY_PATH, indexRoot: withIndex ? o.cacheRoot : null }),
  };
}

/**
 * bench/floor-hit.ts: `floor-hit-mem` (bare uWS writing the body from memory) or, with `fromFile`, `floor-hit-file`
 * (reading it in 1 MiB pieces from a file under the cache root). What a large hit costs on Flint's stack.
 */
export function floorHitTarget(name: string, fromFile: boolean, nodeFlags: readonly string[] = []): CacheTarget {
  return {
    name,
    workers: 1,
    start: (o, port) => startFloor({ name, originPort: port, readyPath: READY_PATH, indexRoot: fromFile ? o.cacheRoot : null, kind: 'hit', nodeFlags }),
  };
}

/** nginx proxy_cache with `workers` worker_processes (lib/targets/nginx.ts cacheServerBlock). */
export function nginxCacheTarget(name: string, workers: number, cache: NginxCacheOptions): CacheTarget {
  return {
    name,
    workers,
    peer: 'nginx',
    start: (o, port) => {
      if (o.tools.nginx === null) throw new Error('unreachable: nginx checked before start');
      return startNginx(o.tools.nginx, { name, workers, serverBlock: cacheServerBlock(port, cache), readyPath: READY_PATH, cacheRoot: o.cacheRoot });
    },
  };
}

/** Varnish with malloc storage (`storageMiB`, default 2048) and its default thread pools. */
export function varnishTarget(name = 'varnish', storageMiB?: number): CacheTarget {
  return {
    name,
    workers: VARNISH_THREAD_POOLS,
    peer: 'varnish',
    start: (o, port) => {
      if (o.tools.varnish === null) throw new Error('unreachable: varnishd checked before start');
      return startVarnish(o.tools.varnish, { name, originPort: port, readyPath: READY_PATH, storageMiB });
    },
  };
}

/**
 * The targets of the hit and miss scenarios, in run order: each peer before the Flint with the same worker count.
 * nginx has `proxy_cache_lock on` here because Flint collapses concurrent misses too.
 */
export const STANDARD_TARGETS: readonly CacheTarget[] = [
  nginxCacheTarget('nginx-cache', 1, { lock: true, slice: false }),
  flintTarget(1),
  nginxCacheTarget('nginx-cache-2w', 2, { lock: true, slice: false }),
  flintTarget(2),
  varnishTarget(),
];

/** Why a target will not run, or null. */
function skipReason(t: CacheTarget, o: BenchOptions): string | null {
  if (t.peer === 'nginx' && o.tools.nginx === null) return missingToolLine('nginx', t.name);
  if (t.peer === 'varnish' && o.tools.varnish === null) return missingToolLine('varnish', t.name);
  if (t.peer === undefined) {
    const why = flintUnavailable();
    if (why !== null) return `skip ${t.name}: ${why}`;
  }
  return null;
}

/** What a scenario does with one started target; returns its records (one per round). */
export type PerTarget = (target: RunningTarget, origin: RunningTarget, plan: CacheTarget) => Promise<RunRecord[]>;

/**
 * Run `perTarget` for every target of `targets` the options allow (--targets, --peers), one at a time, on one uWS
 * origin. A target that fails to start or throws gets a 'failed' row; Flint targets get their /stats totals
 * (origin requests, cache results) attached to their rows. The origin is stopped last, whatever fails.
 */
export async function runCacheScenario(
  name: string,
  targets: readonly CacheTarget[],
  o: BenchOptions,
  log: (line: string) => void,
  perTarget: PerTarget,
  table: 'wrk' | 'figures' = 'wrk',
): Promise<ScenarioResult> {
  const runs: RunRecord[] = [];
  const skipped: string[] = [];
  const record = (r: RunRecord): void => {
    runs.push(r);
    log(`  ${summaryLine(r)}`);
  };
  if (o.originKind !== 'uws') skipped.push(`note ${name}: cache scenarios always use the uWS origin (it counts origin traffic per path); --origin ${o.originKind} applies to pass-1k only`);
  const plan = targets.filter((t) => (o.targets === null || o.targets.has(t.name)) && (t.peer === undefined || o.peers.has(t.peer)));
  if (o.reverse) plan.reverse();
  let origin: RunningTarget;
  try {
    origin = await startOrigin('uws', null);
  } catch (err) {
    for (const t of plan) record({ scenario: name, target: t.name, workers: t.workers, round: 1, status: 'failed', note: `origin: ${(err as Error).message}`, table });
    return { runs, skipped, originConfigs: null };
  }
  log(`  origin (uws) on ${origin.baseUrl}, pid ${origin.pid}`);
  const originPort = Number(new URL(origin.baseUrl).port);
  try {
    for (const t of plan) {
      const why = skipReason(t, o);
      if (why !== null) {
        record({ scenario: name, target: t.name, workers: t.workers, round: 1, status: 'skipped', note: why, table });
        continue;
      }
      const began = Date.now();
      let target: RunningTarget | null = null;
      let rows: RunRecord[];
      try {
        target = await t.start(o, originPort);
        log(`  ${t.name} on ${target.baseUrl}, pid ${target.pid}`);
        rows = await perTarget(target, origin, t);
        const stats = await flintStats(target);
        if (stats !== null) rows = rows.map((r) => ({ ...r, extra: { ...r.extra, flintStats: stats } }));
      } catch (err) {
        rows = [{ scenario: name, target: t.name, workers: t.workers, round: 1, status: 'failed', note: (err as Error).message, table, ...(target === null ? {} : { configs: target.configs }) }];
      }
      // Stopped before its rows are recorded, so a target that does not exit on SIGTERM says so in its rows.
      const stopBegan = Date.now();
      await target?.stop();
      const stopMs = Date.now() - stopBegan;
      const slowStop = stopMs >= STOP_GRACE_MS - 500 ? `did not exit within ${STOP_GRACE_MS / 1000} s of SIGTERM (SIGKILLed)` : '';
      for (const r of rows) record({ ...r, note: [r.note, slowStop].filter((x) => x !== '').join('; '), extra: { ...r.extra, stopMs } });
      log(`  ${t.name}: ${((Date.now() - began) / 1000).toFixed(1)} s including start and stop (stop ${stopMs} ms)`);
      await sleep(500); // a gap so the next run does not overlap the previous target's socket teardown
    }
  } finally {
    await origin.stop();
  }
  return { runs, skipped, originConfigs: origin.configs };
}

/** Flint's /stats totals that matter to a cache scenario, or null for other targets (or when /stats fails). */
async function flintStats(target: RunningTarget): Promise<Record<string, unknown> | null> {
  if (target.statsUrl === undefined) return null;
  try {
    const r = await httpGet(target.statsUrl, 5_000);
    const parsed = JSON.parse(r.body.toString('utf8')) as { totals?: Record<string, unknown>; cache?: unknown };
    const t = parsed.totals ?? {};
    return { originRequests: t['originRequests'], originInBytes: t['originInBytes'], originErrors: t['originErrors'], cacheResults: t['cacheResults'], aborted: t['aborted'], cache: parsed.cache };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * GET `url` until a response is a hit that passes `expect`, for at most `deadlineMs`: the first GET fills the
 * cache, later ones wait for the store to finish (nginx renames the file into place at the end of the fill; Flint
 * and Varnish may finish storing just after the response). Throws with the last response's problems.
 */
export async function primeUntilHit(url: string, expect: Expected, deadlineMs = 30_000): Promise<ProbeResponse> {
  const end = Date.now() + deadlineMs;
  let last = 'no response';
  for (let attempt = 1; Date.now() < end; attempt++) {
    const r = await httpGet(url, 10_000);
    const problems = checkResponse(r, { ...expect, cache: 'any' });
    if (problems.length > 0) throw new Error(`GET ${new URL(url).pathname} #${attempt}: ${problems.join('; ')}; headers ${headerLine(r)}`);
    if (cacheOutcome(r) === 'hit') return r;
    last = headerLine(r);
    await sleep(attempt === 1 ? 50 : 200);
  }
  throw new Error(`GET ${new URL(url).pathname} never became a cache hit within ${deadlineMs} ms (last headers: ${last})`);
}

/** The cache-related headers of a response, for failure notes. */
export function headerLine(r: ProbeResponse): string {
  return ['cache-status', 'x-cache', 'x-cache-status', 'x-varnish', 'age', 'content-length', 'content-range']
    .filter((h) => r.headers[h] !== undefined)
    .map((h) => `${h}: ${String(r.headers[h])}`)
    .join('; ');
}
