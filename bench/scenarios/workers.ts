/**
 * @module bench/scenarios/workers
 * Scenario `workers`: Flint with 1 worker against Flint with 2, on `hit-1k` and `miss` (the same code as those
 * scenarios, run again for flint-1w and flint-2w only, back to back), reported side by side: req/s, CPU per
 * request, p99. Its wrk rows are kept as `workers/hit-1k` and `workers/miss`.
 *
 * What a 2-core box can show: whether a second worker costs more CPU per request (IPC, a second hot tier, lock
 * contention in the shared LMDB index). What it cannot show: throughput scaling. wrk and the origin need the same
 * two cores, so a second worker only takes CPU from them; req/s here is "the box", not "the server".
 */
import { hit1k } from './hit.js';
import { miss } from './miss.js';
import type { RunRecord } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';

const NAME = 'workers';
const BASES: readonly Scenario[] = [hit1k, miss];
const TARGETS = ['flint-1w', 'flint-2w'] as const;

export const workers: Scenario = {
  name: NAME,
  summary: 'Flint 1 worker vs 2 workers on hit-1k and miss, side by side: req/s and CPU per request',
  async run(o, log) {
    const targets = new Set<string>(TARGETS.filter((t) => o.targets === null || o.targets.has(t)));
    const runs: RunRecord[] = [];
    const skipped: string[] = [];
    let originConfigs: Readonly<Record<string, string>> | null = null;
    for (const base of BASES) {
      log(`  ${NAME}: ${base.name} with ${[...targets].join(', ')}`);
      const res = await base.run({ ...o, targets }, log);
      skipped.push(...res.skipped);
      originConfigs ??= res.originConfigs;
      const rows = res.runs.map((r) => ({ ...r, scenario: `${NAME}/${base.name}` }));
      runs.push(...rows);
      for (let round = 1; round <= o.repeat; round++) {
        const one = rows.find((r) => r.target === 'flint-1w' && r.round === round)?.metrics;
        const two = rows.find((r) => r.target === 'flint-2w' && r.round === round)?.metrics;
        if (one === undefined || two === undefined) continue;
        runs.push({
          scenario: NAME,
          target: base.name,
          workers: 2,
          round,
          status: 'ok',
          note: '',
          table: 'figures',
          figures: {
            '1w req/s': Math.round(one.requestsPerSec),
            '2w req/s': Math.round(two.requestsPerSec),
            '2w / 1w req/s': (two.requestsPerSec / one.requestsPerSec).toFixed(2),
            '1w server CPU s/1k req': one.serverCpuSPer1kReq.toFixed(4),
            '2w server CPU s/1k req': two.serverCpuSPer1kReq.toFixed(4),
            '2w / 1w CPU per req': (two.serverCpuSPer1kReq / one.serverCpuSPer1kReq).toFixed(2),
            '1w p99 ms': one.latencyMs.p99,
            '2w p99 ms': two.latencyMs.p99,
            '1w server CPU s': one.serverCpuS,
            '2w server CPU s': two.serverCpuS,
            'other CPU s (1w, 2w)': `${one.otherCpuS.toFixed(2)}, ${two.otherCpuS.toFixed(2)}`,
            'steal s (1w, 2w)': `${(one.stealS ?? 0).toFixed(2)}, ${(two.stealS ?? 0).toFixed(2)}`,
          },
        });
      }
    }
    return { runs, skipped, originConfigs };
  },
};
