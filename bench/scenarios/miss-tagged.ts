/**
 * @module bench/scenarios/miss-tagged
 * Scenario `miss-tagged`: what cache tags add to a miss (issue 24: "must stay within 5%"). One Flint 1w target runs
 * three variants of `miss` against the same process, in the same run: `untagged` (`/c/1k/mt/...`, as `miss`),
 * `tags-3` and `tags-10` (`/t3/1k/mt/...`, `/t10/1k/mt/...`: the same 1 KiB object plus `Surrogate-Key: a b c`,
 * resp. ten tags; lib/objects.ts TAG_SETS). Every request is a distinct URL (miss.ts distinctPathScript). The
 * variants alternate in each round, forwards in odd rounds and backwards in even ones, so the index growing over
 * the run and the neighbours' load fall on all three alike. Each measured run waits 1.5 s after the load before
 * its last CPU reading, so work deferred past the responses is counted in the run that caused it (until 25ca1eb
 * the primary applied a tag journal once a second: most of the cost this scenario found). Read as server CPU s/1k
 * req (= ms per miss) of the variants side by side.
 * Verified per variant and round: a fresh URL is a miss with the right bytes and no tag field (stripped before the
 * client by default), then becomes a hit. After the rounds, a purge of tag `a` must reach at least as many objects
 * as the tagged runs' origin requests: the tags were indexed, not only parsed. Runs in the bench process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingToolLine } from '../lib/environment.js';
import { httpGet } from '../lib/http-probe.js';
import { measureTarget } from '../lib/measure.js';
import { CACHE_OBJECTS, cachePath, taggedPath } from '../lib/objects.js';
import { checkResponse } from '../lib/verify.js';
import { makeTempDir, removeTempDir } from '../targets/target.js';
import { flintTarget, headerLine, primeUntilHit, runCacheScenario } from './cache-common.js';
import { distinctPathScript } from './miss.js';
import type { RunRecord } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import type { Expected } from '../lib/verify.js';
import type { RunningTarget } from '../targets/target.js';

const NAME = 'miss-tagged';
const SIZE = CACHE_OBJECTS['1k'];
/** After the load, before the last CPU reading: longer than the primary's once-a-second housekeeping. */
const SETTLE_MS = 1_500;
/** The purge of tag `a` after the rounds reaches every tagged object of the run (a few 100k at most). */
const PURGE_TIMEOUT_MS = 60_000;

/** The variants, in the order of odd rounds: the label ends the row's target name; `tags` is a TAG_SETS key. */
const VARIANTS: ReadonlyArray<{ readonly label: string; readonly tags: string | null }> = [
  { label: 'untagged', tags: null },
  { label: 'tags-3', tags: '3' },
  { label: 'tags-10', tags: '10' },
];

/** Path prefix of a variant's objects for `target` (every request appends a distinct suffix). */
function variantBase(target: string, tags: string | null): string {
  return tags === null ? cachePath('1k', `mt/${target}`) : taggedPath(tags, '1k', `mt/${target}`);
}

export const missTagged: Scenario = {
  name: NAME,
  summary: 'cache misses of untagged and tagged (Surrogate-Key, 3 and 10 tags) 1 KiB objects on one Flint 1w, alternating: the CPU tags add to a miss',
  async run(o, log) {
    if (o.tools.wrk === null) return { runs: [], skipped: [missingToolLine('wrk', NAME)], originConfigs: null };
    const wrkBin = o.tools.wrk;
    return runCacheScenario(NAME, [flintTarget(1)], o, log, async (target, origin) => {
      const rows: RunRecord[] = [];
      const luaDir = makeTempDir(`${NAME}-lua`);
      let taggedMisses = 0;
      try {
        for (let round = 1; round <= o.repeat; round++) {
          const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
          for (const v of order) {
            const base = `${variantBase(target.name, v.tags)}/r${round}`;
            const measure = join(luaDir, `${v.label}-r${round}.lua`);
            const warmup = join(luaDir, `${v.label}-warm${round}.lua`);
            writeFileSync(measure, distinctPathScript(`${base}/`));
            writeFileSync(warmup, distinctPathScript(`${variantBase(target.name, v.tags)}/warm${round}/`));
            const row: RunningTarget = { ...target, name: `${target.name}/${v.label}` };
            const measured = await measureTarget({
              scenario: NAME,
              target: row,
              origin,
              path: `${base}/`,
              expect: { status: 200, bodyBytes: SIZE, cache: 'miss' },
              opts: o,
              wrkBin,
              round, // warm-up before round 1 of each variant: the tagged path has its own code to compile
              scripts: { measure, warmup },
              verify: () => verifyVariant(`${target.baseUrl}${variantBase(target.name, v.tags)}/verify${round}/1`),
              originPath: base,
              settleMs: SETTLE_MS,
            });
            const m = measured.metrics;
            if (v.tags !== null && m !== undefined) taggedMisses += m.requests;
            const short = m?.originRequests !== undefined && m.originRequests < m.requests;
            const note = short ? `origin saw ${m.originRequests} requests for ${m.requests} distinct URLs: some were not misses` : '';
            rows.push({ ...measured, note: [measured.note, note].filter((s) => s !== '').join('; '), configs: { ...measured.configs, 'wrk script (measured run)': distinctPathScript(`${base}/`) } });
          }
        }
      } finally {
        removeTempDir(luaDir);
      }
      const indexed = await purgeCheck(target, taggedMisses);
      // A tagged row whose tags were not indexed measured parsing only: it is not the figure asked for.
      return rows.map((r) => ({ ...r, note: [r.note, indexed.note].filter((s) => s !== '').join('; '), ...(indexed.ok || r.target.endsWith('/untagged') ? {} : { status: 'failed' as const }) }));
    });
  },
};

/** A fresh URL: a miss with the right bytes and no tag field, then a hit without one. */
async function verifyVariant(url: string): Promise<{ problems: string[]; sample: NonNullable<RunRecord['sample']> }> {
  const want: Expected = { status: 200, bodyBytes: SIZE, cache: 'miss', content: true };
  const first = await httpGet(url, 10_000);
  const sample = { status: first.status, headers: { ...first.headers } };
  const problems = checkResponse(first, want).map((p) => `first GET of a fresh URL: ${p} (${headerLine(first)})`);
  if (first.headers['surrogate-key'] !== undefined) problems.push('the miss carried Surrogate-Key: Flint did not strip its tag field');
  if (problems.length > 0) return { problems, sample };
  try {
    const hit = await primeUntilHit(url, { ...want, cache: 'hit' }, 5_000);
    if (hit.headers['surrogate-key'] !== undefined) return { problems: ['the hit carried Surrogate-Key: Flint did not strip its tag field'], sample };
  } catch (err) {
    return { problems: [`the origin's 1 KiB object was not stored: ${(err as Error).message}`], sample };
  }
  return { problems: [], sample };
}

/**
 * Purges tag `a` (every tagged object of the run, warm-ups included) and says how many objects it reached and how
 * long it took; not ok when that is fewer than the tagged runs' completed misses (each of which was stored), i.e. the
 * tags were parsed but not indexed.
 */
async function purgeCheck(target: RunningTarget, taggedMisses: number): Promise<{ ok: boolean; note: string }> {
  if (target.statsUrl === undefined || taggedMisses === 0) return { ok: true, note: '' };
  const url = target.statsUrl.replace(/\/stats$/, '/command/purge?tag=a');
  try {
    const r = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(PURGE_TIMEOUT_MS) });
    const body = (await r.json()) as { Count?: number; Time?: number };
    const count = body.Count ?? 0;
    if (r.status !== 200 || count < taggedMisses) {
      return { ok: false, note: `tag purge of "a" reached ${count} objects (status ${r.status}) for ${taggedMisses} tagged misses: tags not indexed` };
    }
    return { ok: true, note: `tag purge of "a" after the rounds: ${count} objects in ${body.Time ?? '?'} ms` };
  } catch (err) {
    return { ok: false, note: `tag purge of "a" failed: ${(err as Error).message}` };
  }
}
