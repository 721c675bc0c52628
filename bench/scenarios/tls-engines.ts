/**
 * @module bench/scenarios/tls-engines
 * Scenario `tls-engines` (issue 18 §4: is TLS HTTP/1.1 faster through uWS's SSLApp or through node:http2?): the
 * smallest fair probe, bench/floor-tls.ts, one process per engine answering the same 1 KiB body from memory with
 * the same headers and the same certificate, loaded with `wrk -t1 -c50` (HTTP/1.1 keep-alive; over TLS for
 * `uws-ssl` and `node-h2`, no ALPN, as wrk offers none). `uws-plain` is the same without TLS, the reference for
 * what TLS adds. `node-h2` and `node-h2-core` (HTTP/2 on the core stream API) are also loaded over HTTP/2 with h2load as
 * hit-1k-h2 does (rows `tls-engines/h2`), the
 * floor of Flint's HTTP/2 figures. No cache, no origin traffic: the origin the loop starts stays idle. Read CPU per
 * request.
 */
import { missingToolLine } from '../lib/environment.js';
import { h2loadClient } from '../lib/h2load.js';
import { measureTarget } from '../lib/measure.js';
import { makeBenchCert, tlsHandshake } from '../lib/tls.js';
import { startTlsFloor } from '../targets/floor-tls.js';
import { makeTempDir, removeTempDir } from '../targets/target.js';
import { runCacheScenario } from './cache-common.js';
import { H2_STREAMS } from './hit-tls.js';
import type { RunRecord } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import type { BenchCert } from '../lib/tls.js';
import type { Expected } from '../lib/verify.js';
import type { CacheTarget } from './cache-common.js';

const NAME = 'tls-engines';
const PATH = '/1k';
const EXPECT: Expected = { status: 200, bodyBytes: 1024, cache: 'any', content: true };
const ENGINES = ['uws-ssl', 'node-h2', 'node-h2-core', 'uws-plain'] as const;

function engineTargets(cert: BenchCert): CacheTarget[] {
  return ENGINES.map((engine) => ({ name: engine, workers: 1, stores: false, start: () => startTlsFloor(engine, cert) }));
}

export const tlsEngines: Scenario = {
  name: NAME,
  summary: 'TLS HTTP/1.1 engines on a 1 KiB body from memory (wrk https -c50): uWS SSLApp vs node:http2 allowHTTP1, uWS plain as reference',
  async run(o, log) {
    if (o.tools.wrk === null) return { runs: [], skipped: [missingToolLine('wrk', NAME)], originConfigs: null };
    const wrkBin = o.tools.wrk;
    const certDir = makeTempDir(`${NAME}-cert`);
    try {
      const cert = makeBenchCert(certDir);
      return await runCacheScenario(NAME, engineTargets(cert), o, log, async (target, origin) => {
        const tls = target.baseUrl.startsWith('https:') ? await tlsHandshake(target.baseUrl, []) : null;
        if (tls !== null) log(`  ${target.name}: ${tls.protocol} ${tls.cipher}, ALPN ${tls.alpn}`);
        const rows: RunRecord[] = [];
        for (let round = 1; round <= o.repeat; round++) {
          const r = await measureTarget({ scenario: NAME, target, origin, path: PATH, expect: EXPECT, opts: o, wrkBin, round, perGiB: false });
          rows.push(tls === null ? r : { ...r, extra: { ...r.extra, tls } });
        }
        if (target.name.startsWith('node-h2') && o.tools.h2load !== null) {
          const load = h2loadClient(`${target.baseUrl}${PATH}`, o, o.tools.h2load, H2_STREAMS);
          for (let round = 1; round <= o.repeat; round++) {
            const r = await measureTarget({ scenario: `${NAME}/h2`, target, origin, path: PATH, expect: EXPECT, opts: o, wrkBin, round, perGiB: false, load });
            rows.push(r);
          }
        }
        return rows;
      });
    } finally {
      removeTempDir(certDir);
    }
  },
};
