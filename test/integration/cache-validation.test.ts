/**
 * Validation through a real Flint (primary + 2 workers): client conditionals answered from the cache (RFC 9110
 * §13), revalidation of stale objects with the origin (RFC 9111 §4.3), stale-while-revalidate and stale-if-error
 * (RFC 5861), and STON's TTLExtensionBy5xx / TTLExtensionByFail.
 *
 * Stale objects are made without waiting: the origin's first response carries `Age` above its `max-age`, so the
 * object is stale the moment it is stored (RFC 9111 §4.2.3 counts the origin's Age); later origin responses carry
 * no Age, so a refreshed object is fresh again. No origin response has a Date header (apparent age 0).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlintProcess } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { Barrier, accessRecordsFor, cacheStatus, isHit, reply, resultDelta, seenFor, startCacheFlint, startRoutedOrigin, vhostStats, waitFor } from '../helpers/cache.js';

const HOST = 'val.test';
/** TTLExtensionBy5xx OFF: a 5xx on revalidation goes to the client. */
const NO_5XX_HOST = 'no5xx.test';
/** Default options, on an origin the tests shut down (TTLExtensionByFail ON). */
const FAIL_HOST = 'fail.test';
/** TTLExtensionByFail OFF, on another origin the tests shut down: only stale-if-error may serve stale. */
const SIE_HOST = 'sie.test';

/**
 * Header fields a 304 may carry (RFC 9110 §15.4.5: the validators and caching fields of the 200 it stands for) plus
 * what the cache and the HTTP layer add themselves.
 */
const NOT_MODIFIED_ALLOWED = new Set(['cache-control', 'content-location', 'date', 'etag', 'expires', 'last-modified', 'vary', 'age', 'cache-status', 'via', 'uwebsockets', 'connection', 'keep-alive']);

function assertNotModifiedHeaders(res: TestResponse): void {
  const names = res.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  const unexpected = names.filter((n) => !NOT_MODIFIED_ALLOWED.has(n));
  assert.deepEqual(unexpected, [], `304 header fields: ${JSON.stringify(res.rawHeaders)}`);
}

/** Born stale: max-age 60 but already 120 s old. */
const BORN_STALE = { 'cache-control': 'max-age=60', age: '120' };

describe('cache validation', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let failOrigin: TestOrigin;
  let sieOrigin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string, headers: Record<string, string> = {}, host = HOST, method = 'GET'): Promise<TestResponse> =>
    request({ port, path, host, headers, method });
  /**
   * GET, then wait until no fill is in progress: the miss is answered before its object is committed, and a request
   * on the other worker in between would follow that fill (`collapsed`) instead of finding the stored object.
   */
  const stored = async (path: string, headers: Record<string, string> = {}, host = HOST): Promise<TestResponse> => {
    const res = await get(path, headers, host);
    await waitFor(`${path} committed`, async () => ((await flint.stats()).cache.fillsInProgress === 0 ? true : undefined));
    return res;
  };

  before(async () => {
    origin = await startRoutedOrigin(routes);
    failOrigin = await startRoutedOrigin(routes);
    sieOrigin = await startRoutedOrigin(routes);
    ({ flint, port } = await startCacheFlint(
      [
        { name: HOST, origin },
        { name: NO_5XX_HOST, origin, extra: '<Options><TTLExtensionBy5xx>OFF</TTLExtensionBy5xx></Options>' },
        { name: FAIL_HOST, origin: failOrigin, extra: '<OriginOptions><ConnectTimeout>1</ConnectTimeout></OriginOptions>' },
        {
          name: SIE_HOST,
          origin: sieOrigin,
          extra: '<Options><TTLExtensionByFail>OFF</TTLExtensionByFail></Options><OriginOptions><ConnectTimeout>1</ConnectTimeout></OriginOptions>',
        },
      ],
      { workers: 2 },
    ));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
    await failOrigin?.close().catch(() => undefined);
    await sieOrigin?.close().catch(() => undefined);
  });

  test('If-None-Match matching the stored ETag: 304 from the cache, no origin request', async () => {
    routes['/inm'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', etag: '"e1"', 'content-type': 'text/plain' }, 'inm body');
    const before = (await vhostStats(flint, HOST)).cacheResults;
    await get('/inm');
    const notModified = await get('/inm', { 'if-none-match': '"e1"' });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body.length, 0);
    assert.equal(notModified.headers.etag, '"e1"');
    assert.equal(notModified.headers['cache-control'], 'max-age=3600');
    assertNotModifiedHeaders(notModified);
    const listed = await get('/inm', { 'if-none-match': '"zz", "e1"' });
    assert.equal(listed.status, 304, 'a list containing the tag matches');
    const other = await get('/inm', { 'if-none-match': '"zz"' });
    assert.equal(other.status, 200);
    assert.equal(other.body.toString(), 'inm body');
    assert.ok(isHit(other), cacheStatus(other));
    assert.equal(seenFor(origin, '/inm').length, 1);
    const delta = await resultDelta(flint, HOST, before, 4);
    assert.deepEqual(delta, { TCP_MISS: 1, TCP_IMS_HIT: 2, TCP_HIT: 1 });
  });

  test('If-Modified-Since: 304 when not modified since, 200 from the cache when modified after', async () => {
    const lastModified = 'Wed, 01 Jan 2020 00:00:00 GMT';
    routes['/ims'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', 'last-modified': lastModified }, 'ims body');
    await get('/ims');
    const same = await get('/ims', { 'if-modified-since': lastModified });
    assert.equal(same.status, 304);
    assert.equal(same.body.length, 0);
    const later = await get('/ims', { 'if-modified-since': 'Thu, 02 Jan 2020 00:00:00 GMT' });
    assert.equal(later.status, 304);
    const earlier = await get('/ims', { 'if-modified-since': 'Tue, 31 Dec 2019 23:59:59 GMT' });
    assert.equal(earlier.status, 200);
    assert.equal(earlier.body.toString(), 'ims body');
    assert.ok(isHit(earlier), cacheStatus(earlier));
    // If-None-Match takes precedence over If-Modified-Since (RFC 9110 §13.2.2): no ETag stored, so no match.
    const both = await get('/ims', { 'if-none-match': '"x"', 'if-modified-since': lastModified });
    assert.equal(both.status, 200);
    assert.equal(seenFor(origin, '/ims').length, 1);
  });

  test('If-None-Match uses weak comparison: W/ on either side still matches', async () => {
    routes['/weak'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', etag: 'W/"w1"' }, 'weak body');
    routes['/strong'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', etag: '"s1"' }, 'strong body');
    await get('/weak');
    await get('/strong');
    assert.equal((await get('/weak', { 'if-none-match': '"w1"' })).status, 304);
    assert.equal((await get('/weak', { 'if-none-match': 'W/"w1"' })).status, 304);
    assert.equal((await get('/strong', { 'if-none-match': 'W/"s1"' })).status, 304);
    assert.equal((await get('/weak', { 'if-none-match': 'W/"w2"' })).status, 200);
    assert.equal(seenFor(origin, '/weak').length, 1);
    assert.equal(seenFor(origin, '/strong').length, 1);
  });

  test('If-Match: a mismatch (or a weak tag) gets 412, a strong match or * gets the body', async () => {
    routes['/if-match'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', etag: '"m1"' }, 'if-match body');
    routes['/if-match-weak'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', etag: 'W/"m1"' }, 'weak');
    await get('/if-match');
    await get('/if-match-weak');
    const mismatch = await get('/if-match', { 'if-match': '"other"' });
    assert.equal(mismatch.status, 412);
    assert.notEqual(mismatch.body.toString(), 'if-match body');
    const match = await get('/if-match', { 'if-match': '"m1"' });
    assert.equal(match.status, 200);
    assert.equal(match.body.toString(), 'if-match body');
    assert.equal((await get('/if-match', { 'if-match': '*' })).status, 200);
    // If-Match uses strong comparison (RFC 9110 §13.1.1): a weak stored tag never matches.
    assert.equal((await get('/if-match-weak', { 'if-match': 'W/"m1"' })).status, 412);
    assert.equal(seenFor(origin, '/if-match').length, 1);
  });

  test('a stale object is revalidated with If-None-Match; the 304 refreshes stored headers without refetching the body', async () => {
    const body = 'revalidated body '.repeat(100);
    let notModifiedSent = 0;
    routes['/reval'] = (req, res, n) => {
      if (n === 1) return reply(res, 200, { ...BORN_STALE, etag: '"r1"', 'x-version': '1', 'content-type': 'text/plain' }, body);
      assert.equal(req.headers['if-none-match'], '"r1"', 'revalidation carries the stored ETag');
      notModifiedSent++;
      return reply(res, 304, { 'cache-control': 'max-age=3600', etag: '"r1"', 'x-version': '2' });
    };
    const before = await vhostStats(flint, HOST);
    const first = await stored('/reval');
    assert.equal(first.body.toString(), body);
    assert.equal(first.headers['x-version'], '1');
    const revalidated = await get('/reval');
    assert.equal(revalidated.status, 200);
    assert.equal(revalidated.body.toString(), body);
    assert.match(cacheStatus(revalidated), /fwd-status=304/);
    assert.equal(seenFor(origin, '/reval').length, 2);
    assert.equal(seenFor(origin, '/reval')[1]?.headers['if-none-match'], '"r1"');
    assert.equal(notModifiedSent, 1);
    // Fresh again with the 304's headers: a hit, no origin request, the new header value.
    const hit = await get('/reval');
    assert.ok(isHit(hit), cacheStatus(hit));
    assert.ok(!/fwd=/.test(cacheStatus(hit)), `plain hit: ${cacheStatus(hit)}`);
    assert.equal(hit.headers['x-version'], '2');
    assert.equal(hit.headers['content-type'], 'text/plain');
    assert.equal(hit.body.toString(), body);
    assert.equal(seenFor(origin, '/reval').length, 2);
    const delta = await resultDelta(flint, HOST, before.cacheResults, 3);
    assert.deepEqual(delta, { TCP_MISS: 1, TCP_REFRESH_HIT: 1, TCP_HIT: 1 });
    const after = await vhostStats(flint, HOST);
    assert.equal(Number(after.originInBytes) - Number(before.originInBytes), Buffer.byteLength(body), 'the body crossed from the origin once');
  });

  test('HEAD: If-None-Match gets a 304; a stale object is revalidated and the HEAD gets the refreshed headers', async () => {
    const body = 'head body';
    routes['/head'] = (req, res, n) => {
      if (n === 1) return reply(res, 200, { ...BORN_STALE, etag: '"h1"', 'x-version': '1' }, body);
      if (req.headers['if-none-match'] === '"h1"') return reply(res, 304, { 'cache-control': 'max-age=3600', etag: '"h1"', 'x-version': '2' });
      return reply(res, 200, { 'cache-control': 'max-age=3600', etag: '"h2"', 'x-version': 'refetched' }, 'refetched');
    };
    await stored('/head');
    const head = await get('/head', {}, HOST, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String(body.length));
    assert.equal(head.headers['x-version'], '2');
    assert.match(cacheStatus(head), /fwd-status=304/);
    assert.equal(seenFor(origin, '/head').length, 2);
    const conditionalHead = await get('/head', { 'if-none-match': '"h1"' }, HOST, 'HEAD');
    assert.equal(conditionalHead.status, 304);
    assert.equal(conditionalHead.body.length, 0);
    assertNotModifiedHeaders(conditionalHead);
    const full = await get('/head');
    assert.ok(isHit(full), cacheStatus(full));
    assert.equal(full.body.toString(), body);
    assert.equal(full.headers['x-version'], '2');
    assert.equal(seenFor(origin, '/head').length, 2);
  });

  test('a 200 on revalidation replaces the stored object', async () => {
    routes['/replace'] = (req, res, n) => {
      if (n === 1) return reply(res, 200, { ...BORN_STALE, etag: '"old"' }, 'old body');
      assert.equal(req.headers['if-none-match'], '"old"');
      return reply(res, 200, { 'cache-control': 'max-age=3600', etag: '"new"' }, 'new body, longer than the old one');
    };
    await stored('/replace');
    const replaced = await get('/replace');
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.toString(), 'new body, longer than the old one');
    assert.equal(replaced.headers.etag, '"new"');
    const hit = await get('/replace');
    assert.ok(isHit(hit), cacheStatus(hit));
    assert.equal(hit.body.toString(), 'new body, longer than the old one');
    assert.equal(hit.headers.etag, '"new"');
    assert.equal((await get('/replace', { 'if-none-match': '"new"' })).status, 304);
    assert.equal(seenFor(origin, '/replace').length, 2);
  });

  test('stale-while-revalidate: 10 concurrent requests get the stale copy at once; exactly one background refresh', async () => {
    const refreshGate = new Barrier();
    routes['/swr'] = async (_req, res, n) => {
      if (n === 1) return reply(res, 200, { 'cache-control': 'max-age=1, stale-while-revalidate=600', age: '10', etag: '"s1"' }, 'swr v1');
      // The refresh is held until every client has its answer: they must not wait for it.
      await refreshGate.wait();
      return reply(res, 200, { 'cache-control': 'max-age=3600', etag: '"s2"' }, 'swr v2');
    };
    const before = (await vhostStats(flint, HOST)).cacheResults;
    await stored('/swr');
    const answers = await Promise.race([
      Promise.all(Array.from({ length: 10 }, () => get('/swr'))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('stale responses waited for the held refresh')), 5000)),
    ]).finally(() => refreshGate.open());
    for (const res of answers) {
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'swr v1');
      assert.match(cacheStatus(res), /fwd=stale/);
    }
    // Once the refresh lands, the new version is a plain hit.
    let polls = 0;
    let fresh: TestResponse | undefined;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const res = await get('/swr');
      polls++;
      if (res.body.toString() === 'swr v2') {
        fresh = res;
        break;
      }
      assert.equal(res.body.toString(), 'swr v1');
    }
    assert.ok(fresh !== undefined, 'the refreshed object is served within 5 s');
    assert.equal(seenFor(origin, '/swr').length, 2, 'one fill and exactly one background refresh');
    assert.equal(seenFor(origin, '/swr')[1]?.headers['if-none-match'], '"s1"');
    const hit = await get('/swr');
    assert.ok(isHit(hit) && !/fwd=/.test(cacheStatus(hit)), cacheStatus(hit));
    assert.equal(hit.body.toString(), 'swr v2');
    const delta = await resultDelta(flint, HOST, before, 12 + polls);
    assert.equal(delta.TCP_MISS, 1, JSON.stringify(delta));
    assert.ok((delta.TCP_REFRESH_HIT ?? 0) >= 10, JSON.stringify(delta));
  });

  test('TTLExtensionBy5xx (default ON): an origin 500 on revalidation serves the stale copy', async () => {
    routes['/five'] = (_req, res, n) => (n === 1 ? reply(res, 200, { ...BORN_STALE, etag: '"f1"' }, 'five body') : reply(res, 500, {}, 'origin error'));
    const before = (await vhostStats(flint, HOST)).cacheResults;
    await stored('/five');
    const stale = await get('/five');
    assert.equal(stale.status, 200);
    assert.equal(stale.body.toString(), 'five body');
    assert.match(cacheStatus(stale), /fwd=stale; fwd-status=500/);
    assert.equal(seenFor(origin, '/five').length, 2);
    // Extended for <TTL><ConnectTimeout> (3 s): the next request does not hit the failing origin again.
    const extended = await get('/five');
    assert.equal(extended.body.toString(), 'five body');
    assert.ok(isHit(extended), cacheStatus(extended));
    assert.equal(seenFor(origin, '/five').length, 2);
    const delta = await resultDelta(flint, HOST, before, 3);
    assert.equal(delta.TCP_REF_FAIL_HIT, 1, JSON.stringify(delta));
  });

  test('TTLExtensionBy5xx OFF: the origin 500 on revalidation goes to the client', async () => {
    routes['/five-off'] = (_req, res, n) => (n === 1 ? reply(res, 200, { ...BORN_STALE, etag: '"f1"' }, 'five body') : reply(res, 500, {}, 'origin error'));
    await stored('/five-off', {}, NO_5XX_HOST);
    const res = await get('/five-off', {}, NO_5XX_HOST);
    assert.equal(res.status, 500);
    assert.equal(res.body.toString(), 'origin error');
    assert.equal(seenFor(origin, '/five-off').length, 2);
  });

  test('origin down: TTLExtensionByFail serves stale (TCP_REF_FAIL_HIT); without it stale-if-error does; else an error', async () => {
    routes['/down'] = (_req, res) => reply(res, 200, { ...BORN_STALE, etag: '"d1"' }, 'down body');
    routes['/down-sie'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=60, stale-if-error=3600', age: '120', etag: '"d2"' }, 'sie body');
    routes['/down-none'] = (_req, res) => reply(res, 200, { ...BORN_STALE, etag: '"d3"' }, 'none body');
    const before = (await vhostStats(flint, FAIL_HOST)).cacheResults;
    const beforeSie = (await vhostStats(flint, SIE_HOST)).cacheResults;
    assert.equal((await stored('/down', {}, FAIL_HOST)).body.toString(), 'down body');
    assert.equal((await stored('/down-sie', {}, SIE_HOST)).body.toString(), 'sie body');
    assert.equal((await stored('/down-none', {}, SIE_HOST)).body.toString(), 'none body');
    await failOrigin.close();
    await sieOrigin.close();

    const stale = await get('/down', {}, FAIL_HOST);
    assert.equal(stale.status, 200);
    assert.equal(stale.body.toString(), 'down body');
    assert.match(cacheStatus(stale), /fwd-status=error/);
    const delta = await resultDelta(flint, FAIL_HOST, before, 2);
    assert.deepEqual(delta, { TCP_MISS: 1, TCP_REF_FAIL_HIT: 1 });
    const records = await accessRecordsFor(flint, FAIL_HOST, '/down', 2);
    assert.equal(records.at(-1)?.cacheResult, 'TCP_REF_FAIL_HIT');

    const sie = await get('/down-sie', {}, SIE_HOST);
    assert.equal(sie.status, 200, 'stale-if-error=3600 allows the stale copy');
    assert.equal(sie.body.toString(), 'sie body');
    const none = await get('/down-none', {}, SIE_HOST);
    assert.ok(none.status >= 500, `no stale-if-error and TTLExtensionByFail OFF: an error, got ${none.status}`);
    assert.notEqual(none.body.toString(), 'none body');
    const sieDelta = await resultDelta(flint, SIE_HOST, beforeSie, 4);
    assert.equal(sieDelta.TCP_REF_FAIL_HIT, 1, JSON.stringify(sieDelta));
  });
});
