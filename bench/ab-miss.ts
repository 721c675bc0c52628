/**
 * @module bench/ab-miss
 * Two Flint builds side by side on the `miss` load, for changes smaller than this machine's drift between runs
 * (±20% within minutes, and more between two invocations of the bench: bench/README.md). Both builds run at once,
 * one worker each, on one origin; short wrk runs alternate between them (A B, then B A, ...), so each pair sees the
 * same minute. Two halves, each with both builds started afresh, A first and then B first: on this machine the
 * Flint started second ran its misses 10-18% cheaper than the first for the whole of a run, two copies of one
 * build included (bench/README.md), and the halves cancel that. Prints each build's server CPU ms per miss per
 * pair, the means, and the paired ratio B/A (geometric mean over both halves) with its spread. Not a product
 * comparison (that is `run.ts`); a tool to tell whether a change to the miss path paid, and how far a build is from
 * the stack's floor (`floor-lmdb` in place of a DIR: bench/floor-cache.ts with an index, as the `miss` scenario runs it).
 * Run: `node dist/bench/ab-miss.js --a DIR --b DIR|floor-lmdb [--pairs 12] [--seconds 3] [--rate R]` (DIR: a checkout's
 * built dist/). With `--rate`, each run offers R misses a second (autocannon, paced, in this process) instead of wrk's
 * as-fast-as-answered: both sides then do the same work per second, so a slower build's peers (wrk, the origin)
 * are not left idle more often, which makes each of its sends wake a sleeping process (bench/README.md).
 * Bounded: per half one warm-up run per build, then pairs/2 x 2 runs of `seconds` each; every process it started
 * is stopped by pid at the end, and its temp dirs removed.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { CLK_TCK, machineTicks, stealSeconds, treeTicks } from './lib/cpu.js';
import { cachePath } from './lib/objects.js';
import { stopAll } from './lib/processes.js';
import { runWrk } from './lib/wrk.js';
import { distinctPathScript } from './scenarios/miss.js';
import { setFlintDist, startFlint } from './targets/flint.js';
import { startFloor } from './targets/floor.js';
import { startOrigin } from './targets/origin.js';
import { makeTempDir, removeTempDir } from './targets/target.js';
import type { RunningTarget } from './targets/target.js';

const CONNECTIONS = 50;
/** In place of a build dir: the floor of a miss on Flint's stack. */
const FLOOR = 'floor-lmdb';

interface Run {
  readonly msPerMiss: number;
  readonly requests: number;
  readonly stealS: number;
}

function cpuTicks(pid: number): number {
  let sum = 0;
  for (const ticks of treeTicks(pid).values()) sum += ticks;
  return sum;
}

/** `seconds` of distinct 1 KiB misses under `prefix` at `rate` a second (autocannon, paced); requests answered. */
function pacedMisses(url: string, prefix: string, seconds: number, rate: number): Promise<{ requests: number; errors: number }> {
  let n = 0;
  const requests = [{ setupRequest: (req: object) => ({ ...req, path: `${prefix}${n++}` }) }];
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: seconds, overallRate: rate, requests }, (error, result) =>
      error === null ? resolve({ requests: result.requests.total, errors: result.errors + result.timeouts + result.non2xx }) : reject(error),
    );
  });
}

/** One run of distinct 1 KiB misses against `target` (wrk, or paced at `rate` when given); its server CPU per miss. */
async function missRun(target: RunningTarget, luaDir: string, prefix: string, seconds: number, rate: number | null): Promise<Run> {
  const script = join(luaDir, `${prefix.replaceAll('/', '_')}.lua`);
  if (rate === null) writeFileSync(script, distinctPathScript(prefix));
  const ticksBefore = cpuTicks(target.pid);
  const machineBefore = machineTicks();
  const { requests, errors } =
    rate === null
      ? await runWrk({ url: `${target.baseUrl}/`, threads: 1, connections: CONNECTIONS, durationS: seconds, script }).then(({ report }) => ({ requests: report.requests, errors: report.errors.total }))
      : await pacedMisses(target.baseUrl, prefix, seconds, rate);
  const ticks = cpuTicks(target.pid) - ticksBefore;
  if (errors > 0 || requests === 0) throw new Error(`${target.name}: ${errors} errors in ${requests} requests`);
  return { msPerMiss: ((ticks / CLK_TCK) * 1000) / requests, requests, stealS: stealSeconds(machineBefore, machineTicks()) };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function sd(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / Math.max(1, values.length - 1));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { a: { type: 'string' }, b: { type: 'string' }, pairs: { type: 'string', default: '12' }, seconds: { type: 'string', default: '3' }, rate: { type: 'string' } },
  });
  const pairs = Number(values.pairs);
  const seconds = Number(values.seconds);
  const rate = values.rate === undefined ? null : Number(values.rate);
  if (values.a === undefined || values.b === undefined || !Number.isInteger(pairs) || pairs < 2 || pairs % 2 !== 0 || !Number.isInteger(seconds) || seconds < 1 || (rate !== null && !(rate >= 1))) {
    throw new Error(`usage: ab-miss --a DIST_DIR --b DIST_DIR|${FLOOR} [--pairs N, even >= 2] [--seconds S>=1] [--rate R>=1]`);
  }
  const luaDir = makeTempDir('ab-miss-lua');
  const targets: RunningTarget[] = [];
  try {
    const origin = await startOrigin('uws', null);
    targets.push(origin);
    const originPort = Number(new URL(origin.baseUrl).port);
    const base = cachePath('1k', 'ab');
    const builds = { a: values.a, b: values.b };
    const runs: Record<'a' | 'b', Run[]> = { a: [], b: [] };
    console.log(`pair | started first | A ms/miss | B ms/miss | B/A | steal s (A, B)`);
    for (const first of ['a', 'b'] as const) {
      const flint = {} as Record<'a' | 'b', RunningTarget>;
      for (const which of first === 'a' ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
        const readyPath = `${base}/ready-${first}${which}`;
        if (builds[which] === FLOOR) flint[which] = await startFloor({ name: `floor-${which}`, originPort, readyPath, indexRoot: tmpdir() });
        else {
          // startFlint spawns the build set last: one build per start.
          setFlintDist(builds[which]);
          flint[which] = await startFlint({ name: `flint-${which}`, workers: 1, originPort, readyPath });
        }
        targets.push(flint[which]);
      }
      for (const which of ['a', 'b'] as const) await missRun(flint[which], luaDir, `${base}/warm-${first}${which}/`, seconds, rate);
      for (let i = 0; i < pairs / 2; i++) {
        const pair = runs.a.length;
        const order = pair % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
        for (const which of order) runs[which].push(await missRun(flint[which], luaDir, `${base}/p${pair}-${which}/`, seconds, rate));
        const a = runs.a[pair] as Run;
        const b = runs.b[pair] as Run;
        console.log(`${pair + 1} | ${first.toUpperCase()} | ${a.msPerMiss.toFixed(4)} | ${b.msPerMiss.toFixed(4)} | ${(b.msPerMiss / a.msPerMiss).toFixed(3)} | ${a.stealS.toFixed(2)}, ${b.stealS.toFixed(2)}`);
      }
      for (const which of ['a', 'b'] as const) await flint[which].stop();
    }
    // Log ratios: a start-order effect (a factor one way in the first half, the other way in the second) cancels.
    const logs = runs.a.map((a, i) => Math.log((runs.b[i] as Run).msPerMiss / a.msPerMiss));
    const half = (2 * sd(logs)) / Math.sqrt(logs.length);
    const m = mean(logs);
    console.log(`A ${builds.a}: mean ${mean(runs.a.map((r) => r.msPerMiss)).toFixed(4)} ms per miss`);
    console.log(`B ${builds.b}: mean ${mean(runs.b.map((r) => r.msPerMiss)).toFixed(4)} ms per miss`);
    console.log(`B/A: ${Math.exp(m).toFixed(3)} (two standard errors: ${Math.exp(m - half).toFixed(3)}-${Math.exp(m + half).toFixed(3)}), B lower in ${logs.filter((l) => l < 0).length} of ${logs.length} pairs`);
  } finally {
    for (const t of targets.reverse()) await t.stop();
    await stopAll();
    removeTempDir(luaDir);
  }
}

await main();
