/**
 * @module bench/run
 * CLI of the bench suite (`npm run bench -- [options]`, i.e. `node dist/bench/run.js`): parse options, find the
 * tools, run the chosen scenarios one after another, print each result row, write bench/results/<date>-<commit>
 * .json and .md. Every process started on the way is stopped by pid before exit, also on Ctrl-C (lib/processes).
 * Load never runs from `npm test`; `--smoke` is the only mode meant to be cheap (about 3 s).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, findOnPath, machineInfo, missingToolLine, shortCommit, versions, worktreeDirty } from './lib/environment.js';
import { CLK_TCK } from './lib/cpu.js';
import { stopAll } from './lib/processes.js';
import { renderTables, writeResults } from './lib/results.js';
import { PEERS } from './lib/scenario.js';
import { SCENARIOS } from './scenarios/catalog.js';
import { runSmoke } from './smoke.js';
import { ORIGIN_KINDS } from './targets/origin.js';
import { defaultCacheRoot } from './targets/target.js';
import { flintBuild, setFlintDist } from './targets/flint.js';
import type { RunRecord, ResultFile } from './lib/results.js';
import type { BenchOptions, PeerName } from './lib/scenario.js';
import type { OriginKind } from './targets/origin.js';

const USAGE = `Usage: npm run bench -- [options]     (or: node dist/bench/run.js [options] after npm run build)

  --scenario NAME[,NAME]   scenarios to run (default: all): ${SCENARIOS.map((s) => s.name).join(', ')}
  --peers LIST             peers to compare with, comma-separated, or 'none' (default: ${PEERS.join(',')})
  --targets LIST           only these targets, e.g. origin,flint-1w (default: all of each scenario)
  --duration SECONDS       measured load per target (default 10)
  --warmup SECONDS         unrecorded load before each measured run (default 2; 0 = none)
  --connections N          wrk/autocannon connections (default 50; hit-64m uses at most 10, *-c200 always 200)
  --threads N              wrk threads (default 1)
  --repeat N               measure each target N times in a row, one row each (default 1)
  --rounds N               run the scenarios N times, every target started afresh each time, in reverse order
                           in even rounds (pass-1k and the cache scenarios), so a drift cancels in the means;
                           rows are numbered across rounds (default 1)
  --origin KIND            origin server of pass-1k: ${ORIGIN_KINDS.join(' | ')} (default uws; cache scenarios always uws)
  --flint-dist DIR         run the Flint built in DIR (another checkout's dist/, with its own node_modules)
                           instead of this checkout's; harness, origin and peers stay this checkout's
  --cache-root DIR         where Flint's and nginx's caches live in the cache scenarios (default /dev/shm when
                           it is a tmpfs, else the OS temp dir; e.g. /tmp to measure on disk)
  --smoke                  self-check only: parsers + origin for 1 s; writes no results
  --help

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(15)} ${s.summary}`).join('\n')}
`;

/** Parsed command line, or a usage error. */
function parseCli(argv: string[]): { opts: BenchOptions; scenarios: string[]; rounds: number; smoke: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string' },
      peers: { type: 'string' },
      targets: { type: 'string' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      threads: { type: 'string', default: '1' },
      repeat: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '1' },
      origin: { type: 'string', default: 'uws' },
      'cache-root': { type: 'string' },
      'flint-dist': { type: 'string' },
      smoke: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const list = (s: string | undefined): string[] =>
    (s ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  const int = (name: string, s: string, min: number, max: number): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max) usageError(`--${name} must be an integer in ${min}..${max}, got '${s}'`);
    return n;
  };

  const scenarios = values.scenario === undefined ? SCENARIOS.map((s) => s.name) : list(values.scenario);
  for (const s of scenarios) if (!SCENARIOS.some((x) => x.name === s)) usageError(`unknown scenario '${s}'`);
  const peerList = values.peers === undefined ? [...PEERS] : values.peers === 'none' ? [] : list(values.peers);
  for (const p of peerList) if (!(PEERS as readonly string[]).includes(p)) usageError(`unknown peer '${p}' (known: ${PEERS.join(', ')})`);
  if (!(ORIGIN_KINDS as readonly string[]).includes(values.origin)) usageError(`--origin must be one of ${ORIGIN_KINDS.join(', ')}`);
  const targets = values.targets === undefined ? null : new Set(list(values.targets));

  const opts: BenchOptions = {
    durationS: int('duration', values.duration, 1, 600),
    warmupS: int('warmup', values.warmup, 0, 60),
    connections: int('connections', values.connections, 1, 10_000),
    threads: int('threads', values.threads, 1, 64),
    repeat: int('repeat', values.repeat, 1, 20),
    reverse: false,
    peers: new Set(peerList as PeerName[]),
    targets,
    originKind: values.origin as OriginKind,
    cacheRoot: values['cache-root'] ?? defaultCacheRoot(),
    tools: { wrk: findOnPath('wrk'), nginx: findOnPath('nginx'), varnish: findOnPath('varnishd'), h2load: findOnPath('h2load') },
  };
  if (opts.connections < opts.threads) usageError('--connections must be >= --threads (wrk needs a connection per thread)');
  if (values['flint-dist'] !== undefined) setFlintDist(values['flint-dist']);
  return { opts, scenarios, rounds: int('rounds', values.rounds, 1, 20), smoke: values.smoke };
}

function usageError(msg: string): never {
  console.error(`bench: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<number> {
  const { opts, scenarios, rounds, smoke } = parseCli(process.argv.slice(2));
  const log = (line: string): void => console.log(line);

  if (smoke) {
    log('bench smoke:');
    const problems = await runSmoke(opts, log);
    log(problems.length === 0 ? 'bench smoke: ok' : `bench smoke: FAILED: ${problems.join('; ')}`);
    return problems.length === 0 ? 0 : 1;
  }

  const skipped: string[] = [];
  if (opts.peers.has('nginx') && opts.tools.nginx === null) skipped.push(missingToolLine('nginx', 'nginx peer'));
  if (opts.peers.has('varnish') && opts.tools.varnish === null) skipped.push(missingToolLine('varnish', 'varnish peer'));
  for (const s of skipped) log(s);

  // Taken before any load: the load average and which Flint build is in dist/ (others may rebuild it meanwhile).
  const machine = machineInfo();
  const versionsAtStart = versions(flintBuild());
  const commit = shortCommit();
  const dirty = worktreeDirty();
  const started = new Date();
  log(`bench: ${scenarios.join(', ')}; ${opts.durationS} s per target, ${opts.connections} connections, ${machine.cores} cores, load ${machine.loadavg1.toFixed(2)}`);
  const runs: RunRecord[] = [];
  const origins: Record<string, Readonly<Record<string, string>>> = {};
  for (let round = 1; round <= rounds; round++) {
    const roundOpts: BenchOptions = { ...opts, reverse: round % 2 === 0 };
    if (rounds > 1) log(`round ${round} of ${rounds}${roundOpts.reverse ? ' (targets in reverse order)' : ''}`);
    for (const name of scenarios) {
      const scenario = SCENARIOS.find((s) => s.name === name);
      if (scenario === undefined) continue;
      log(`scenario ${name}: ${scenario.summary}`);
      const res = await scenario.run(roundOpts, log);
      // Rows numbered across rounds: round 2 of --repeat 3 holds runs 4..6.
      runs.push(...res.runs.map((r) => ({ ...r, round: (round - 1) * opts.repeat + r.round })));
      if (res.originConfigs !== null) origins[name] = res.originConfigs;
      for (const s of res.skipped) {
        log(s);
        if (!skipped.includes(s)) skipped.push(s);
      }
    }
  }

  const result: ResultFile = {
    schema: 1,
    date: started.toISOString().slice(0, 10),
    commit,
    dirty,
    machine,
    versions: versionsAtStart,
    settings: {
      startedAt: started.toISOString(),
      durationS: opts.durationS,
      warmupS: opts.warmupS,
      connections: opts.connections,
      threads: opts.threads,
      repeat: opts.repeat,
      rounds,
      loadGenerator: 'wrk --latency (pass-1k, hit-*, hit-1k-tls over https, tls-engines, revalidate-304, miss, workers); h2load (hit-1k-h2); bench/clients/http-client.js (cold-100, range-256m); autocannon in bench/clients/zipf-client.js (zipf)',
      origin: `${opts.originKind} for pass-1k; uws (counting, paced at 128 MiB/s per response) for the cache scenarios`,
      peers: [...opts.peers],
      cacheRoot: opts.cacheRoot,
      flintMain: flintBuild().main,
      pinning: 'none (all processes share all cores; compare CPU s/1k req, see bench/README.md)',
      cpuAccounting: `/proc/<pid>/stat utime+stime(+cutime+cstime) over the server's process tree, CLK_TCK ${CLK_TCK}`,
    },
    origins,
    skipped,
    runs,
  };
  if (runs.length === 0) {
    log('bench: nothing ran; no result file written');
    return 1;
  }
  const paths = writeResults(join(REPO_ROOT, 'bench/results'), result);
  log('');
  process.stdout.write(renderTables(runs));
  log(`\nwrote ${paths.json}\nwrote ${paths.md}`);
  return runs.some((r) => r.status === 'failed') ? 1 : 0;
}

main()
  .then(
    (code) => code,
    (err: unknown) => {
      console.error('bench failed:', err);
      return 1;
    },
  )
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  });
