/**
 * @module bench/scenarios/dims
 * Scenario `dims-resize` (issue 21): DIMS resize of the bench origin's 2 MP JPEG (1632x1224, bench/origin.ts) to
 * 400 px wide on Flint with 1 worker and `<Dims Status="Active"/>` (Concurrency 2, the default). Two figures:
 * - conversions per second of the worker: CONVERSIONS distinct variants (`resize/400x/quality/<q>`, so each is a
 *   new conversion) requested 2 at a time, every answer decoded by sharp (400 px wide, JPEG), with the server's CPU
 *   seconds (worker + converter process) per conversion;
 * - hit req/s of one cached variant (wrk -c50), verified as a hit whose body is the 400 px JPEG.
 * No peer: nginx's image_filter converts on every request and caches nothing of its own, so there is no like for
 * like (README "DIMS images" says what it lacks).
 */
import sharp from 'sharp';
import { missingToolLine } from '../lib/environment.js';
import { httpGet } from '../lib/http-probe.js';
import { treeCpuSeconds } from '../lib/cpu.js';
import { measureTarget } from '../lib/measure.js';
import { BENCH_IMAGE_PATH } from '../lib/objects.js';
import { cacheOutcome } from '../lib/verify.js';
import { flintTarget, headerLine, runCacheScenario } from './cache-common.js';
import type { RunRecord } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import type { Expected } from '../lib/verify.js';

const NAME = 'dims-resize';
/** Distinct conversions timed (bounded: about 10-30 s on a loaded 2-core machine). */
const CONVERSIONS = 24;
/** Requests in flight during the conversion run: the worker's default Dims Concurrency. */
const IN_FLIGHT = 2;
const VARIANT = `${BENCH_IMAGE_PATH}/dims/resize/400x/`;

/** The problems of a DIMS answer: status, JPEG, 400 px wide (decoded). */
async function checkVariant(status: number, body: Buffer): Promise<string[]> {
  if (status !== 200) return [`status ${status}`];
  try {
    const meta = await sharp(body).metadata();
    return meta.format === 'jpeg' && meta.width === 400 ? [] : [`decoded as ${meta.format} ${meta.width}x${meta.height}, want jpeg 400 px wide`];
  } catch (err) {
    return [`body does not decode: ${(err as Error).message}`];
  }
}

export const dimsResize: Scenario = {
  name: NAME,
  summary: 'DIMS resize of a 2 MP JPEG to 400 px on Flint (1 worker): conversions per second and CPU per conversion, then hit req/s of the cached variant (wrk -c50)',
  async run(o, log) {
    if (o.tools.wrk === null) return { runs: [], skipped: [missingToolLine('wrk', NAME)], originConfigs: null };
    const wrkBin = o.tools.wrk;
    const targets = [flintTarget(1, undefined, 'flint-1w-dims', '    <Options><Dims Status="Active"/></Options>')];
    return runCacheScenario(NAME, targets, o, log, async (target, origin) => {
      const original = await httpGet(`${target.baseUrl}${BENCH_IMAGE_PATH}`, 10_000);
      log(`  ${target.name}: original ${original.status}, ${original.body.length} bytes`);
      // Conversions: distinct variants, IN_FLIGHT at a time; the server's CPU includes the converter process.
      const cpuBefore = treeCpuSeconds(target.pid);
      const started = performance.now();
      const problems: string[] = [];
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < CONVERSIONS) {
          const q = 50 + next++;
          const r = await httpGet(`${target.baseUrl}${BENCH_IMAGE_PATH}/dims/resize/400x/quality/${q}/`, 60_000);
          for (const p of await checkVariant(r.status, r.body)) problems.push(`quality ${q}: ${p}`);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      const seconds = (performance.now() - started) / 1000;
      const cpuS = treeCpuSeconds(target.pid) - cpuBefore;
      const conversionRow: RunRecord = {
        scenario: NAME,
        target: target.name,
        workers: target.workers,
        round: 1,
        status: problems.length === 0 ? 'ok' : 'failed',
        note: problems.slice(0, 3).join('; '),
        url: `${target.baseUrl}${BENCH_IMAGE_PATH}/dims/resize/400x/quality/<50..${50 + CONVERSIONS - 1}>/`,
        configs: target.configs,
        table: 'figures',
        figures: {
          conversions: CONVERSIONS,
          'in flight': IN_FLIGHT,
          'wall s': Math.round(seconds * 100) / 100,
          'conversions/s': Math.round((CONVERSIONS / seconds) * 10) / 10,
          'server CPU ms/conversion': Math.round((cpuS * 1000) / CONVERSIONS),
        },
      };
      log(`  ${target.name}: ${CONVERSIONS} conversions in ${seconds.toFixed(2)} s, ${((cpuS * 1000) / CONVERSIONS).toFixed(0)} ms CPU each`);
      // Hits of one cached variant.
      const first = await httpGet(`${target.baseUrl}${VARIANT}`, 60_000);
      const firstProblems = await checkVariant(first.status, first.body);
      const expect: Expected = { status: 200, bodyBytes: first.body.length, cache: 'hit' };
      const verify = async (): Promise<{ problems: string[]; sample: NonNullable<RunRecord['sample']> }> => {
        const found = [...firstProblems];
        const r = await httpGet(`${target.baseUrl}${VARIANT}`, 10_000);
        found.push(...(await checkVariant(r.status, r.body)));
        if (cacheOutcome(r) !== 'hit') found.push(`not a cache hit (${headerLine(r)})`);
        return { problems: found, sample: { status: r.status, headers: { ...r.headers } } };
      };
      const rows: RunRecord[] = [conversionRow];
      for (let round = 1; round <= o.repeat; round++) {
        rows.push(await measureTarget({ scenario: NAME, target, origin, path: VARIANT, expect, verify, opts: o, wrkBin, round, connections: o.connections, originPath: BENCH_IMAGE_PATH, perGiB: false }));
      }
      return rows;
    });
  },
};
