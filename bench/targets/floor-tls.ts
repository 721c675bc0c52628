/**
 * @module bench/targets/floor-tls
 * Start and stop bench/floor-tls.ts, one TLS engine answering a 1 KiB body from memory (`uws-ssl`, `node-h2`) or the
 * plain uWS reference (`uws-plain`). Ready when GET /1k answers 200 (over TLS for the TLS engines). Runs in the
 * bench process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/environment.js';
import { waitFor200 } from '../lib/http-probe.js';
import { BENCH_HOST, freePort } from '../lib/ports.js';
import { commandLine, spawnTracked, stopTracked } from '../lib/processes.js';
import type { BenchCert } from '../lib/tls.js';
import type { RunningTarget } from './target.js';

const FLOOR_JS = join(REPO_ROOT, 'dist/bench/floor-tls.js');
const FLOOR_TS = join(REPO_ROOT, 'bench/floor-tls.ts');

/** Start floor-tls with `engine`; throws with its output if it exits or is not ready within 10 s. */
export async function startTlsFloor(engine: 'uws-ssl' | 'node-h2' | 'node-h2-core' | 'uws-plain', cert: BenchCert): Promise<RunningTarget> {
  if (!existsSync(FLOOR_JS)) throw new Error(`${FLOOR_JS} not found: run npm run build first`);
  const port = await freePort();
  const tls = engine !== 'uws-plain';
  const args = [FLOOR_JS, '--engine', engine, '--port', String(port), ...(tls ? ['--cert', cert.cert, '--key', cert.key] : [])];
  const proc = await spawnTracked(engine, process.execPath, args, { cwd: REPO_ROOT });
  let stopped = false;
  const target: RunningTarget = {
    name: engine,
    workers: 1,
    pid: proc.pid,
    baseUrl: `${tls ? 'https' : 'http'}://${BENCH_HOST}:${port}`,
    configs: { argv: commandLine(process.execPath, args), certificate: cert.command, 'bench/floor-tls.ts': readFileSync(FLOOR_TS, 'utf8') },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopTracked(proc);
    },
  };
  try {
    await waitFor200(`${target.baseUrl}/1k`, 10_000, () => !proc.hasExited());
  } catch (err) {
    await target.stop();
    throw new Error(`${engine} did not start: ${(err as Error).message}\n${proc.output().trim()}`);
  }
  return target;
}
