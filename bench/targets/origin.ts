/**
 * @module bench/targets/origin
 * Start the origin every scenario proxies to: the uWS origin process (bench/origin.ts, default) or Debian's nginx
 * serving the same objects as static files. Both answer every object with `Cache-Control: no-store` and the
 * x-bench-origin marker. Which one is the default, and why, is measured in bench/README.md. Runs in the bench process.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/environment.js';
import { waitFor200 } from '../lib/http-probe.js';
import { ORIGIN_OBJECTS, objectBody } from '../lib/objects.js';
import { BENCH_HOST, freePort } from '../lib/ports.js';
import { commandLine, spawnTracked, stopTracked } from '../lib/processes.js';
import { startNginx, staticOriginServerBlock } from './nginx.js';
import { makeTempDir, removeTempDir } from './target.js';
import type { RunningTarget } from './target.js';

/** The origin implementations the bench can run. */
export const ORIGIN_KINDS = ['uws', 'nginx'] as const;
export type OriginKind = (typeof ORIGIN_KINDS)[number];

/** Path of the compiled uWS origin entry. */
const UWS_ORIGIN_JS = join(REPO_ROOT, 'dist/bench/origin.js');
const UWS_ORIGIN_TS = join(REPO_ROOT, 'bench/origin.ts');

/** Start the origin of `kind`; nginx needs its binary path. Resolves once GET /1k answers 200. */
export async function startOrigin(kind: OriginKind, nginxBin: string | null, name = 'origin'): Promise<RunningTarget> {
  if (kind === 'nginx') {
    if (nginxBin === null) throw new Error('origin kind nginx needs nginx (apt-get install nginx)');
    return startNginxOrigin(nginxBin, name);
  }
  return startUwsOrigin(name);
}

async function startUwsOrigin(name: string): Promise<RunningTarget> {
  if (!existsSync(UWS_ORIGIN_JS)) throw new Error(`${UWS_ORIGIN_JS} not found: run npm run build first`);
  const port = await freePort();
  const args = [UWS_ORIGIN_JS, '--port', String(port)];
  const proc = await spawnTracked(name, process.execPath, args, { cwd: REPO_ROOT });
  let stopped = false;
  const target: RunningTarget = {
    name,
    workers: 1,
    pid: proc.pid,
    baseUrl: `http://${BENCH_HOST}:${port}`,
    configs: { argv: commandLine(process.execPath, args), 'bench/origin.ts': readFileSync(UWS_ORIGIN_TS, 'utf8') },
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
    throw new Error(`uWS origin did not start: ${(err as Error).message}\n${proc.output().trim()}`);
  }
  return target;
}

/** nginx static origin with one worker (the uWS origin is one thread too); files live in their own temp dir. */
async function startNginxOrigin(nginxBin: string, name: string): Promise<RunningTarget> {
  const docroot = makeTempDir(`${name}-docroot`);
  mkdirSync(docroot, { recursive: true });
  for (const [path, size] of Object.entries(ORIGIN_OBJECTS)) writeFileSync(join(docroot, path), objectBody(size));
  try {
    const inner = await startNginx(nginxBin, { name, workers: 1, serverBlock: staticOriginServerBlock(docroot), readyPath: '/1k' });
    return {
      ...inner,
      stop: async () => {
        await inner.stop();
        removeTempDir(docroot);
      },
    };
  } catch (err) {
    removeTempDir(docroot);
    throw err;
  }
}
