/**
 * @module bench/targets/varnish
 * Start and stop one Varnish (varnishd, malloc storage) as a foreground child with its own working dir (-n),
 * VCL and no management port, all inside a temp dir: `varnishd -F -j none -n TMP/work -a 127.0.0.1:PORT -T none
 * -f TMP/default.vcl -s malloc,SIZE`. The root pid is the manager; the cache child is its descendant, so the
 * tree's CPU is Varnish's. Never touches /etc/varnish or /var/lib/varnish. Runs in the bench process.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor200 } from '../lib/http-probe.js';
import { BENCH_HOST, freePort } from '../lib/ports.js';
import { commandLine, spawnTracked, stopTracked } from '../lib/processes.js';
import { makeTempDir, removeTempDir } from './target.js';
import type { RunningTarget } from './target.js';

/**
 * Varnish's default `thread_pools` (2, each with thread_pool_min 100 .. thread_pool_max 5000 threads). The bench
 * keeps the default, which is also the worker count of the 2-worker Flint and nginx targets; the row shows it.
 */
export const VARNISH_THREAD_POOLS = 2;

/** What one Varnish target needs. */
export interface VarnishSpec {
  readonly name: string;
  readonly originPort: number;
  /** Path polled until it answers 200 before the target counts as started. */
  readonly readyPath: string;
  /** malloc storage size in MiB (default 2048: room for the 256 MiB object and a miss run's small objects). */
  readonly storageMiB?: number;
}

/**
 * The VCL: the bench origin as the only backend, and everything else Varnish's built-in VCL (freshness from the
 * origin's Cache-Control, streaming delivery, request coalescing on the waiting list). The only addition is an
 * X-Cache header from obj.hits, so a hit is visible without parsing X-Varnish.
 */
export function varnishVcl(originPort: number): string {
  return `vcl 4.1;
# Written by bench/targets/varnish.ts for one bench run; the rest is the built-in VCL.

backend origin {
    .host = "${BENCH_HOST}";
    .port = "${originPort}";
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
`;
}

/** Start varnishd; resolves once `readyPath` answers 200 through it; throws with its output otherwise. */
export async function startVarnish(varnishd: string, spec: VarnishSpec): Promise<RunningTarget> {
  const tmp = makeTempDir(spec.name);
  const work = join(tmp, 'work');
  mkdirSync(work);
  const port = await freePort();
  const vcl = varnishVcl(spec.originPort);
  writeFileSync(join(tmp, 'default.vcl'), vcl);
  // -j none: run as the invoking user. The default jail (when root) switches to the varnish users, which cannot
  // read the 0700 temp dir. -T none: no management CLI port is opened.
  const args = ['-F', '-j', 'none', '-n', work, '-a', `${BENCH_HOST}:${port}`, '-T', 'none', '-f', join(tmp, 'default.vcl'), '-s', `malloc,${spec.storageMiB ?? 2048}m`];
  const proc = await spawnTracked(spec.name, varnishd, args);
  let stopped = false;
  const target: RunningTarget = {
    name: spec.name,
    workers: VARNISH_THREAD_POOLS,
    pid: proc.pid,
    baseUrl: `http://${BENCH_HOST}:${port}`,
    configs: { 'default.vcl': vcl, argv: commandLine(varnishd, args) },
    storedBytes: async () => {
      // varnishstat comes in the same package as varnishd, in /usr/bin (varnishd is in /usr/sbin).
      const { stdout } = await promisify(execFile)('varnishstat', ['-n', work, '-1', '-f', 'SMA.s0.g_bytes']);
      return Number.parseInt(stdout.trim().split(/\s+/)[1] ?? '', 10);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopTracked(proc); // SIGTERM: the manager stops the cache child, then exits.
      removeTempDir(tmp);
    },
  };
  try {
    await waitFor200(`${target.baseUrl}${spec.readyPath}`, 20_000, () => !proc.hasExited());
  } catch (err) {
    const log = proc.output().trim();
    await target.stop();
    throw new Error(`${spec.name} did not start: ${(err as Error).message}${log === '' ? '' : `\n${log}`}`);
  }
  return target;
}
