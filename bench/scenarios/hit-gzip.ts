/**
 * @module bench/scenarios/hit-gzip
 * Scenario `hit-64k-gzip` (issue 21): cache hits of one 64 KiB text object (the bench's hex lines) for clients that
 * send `Accept-Encoding: gzip` (wrk -c50), against nginx proxy_cache with `gzip on` (level 6: nginx compresses
 * every response from its cache, per request) and Flint with `<Compression Method="gzip" GzipLevel="6">ON` (it
 * compresses once, stores the gzip copy as a derived variant, and serves it as a hit). Both 1 worker. Verified
 * before the load: a hit, `Content-Encoding: gzip`, and the body gunzips to the object's bytes. Read as req/s and
 * server CPU per request; the origin must see no request during the run.
 */
import { gunzipSync } from 'node:zlib';
import { missingToolLine } from '../lib/environment.js';
import { httpGet } from '../lib/http-probe.js';
import { measureTarget } from '../lib/measure.js';
import { CACHE_OBJECTS, cachePath } from '../lib/objects.js';
import { cacheOutcome, isObjectContent } from '../lib/verify.js';
import { flintTarget, headerLine, nginxCacheTarget, primeUntilHit, runCacheScenario } from './cache-common.js';
import type { CacheTarget } from './cache-common.js';
import type { RunRecord } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import type { Expected } from '../lib/verify.js';

const GZIP_LEVEL = 6;
const HEADERS = { 'Accept-Encoding': 'gzip' } as const;

/** Flint's vhost settings: gzip only (nginx has no brotli in Debian's build), the bench objects (/c/...) as targets. */
const FLINT_COMPRESSION = `    <Options>
      <Compression Method="gzip" GzipLevel="${GZIP_LEVEL}">ON</Compression>
      <MatchingList Target="compression">$URL[/c/*]</MatchingList>
    </Options>`;

const TARGETS: readonly CacheTarget[] = [
  nginxCacheTarget('nginx-cache-gzip', 1, { lock: true, slice: false, gzipLevel: GZIP_LEVEL }),
  flintTarget(1, undefined, 'flint-1w-gzip', FLINT_COMPRESSION),
];

export const hit64kGzip: Scenario = {
  name: 'hit-64k-gzip',
  summary: 'gzip-encoded cache hits of one 64 KiB text object (Accept-Encoding: gzip, wrk -c50): nginx proxy_cache + gzip on (compresses per request) vs Flint <Compression> (compresses once), 1 worker each',
  async run(o, log) {
    if (o.tools.wrk === null) return { runs: [], skipped: [missingToolLine('wrk', 'hit-64k-gzip')], originConfigs: null };
    const wrkBin = o.tools.wrk;
    const path = cachePath('64k');
    const size = CACHE_OBJECTS['64k'];
    const expect: Expected = { status: 200, bodyBytes: size, cache: 'hit', content: true };
    return runCacheScenario('hit-64k-gzip', TARGETS, o, log, async (target, origin) => {
      const primed = await primeUntilHit(`${target.baseUrl}${path}`, expect);
      log(`  ${target.name}: primed, ${headerLine(primed)}`);
      // Flint makes its gzip copy on the first request that asks for one; then every answer must be a gzip hit.
      await httpGet(`${target.baseUrl}${path}`, 10_000, HEADERS);
      const verify = async (): Promise<{ problems: string[]; sample: NonNullable<RunRecord['sample']> }> => {
        const problems: string[] = [];
        let sample: NonNullable<RunRecord['sample']> = { status: 0, headers: {} };
        for (let i = 1; i <= 2; i++) {
          const r = await httpGet(`${target.baseUrl}${path}`, 10_000, HEADERS);
          sample = { status: r.status, headers: { ...r.headers } };
          if (r.status !== 200) problems.push(`GET #${i}: status ${r.status}`);
          if (r.headers['content-encoding'] !== 'gzip') problems.push(`GET #${i}: Content-Encoding ${String(r.headers['content-encoding'])}, want gzip`);
          else if (!isObjectContent(gunzipSync(r.body)) || gunzipSync(r.body).length !== size) problems.push(`GET #${i}: the body does not gunzip to the object`);
          if (cacheOutcome(r) !== 'hit') problems.push(`GET #${i}: not a cache hit (${headerLine(r)})`);
        }
        return { problems, sample };
      };
      const rows: RunRecord[] = [];
      for (let round = 1; round <= o.repeat; round++) {
        const r = await measureTarget({ scenario: 'hit-64k-gzip', target, origin, path, expect, headers: HEADERS, verify, opts: o, wrkBin, round, connections: o.connections, originPath: path, perGiB: false });
        const originRequests = r.metrics?.originRequests ?? 0;
        rows.push(originRequests > 0 ? { ...r, note: [r.note, `${originRequests} origin requests during the hit run`].filter((x) => x !== '').join('; ') } : r);
      }
      return rows;
    });
  },
};
