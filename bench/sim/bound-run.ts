/**
 * @module bench/sim/bound-run
 * The offline upper bound (sim/bound.ts) of every run of a `zipf` results file, on that run's own trace: the
 * warm-up's requests (seed 1), then each round's (its seed) up to the measured one, as many of each as the client
 * sent (bench/scenarios/zipf.ts warms a target once and runs its rounds one after the other), at the quota every
 * product is given (or `--capacity-mib`). Prints a markdown table of each run's measured request and byte hit
 * ratios beside the most any cache of that capacity could have had.
 * Run: `node dist/bench/sim/bound-run.js --results bench/results/<file>-zipf.json [--capacity-mib M] [--free-gap N]`
 * (`--free-gap`: reuses within N requests cost nothing, as a hit collapsed onto a fill in flight: sim/bound.ts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ZIPF_EXPONENT, ZIPF_OBJECTS, ZipfSampler, zipfSizes } from '../lib/zipf.js';
import { ZIPF_CAPACITY_MIB } from '../scenarios/zipf.js';
import { offlineHitBound } from './bound.js';

interface ClientReport {
  readonly seed: number;
  readonly responses: number;
}

interface ZipfRun {
  readonly scenario: string;
  readonly target: string;
  readonly round: number;
  readonly figures?: Record<string, unknown>;
  readonly extra?: { readonly report?: ClientReport; readonly warmup?: { readonly report?: ClientReport } };
}

/** The ids the zipf client draws: `count` from `seed`'s sequence, after the ones already in `into`. */
function draw(into: Int32Array, from: number, seed: number, count: number): void {
  const sampler = new ZipfSampler(ZIPF_OBJECTS, ZIPF_EXPONENT, seed);
  for (let i = 0; i < count; i++) into[from + i] = sampler.next();
}

function main(): void {
  const { values } = parseArgs({ options: { results: { type: 'string' }, 'capacity-mib': { type: 'string' }, 'free-gap': { type: 'string', default: '0' } } });
  if (values.results === undefined) throw new Error('usage: bound-run --results FILE.json [--capacity-mib M] [--free-gap N]');
  const mib = values['capacity-mib'] === undefined ? ZIPF_CAPACITY_MIB : Number(values['capacity-mib']);
  if (!(mib > 0)) throw new Error(`--capacity-mib must be a positive number of MiB, got ${String(values['capacity-mib'])}`);
  const freeGap = Number(values['free-gap']);
  if (!Number.isInteger(freeGap) || freeGap < 0) throw new Error(`--free-gap must be a whole number of requests, got ${values['free-gap']}`);
  const { runs } = JSON.parse(readFileSync(values.results, 'utf8')) as { runs: ZipfRun[] };
  const { sizes } = zipfSizes();
  const sizeOf = (id: number): number => sizes[id - 1] as number;
  console.log(`offline upper bound at ${mib} MiB${freeGap > 0 ? `, reuses within ${freeGap} requests free` : ''}, each run's own trace (${values.results})\n`);
  console.log('| target | round | requests before the round | measured requests | request hit ratio | request bound | byte hit ratio | byte bound |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const zipfRuns = runs.filter((r) => r.scenario === 'zipf' && r.extra?.report !== undefined && r.extra.warmup?.report !== undefined);
  for (const run of zipfRuns) {
    const warmup = run.extra?.warmup?.report as ClientReport;
    // The phases this target ran up to and including this round, in order.
    const phases = [warmup, ...zipfRuns.filter((r) => r.target === run.target && r.round <= run.round).sort((a, b) => a.round - b.round).map((r) => r.extra?.report as ClientReport)];
    const trace = new Int32Array(phases.reduce((n, p) => n + p.responses, 0));
    let at = 0;
    for (const p of phases) {
      draw(trace, at, p.seed, p.responses);
      at += p.responses;
    }
    const measuredFrom = trace.length - (phases[phases.length - 1] as ClientReport).responses;
    const bound = offlineHitBound(trace, sizeOf, measuredFrom, mib * 2 ** 20, freeGap);
    const figure = (name: string): string => String(run.figures?.[name] ?? '-');
    console.log(
      `| ${run.target} | ${run.round} | ${measuredFrom} | ${trace.length - measuredFrom} | ${figure('request hit ratio')} | ${bound.request.toFixed(3)} | ${figure('byte hit ratio')} | ${bound.byte.toFixed(3)} |`,
    );
  }
}

main();
