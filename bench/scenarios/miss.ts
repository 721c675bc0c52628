/**
 * @module bench/scenarios/miss
 * Scenario `miss`: every request a distinct URL (a wrk Lua script puts a per-thread counter in the path), so every
 * request is a cache miss of a cacheable 1 KiB object that the proxy fetches and stores. Same targets as the hit
 * scenarios. Verified before load: a fresh URL is a miss with the right bytes, and the same URL again is a hit
 * (the origin's answer really is cacheable and gets stored). The origin counts its requests during the measured
 * run, which must be at least wrk's completed requests. Read as req/s and CPU per request. Two more targets are the
 * floors of Flint's stack (targets/floor.ts): floor-proxy (not stored, so only its miss is verified) and floor-lmdb.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingToolLine } from '../lib/environment.js';
import { httpGet } from '../lib/http-probe.js';
import { measureTarget } from '../lib/measure.js';
import { CACHE_OBJECTS, cachePath } from '../lib/objects.js';
import { checkResponse } from '../lib/verify.js';
import { makeTempDir, removeTempDir } from '../targets/target.js';
import { STANDARD_TARGETS, floorTarget, headerLine, primeUntilHit, runCacheScenario } from './cache-common.js';
import type { RunRecord } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import type { Expected } from '../lib/verify.js';

const NAME = 'miss';
const SIZE = CACHE_OBJECTS['1k'];

/** The hit scenarios' targets, then the floors a miss on Flint's stack cannot go below (targets/floor.ts). */
const MISS_TARGETS = [...STANDARD_TARGETS, floorTarget('floor-lmdb', true), floorTarget('floor-proxy', false)];

/** wrk Lua: GET <prefix><thread>-<n>, n counting up per thread, so no two requests of a run share a URL. */
export function distinctPathScript(prefix: string): string {
  return `-- Written by bench/scenarios/miss.ts: every request gets its own path, so every request is a cache miss.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", "${prefix}" .. tid .. "-" .. n)
end
`;
}

export const miss: Scenario = {
  name: NAME,
  summary: 'cache misses: a distinct cacheable 1 KiB URL per request (wrk Lua counter), same targets as the hit scenarios',
  async run(o, log) {
    if (o.tools.wrk === null) return { runs: [], skipped: [missingToolLine('wrk', NAME)], originConfigs: null };
    const wrkBin = o.tools.wrk;
    return runCacheScenario(NAME, MISS_TARGETS, o, log, async (target, origin, plan) => {
      const base = cachePath('1k', `m/${target.name}`);
      const rows: RunRecord[] = [];
      const luaDir = makeTempDir(`${NAME}-lua`);
      try {
        for (let round = 1; round <= o.repeat; round++) {
          const measure = join(luaDir, `r${round}.lua`);
          const warmup = join(luaDir, `warm${round}.lua`);
          writeFileSync(measure, distinctPathScript(`${base}/r${round}/`));
          writeFileSync(warmup, distinctPathScript(`${base}/warm${round}/`));
          const verifyUrl = `${target.baseUrl}${base}/verify${round}/1`;
          const verify = async (): Promise<{ problems: string[]; sample: NonNullable<RunRecord['sample']> }> => {
            const want: Expected = { status: 200, bodyBytes: SIZE, cache: 'miss', content: true };
            const first = await httpGet(verifyUrl, 10_000);
            const sample = { status: first.status, headers: { ...first.headers } };
            const problems = checkResponse(first, want).map((p) => `first GET of a fresh URL: ${p} (${headerLine(first)})`);
            if (problems.length > 0 || plan.stores === false) return { problems, sample };
            try {
              await primeUntilHit(verifyUrl, { ...want, cache: 'hit' }, 5_000);
            } catch (err) {
              return { problems: [`the origin's 1 KiB object was not stored: ${(err as Error).message}`], sample };
            }
            return { problems: [], sample };
          };
          const measured = await measureTarget({
            scenario: NAME,
            target,
            origin,
            path: `${base}/r${round}/`, // the script appends <thread>-<n> to every request
            expect: { status: 200, bodyBytes: SIZE, cache: 'miss' },
            opts: o,
            wrkBin,
            round,
            scripts: { measure, warmup },
            verify,
            originPath: `${base}/r${round}`,
          });
          const r: RunRecord = { ...measured, configs: { ...measured.configs, 'wrk script (measured run)': distinctPathScript(`${base}/r${round}/`) } };
          const m = r.metrics;
          // wrk counts completed requests; up to -c more may have reached the origin when it stopped.
          const short = m !== undefined && m.originRequests !== undefined && m.originRequests < m.requests;
          rows.push(short ? { ...r, note: [r.note, `origin saw ${m.originRequests} requests for ${m.requests} distinct URLs: some were not misses`].filter((s) => s !== '').join('; ') } : r);
        }
      } finally {
        removeTempDir(luaDir);
      }
      return rows;
    });
  },
};
