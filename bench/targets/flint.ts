/**
 * @module bench/targets/flint
 * Start and stop one Flint (the real primary and its workers) the way an operator would: a temp dir with
 * conf/server.xml and conf/vhosts.xml, `node dist/src/main.js start --conf TMP/conf` from the repo root, ready when
 * the manager's GET /health answers 200 and the vhost answers the scenario's path. Runs in the bench process.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from '../lib/environment.js';
import { httpGet, waitFor200 } from '../lib/http-probe.js';
import { BENCH_HOST, freePort } from '../lib/ports.js';
import { commandLine, spawnTracked, stopTracked } from '../lib/processes.js';
import { makeTempDir, removeTempDir } from './target.js';
import type { RunningTarget } from './target.js';

/** The compiled Flint entry point: this checkout's dist/, or another build's (`--flint-dist`, setFlintDist). */
let FLINT_MAIN = join(REPO_ROOT, 'dist/src/main.js');

/**
 * Bench the Flint built in `distDir` (another checkout's dist/, e.g. an older commit's, with that checkout's own
 * node_modules: Node resolves a package from the importing file's directory, so the old build loads its own uWS).
 * The bench harness, origin and peers stay this checkout's, so only Flint differs between two runs.
 */
export function setFlintDist(distDir: string): void {
  FLINT_MAIN = join(resolve(distDir), 'src/main.js');
}

/** The entry point Flint targets run, and the checkout it belongs to (the dir above dist/). */
export function flintBuild(): { main: string; root: string } {
  return { main: FLINT_MAIN, root: dirname(dirname(dirname(FLINT_MAIN))) };
}

/** Why Flint cannot be benched right now, or null when its entry point exists. */
export function flintUnavailable(): string | null {
  return existsSync(FLINT_MAIN) ? null : `${FLINT_MAIN} not found (Flint not built yet: npm run build)`;
}

/** What one Flint target needs. */
export interface FlintSpec {
  readonly name: string;
  readonly workers: number;
  readonly originPort: number;
  /** Path that must answer 200 through Flint before the target counts as started. */
  readonly readyPath: string;
  /** Parent dir of the cache storage (a fresh dir under it, removed on stop); default inside the temp dir. */
  readonly cacheRoot?: string;
  /** Storage settings beyond the defaults (the zipf scenario's capacity). */
  readonly storage?: FlintStorage;
  /** Extra XML inside the bench `<Vhost>` (the hit-1k-rules scenario's rule lists). */
  readonly vhostExtra?: string;
  /** Extra XML inside `<Cache>` (the hit scenarios' `<ParallelGc>ON` twin). */
  readonly cacheExtra?: string;
  /** Also serve the vhost over TLS (HTTP/2 and HTTP/1.x, node:http2) on this port; the target's baseUrl is then https. */
  readonly https?: FlintHttps;
}

/** The vhost's `<Https>`: port and PEM files. */
export interface FlintHttps {
  readonly port: number;
  readonly cert: string;
  readonly key: string;
  /** `<Https Engine>`: node (default) or uws (HTTP/1.1 only, uWS's SSLApp). */
  readonly engine?: 'node' | 'uws';
}

/**
 * `<Disk Quota>`, `<BlockSize>` and `<InlineMaxSize>`, as Flint's XML sizes ('504M', '64K'), `<HighWater>` /
 * `<LowWater>` in % of the quota, and `<Eviction Policy>`; unset = Flint's default (no quota, 1M, 1K, 97/95, s3fifo).
 */
export interface FlintStorage {
  readonly quota?: string;
  readonly blockSize?: string;
  readonly inlineMax?: string;
  readonly water?: { readonly high: number; readonly low: number };
  readonly policy?: 'lru' | 's3fifo' | 'sieve' | 'wtinylfu';
}

/** server.xml for the bench: manager on loopback, N workers, no pinning, cache in `cacheDir`, no access log. */
export function flintServerXml(managerPort: number, workers: number, cacheDir: string, storage: FlintStorage = {}, cacheExtra = ''): string {
  const quota = storage.quota === undefined ? '' : ` Quota="${storage.quota}"`;
  const blockSize = storage.blockSize === undefined ? '' : `\n    <BlockSize>${storage.blockSize}</BlockSize>`;
  const inlineMax = storage.inlineMax === undefined ? '' : `<InlineMaxSize>${storage.inlineMax}</InlineMaxSize>`;
  const water = storage.water === undefined ? '' : `<HighWater>${storage.water.high}</HighWater><LowWater>${storage.water.low}</LowWater>`;
  const policy = storage.policy === undefined ? '' : `<Eviction Policy="${storage.policy}"/>`;
  return `<Server>
  <Host><Manager Port="${managerPort}"><Allow>127.0.0.1</Allow></Manager></Host>
  <Cache>
    <Workers>${workers}</Workers>
    <CpuAffinity>OFF</CpuAffinity>
    <Storage><Disk${quota}>${cacheDir}</Disk>${inlineMax}${water}${policy}</Storage>${blockSize}${cacheExtra === '' ? '' : `\n    ${cacheExtra}`}
  </Cache>
  <VHostDefault><Log><Access>OFF</Access></Log></VHostDefault>
</Server>
`;
}

/** vhosts.xml: one default vhost on the service port (and `https` port), proxying to the bench origin. */
export function flintVhostsXml(servicePort: number, originPort: number, vhostExtra = '', https?: FlintHttps): string {
  const tls = https === undefined ? '' : `\n    <Https Listen="${BENCH_HOST}:${https.port}"${https.engine === 'uws' ? ' Engine="uws"' : ''}><Cert>${https.cert}</Cert><Key>${https.key}</Key></Https>`;
  return `<Vhosts>
  <Vhost Name="bench.local">
    <Listen>${BENCH_HOST}:${servicePort}</Listen>${tls}
    <Origin><Address>${BENCH_HOST}:${originPort}</Address></Origin>${vhostExtra === '' ? '' : `\n${vhostExtra}`}
  </Vhost>
  <Default>bench.local</Default>
</Vhosts>
`;
}

/** Start Flint; throws with the tail of its output if it exits or is not ready within 30 s. */
export async function startFlint(spec: FlintSpec): Promise<RunningTarget> {
  const tmp = makeTempDir(spec.name);
  const conf = join(tmp, 'conf');
  mkdirSync(conf);
  const cacheDir = spec.cacheRoot === undefined ? join(tmp, 'cache') : makeTempDir(`${spec.name}-cache`, spec.cacheRoot);
  if (spec.cacheRoot === undefined) mkdirSync(cacheDir);
  const managerPort = await freePort();
  const servicePort = await freePort();
  const serverXml = flintServerXml(managerPort, spec.workers, cacheDir, spec.storage, spec.cacheExtra);
  const vhostsXml = flintVhostsXml(servicePort, spec.originPort, spec.vhostExtra, spec.https);
  writeFileSync(join(conf, 'server.xml'), serverXml);
  writeFileSync(join(conf, 'vhosts.xml'), vhostsXml);
  const args = [FLINT_MAIN, 'start', '--conf', conf];
  const proc = await spawnTracked(spec.name, process.execPath, args, { cwd: flintBuild().root });
  let stopped = false;
  const target: RunningTarget = {
    name: spec.name,
    workers: spec.workers,
    pid: proc.pid,
    baseUrl: spec.https === undefined ? `http://${BENCH_HOST}:${servicePort}` : `https://${BENCH_HOST}:${spec.https.port}`,
    statsUrl: `http://${BENCH_HOST}:${managerPort}/stats`,
    configs: { 'server.xml': serverXml, 'vhosts.xml': vhostsXml, argv: commandLine(process.execPath, args) },
    storedBytes: async () => {
      const stats = JSON.parse((await httpGet(`http://${BENCH_HOST}:${managerPort}/stats`, 5_000)).body.toString('utf8')) as { cache: { disks: { usedBytes: number }[] } };
      return stats.cache.disks.reduce((sum, d) => sum + d.usedBytes, 0);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopTracked(proc, 15_000); // SIGTERM: Flint drains, then exits; SIGKILL after 15 s.
      removeTempDir(tmp);
      if (spec.cacheRoot !== undefined) removeTempDir(cacheDir);
    },
  };
  try {
    const alive = (): boolean => !proc.hasExited();
    await waitFor200(`http://${BENCH_HOST}:${managerPort}/health`, 30_000, alive);
    await waitFor200(`http://${BENCH_HOST}:${servicePort}${spec.readyPath}`, 10_000, alive);
    if (spec.https !== undefined) await waitFor200(`${target.baseUrl}${spec.readyPath}`, 10_000, alive);
  } catch (err) {
    const log = proc.output().trim();
    await target.stop();
    throw new Error(`${spec.name} did not start: ${(err as Error).message}${log === '' ? '' : `\n${lastLines(log, 15)}`}`);
  }
  return target;
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}
