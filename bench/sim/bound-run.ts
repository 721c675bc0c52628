/**
 * @module bench/sim/bound-run
 * The offline upper bound (sim/bound.ts) of every run of a `zipf` results file, on that run's own trace: the
 * warm-up's requests (seed 1) and the measured round's (its seed), as many of each as the client sent
 * (bench/scenarios/zipf.ts), at the quota every product is given (or `--capacity-mib`). Prints a markdown table of
 * each run's measured request and byte hit ratios beside the most any cache of that capacity could have had.
 * Run: `node dist/bench/sim/bound-run.js --results bench/results/<file>-zipf.json [--capacity-mib M]`.
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
  const { values } = parseArgs({ options: { results: { type: 'string' }, 'capacity-mib': { type: 'string' } } });
  if (values.results === undefined) throw new Error('usage: bound-run --results FILE.json [--capacity-mib M]');
  const mib = values['capacity-mib'] === undefined ? ZIPF_CAPACITY_MIB : Number(values['capacity-mib']);
  if (!(mib > 0)) throw new Error(`--capacity-mib must be a positive number of MiB, got ${String(values['capacity-mib'])}`);
  const { runs } = JSON.parse(readFileSync(values.results, 'utf8')) as { runs: ZipfRun[] };
  const { sizes } = zipfSizes();
  const sizeOf = (id: number): number => sizes[id - 1] as number;
  console.log(`offline upper bound at ${mib} MiB, each run's own trace (${values.results})\n`);
  console.log('| target | round | warm-up requests | measured requests | request hit ratio | request bound | byte hit ratio | byte bound |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const run of runs) {
    const measured = run.extra?.report;
    const warmup = run.extra?.warmup?.report;
    if (run.scenario !== 'zipf' || measured === undefined || warmup === undefined) continue;
    const trace = new Int32Array(warmup.responses + measured.responses);
    draw(trace, 0, warmup.seed, warmup.responses);
    draw(trace, warmup.responses, measured.seed, measured.responses);
    const bound = offlineHitBound(trace, sizeOf, warmup.responses, mib * 2 ** 20);
    const figure = (name: string): string => String(run.figures?.[name] ?? '-');
    console.log(
      `| ${run.target} | ${run.round} | ${warmup.responses} | ${measured.responses} | ${figure('request hit ratio')} | ${bound.request.toFixed(3)} | ${figure('byte hit ratio')} | ${bound.byte.toFixed(3)} |`,
    );
  }
}

main();
