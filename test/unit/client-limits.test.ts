/**
 * Issue 20 client limits, in-process: config errors for every new setting (table-driven, hostile values), the
 * per-address rate buckets (admit, 429 wait, charges relayed from other workers, the bounded table), MaxSockets
 * admission with its Reopen hysteresis, and the PacedWriter's pacing against a fake engine writer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { loadConfigFromText } from '../../src/config/load.js';
import { RateLimiter } from '../../src/pipeline/rate-limit.js';
import type { RateUsage } from '../../src/pipeline/rate-limit.js';
import { Pace, PacedWriter } from '../../src/pipeline/traffic-cap.js';
import { clientConnections } from '../../src/stats/connections.js';
import type { ClientWriter, WriterState } from '../../src/http/writer.js';

const VHOST = (inner = ''): string => `<Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin>${inner}</Vhost>`;

function load(server: string, vhost: string): ReturnType<typeof loadConfigFromText> {
  return loadConfigFromText('/srv/flint/conf', `<Server>${server}</Server>`, `<Vhosts>${vhost}</Vhosts>`, { cpuCount: 2 });
}

function problemsOf(server: string, vhost: string): readonly string[] {
  try {
    load(server, vhost);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('the config was accepted');
}

test('client limit settings: bad values are config errors naming file, element and problem', () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ['<Host><MaxSockets>-1</MaxSockets></Host>', VHOST(), 'server.xml: Server/Host/MaxSockets: "-1" is out of range (0..200000)'],
    ['<Host><MaxSockets>abc</MaxSockets></Host>', VHOST(), 'server.xml: Server/Host/MaxSockets: "abc" is not a whole number'],
    ['<Host><MaxSockets>200001</MaxSockets></Host>', VHOST(), 'server.xml: Server/Host/MaxSockets: "200001" is out of range (0..200000)'],
    ['<Host><MaxSockets>1e3</MaxSockets></Host>', VHOST(), 'server.xml: Server/Host/MaxSockets: "1e3" is not a whole number'],
    ['<Host><MaxSockets Reopen="0">10</MaxSockets></Host>', VHOST(), 'server.xml: Server/Host/MaxSockets@Reopen: "0" is out of range (1..100)'],
    ['<Host><MaxSockets Reopen="101">10</MaxSockets></Host>', VHOST(), 'server.xml: Server/Host/MaxSockets@Reopen: "101" is out of range (1..100)'],
    ['<Host><RequestHeaderTimeout>0</RequestHeaderTimeout></Host>', VHOST(), 'server.xml: Server/Host/RequestHeaderTimeout: "0" is out of range (1..300)'],
    ['<Host><RequestHeaderTimeout>301</RequestHeaderTimeout></Host>', VHOST(), 'server.xml: Server/Host/RequestHeaderTimeout: "301" is out of range (1..300)'],
    ['', VHOST('<TrafficCap>-5</TrafficCap>'), 'vhosts.xml: Vhosts/Vhost[Name=a.com]/TrafficCap: "-5" is out of range (0..100000)'],
    ['', VHOST('<TrafficCap Session="x">5</TrafficCap>'), 'vhosts.xml: Vhosts/Vhost[Name=a.com]/TrafficCap@Session: "x" is not a whole number'],
    ['', VHOST('<TrafficCap>10 Mbps</TrafficCap>'), 'vhosts.xml: Vhosts/Vhost[Name=a.com]/TrafficCap: "10 Mbps" is not a whole number'],
    ['', VHOST('<RateLimit>1.5</RateLimit>'), 'vhosts.xml: Vhosts/Vhost[Name=a.com]/RateLimit: "1.5" is not a whole number'],
    ['', VHOST('<RateLimit Burst="-2">10</RateLimit>'), 'vhosts.xml: Vhosts/Vhost[Name=a.com]/RateLimit@Burst: "-2" is out of range (0..1000000)'],
    ['', VHOST('<RateLimit Burst="5">0</RateLimit>'), 'vhosts.xml: Vhosts/Vhost[Name=a.com]/RateLimit@Burst: 5 has no effect without a rate: set <RateLimit> to requests per second, or remove Burst'],
    ['', VHOST('<RateLimit Per="ip">10</RateLimit>'), 'vhosts.xml: Vhosts/Vhost[Name=a.com]/RateLimit@Per: unknown attribute'],
  ];
  for (const [server, vhost, expected] of cases) {
    const problems = problemsOf(server, vhost);
    assert.ok(problems.some((p) => p.startsWith(expected)), `${server}${vhost}: expected "${expected}", got ${JSON.stringify(problems)}`);
  }
});

test('client limit settings: defaults, values, and VHostDefault inheritance', () => {
  const plain = load('', VHOST());
  assert.deepEqual(plain.server.clientLimits, { maxSockets: 80_000, reopenPercent: 75, headerTimeoutMs: 10_000 });
  assert.deepEqual(plain.vhosts[0]?.clientLimits, { trafficCapMbps: 0, sessionCapMbps: 0, rateLimit: { perSec: 0, burst: 0 } });
  const set = load(
    '<Host><MaxSockets Reopen="50">1000</MaxSockets><RequestHeaderTimeout>2.5</RequestHeaderTimeout></Host><VHostDefault><RateLimit Burst="40">20</RateLimit><TrafficCap Session="8">100</TrafficCap></VHostDefault>',
    VHOST('<TrafficCap>50</TrafficCap>'),
  );
  assert.deepEqual(set.server.clientLimits, { maxSockets: 1000, reopenPercent: 50, headerTimeoutMs: 2500 });
  // The vhost's own <TrafficCap> replaces the inherited value; Session (not written on the vhost) stays inherited.
  assert.deepEqual(set.vhosts[0]?.clientLimits, { trafficCapMbps: 50, sessionCapMbps: 8, rateLimit: { perSec: 20, burst: 40 } });
});

test('rate limiter: burst, refill, Retry-After, other workers\' charges, per-vhost and per-address buckets', () => {
  const reports: RateUsage[] = [];
  const limiter = new RateLimiter((usage) => reports.push(usage));
  const spec = { perSec: 10, burst: 5 };
  limiter.configure([{ name: 'a.com', clientLimits: { trafficCapMbps: 0, sessionCapMbps: 0, rateLimit: spec } }] as never);
  try {
    for (let i = 0; i < 5; i++) assert.equal(limiter.take('a.com', spec, '192.0.2.1', 0), 0, `request ${i} within the burst`);
    assert.equal(limiter.take('a.com', spec, '192.0.2.1', 0), 1, 'the sixth waits: Retry-After 1');
    assert.equal(limiter.take('a.com', spec, '192.0.2.2', 0), 0, 'another address has its own bucket');
    assert.equal(limiter.take('a.com', spec, '192.0.2.1', 100), 0, '100 ms later one token is back');
    assert.equal(limiter.take('a.com', spec, '192.0.2.1', 100), 1);
    // Another worker admitted 30 requests of this address: this worker's bucket owes them (3 s at 10/s).
    limiter.charge([['a.com', '192.0.2.1', 30]], 100);
    assert.equal(limiter.take('a.com', spec, '192.0.2.1', 1100), 3, 'in debt: Retry-After counts the debt');
    assert.equal(limiter.take('a.com', spec, '192.0.2.1', 4200), 0, 'the debt is paid back at the rate');
    limiter.flush();
    assert.deepEqual(reports, [[['a.com', '192.0.2.1', 7], ['a.com', '192.0.2.2', 1]]], 'only admitted requests are reported');
    limiter.flush();
    assert.equal(reports.length, 1, 'nothing admitted since: no report');
    // A charge for a vhost without a limit in this config is ignored.
    limiter.charge([['b.com', '192.0.2.1', 100]], 4200);
    assert.equal(limiter.take('b.com', { perSec: 1, burst: 0 }, '192.0.2.9', 4200), 0);
    const wait = limiter.take('b.com', { perSec: 1, burst: 0 }, '192.0.2.9', 4200);
    assert.equal(wait, 1, 'Burst 0 = one second worth (1 request)');
  } finally {
    limiter.close();
  }
});

test('rate limiter: the address table is bounded; full buckets are swept', () => {
  const limiter = new RateLimiter(() => undefined, 1000);
  const spec = { perSec: 1, burst: 1 };
  limiter.configure([{ name: 'a.com', clientLimits: { trafficCapMbps: 0, sessionCapMbps: 0, rateLimit: spec } }] as never);
  try {
    for (let i = 0; i < 5000; i++) limiter.take('a.com', spec, `10.0.${i >> 8}.${i & 255}`, 0);
    assert.equal(limiter.tracked, 1000, 'never more than the cap');
    // At the cap the oldest address was replaced: the newest keeps its (empty) bucket.
    assert.equal(limiter.take('a.com', spec, '10.0.19.135', 0), 1);
    limiter.sweep(500);
    assert.equal(limiter.tracked, 1000, 'half refilled: kept');
    limiter.sweep(2000);
    assert.equal(limiter.tracked, 0, 'refilled buckets are the same as none: dropped');
  } finally {
    limiter.close();
  }
});

test('MaxSockets admission: each worker admits its share, refuses past it until below Reopen', () => {
  clientConnections.open = 0;
  clientConnections.refused = 0;
  clientConnections.configure(10, 50, 2);
  assert.equal(clientConnections.limit, 5);
  const admitted = Array.from({ length: 8 }, () => clientConnections.opened());
  assert.deepEqual(admitted, [true, true, true, true, true, false, false, false]);
  assert.equal(clientConnections.refused, 3);
  for (let i = 0; i < 3; i++) clientConnections.closed(); // the refused ones close
  clientConnections.closed(); // one admitted closes: 4 open, above the reopen mark (2)
  assert.equal(clientConnections.refusing, true);
  assert.equal(clientConnections.opened(), false, 'still refusing above Reopen');
  clientConnections.closed();
  clientConnections.closed();
  clientConnections.closed(); // 2 open: at the reopen mark
  assert.equal(clientConnections.refusing, false);
  assert.equal(clientConnections.opened(), true);
  clientConnections.configure(0, 75, 2);
  for (let i = 0; i < 100; i++) assert.equal(clientConnections.opened(), true, 'MaxSockets 0: no limit');
});

/** An engine writer that takes everything at once and records when bytes arrived. */
class RecordingWriter implements ClientWriter {
  bytesSent = 0;
  state: WriterState = 'open';
  headersSent = false;
  readonly arrivals: Array<{ at: number; bytes: number }> = [];
  ended = false;
  discardHead(): boolean {
    return true;
  }
  armAbort(): void {}
  remoteAddress(): string {
    return '127.0.0.1';
  }
  onAbort(): void {}
  writeHead(): void {
    this.state = 'streaming';
  }
  writeEncodedHead(): void {
    this.state = 'streaming';
  }
  endEncodedWithoutBody(): void {}
  writeBody(chunk: Buffer): boolean {
    this.bytesSent += chunk.length;
    this.arrivals.push({ at: performance.now(), bytes: chunk.length });
    return true;
  }
  end(): void {
    this.ended = true;
    this.state = 'ended';
  }
  endWithoutBody(): void {}
  endWithBody(): void {}
  close(): void {
    this.state = 'aborted';
  }
  onRequestBody(): void {}
  pauseRequestBody(): void {}
  resumeRequestBody(): void {}
}

test('PacedWriter: 4 Mbps session cap delivers 1 MB in about 2 s, a chunk at a time, without blocking', async () => {
  const inner = new RecordingWriter();
  const paced = new PacedWriter(inner, new Pace(4, performance.now()), null);
  paced.writeHead(200, 'OK', [], 1_000_000);
  const started = performance.now();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  const chunk = Buffer.alloc(250_000);
  for (let i = 0; i < 4; i++) {
    // The drain arrives through the writer seam, as from a full socket.
    await new Promise<void>((resolve) => {
      if (paced.writeBody(chunk, resolve)) resolve();
    });
  }
  paced.end();
  clearInterval(ticker);
  const seconds = (performance.now() - started) / 1000;
  assert.ok(inner.ended, 'ended after the last byte');
  assert.equal(inner.bytesSent, 1_000_000);
  // 1e6 bytes at 4e6 bit/s = 2.0 s; the bucket starts with two 20 ms slices.
  assert.ok(seconds > 1.8 && seconds < 2.2, `took ${seconds.toFixed(3)} s`);
  assert.ok(ticks > 100, `the event loop kept running (${ticks} ticks of 10 ms)`);
  // Slices of ~20 ms of the rate (20 KB); a late timer may catch up at most 250 ms worth (125 KB), never the 250 KB chunk.
  assert.ok(Math.max(...inner.arrivals.map((a) => a.bytes)) <= 125_000, 'bytes leave in slices, never a whole chunk');
  assert.ok(inner.arrivals.length >= 40, `${inner.arrivals.length} slices`);
});

test('PacedWriter: an abort while paced wakes the waiting pipeline and drops the held bytes', async () => {
  const inner = new RecordingWriter();
  const paced = new PacedWriter(inner, new Pace(1, performance.now()), null);
  paced.writeHead(200, 'OK', [], 1_000_000);
  const drained = new Promise<void>((resolve) => assert.equal(paced.writeBody(Buffer.alloc(1_000_000), resolve), false));
  inner.state = 'aborted';
  await drained;
  assert.ok(inner.bytesSent < 10_000, `only the first slices went out (${inner.bytesSent})`);
});
