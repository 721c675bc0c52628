/**
 * @module bench/smoke
 * `node dist/bench/run.js --smoke`: a self-check of the harness, not a benchmark. Parses a fixed wrk report and a
 * fixed h2load report with its per-request log, a tricky /proc stat line, checks cold-100's raw reader against a local server (Content-Length, chunked, a wrong
 * byte, a cut body), then (when wrk is installed) loads the origin alone for 1 s and checks that every
 * figure came out sane. Writes no result file. Returns the problems found (empty = ok). Runs in the bench process.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rawGet } from './clients/raw-get.js';
import type { Destroyable } from './clients/raw-get.js';
import { parseProcStat } from './lib/cpu.js';
import { countKey, objectBody, objectBytes } from './lib/objects.js';
import { parseH2load } from './lib/h2load.js';
import { measureTarget } from './lib/measure.js';
import { parseWrk, wrkArgs } from './lib/wrk.js';
import { ZIPF_MAX_BYTES, ZipfSampler, zipfSizes } from './lib/zipf.js';
import { startOrigin } from './targets/origin.js';
import type { BenchOptions } from './lib/scenario.js';

/** wrk 4.1 output with every optional line present (errors, non-2xx) and mixed units. */
const WRK_FIXTURE = `Running 10s test @ http://127.0.0.1:8080/1k
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   445.12us  100.50us   1.02s    90.00%
    Req/Sec    50.00k     2.00k   55.00k    80.00%
  Latency Distribution
     50%  400.00us
     75%  450.00us
     90%    1.50ms
     99%   12.00ms
  500000 requests in 10.00s, 600.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 10
Requests/sec:  50000.00
Transfer/sec:     60.00MB
`;

/** h2load 1.52 output (progress lines left out) with a failed request and a 404, and a 4-line per-request log. */
const H2LOAD_FIXTURE = `starting benchmark...
TLS Protocol: TLSv1.3
Cipher: TLS_AES_256_GCM_SHA384
Application protocol: h2

finished in 8.00s, 50000.50 req/s, 55.12MB/s
requests: 400010 total, 400010 started, 400006 done, 400004 succeeded, 1 failed, 1 errored, 0 timeout
status codes: 400004 2xx, 0 3xx, 1 4xx, 0 5xx
traffic: 441.00MB (462422016) total, 9.00MB (9437184) headers (space savings 90.00%), 390.63MB (409600000) data
                     min         max         mean         sd        +/- sd
time for request:      163us     12.64ms      8.63ms      1.19ms    73.01%
`;
const H2LOAD_LOG = '1796587735620132\t200\t1000\n1796587735620133\t200\t2000\n1796587735620134\t404\t3000\n1796587735620135\t-1\t40000\n';

/** Run the self-check; `log` gets one line per step. */
export async function runSmoke(opts: BenchOptions, log: (line: string) => void): Promise<string[]> {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };

  const r = parseWrk(WRK_FIXTURE);
  expect(r.requests === 500000 && r.durationS === 10, 'fixture: requests/duration');
  expect(r.requestsPerSec === 50000 && r.bytesPerSec === 60 * 1024 ** 2, 'fixture: rates (MB is MiB in wrk)');
  expect(Math.abs(r.latencyMs.p50 - 0.4) < 1e-9 && r.latencyMs.p90 === 1.5 && r.latencyMs.p99 === 12, 'fixture: percentiles');
  expect(r.latencyMs.max === 1020 && Math.abs(r.latencyMs.avg - 0.44512) < 1e-9, 'fixture: avg/max units');
  expect(r.errors.total === 20 && r.errors.timeout === 4 && r.errors.non2xx3xx === 10, 'fixture: errors');
  const h = parseH2load(H2LOAD_FIXTURE, H2LOAD_LOG);
  expect(h.report.requests === 400006 && h.report.durationS === 8 && h.report.requestsPerSec === 50000.5 && h.report.bytesRead === 462422016, 'h2load fixture: requests/duration/bytes');
  expect(h.report.latencyMs.p50 === 2 && h.report.latencyMs.p99 === 3 && h.report.latencyMs.max === 12.64 && Math.abs(h.report.latencyMs.avg - 8.63) < 1e-9, 'h2load fixture: percentiles from the log (failed stream left out), max/mean from the report');
  expect(h.report.errors.total === 3 && h.report.errors.non2xx3xx === 1 && h.extra.alpn === 'h2' && h.extra.cipher === 'TLS_AES_256_GCM_SHA384', 'h2load fixture: errors, ALPN, cipher');
  const st = parseProcStat('42 (a) b (c)) S 7 42 42 0 -1 4194560 1 0 0 0 150 25 3 2 20 0 1 0 1 1 1');
  expect(st?.pid === 42 && st.ppid === 7 && st.ticks === 180, 'proc stat: comm with ") " and field positions');
  const body = objectBody(64);
  expect(body.subarray(0, 32).toString('latin1') === '000000000000000\n000000000000010\n', 'objects: line format');
  expect(objectBytes(5, 40).equals(body.subarray(5, 40)) && objectBytes(0x1230, 0x1240).toString('latin1') === '000000000001230\n', 'objects: ranges');
  expect(countKey('/c/1k/m/flint-1w/r1/1-17') === '/c/1k/m/flint-1w/r1/*' && countKey('/c/64m') === '/c/64m', 'objects: count keys');
  expect(wrkArgs({ url: 'http://x/', threads: 1, connections: 2, durationS: 3, headers: { 'If-None-Match': '"a"' } }).join(' ') === '-t1 -c2 -d3s --latency -H If-None-Match: "a" http://x/', 'wrk: -H headers');
  const { sizes, totalBytes } = zipfSizes();
  expect(sizes.every((s) => s >= 100 && s <= ZIPF_MAX_BYTES) && Math.abs(totalBytes / 1024 ** 2 - 4651) < 1, `zipf: sizes out of range or total ${totalBytes} changed`);
  const a = new ZipfSampler(sizes.length, 0.9, 7);
  const b = new ZipfSampler(sizes.length, 0.9, 7);
  const seqA = Array.from({ length: 1000 }, () => a.next());
  expect(seqA.every((id) => id === b.next() && id >= 1 && id <= sizes.length), 'zipf: same seed, same sequence');
  expect(seqA.filter((id) => id === 1).length > 20, 'zipf: id 1 is the most popular (about 4.5% of requests)');
  log(`  parsers: ${problems.length === 0 ? 'ok' : problems.join('; ')}`);
  const before = problems.length;
  await checkRawGet(expect);
  log(`  raw reader: ${problems.length === before ? 'ok' : problems.slice(before).join('; ')}`);

  if (opts.tools.wrk === null) {
    log('  skip live check: wrk is not installed (apt-get install nginx varnish wrk)');
    return problems;
  }
  const origin = await startOrigin(opts.originKind, opts.tools.nginx);
  try {
    const run = await measureTarget({
      scenario: 'smoke',
      target: origin,
      origin,
      path: '/1k',
      expect: { status: 200, bodyBytes: 1024, cache: 'pass' },
      opts: { ...opts, durationS: 1, warmupS: 0, repeat: 1, connections: 10, threads: 1 },
      wrkBin: opts.tools.wrk,
      round: 1,
    });
    const m = run.metrics;
    if (run.status !== 'ok' || m === undefined) {
      problems.push(`live: ${run.status}: ${run.note}`);
    } else {
      expect(m.requests > 0 && m.requestsPerSec > 0 && m.mibPerSec > 0, 'live: no requests counted');
      expect(m.latencyMs.p50 > 0 && m.latencyMs.p99 >= m.latencyMs.p50 && m.latencyMs.max >= m.latencyMs.p99, 'live: latency order');
      expect(m.errors.total === 0, `live: ${m.errors.total} errors`);
      expect(m.serverCpuS > 0 && m.wrkCpuS > 0, `live: CPU not counted (server ${m.serverCpuS} s, wrk ${m.wrkCpuS} s)`);
      log(`  live: ${m.requestsPerSec.toFixed(0)} req/s, p99 ${m.latencyMs.p99.toFixed(2)} ms, origin CPU ${m.serverCpuS.toFixed(2)} s, wrk CPU ${m.wrkCpuS.toFixed(2)} s`);
    }
  } finally {
    await origin.stop();
  }
  return problems;
}

/** rawGet (clients/raw-get.ts) against a local server: whole bodies pass in both framings, a wrong byte and a cut fail. */
async function checkRawGet(expect: (ok: boolean, what: string) => void): Promise<void> {
  const good = objectBytes(0, 300_000);
  const bad = Buffer.from(good);
  bad[250_000] = (bad[250_000] as number) ^ 1;
  const server = createServer((req, res) => {
    const body = req.url?.startsWith('/bad') === true ? bad : good;
    if (req.url?.endsWith('chunked') === true) {
      res.writeHead(200);
      for (let i = 0; i < body.length; i += 70_000) res.write(body.subarray(i, i + 70_000));
      res.end();
    } else if (req.url?.endsWith('cut') === true) {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, 1000), () => res.destroy());
    } else {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const shared = Buffer.allocUnsafe(16 * 1024);
  const live = new Set<Destroyable>();
  const get = (path: string): Promise<string | undefined> => rawGet(`${base}${path}`, 200, good, shared, performance.now(), live).then((r) => r.problem);
  try {
    const [cl, chunked, wrongCl, wrongChunked, cut] = await Promise.all(['/good', '/good/chunked', '/bad', '/bad/chunked', '/good/cut'].map(get));
    expect(cl === undefined && chunked === undefined, `raw reader: whole bodies failed (${cl}; ${chunked})`);
    expect(/wrong bytes/.test(wrongCl ?? '') && /wrong bytes/.test(wrongChunked ?? ''), `raw reader: a wrong byte passed (${wrongCl}; ${wrongChunked})`);
    expect(/connection closed after 1000 body bytes/.test(cut ?? ''), `raw reader: a cut body passed (${cut})`);
  } finally {
    server.close();
  }
}
