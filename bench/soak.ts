/**
 * @module bench/soak
 * A chaos soak of one Flint, not a comparison with peers and not a test: Flint (N workers, a small quota) in front of
 * the bench origin, under mixed load for --duration seconds, while every 5 s the run purges, expires and hard-purges
 * URLs, every 15 s reloads the config (SIGHUP to the primary) and every 25 s SIGKILLs a worker. It checks what must
 * hold however long Flint runs:
 *   - every body the checking clients read is the origin's bytes (random ranges of 64 MiB objects, 20 concurrent
 *     GETs of 1 MiB objects); a connection cut (a killed worker, a block reused under a full quota) is counted
 *     apart, and is never a wrong byte;
 *   - workers restart exactly as often as they were killed;
 *   - the fill table and the bytes counted against the quota stay bounded, and worker memory (RSS) is sampled
 *     every 5 s, so growth shows (they are reported, not judged).
 * Load: wrk -c20 over 64 KiB objects (3,000 URLs), 1 KiB ones (100,000) and 1 MiB ones (150), plus the checking
 * clients (bench/clients/http-client.js). Everything on 127.0.0.1; every process is stopped by pid at the end.
 *   npm run build && node dist/bench/soak.js [--duration 120] [--workers 2] [--quota 400M] [--cache-root DIR]
 * Exit code 1 when a body was wrong or a worker restarted without being killed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, findOnPath } from './lib/environment.js';
import { httpGet } from './lib/http-probe.js';
import { sleep, spawnTracked, stopAll } from './lib/processes.js';
import { runWrk } from './lib/wrk.js';
import type { ClientReport } from './clients/http-client.js';
import { startFlint } from './targets/flint.js';
import { startOrigin } from './targets/origin.js';
import { defaultCacheRoot, makeTempDir } from './targets/target.js';

const CLIENT_JS = join(REPO_ROOT, 'dist/bench/clients/http-client.js');
const MiB = 1024 * 1024;
const CHAOS_EVERY_S = 5;
const RELOAD_EVERY_S = 15;
const KILL_EVERY_S = 25;

/** wrk Lua: 60% 64 KiB objects of 3,000 URLs, 30% 1 KiB of 100,000, 10% 1 MiB of 150 (hits, misses, evictions). */
const MIX_LUA = `-- Written by bench/soak.ts.
math.randomseed(os.time())
function request()
  local r = math.random(100)
  if r <= 60 then return wrk.format("GET", "/c/64k/s/" .. math.random(1, 3000)) end
  if r <= 90 then return wrk.format("GET", "/c/1k/s/" .. math.random(1, 100000)) end
  return wrk.format("GET", "/c/1m/s/" .. math.random(1, 150))
end
`;

interface StatsBody {
  readonly workers: ReadonlyArray<{ readonly pid: number | null; readonly restarts: number }>;
  readonly cache: { readonly disks: ReadonlyArray<{ readonly objects: number; readonly usedBytes: number; readonly fillRecords: number; readonly evictedObjects: number }> };
}

/** Tally of the checking clients' requests: ok, cut (connection ended early) and wrong (status, length or bytes). */
interface Tally {
  requests: number;
  ok: number;
  cut: number;
  wrong: string[];
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Math.round(Number(m[1]) / 1024);
  } catch {
    return 0;
  }
}

/** Runs the checking client `args` again and again until `until` (ms since epoch), adding its requests to `tally`. */
async function checkingClient(name: string, args: (round: number) => string[], until: number, tally: Tally): Promise<void> {
  for (let round = 1; Date.now() < until; round++) {
    const proc = await spawnTracked(name, process.execPath, [CLIENT_JS, ...args(round)], { captureStdout: true });
    await proc.exited;
    const report = JSON.parse(proc.stdout()) as ClientReport;
    for (const r of report.requests) {
      tally.requests++;
      if (r.ok) tally.ok++;
      // The client reads each body as it streams: a cut shows as a short body or a socket error, never with bytes
      // that differ from the origin's (those are 'wrong bytes at body offset N'). A connect reset is a connection the
      // kernel had queued on a worker's listen socket when that worker was killed.
      else if (/^(body \d+ bytes|connection closed|socket hang up|(read|connect) ECONNRESET|aborted)/.test(r.problem ?? '')) tally.cut++;
      else tally.wrong.push(`${report.url} ${r.range ?? ''}: ${r.problem ?? '?'}`);
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '120' },
      workers: { type: 'string', default: '2' },
      quota: { type: 'string', default: '400M' },
      'cache-root': { type: 'string' },
    },
  });
  const durationS = Number(values.duration);
  const workers = Number(values.workers);
  if (!(durationS >= 10) || !(workers >= 1)) throw new Error('usage: soak.js [--duration S>=10] [--workers N] [--quota SIZE] [--cache-root DIR]');
  const wrkBin = findOnPath('wrk');
  if (wrkBin === null) throw new Error('wrk is required: apt-get install -y wrk');

  const origin = await startOrigin('uws', null);
  const flint = await startFlint({
    name: 'soak',
    workers,
    originPort: Number(new URL(origin.baseUrl).port),
    readyPath: '/c/1k/ready',
    cacheRoot: values['cache-root'] ?? defaultCacheRoot(),
    storage: { quota: values.quota },
  });
  const manager = (flint.statsUrl as string).replace(/\/stats$/, '');
  const stats = async (): Promise<StatsBody> => JSON.parse((await httpGet(`${manager}/stats`, 5_000)).body.toString('utf8')) as StatsBody;
  const lua = join(makeTempDir('soak-lua'), 'mix.lua');
  writeFileSync(lua, MIX_LUA);
  console.log(`soak: Flint ${workers}w, quota ${values.quota}, ${durationS} s; origin ${origin.baseUrl}, Flint ${flint.baseUrl}`);

  const until = Date.now() + durationS * 1000;
  const tally: Tally = { requests: 0, ok: 0, cut: 0, wrong: [] };
  const load = Promise.all([
    runWrk({ url: `${flint.baseUrl}/`, threads: 1, connections: 20, durationS, script: lua }, wrkBin),
    checkingClient('ranges', (n) => ['ranges', '--url', `${flint.baseUrl}/c/64m/r/${n % 6}`, '--count', '150', '--size', String(64 * MiB), '--seed', String(n), '--concurrency', '3', '--deadline-ms', '60000'], until, tally),
    checkingClient('concurrent', (n) => ['concurrent', '--url', `${flint.baseUrl}/c/1m/k/${n % 10}`, '--count', '20', '--size', String(MiB), '--deadline-ms', '60000'], until, tally),
  ]);

  let kills = 0;
  const peaks = { fillRecords: 0, usedBytes: 0 };
  console.log('| s | objects | used MiB | fill records | evicted | worker RSS MiB |');
  console.log('|---:|---:|---:|---:|---:|---|');
  for (let t = CHAOS_EVERY_S; Date.now() < until - 1000; t += CHAOS_EVERY_S) {
    await sleep(CHAOS_EVERY_S * 1000);
    const host = 'bench.local';
    // State-changing management calls are POSTs (Flint refuses GET for them without a token).
    const command = async (path: string): Promise<void> => void (await (await fetch(`${manager}${path}`, { method: 'POST', signal: AbortSignal.timeout(10_000) })).arrayBuffer());
    await command(`/command/purge?url=${host}/c/64m/r/${t % 6}`);
    await command(`/command/hardpurge?url=${host}/c/1m/k/*`);
    await command(`/command/expire?url=${host}/c/64k/s/1*`);
    if (t % RELOAD_EVERY_S === 0) process.kill(flint.pid, 'SIGHUP');
    const s = await stats();
    const pids = s.workers.map((w) => w.pid).filter((pid): pid is number => pid !== null);
    const rss = pids.map(rssMiB).join(', ');
    if (t % KILL_EVERY_S === 0 && pids[0] !== undefined) {
      process.kill(pids[0], 'SIGKILL'); // a worker of the Flint this run started
      kills++;
    }
    const disk = s.cache.disks[0];
    if (disk === undefined) throw new Error('/stats has no disk');
    peaks.fillRecords = Math.max(peaks.fillRecords, disk.fillRecords);
    peaks.usedBytes = Math.max(peaks.usedBytes, disk.usedBytes);
    console.log(`| ${t} | ${disk.objects} | ${(disk.usedBytes / MiB).toFixed(1)} | ${disk.fillRecords} | ${disk.evictedObjects} | ${rss} |`);
  }
  const [wrk] = await load;
  const restarts = (await stats()).workers.reduce((sum, w) => sum + w.restarts, 0);
  await flint.stop();
  await origin.stop();

  const e = wrk.report.errors;
  console.log(`\nwrk: ${wrk.report.requests} requests, ${wrk.report.requestsPerSec} req/s, errors: ${e.connect} connect, ${e.read} read, ${e.write} write, ${e.timeout} timeout, ${e.non2xx3xx} non-2xx/3xx`);
  console.log(`checking clients: ${tally.requests} requests, ${tally.ok} ok, ${tally.cut} cut, ${tally.wrong.length} wrong`);
  console.log(`peaks: ${peaks.fillRecords} fill records, ${(peaks.usedBytes / MiB).toFixed(1)} MiB counted against the quota`);
  console.log(`workers killed ${kills}, restarted ${restarts}`);
  const problems = [...tally.wrong.slice(0, 10).map((w) => `wrong body: ${w}`), ...(restarts === kills ? [] : [`${restarts} restarts for ${kills} kills`])];
  for (const p of problems) console.log(`PROBLEM ${p}`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch(async (err: unknown) => {
  console.error(`soak: ${(err as Error).message}`);
  await stopAll();
  process.exit(1);
});
