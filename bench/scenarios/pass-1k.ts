/**
 * @module bench/scenarios/pass-1k
 * Scenario `pass-1k` (for the "Edge core" issue): proxied pass-through, never cached, 1 KiB GETs. One origin
 * (Cache-Control: no-store) for all targets; each target in turn: origin direct (the ceiling), nginx proxy_pass
 * without cache with 1 and 2 workers, Flint with 1 and 2 workers, then floor-proxy (targets/floor.ts: uWS + undici and nothing
 * else, the least a pass-through costs on Flint's stack). Targets run one at a time; each is stopped
 * before the next starts, and the origin is stopped last, whatever fails.
 */
import { missingToolLine } from '../lib/environment.js';
import { measureTarget } from '../lib/measure.js';
import { sleep } from '../lib/processes.js';
import { flintUnavailable, startFlint } from '../targets/flint.js';
import { startFloor } from '../targets/floor.js';
import { passServerBlock, startNginx } from '../targets/nginx.js';
import { startOrigin } from '../targets/origin.js';
import { summaryLine } from '../lib/results.js';
import type { RunRecord } from '../lib/results.js';
import type { BenchOptions, PeerName, Scenario, ScenarioResult } from '../lib/scenario.js';
import type { Expected } from '../lib/verify.js';
import type { RunningTarget } from '../targets/target.js';

const NAME = 'pass-1k';
const PATH = '/1k';
const EXPECT: Expected = { status: 200, bodyBytes: 1024, cache: 'pass' };

/** The targets of this scenario, in run order. `peer` is set for targets that are a peer's, not Flint's. */
interface TargetPlan {
  readonly name: string;
  readonly workers: number;
  readonly peer?: PeerName;
  /** null = measure the origin itself. */
  readonly start: ((opts: BenchOptions, originPort: number) => Promise<RunningTarget>) | null;
}

const PLAN: readonly TargetPlan[] = [
  { name: 'origin', workers: 1, start: null },
  { name: 'nginx-pass', workers: 1, peer: 'nginx', start: (o, port) => nginxPass(o, 'nginx-pass', 1, port) },
  { name: 'flint-1w', workers: 1, start: (_o, port) => startFlint({ name: 'flint-1w', workers: 1, originPort: port, readyPath: PATH }) },
  { name: 'nginx-pass-2w', workers: 2, peer: 'nginx', start: (o, port) => nginxPass(o, 'nginx-pass-2w', 2, port) },
  { name: 'flint-2w', workers: 2, start: (_o, port) => startFlint({ name: 'flint-2w', workers: 2, originPort: port, readyPath: PATH }) },
  // The least a pass-through costs on Flint's stack (uWS + an undici Pool, nothing else): the issue-23 bar is relative to it.
  { name: 'floor-proxy', workers: 1, start: (_o, port) => startFloor({ name: 'floor-proxy', originPort: port, readyPath: PATH, indexRoot: null }) },
];

function nginxPass(o: BenchOptions, name: string, workers: number, originPort: number): Promise<RunningTarget> {
  if (o.tools.nginx === null) throw new Error('unreachable: nginx checked before start');
  return startNginx(o.tools.nginx, { name, workers, serverBlock: passServerBlock(originPort), readyPath: PATH });
}

/** Why a planned target will not run, or null. Peers not asked for are dropped silently (no row). */
function skipReason(t: TargetPlan, o: BenchOptions): string | null {
  if (t.peer === 'nginx' && o.tools.nginx === null) return missingToolLine('nginx', t.name);
  if (t.name.startsWith('flint')) {
    const why = flintUnavailable();
    if (why !== null) return `skip ${t.name}: ${why}`;
  }
  return null;
}

export const pass1k: Scenario = {
  name: NAME,
  summary: 'proxied pass-through (not cached) 1 KiB GETs: origin direct, nginx proxy_pass (1w, 2w), Flint (1w, 2w)',
  async run(o, log): Promise<ScenarioResult> {
    const runs: RunRecord[] = [];
    const skipped: string[] = [];
    const record = (r: RunRecord): void => {
      runs.push(r);
      log(`  ${summaryLine(r)}`);
    };
    if (o.peers.has('varnish')) skipped.push(`skip varnish in ${NAME}: no Varnish target in this scenario (Varnish is compared in the cache scenarios)`);
    const plan = PLAN.filter((t) => (o.targets === null || o.targets.has(t.name)) && (t.peer === undefined || o.peers.has(t.peer)));
    if (o.reverse) plan.reverse();
    if (o.tools.wrk === null) {
      skipped.push(missingToolLine('wrk', NAME));
      return { runs, skipped, originConfigs: null };
    }
    const wrkBin = o.tools.wrk;

    let origin: RunningTarget;
    try {
      origin = await startOrigin(o.originKind, o.tools.nginx);
    } catch (err) {
      for (const t of plan) record({ scenario: NAME, target: t.name, workers: t.workers, round: 1, status: 'failed', note: `origin: ${(err as Error).message}` });
      return { runs, skipped, originConfigs: null };
    }
    log(`  origin (${o.originKind}) on ${origin.baseUrl}, pid ${origin.pid}`);
    const originPort = Number(new URL(origin.baseUrl).port);
    try {
      for (const t of plan) {
        const why = skipReason(t, o);
        if (why !== null) {
          record({ scenario: NAME, target: t.name, workers: t.workers, round: 1, status: 'skipped', note: why });
          continue;
        }
        if (t.start === null) {
          for (let round = 1; round <= o.repeat; round++) {
            record(await measureTarget({ scenario: NAME, target: origin, origin, path: PATH, expect: EXPECT, opts: o, wrkBin, round }));
          }
          continue;
        }
        let target: RunningTarget | null = null;
        try {
          target = await t.start(o, originPort);
          log(`  ${t.name} on ${target.baseUrl}, pid ${target.pid}`);
          for (let round = 1; round <= o.repeat; round++) {
            record(await measureTarget({ scenario: NAME, target, origin, path: PATH, expect: EXPECT, opts: o, wrkBin, round }));
          }
        } catch (err) {
          record({ scenario: NAME, target: t.name, workers: t.workers, round: 1, status: 'failed', note: (err as Error).message });
        } finally {
          await target?.stop();
        }
        await sleep(500); // a gap so the next run does not overlap the previous target's socket teardown
      }
    } finally {
      await origin.stop();
    }
    return { runs, skipped, originConfigs: origin.configs };
  },
};
