/**
 * @module bench/scenarios/hit-tls
 * Scenarios `hit-1k-tls` (cache hits of one 1 KiB object over TLS HTTP/1.1 keep-alive, wrk with an https URL) and
 * `hit-1k-h2` (the same object over HTTP/2, h2load: 50 connections x 10 streams), for Flint 1 worker (node:http2
 * with allowHTTP1, src/tls/h2-server.ts; over HTTP/1.1 also `flint-uws-1w`, `<Https Engine="uws">`) and nginx proxy_cache 1 worker (`listen ... ssl http2`), on one certificate made at
 * bench time (lib/tls.ts, removed with the scenario). Varnish has no TLS termination (it needs a TLS proxy such as
 * hitch in front, which would measure that proxy), so it is not a target here. Each target is primed over TLS (nginx
 * keys its cache by scheme), verified (two GETs over the scenario's protocol: hit, 200, every byte right), warmed and
 * measured; the origin must see no request for the object during the run. Each row's JSON keeps what the handshake
 * negotiated (`extra.tls`: protocol, cipher, ALPN), so both servers are known to have used the same.
 */
import { missingToolLine } from '../lib/environment.js';
import { h2loadClient } from '../lib/h2load.js';
import { measureTarget } from '../lib/measure.js';
import { CACHE_OBJECTS, cachePath } from '../lib/objects.js';
import { freePort } from '../lib/ports.js';
import { checkResponse } from '../lib/verify.js';
import { h2Get, makeBenchCert, tlsHandshake } from '../lib/tls.js';
import { startFlint } from '../targets/flint.js';
import { cacheServerBlock, startNginx } from '../targets/nginx.js';
import { makeTempDir, removeTempDir } from '../targets/target.js';
import { headerLine, primeUntilHit, runCacheScenario } from './cache-common.js';
import type { RunRecord } from '../lib/results.js';
import type { BenchOptions, Scenario } from '../lib/scenario.js';
import type { BenchCert } from '../lib/tls.js';
import type { Expected } from '../lib/verify.js';
import type { CacheTarget } from './cache-common.js';

/** h2load -m: concurrent streams per connection (the "50 connections x 10 streams"). */
export const H2_STREAMS = 10;
const READY_PATH = '/1k';
const PATH = cachePath('1k');
const EXPECT: Expected = { status: 200, bodyBytes: CACHE_OBJECTS['1k'], cache: 'hit', content: true };

/** The targets: one worker each, both serving the scenario over TLS (baseUrl https://...). */
function tlsTargets(cert: BenchCert, protocol: 'http/1.1' | 'h2'): CacheTarget[] {
  return [
    {
      name: 'nginx-cache',
      workers: 1,
      peer: 'nginx',
      start: async (o, originPort) => {
        if (o.tools.nginx === null) throw new Error('unreachable: nginx checked before start');
        const tls = { port: await freePort(), cert: cert.cert, key: cert.key };
        const t = await startNginx(o.tools.nginx, { name: 'nginx-cache', workers: 1, serverBlock: cacheServerBlock(originPort, { lock: true, slice: false, tls }), readyPath: READY_PATH, cacheRoot: o.cacheRoot });
        return { ...t, baseUrl: `https://127.0.0.1:${tls.port}`, configs: { ...t.configs, certificate: cert.command } };
      },
    },
    flintTarget('flint-1w', 'node', cert),
    // <Https Engine="uws">: uWS's SSLApp, HTTP/1.1 only (no ALPN), so only in the HTTP/1.1 scenario.
    ...(protocol === 'http/1.1' ? [flintTarget('flint-uws-1w', 'uws', cert)] : []),
  ];
}

function flintTarget(name: string, engine: 'node' | 'uws', cert: BenchCert): CacheTarget {
  return {
    name,
    workers: 1,
    start: async (o, originPort) => {
      const https = { port: await freePort(), cert: cert.cert, key: cert.key, engine };
      const t = await startFlint({ name, workers: 1, originPort, readyPath: READY_PATH, cacheRoot: o.cacheRoot, https });
      return { ...t, configs: { ...t.configs, certificate: cert.command } };
    },
  };
}

function tlsScenario(name: string, protocol: 'http/1.1' | 'h2', summary: string): Scenario {
  return {
    name,
    summary,
    async run(o: BenchOptions, log) {
      const tool = protocol === 'h2' ? 'h2load' : 'wrk';
      const bin = o.tools[tool];
      if (bin === null) return { runs: [], skipped: [missingToolLine(tool, name)], originConfigs: null };
      const skipped = o.peers.has('varnish') ? [`note ${name}: varnish has no TLS termination (it needs a TLS proxy such as hitch in front); not a target`] : [];
      const certDir = makeTempDir(`${name}-cert`);
      try {
        const cert = makeBenchCert(certDir);
        const res = await runCacheScenario(name, tlsTargets(cert, protocol), o, log, async (target, origin) => {
          const url = `${target.baseUrl}${PATH}`;
          const primed = await primeUntilHit(url, EXPECT);
          log(`  ${target.name}: primed over TLS, ${headerLine(primed)}`);
          const tls = await tlsHandshake(url, protocol === 'h2' ? ['h2', 'http/1.1'] : []);
          log(`  ${target.name}: ${tls.protocol} ${tls.cipher}, ALPN ${tls.alpn}`);
          if (protocol === 'h2' && tls.alpn !== 'h2') throw new Error(`ALPN chose ${tls.alpn}, not h2`);
          const h2 = protocol === 'h2' ? h2loadClient(url, o, bin, H2_STREAMS) : undefined;
          const rows: RunRecord[] = [];
          for (let round = 1; round <= o.repeat; round++) {
            const r = await measureTarget({
              scenario: name,
              target,
              origin,
              path: PATH,
              expect: EXPECT,
              opts: o,
              wrkBin: bin,
              round,
              originPath: PATH,
              perGiB: false,
              ...(h2 === undefined ? {} : { load: h2, verify: () => verifyH2(url) }),
            });
            const notes = [r.note];
            const originRequests = r.metrics?.originRequests ?? 0;
            if (originRequests > 0) notes.push(`${originRequests} origin requests during the hit run`);
            const alpn = (r.extra?.['load'] as { alpn?: string } | undefined)?.alpn;
            if (alpn !== undefined && alpn !== 'h2') notes.push(`h2load used ${alpn}, not h2`);
            rows.push({ ...r, note: notes.filter((x) => x !== '').join('; '), extra: { ...r.extra, tls } });
          }
          return rows;
        });
        return { ...res, skipped: [...skipped, ...res.skipped] };
      } finally {
        removeTempDir(certDir);
      }
    },
  };
}

/** Two GETs over HTTP/2, each a hit with every byte right. */
async function verifyH2(url: string): Promise<{ problems: string[]; sample: NonNullable<RunRecord['sample']> }> {
  let sample: NonNullable<RunRecord['sample']> = { status: 0, headers: {} };
  for (let i = 0; i < 2; i++) {
    const r = await h2Get(url);
    sample = { status: r.status, headers: { ...r.headers } };
    const problems = checkResponse(r, EXPECT);
    if (problems.length > 0) return { problems: problems.map((p) => `h2 GET #${i + 1}: ${p}`), sample };
  }
  return { problems: [], sample };
}

export const hit1kTls = tlsScenario('hit-1k-tls', 'http/1.1', 'cache hits of one 1 KiB object over TLS HTTP/1.1 keep-alive (wrk https, -c50): Flint 1w vs nginx 1w, one certificate');
export const hit1kH2 = tlsScenario('hit-1k-h2', 'h2', `cache hits of one 1 KiB object over HTTP/2 (h2load -c50 -m${H2_STREAMS}): Flint 1w vs nginx 1w, one certificate`);
