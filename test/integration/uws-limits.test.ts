/**
 * Records how the uWS build Flint uses (@based/uws@6.0.1, uWS.js v20.51) treats requests at the edge of what it
 * parses, and what it writes on its own (README "Known limits"), so that a change of build shows up as a failure
 * to look at: request heads up to <MaxRequestHeaderSize> (passed to the workers as UWS_HTTP_MAX_HEADERS_SIZE) in
 * any number of reads, 431 past it or past 98 headers, 505 for HTTP/1.0, no `uWebSockets` header (uWS's
 * `_cfg('silent')`), exactly one Date (uWS's own), and open connections counted through uWS's `app.filter`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { rawExchange } from '../helpers/http.js';
import { loadNativeUws } from '../../src/http/uws.js';

/** A request head of exactly `total` bytes (request line, Host, one Cookie filling the rest, blank line). */
function headOfSize(total: number, host = 'example.com'): string {
  const start = `GET /cookie HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nCookie: `;
  return `${start}${'c'.repeat(total - start.length - 4)}\r\n\r\n`;
}

/** `count` request headers in all, Host and Connection included. */
function headWithHeaders(count: number): string {
  const extra = Array.from({ length: count - 2 }, (_, i) => `X-H${i}: v\r\n`).join('');
  return `GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n${extra}\r\n`;
}

/** The response head (status line and headers) of a raw exchange. */
function headOf(received: string): string {
  const end = received.indexOf('\r\n\r\n');
  return end < 0 ? received : received.slice(0, end + 2);
}

/** Asserts uWS stamped nothing of its own but its one Date. */
function assertNoUwsMark(received: string, what: string): void {
  const head = headOf(received);
  assert.match(head, /^HTTP\/1\.1 \d{3} /, `${what}: a response`);
  assert.doesNotMatch(head, /\r\nuwebsockets:/i, `${what}: no uWebSockets header`);
  if (/^HTTP\/1\.1 (431|505)/.test(head)) return; // uWS's own error answers carry no Date
  assert.equal(head.match(/\r\ndate:/gi)?.length, 1, `${what}: exactly one Date`);
}

/** A 431/505 from uWS: said at once, then the connection closed. */
function assertRefused(r: { received: string; closedByServer: boolean }, status: number): void {
  assert.match(r.received, new RegExp(`^HTTP/1\\.1 ${status} `));
  assert.match(headOf(r.received), /\r\nConnection: close\r\n/i);
  assert.ok(r.closedByServer);
}

describe('the uWS build: request limits and what it writes', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  let deadPort: number;

  before(async () => {
    origin = await TestOrigin.start((req, res) => {
      if (req.url === '/cached') res.setHeader('cache-control', 'max-age=3600');
      // An origin Date a minute old: what reaches the client is uWS's own (README "Known limits").
      res.setHeader('date', new Date(Date.now() - 60_000).toUTCString());
      res.end(`cookie ${req.headers.cookie?.length ?? 0}`);
    }, 0, 128 * 1024);
    port = await freePort();
    deadPort = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }),
      // No <Default>: an unknown Host gets Flint's 404.
      vhosts: vhostXml([
        { name: 'example.com', port, origin: origin.address },
        { name: 'dead.test', port, origin: `127.0.0.1:${deadPort}`, extra: '<OriginOptions><ConnectTimeout>1</ConnectTimeout></OriginOptions>' },
      ]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('control: a normal split request is answered', async () => {
    const r = await rawExchange(port, ['GET / HTTP/1.1\r\nHost: example.com\r\n', 'X-A: 1\r\n\r\n']);
    assert.match(r.received, /^HTTP\/1\.1 200/);
  });

  test('request header bytes above 0x7f: UTF-8 reaches the origin unchanged, other bytes as U+FFFD', async () => {
    // uWS.js hands header values to JavaScript as strings decoded from UTF-8 (src/http/request.ts asBytes).
    const seenFor = async (value: Buffer): Promise<Buffer> => {
      const request = Buffer.concat([Buffer.from('GET /label HTTP/1.1\r\nHost: example.com\r\nX-Label: '), value, Buffer.from('\r\n\r\n')]);
      const r = await rawExchange(port, [request], 0, 500);
      assert.match(r.received, /^HTTP\/1\.1 200/);
      // node:http decodes header bytes as latin1: back to the bytes the origin received.
      return Buffer.from(String(origin.seen.filter((s) => s.url === '/label').at(-1)?.headers['x-label']), 'latin1');
    };
    const utf8 = Buffer.from('caf\u00e9e', 'utf8');
    assert.deepEqual(await seenFor(utf8), utf8, 'UTF-8 bytes pass unchanged');
    assert.deepEqual(await seenFor(Buffer.from('caf\u00e9e', 'latin1')), Buffer.from('caf\ufffde', 'utf8'), 'a lone 0xe9 (not UTF-8)');
  });

  test('a 16 KiB Cookie split over two TCP writes is served whole (the old build closed without a word)', async () => {
    const cookie = 'c'.repeat(16 * 1024);
    const r = await rawExchange(port, ['GET /cookie HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n', `Cookie: ${cookie}\r\n\r\n`]);
    assert.match(r.received, /^HTTP\/1\.1 200/);
    assert.ok(r.received.endsWith(`cookie ${cookie.length}`), 'the origin saw the whole Cookie');
  });

  test('request heads up to the default 32 KiB limit are served, in one read or two; one byte more gets 431', async () => {
    for (const parts of [1, 2]) {
      const at = headOfSize(32 * 1024);
      const over = headOfSize(32 * 1024 + 1);
      const split = (h: string): string[] => (parts === 1 ? [h] : [h.slice(0, 100), h.slice(100)]);
      assert.match((await rawExchange(port, split(at))).received, /^HTTP\/1\.1 200/, `${parts} read(s), at the limit`);
      assertRefused(await rawExchange(port, split(over)), 431);
    }
  });

  test('60 and 98 request headers are served; 99 and 120 get 431 and the connection closed', async () => {
    for (const count of [60, 98]) assert.match((await rawExchange(port, [headWithHeaders(count)])).received, /^HTTP\/1\.1 200/, `${count} headers`);
    for (const count of [99, 120]) assertRefused(await rawExchange(port, [headWithHeaders(count)]), 431);
  });

  test('HTTP/1.0 gets 505 at once and the connection closed (no build for Node 20 serves 1.0 in plain HTTP)', async () => {
    const started = Date.now();
    const r = await rawExchange(port, ['GET / HTTP/1.0\r\nHost: example.com\r\n\r\n'], 0, 5000);
    assertRefused(r, 505);
    assert.ok(Date.now() - started < 2000, 'not held until an idle timeout');
    // uWS's own 431/505 bodies name it, and _cfg('silent') does not change them (README "Known limits").
    assert.match(r.received, /uWebSockets\/20 Server/);
  });

  test('known limit: a request line without spaces gets no answer; the connection waits for the idle timeout', async () => {
    // uWS keeps waiting for a request line it can split; Flint's handler never runs (README "Known limits").
    const r = await rawExchange(port, ['GARBAGE\r\n\r\n'], 0, 1000);
    assert.equal(r.received, '');
    assert.equal(r.closedByServer, false, 'still open after 1 s (uWS closes it at its ~10 s idle timeout)');
  });

  test('no response carries a uWebSockets header: a miss, a hit, an origin error, a 404, a 431, a 505', async () => {
    const get = (host: string, path: string): Promise<{ received: string }> =>
      rawExchange(port, [`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`], 0, 3000);
    const miss = await get('example.com', '/cached');
    let hit = await get('example.com', '/cached');
    // The miss is answered before its fill commits: ask again until the copy is served from the cache.
    for (let i = 0; i < 20 && !/\r\nCache-Status: [^\r]*hit/i.test(hit.received); i++, await sleep(50)) hit = await get('example.com', '/cached');
    assert.match(hit.received, /\r\nCache-Status: [^\r]*hit/i, 'the second request is a hit');
    const error = await get('dead.test', '/x');
    assert.match(error.received, /^HTTP\/1\.1 5\d\d /, 'an origin that refuses connections');
    const unknown = await get('unknown.test', '/');
    assert.match(unknown.received, /^HTTP\/1\.1 404 /);
    for (const [what, r] of Object.entries({ miss, hit, error, unknown })) assertNoUwsMark(r.received, what);
    assertNoUwsMark((await rawExchange(port, [headWithHeaders(120)])).received, '431');
    assertNoUwsMark((await rawExchange(port, ['GET / HTTP/1.0\r\n\r\n'])).received, '505');
    // The one Date is uWS's, written now: not the origin's, an hour old.
    const date = Date.parse(/\r\ndate: ([^\r]*)/i.exec(hit.received)?.[1] ?? '');
    assert.ok(Math.abs(Date.now() - date) < 20_000, `Date is now, not the origin's (${new Date(date).toUTCString()})`);
  });

  test('open client connections are counted in /stats, /metrics and /monitoring, and go back down on close', async () => {
    const before = (await flint.stats()).activeConnections ?? 0;
    const sockets: Socket[] = await Promise.all(
      Array.from({ length: 5 }, () => new Promise<Socket>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', reject);
      })),
    );
    // Accepted by uWS before the stats ask: one round trip each.
    await Promise.all(sockets.map((s) => new Promise((resolve) => {
      s.once('data', resolve);
      s.write('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
    })));
    assert.equal((await flint.stats()).activeConnections, before + 5);
    const metrics = await (await fetch(`http://127.0.0.1:${flint.managerPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`^flint_client_connections ${before + 5}$`, 'm'));
    let sessions: unknown;
    for (let i = 0; i < 40 && sessions !== before + 5; i++, await sleep(100)) {
      sessions = (await flint.admin<{ host: { clientSessions?: number } }>('/monitoring/realtime')).body.host.clientSessions;
    }
    assert.equal(sessions, before + 5, '/monitoring/realtime host.clientSessions (from the once-a-second snapshots)');
    for (const s of sockets) s.destroy();
    let after: number | null = null;
    for (let i = 0; i < 40 && after !== before; i++, await sleep(50)) after = (await flint.stats()).activeConnections;
    assert.equal(after, before);
  });

  test('the build always writes its own Date after the handler\'s: Flint cannot send a stored Date (README "Known limits")', async () => {
    // Straight on the module Flint loads (silent already): a handler that writes Date gets two on the wire.
    const uws = loadNativeUws();
    const app = uws.App();
    app.any('/*', (res) => {
      res.cork(() => {
        res.writeStatus('200 OK');
        res.writeHeader('Date', 'Mon, 01 Jan 2001 00:00:00 GMT');
        res.end('x');
      });
    });
    const probePort = await freePort();
    const socket = await new Promise<unknown>((resolve) => app.listen('127.0.0.1', probePort, resolve));
    assert.ok(socket !== false, 'listening');
    try {
      const r = await rawExchange(probePort, ['GET / HTTP/1.1\r\nHost: a\r\n\r\n'], 0, 300);
      const dates = [...headOf(r.received).matchAll(/\r\ndate: ([^\r]*)/gi)].map((m) => m[1]);
      assert.equal(dates.length, 2, r.received);
      assert.equal(dates[0], 'Mon, 01 Jan 2001 00:00:00 GMT', 'ours first');
      assert.notEqual(dates[1], dates[0], "then uWS's own");
      assert.doesNotMatch(r.received, /uWebSockets:/i);
    } finally {
      uws.us_listen_socket_close(socket as Parameters<typeof uws.us_listen_socket_close>[0]);
    }
  });
});

describe('<Host><MaxRequestHeaderSize>: passed to the workers at start, a restart-only setting', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  const serverWith = (limit: string, dir: string, managerPort: number): string =>
    serverXml({ managerPort, dir }).replace('</Host>', `<MaxRequestHeaderSize>${limit}</MaxRequestHeaderSize></Host>`);

  before(async () => {
    origin = await TestOrigin.start((req, res) => res.end(`cookie ${req.headers.cookie?.length ?? 0}`), 0, 128 * 1024);
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverWith('8K', dir, managerPort),
      vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }], 'example.com'),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('8K: a head of 8192 bytes is served, 8193 gets 431; a reload to 64K logs config.needs_restart and keeps 8K, also in a restarted worker', async () => {
    assert.match((await rawExchange(port, [headOfSize(8192)])).received, /^HTTP\/1\.1 200/);
    assertRefused(await rawExchange(port, [headOfSize(8193)]), 431);
    flint.writeConf('server.xml', serverWith('64K', flint.dir, flint.managerPort));
    flint.signal('SIGHUP');
    const line = await flint.waitForLog((l) => l.event === 'config.needs_restart');
    assert.ok((line.settings as string[]).includes('server.xml: Server/Host/MaxRequestHeaderSize'), JSON.stringify(line));
    await sleep(200);
    assertRefused(await rawExchange(port, [headOfSize(16 * 1024)]), 431);
    // A worker restarted after the reload gets the limit Flint started with, like its siblings.
    const pid = (await flint.stats()).workers[0]?.pid;
    assert.ok(typeof pid === 'number');
    process.kill(pid, 'SIGKILL');
    await flint.waitForLog((l) => l.event === 'worker.listening' && l.pid !== pid);
    assertRefused(await rawExchange(port, [headOfSize(16 * 1024)]), 431);
    assert.match((await rawExchange(port, [headOfSize(8192)])).received, /^HTTP\/1\.1 200/);
  });
});
