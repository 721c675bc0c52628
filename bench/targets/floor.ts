/**
 * @module bench/targets/floor
 * Start and stop the floors Flint is read against: bench/floor-cache.ts for a miss (`floor-proxy`: uWS + undici,
 * no cache; `floor-lmdb`: the same plus a shared LMDB index, a lease and a store per miss) and bench/floor-hit.ts for
 * a large hit (`floor-hit-mem`: bare uWS writing a body from memory; `floor-hit-file`: reading it from a file in
 * 1 MiB pieces). Ready when the scenario's path answers 200. Runs in the bench process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/environment.js';
import { waitFor200 } from '../lib/http-probe.js';
import { BENCH_HOST, freePort } from '../lib/ports.js';
import { commandLine, spawnTracked, stopTracked } from '../lib/processes.js';
import { makeTempDir, removeTempDir } from './target.js';
import type { RunningTarget } from './target.js';

const FLOOR_JS = join(REPO_ROOT, 'dist/bench/floor-cache.js');
const FLOOR_TS = join(REPO_ROOT, 'bench/floor-cache.ts');
const FLOOR_HIT_JS = join(REPO_ROOT, 'dist/bench/floor-hit.js');
const FLOOR_HIT_TS = join(REPO_ROOT, 'bench/floor-hit.ts');

export interface FloorSpec {
  readonly name: string;
  readonly originPort: number;
  readonly readyPath: string;
  /** Parent dir of the index (a fresh dir under it, removed on stop); null: no cache at all. */
  readonly indexRoot: string | null;
  /** `hit`: bench/floor-hit.ts, with its bodies in files under a fresh dir of `indexRoot` (null: in memory). */
  readonly kind?: 'miss' | 'hit';
  /** Node flags before the script, e.g. Flint's workers' `--single-threaded-gc`. */
  readonly nodeFlags?: readonly string[];
}

/** Start floor-cache; throws with the tail of its output if it exits or is not ready within 10 s. */
export async function startFloor(spec: FloorSpec): Promise<RunningTarget> {
  const hit = spec.kind === 'hit';
  const js = hit ? FLOOR_HIT_JS : FLOOR_JS;
  if (!existsSync(js)) throw new Error(`${js} not found: run npm run build first`);
  const indexDir = spec.indexRoot === null ? null : makeTempDir(`${spec.name}-${hit ? 'bodies' : 'index'}`, spec.indexRoot);
  const port = await freePort();
  const args = [...(spec.nodeFlags ?? []), js, '--port', String(port), '--origin-port', String(spec.originPort), ...(indexDir === null ? [] : [hit ? '--dir' : '--index', indexDir])];
  const proc = await spawnTracked(spec.name, process.execPath, args, { cwd: REPO_ROOT });
  let stopped = false;
  const target: RunningTarget = {
    name: spec.name,
    workers: 1,
    pid: proc.pid,
    baseUrl: `http://${BENCH_HOST}:${port}`,
    configs: { argv: commandLine(process.execPath, args), ...(hit ? { 'bench/floor-hit.ts': readFileSync(FLOOR_HIT_TS, 'utf8') } : { 'bench/floor-cache.ts': readFileSync(FLOOR_TS, 'utf8') }) },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopTracked(proc);
      if (indexDir !== null) removeTempDir(indexDir);
    },
  };
  try {
    await waitFor200(`${target.baseUrl}${spec.readyPath}`, 10_000, () => !proc.hasExited());
  } catch (err) {
    await target.stop();
    throw new Error(`${spec.name} did not start: ${(err as Error).message}\n${proc.output().trim()}`);
  }
  return target;
}
