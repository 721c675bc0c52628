/**
 * The hot-tier hit path through a real Flint (primary + 1 worker): a plain GET of a small hot object is answered
 * with a head encoded once per second (pipeline/hot-head.ts) in one uWS write, and every other request on a hot
 * object (conditional, Range, HEAD) takes the general path. These tests check the bytes on the wire, that Age and
 * the Cache-Status ttl still move, that the other requests still get their own answers, that the access log still
 * knows the client address (read lazily), and that header bytes above 0x7f reach the client unchanged on every path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import type { FlintProcess } from '../helpers/flint.js';
import { sleep } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import { rawExchange } from '../helpers/http.js';
import { accessRecordsFor, ageOf, cacheTtl, isHit, reply, seenFor, startCacheFlint, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import type { Route } from '../helpers/cache.js';

const HOST = 'hot.test';
const BODY = 'hot body '.repeat(100);
/** Bodies at the default HotObjectMaxSize (1 MiB) and one byte over it, with bytes that differ at every offset. */
const MIB = 1024 * 1024;
const BIG = patterned(MIB);
const OVER = patterned(MIB + 1);
/** A header value with bytes above 0x7f (e-acute, u-umlaut; node:http sends them as UTF-8 bytes). */
const NON_ASCII_VALUE = 'caf\u00e9 m\u00fcsli';

const routes: Record<string, Route> = {
  '/plain': (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600', etag: '"v1"', 'content-type': 'text/plain', 'x-origin': 'one' }, BODY),
  '/latin1': (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600', 'x-label': NON_ASCII_VALUE }, 'latin1 body'),
  '/big': (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600' }, BIG),
  '/over': (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600' }, OVER),
  '/latin1-pass': (_req, res) => reply(res, 200, { 'cache-control': 'no-store', 'x-label': NON_ASCII_VALUE }, 'latin1 pass'),
};

describe('hot tier hits', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => request({ port, path, host: HOST, headers, method });

  /** Requests `path` until a hit comes from the worker's hot tier (the /stats hot-hit counter moved). */
  async function makeHot(path: string): Promise<void> {
    await get(path);
    await waitFor(`${path} served from the hot tier`, async () => {
      const before = (await flint.stats()).cache.hot.hits;
      const res = await get(path);
      assert.ok(isHit(res), `expected a hit for ${path}, got ${String(res.headers['cache-status'])}`);
      return (await flint.stats()).cache.hot.hits > before ? true : undefined;
    });
  }

  before(async () => {
    origin = await startRoutedOrigin(routes);
    ({ flint, port } = await startCacheFlint([{ name: HOST, origin }]));
  });

  after(async () => {
    assert.deepEqual(flint.logs.filter((l) => l.event === 'worker.exit' || l.event === 'worker.crash'), [], 'no worker died');
    await flint?.stop();
    await origin?.close();
  });

  test('a hot hit is one well-formed response: the stored headers, Age, Cache-Status, Via, the exact body', async () => {
    await makeHot('/plain');
    const raw = await rawExchange(port, [`GET /plain HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], 0, 500);
    const end = raw.received.indexOf('\r\n\r\n');
    assert.ok(end > 0, `no end of head in ${JSON.stringify(raw.received.slice(0, 300))}`);
    const lines = raw.received.slice(0, end).split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 200 OK');
    const fields = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const m = /^([A-Za-z0-9-]+): (.*)$/.exec(line);
      assert.ok(m !== null, `malformed header line ${JSON.stringify(line)}`);
      assert.ok(!fields.has((m[1] as string).toLowerCase()), `header ${m[1]} sent twice`);
      fields.set((m[1] as string).toLowerCase(), m[2] as string);
    }
    assert.equal(fields.get('content-type'), 'text/plain');
    assert.equal(fields.get('etag'), '"v1"');
    assert.equal(fields.get('x-origin'), 'one');
    assert.match(fields.get('cache-status') ?? '', /^flint; hit; ttl=\d+$/);
    assert.match(fields.get('age') ?? '', /^\d+$/);
    assert.equal(fields.get('via'), '1.1 flint');
    assert.equal(fields.get('content-length'), String(BODY.length));
    assert.equal(raw.received.slice(end + 4), BODY);
    assert.equal(seenFor(origin, '/plain').length, 1);
  });

  test('Age grows and the Cache-Status ttl shrinks from one second to the next on hot hits', async () => {
    await makeHot('/plain');
    const first = await get('/plain');
    await sleep(2100);
    const second = await get('/plain');
    assert.ok(isHit(first) && isHit(second));
    assert.ok(ageOf(second) >= ageOf(first) + 2, `age ${ageOf(first)} -> ${ageOf(second)}`);
    assert.ok((cacheTtl(second) ?? 0) <= (cacheTtl(first) ?? 0) - 2, `ttl ${cacheTtl(first)} -> ${cacheTtl(second)}`);
    // Age is rounded down and the remaining ttl to the nearest second.
    const sum = ageOf(second) + (cacheTtl(second) ?? 0);
    assert.ok(sum === 599 || sum === 600, `age + remaining ttl = max-age, got ${sum}`);
  });

  test('conditional, Range and HEAD requests on a hot object get their own answers from the cache', async () => {
    await makeHot('/plain');
    const notModified = await get('/plain', { 'if-none-match': '"v1"' });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body.length, 0);
    assert.equal(notModified.headers.etag, '"v1"');
    assert.match(String(notModified.headers['cache-status']), /^flint; hit; ttl=\d+$/);
    assert.match(String(notModified.headers.age), /^\d+$/);
    assert.equal(notModified.headers['content-type'], undefined, 'a 304 carries only validators and cache fields');
    assert.equal(notModified.headers['x-origin'], undefined);
    const listMatch = await get('/plain', { 'if-none-match': 'W/"x", W/"v1"' });
    assert.equal(listMatch.status, 304, 'weak comparison against a list');
    // No Last-Modified stored: If-Modified-Since cannot match, the object is sent.
    const since = await get('/plain', { 'if-modified-since': new Date().toUTCString() });
    assert.equal(since.status, 200);
    assert.equal(since.body.toString(), BODY);
    const modified = await get('/plain', { 'if-none-match': '"v0"' });
    assert.equal(modified.status, 200);
    assert.equal(modified.body.toString(), BODY);
    const range = await get('/plain', { range: 'bytes=4-11' });
    assert.equal(range.status, 206);
    assert.equal(range.headers['content-range'], `bytes 4-11/${BODY.length}`);
    assert.equal(range.body.toString(), BODY.slice(4, 12));
    const stale = await get('/plain', { range: 'bytes=0-3', 'if-range': '"v0"' });
    assert.equal(stale.status, 200, 'If-Range with another validator gets the whole object');
    assert.equal(stale.body.toString(), BODY);
    const head = await get('/plain', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(BODY.length));
    assert.equal(head.body.length, 0);
    assert.equal(seenFor(origin, '/plain').length, 1, 'all from the cache');
    const records = await accessRecordsFor(flint, HOST, '/plain', 1);
    assert.ok(records.some((r) => r.status === 304 && r.cacheResult === 'TCP_IMS_HIT'), 'the 304 is logged as TCP_IMS_HIT');
  });

  test('the access record of a hot hit has the client address and TCP_HIT', async () => {
    await makeHot('/plain');
    const before = flint.accessLog().filter((r) => r.url === '/plain').length;
    const res = await get('/plain');
    assert.ok(isHit(res));
    const records = await accessRecordsFor(flint, HOST, '/plain', before + 1);
    const last = records[records.length - 1] as Record<string, unknown>;
    assert.equal(last.clientIp, '127.0.0.1');
    assert.equal(last.cacheResult, 'TCP_HIT');
    assert.equal(last.status, 200);
  });

  test('header bytes above 0x7f reach the client unchanged on a pass, a miss and a hot hit', async () => {
    // The origin's bytes, read back one char per byte as rawExchange reads (a proxy that re-encoded them would send
    // four bytes per accented letter instead of two).
    const expected = Buffer.from(NON_ASCII_VALUE, 'utf8').toString('latin1');
    const pass = await rawExchange(port, [`GET /latin1-pass HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], 0, 500);
    assert.ok(pass.received.includes(`\r\nx-label: ${expected}\r\n`), `pass: ${JSON.stringify(pass.received.slice(0, 400))}`);
    const miss = await rawExchange(port, [`GET /latin1 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], 0, 500);
    assert.ok(miss.received.includes(`\r\nx-label: ${expected}\r\n`), `miss: ${JSON.stringify(miss.received.slice(0, 400))}`);
    await makeHot('/latin1');
    const hot = await rawExchange(port, [`GET /latin1 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], 0, 500);
    assert.match(hot.received, /cache-status: flint; hit/);
    assert.ok(hot.received.includes(`\r\nx-label: ${expected}\r\n`), `hot hit: ${JSON.stringify(hot.received.slice(0, 400))}`);
  });

  test('a 1 MiB body is served from the hot tier, whole, to concurrent and slow readers; one byte more is not', async () => {
    await makeHot('/big');
    const before = await flint.stats();
    assert.ok(before.cache.hot.bytes >= MIB, `hot tier holds ${before.cache.hot.bytes} bytes`);
    const slow = slowGet(port, '/big', HOST, 300);
    const bodies = await Promise.all([...Array(10).keys()].map(() => get('/big').then((r) => r.body)));
    bodies.push(await slow);
    for (const [i, body] of bodies.entries()) assert.ok(body.equals(BIG), `response ${i}: ${body.length} bytes, not the origin's`);
    assert.ok((await flint.stats()).cache.hot.hits >= before.cache.hot.hits + 11, 'every response came from the hot tier');

    assert.ok(isHit(await get('/over')) || isHit(await get('/over')), '/over is cached');
    const hotHits = (await flint.stats()).cache.hot.hits;
    const over = await get('/over');
    assert.ok(isHit(over) && over.body.equals(OVER), 'a hit with the exact body');
    assert.equal((await flint.stats()).cache.hot.hits, hotHits, 'a body over HotObjectMaxSize is read from the block files');
    assert.equal(seenFor(origin, '/big').length, 1, 'one origin request for /big');
  });
});

/** `size` bytes that differ from their neighbours (a body shifted or cut short does not compare equal). */
function patterned(size: number): Buffer {
  const body = Buffer.allocUnsafe(size);
  for (let i = 0, x = 7; i < size; i++, x = (x * 1103515245 + 12345) >>> 0) body[i] = x >>> 24;
  return body;
}

/** GET with a client that stops reading after the first chunk for `pauseMs`, so the server must wait for it. */
function slowGet(port: number, path: string, host: string, pauseMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.once('data', () => {
        res.pause();
        setTimeout(() => res.resume(), pauseMs);
      });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
