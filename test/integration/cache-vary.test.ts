/**
 * Variants and invalidation through a real Flint (primary + 1 worker): Vary keeps one stored response per value
 * of the named request headers (RFC 9111 §4.1), Accept-Encoding values that mean the same select the same variant,
 * `Vary: *` is never reused, and a successful unsafe request invalidates the stored responses of its target URI
 * (RFC 9111 §4.4), including any copy a worker keeps in memory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { FlintProcess } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { cacheStatus, isHit, reply, resultDelta, seenFor, startCacheFlint, startRoutedOrigin, vhostStats } from '../helpers/cache.js';

const HOST = 'vary.test';
const TEXT = 'the identity representation of a text resource, long enough to compress well. '.repeat(20);
const GZIPPED = gzipSync(TEXT);

/** An origin resource varying on Accept-Encoding: gzip when the request accepts it, else identity. */
function encodingRoute(tag: string): Route {
  return (req, res, n) => {
    const gzip = /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
    const headers = { 'cache-control': 'max-age=3600', vary: 'Accept-Encoding', 'content-type': 'text/plain', 'x-fetch': `${tag}-${n}` };
    if (gzip) reply(res, 200, { ...headers, 'content-encoding': 'gzip' }, GZIPPED);
    else reply(res, 200, headers, TEXT);
  };
}

describe('cache variants and invalidation', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<TestResponse> =>
    request({ port, path, host: HOST, headers, method, ...(body === undefined ? {} : { body }) });
  const gets = (path: string): number => seenFor(origin, path).filter((r) => r.method === 'GET').length;

  before(async () => {
    origin = await startRoutedOrigin(routes);
    ({ flint, port } = await startCacheFlint([{ name: HOST, origin }]));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('Vary: Accept-Encoding keeps a gzip and an identity variant apart', async () => {
    routes['/ae'] = encodingRoute('ae');
    const before = (await vhostStats(flint, HOST)).cacheResults;
    const gzipMiss = await get('/ae', { 'accept-encoding': 'gzip' });
    const identityMiss = await get('/ae');
    assert.equal(gzipMiss.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gzipMiss.body).toString(), TEXT);
    assert.equal(identityMiss.headers['content-encoding'], undefined);
    assert.equal(identityMiss.body.toString(), TEXT);
    assert.equal(gets('/ae'), 2, 'each variant is fetched once');

    const gzipHit = await get('/ae', { 'accept-encoding': 'gzip' });
    const identityHit = await get('/ae');
    assert.ok(isHit(gzipHit), cacheStatus(gzipHit));
    assert.ok(isHit(identityHit), cacheStatus(identityHit));
    assert.equal(gzipHit.headers['content-encoding'], 'gzip');
    assert.deepEqual(gzipHit.body, GZIPPED);
    assert.equal(gzipHit.headers['x-fetch'], gzipMiss.headers['x-fetch']);
    assert.equal(identityHit.headers['content-encoding'], undefined);
    assert.equal(identityHit.body.toString(), TEXT);
    assert.equal(identityHit.headers['x-fetch'], identityMiss.headers['x-fetch']);
    assert.match(String(gzipHit.headers.vary), /accept-encoding/i);
    // A third value is a third variant.
    const deflate = await get('/ae', { 'accept-encoding': 'deflate' });
    assert.ok(!isHit(deflate), cacheStatus(deflate));
    assert.equal(gets('/ae'), 3);
    const delta = await resultDelta(flint, HOST, before, 5);
    assert.deepEqual(delta, { TCP_MISS: 3, TCP_HIT: 2 });
  });

  test('equivalent Accept-Encoding values (order, spaces, case, q=1) select the same variant', async () => {
    routes['/ae-norm'] = encodingRoute('norm');
    await get('/ae-norm', { 'accept-encoding': 'gzip, br' });
    for (const value of ['br,gzip', 'br, gzip', 'GZIP, BR', 'br;q=1, gzip']) {
      const res = await get('/ae-norm', { 'accept-encoding': value });
      assert.ok(isHit(res), `${value}: ${cacheStatus(res)}`);
      assert.deepEqual(res.body, GZIPPED, value);
    }
    assert.equal(gets('/ae-norm'), 1);
  });

  test('Vary: * is never served from the cache', async () => {
    routes['/vary-star'] = (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600', vary: '*', etag: '"vs"' }, `star #${n}`);
    for (let i = 1; i <= 3; i++) {
      const res = await get('/vary-star');
      assert.equal(res.body.toString(), `star #${i}`);
      assert.ok(!isHit(res), cacheStatus(res));
    }
    assert.equal(gets('/vary-star'), 3);
  });

  test('a successful POST invalidates the cached GET of its URL, even one hot in memory', async () => {
    routes['/inv'] = (req, res, n) =>
      req.method === 'POST' ? reply(res, 200, { 'content-type': 'text/plain' }, 'posted') : reply(res, 200, { 'cache-control': 'max-age=3600' }, `inv #${n}`);
    assert.equal((await get('/inv')).body.toString(), 'inv #1');
    // Two hits: the second is served from the worker's in-memory hot tier.
    for (let i = 0; i < 2; i++) {
      const hit = await get('/inv');
      assert.ok(isHit(hit), cacheStatus(hit));
      assert.equal(hit.body.toString(), 'inv #1');
    }
    const post = await get('/inv', { 'content-type': 'text/plain' }, 'POST', 'data');
    assert.equal(post.status, 200);
    assert.equal(post.body.toString(), 'posted');
    const after = await get('/inv');
    assert.ok(!isHit(after), `the GET after the POST is a miss: ${cacheStatus(after)}`);
    assert.equal(after.body.toString(), 'inv #3', 'fetched again from the origin');
    assert.equal(gets('/inv'), 2);
  });

  test('a successful DELETE invalidates every variant of its URL', async () => {
    routes['/inv-vary'] = (req, res, n) => (req.method === 'DELETE' ? reply(res, 204, {}) : encodingRoute(`iv${n}`)(req, res, n));
    await get('/inv-vary', { 'accept-encoding': 'gzip' });
    await get('/inv-vary');
    assert.ok(isHit(await get('/inv-vary', { 'accept-encoding': 'gzip' })));
    assert.ok(isHit(await get('/inv-vary')));
    assert.equal(gets('/inv-vary'), 2);
    assert.equal((await get('/inv-vary', {}, 'DELETE')).status, 204);
    const gzip = await get('/inv-vary', { 'accept-encoding': 'gzip' });
    const identity = await get('/inv-vary');
    assert.ok(!isHit(gzip), cacheStatus(gzip));
    assert.ok(!isHit(identity), cacheStatus(identity));
    assert.equal(gets('/inv-vary'), 4);
  });

  test('a successful PUT also invalidates the same-host Location and Content-Location, not another host', async () => {
    for (const path of ['/loc-a', '/loc-b', '/loc-c']) {
      routes[path] = (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600' }, `${path} #${n}`);
    }
    routes['/loc-put'] = (_req, res) =>
      reply(res, 201, { location: '/loc-a', 'content-location': `http://${HOST}/loc-b` }, 'created');
    routes['/loc-put-other'] = (_req, res) => reply(res, 201, { location: 'http://elsewhere.test/loc-c' }, 'created');
    for (const path of ['/loc-a', '/loc-b', '/loc-c']) {
      await get(path);
      assert.ok(isHit(await get(path)), `${path} is cached`);
    }
    assert.equal((await get('/loc-put', { 'content-type': 'text/plain' }, 'PUT', 'x')).status, 201);
    assert.equal((await get('/loc-put-other', { 'content-type': 'text/plain' }, 'PUT', 'x')).status, 201);
    assert.equal((await get('/loc-a')).body.toString(), '/loc-a #2', 'Location was invalidated');
    assert.equal((await get('/loc-b')).body.toString(), '/loc-b #2', 'Content-Location was invalidated');
    const other = await get('/loc-c');
    assert.ok(isHit(other), `a Location on another host is left alone: ${cacheStatus(other)}`);
  });
});
