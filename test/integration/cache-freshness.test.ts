/**
 * Freshness through a real Flint (primary + 1 worker) and a scripted origin (RFC 9111 §3, §4.2, §5.2 plus STON's
 * <TTL> policy): what is stored, for how long, and what is never stored. Every test asserts on what reached the
 * origin and on the /stats cache results, not only on bodies.
 *
 * Where timing matters the origin sends no Date header (`sendDate = false`): apparent_age is then 0, so a
 * `max-age=N` object is fresh for exactly N seconds after Flint received it, independent of the second-granular
 * Date. Where a Date is needed (Expires, Last-Modified heuristics) the origin sends one and every other date is
 * computed from that same value, so assertions never depend on the test machine's clock against Flint's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FlintProcess } from '../helpers/flint.js';
import { sleep } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { ageOf, accessRecordsFor, cacheStatus, cacheTtl, httpDate, isHit, resultDelta, startCacheFlint, vhostStats } from '../helpers/cache.js';

const HOST = 'fresh.test';
const TTL2XX_HOST = 'ttl2xx.test';
const TTL4XX_HOST = 'ttl4xx.test';

/** The origin's answer per path: status, headers, and whether to send a Date. Bodies are `<path> #<n>`. */
type Route = (req: IncomingMessage, n: number) => { status?: number; headers?: Record<string, string>; date?: boolean; body?: string };

const ROUTES: Record<string, Route> = {};

/** Origin Date for routes that need one: whole seconds, and every other date in the response derives from it. */
function originNow(): number {
  return Math.floor(Date.now() / 1000) * 1000;
}

function handle(req: IncomingMessage, res: ServerResponse, seenCount: number): void {
  const path = (req.url ?? '/').split('?')[0] as string;
  const route = ROUTES[path];
  if (route === undefined) {
    res.writeHead(500);
    res.end(`no route for ${path}`);
    return;
  }
  const out = route(req, seenCount);
  res.sendDate = out.date === true;
  const body = out.body ?? `${path} #${seenCount}`;
  const status = out.status ?? 200;
  const framing: Record<string, string> = status === 304 ? {} : { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) };
  res.writeHead(status, { ...framing, ...out.headers });
  res.end(body);
}

describe('cache freshness', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  /** Requests to the origin for `path` so far (any vhost). */
  const originCount = (path: string): number => origin.seen.filter((r) => r.url.split('?')[0] === path).length;
  const get = (path: string, headers: Record<string, string> = {}, host = HOST): Promise<TestResponse> => request({ port, path, host, headers });

  before(async () => {
    origin = await TestOrigin.start((req, res) => handle(req, res, origin.seen.filter((r) => r.url === req.url).length));
    ({ flint, port } = await startCacheFlint([
      { name: HOST, origin },
      { name: TTL2XX_HOST, origin, extra: '<Options><TTL><Res2xx>60</Res2xx></TTL></Options>' },
      { name: TTL4XX_HOST, origin, extra: '<Options><TTL><Res4xx>60</Res4xx></TTL></Options>' },
    ]));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('max-age: miss, then hits while fresh, then a refetch once it expires (not before)', async () => {
    ROUTES['/max-age'] = () => ({ headers: { 'cache-control': 'max-age=1' } });
    const before = (await vhostStats(flint, HOST)).cacheResults;
    const sentAt = performance.now();
    const first = await get('/max-age');
    assert.equal(first.status, 200);
    assert.equal(first.body.toString(), '/max-age #1');
    assert.match(cacheStatus(first), /fwd=miss; stored/);
    const second = await get('/max-age');
    assert.ok(isHit(second), `second response is a hit: ${cacheStatus(second)}`);
    assert.equal(second.body.toString(), '/max-age #1');
    assert.equal(originCount('/max-age'), 1);
    // Poll (not sleep) until the object stops being a hit; it must stay a hit for its whole max-age.
    let hits = 1;
    let refetch: TestResponse | null = null;
    while (performance.now() - sentAt < 4000) {
      const res = await get('/max-age');
      if (!isHit(res)) {
        refetch = res;
        break;
      }
      assert.equal(res.body.toString(), '/max-age #1', 'a hit serves the stored body');
      hits++;
      await sleep(50);
    }
    const staleAfterMs = performance.now() - sentAt;
    assert.ok(refetch !== null, 'the object expired within 4 s of a max-age=1 response');
    assert.ok(staleAfterMs >= 950, `not refetched before max-age ran out (after ${Math.round(staleAfterMs)} ms)`);
    assert.equal(refetch.body.toString(), '/max-age #2');
    assert.equal(originCount('/max-age'), 2);
    const delta = await resultDelta(flint, HOST, before, hits + 2);
    assert.equal(delta.TCP_MISS, 1, JSON.stringify(delta));
    assert.equal(delta.TCP_HIT, hits, JSON.stringify(delta));
    assert.equal((delta.TCP_REF_MISS ?? 0) + (delta.TCP_MISS ?? 0), 2, `the expired object was fetched again: ${JSON.stringify(delta)}`);
  });

  test('s-maxage beats max-age in a shared cache, in both directions', async () => {
    ROUTES['/smaxage-longer'] = () => ({ headers: { 'cache-control': 'max-age=0, s-maxage=3600' } });
    ROUTES['/smaxage-zero'] = () => ({ headers: { 'cache-control': 'max-age=3600, s-maxage=0' } });
    await get('/smaxage-longer');
    const hit = await get('/smaxage-longer');
    assert.ok(isHit(hit), `s-maxage=3600 wins over max-age=0: ${cacheStatus(hit)}`);
    assert.equal(hit.body.toString(), '/smaxage-longer #1');
    assert.equal(originCount('/smaxage-longer'), 1);
    // s-maxage=0 (no validator) leaves nothing reusable: every request reaches the origin despite max-age=3600.
    const a = await get('/smaxage-zero');
    const b = await get('/smaxage-zero');
    assert.equal(a.body.toString(), '/smaxage-zero #1');
    assert.equal(b.body.toString(), '/smaxage-zero #2');
    assert.ok(!isHit(b), cacheStatus(b));
    assert.equal(originCount('/smaxage-zero'), 2);
  });

  test('Expires: in the future (from Date) is fresh; at or before Date is stale; max-age beats Expires', async () => {
    ROUTES['/expires-future'] = () => {
      const now = originNow();
      return { date: true, headers: { date: httpDate(now), expires: httpDate(now + 3600_000) } };
    };
    ROUTES['/expires-past'] = () => {
      const now = originNow();
      return { date: true, headers: { date: httpDate(now), expires: httpDate(now - 60_000) } };
    };
    ROUTES['/expires-vs-max-age'] = () => {
      const now = originNow();
      return { date: true, headers: { date: httpDate(now), expires: httpDate(now + 3600_000), 'cache-control': 'max-age=0' } };
    };
    await get('/expires-future');
    const hit = await get('/expires-future');
    assert.ok(isHit(hit), cacheStatus(hit));
    assert.equal(hit.body.toString(), '/expires-future #1');
    const ttl = cacheTtl(hit);
    assert.ok(ttl !== null && ttl > 3590 && ttl <= 3600, `ttl from Expires - Date is ~3600 s: ${cacheStatus(hit)}`);
    assert.equal(originCount('/expires-future'), 1);

    for (const path of ['/expires-past', '/expires-vs-max-age']) {
      await get(path);
      const again = await get(path);
      assert.ok(!isHit(again), `${path}: ${cacheStatus(again)}`);
      assert.equal(again.body.toString(), `${path} #2`);
      assert.equal(originCount(path), 2, path);
    }
  });

  test('heuristic freshness: 10% of (Date - Last-Modified), capped at HeuristicMax (a day)', async () => {
    ROUTES['/heuristic'] = () => {
      const now = originNow();
      return { date: true, headers: { date: httpDate(now), 'last-modified': httpDate(now - 1000_000) } };
    };
    ROUTES['/heuristic-old'] = () => {
      const now = originNow();
      return { date: true, headers: { date: httpDate(now), 'last-modified': httpDate(now - 30 * 86400_000) } };
    };
    await get('/heuristic');
    const hit = await get('/heuristic');
    assert.ok(isHit(hit), cacheStatus(hit));
    // 10% of 1000 s = 100 s, minus the (sub-second) apparent age from Date's whole-second resolution.
    const ttl = cacheTtl(hit);
    assert.ok(ttl !== null && ttl >= 98 && ttl <= 100, `heuristic ttl ~100 s: ${cacheStatus(hit)}`);
    assert.equal(originCount('/heuristic'), 1);

    await get('/heuristic-old');
    const old = await get('/heuristic-old');
    assert.ok(isHit(old), cacheStatus(old));
    const oldTtl = cacheTtl(old);
    assert.ok(oldTtl !== null && oldTtl >= 86398 && oldTtl <= 86400, `10% of 30 days is capped at 86400 s: ${cacheStatus(old)}`);
    assert.equal(originCount('/heuristic-old'), 1);
  });

  test('Age grows between hits and is never below what the origin said', async () => {
    ROUTES['/age'] = () => ({ headers: { 'cache-control': 'max-age=3600' } });
    await get('/age');
    const a = await get('/age');
    assert.ok(isHit(a), cacheStatus(a));
    // Age has whole-second resolution: ~1.1 s later it must have gone up by at least 1.
    await sleep(1100);
    const b = await get('/age');
    assert.ok(isHit(b), cacheStatus(b));
    assert.ok(Number.isInteger(ageOf(a)) && Number.isInteger(ageOf(b)), `Age headers: ${a.headers.age}, ${b.headers.age}`);
    assert.ok(ageOf(b) >= ageOf(a) + 1, `Age grows: ${ageOf(a)} then ${ageOf(b)}`);
    assert.equal(originCount('/age'), 1);
  });

  test("the origin's Age counts: on the forwarded response, on hits, and against max-age", async () => {
    ROUTES['/origin-age'] = () => ({ headers: { 'cache-control': 'max-age=3600', age: '30' } });
    ROUTES['/origin-age-stale'] = () => ({ headers: { 'cache-control': 'max-age=60', age: '100' } });
    const miss = await get('/origin-age');
    const hit = await get('/origin-age');
    assert.ok(isHit(hit), cacheStatus(hit));
    assert.ok(ageOf(hit) >= 30, `hit Age includes the origin's 30 s: ${hit.headers.age}`);
    const ttl = cacheTtl(hit);
    assert.ok(ttl !== null && ttl <= 3570 && ttl >= 3565, `ttl is max-age minus the origin's Age: ${cacheStatus(hit)}`);
    assert.equal(originCount('/origin-age'), 1);
    // Already older than its max-age when it arrived: never served as fresh.
    await get('/origin-age-stale');
    const stale = await get('/origin-age-stale');
    assert.ok(!isHit(stale), `Age 100 > max-age 60: ${cacheStatus(stale)}`);
    assert.equal(stale.body.toString(), '/origin-age-stale #2');
    assert.equal(originCount('/origin-age-stale'), 2);
    // RFC 9111 §4.2.3/§5.1: the response relayed on the miss is already 30 s old; Age must not claim less.
    assert.ok(ageOf(miss) >= 30, `the forwarded (miss) response keeps Age >= 30: got Age ${String(miss.headers.age)}`);
  });

  test('no-store and private responses are never stored (every request reaches the origin, PASS)', async () => {
    ROUTES['/no-store'] = () => ({ headers: { 'cache-control': 'no-store, max-age=3600', etag: '"ns"' } });
    ROUTES['/private'] = () => ({ headers: { 'cache-control': 'private, max-age=3600', etag: '"pv"' } });
    const before = (await vhostStats(flint, HOST)).cacheResults;
    for (const path of ['/no-store', '/private']) {
      for (let i = 1; i <= 3; i++) {
        const res = await get(path);
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), `${path} #${i}`, `${path} request ${i} comes from the origin`);
        assert.ok(!isHit(res), `${path}: ${cacheStatus(res)}`);
      }
      assert.equal(originCount(path), 3, path);
    }
    const delta = await resultDelta(flint, HOST, before, 6);
    assert.equal(delta.PASS, 6, JSON.stringify(delta));
    const records = await accessRecordsFor(flint, HOST, '/private', 3);
    assert.deepEqual(records.map((r) => r.cacheResult), ['PASS', 'PASS', 'PASS']);
  });

  test('no-cache is stored but revalidated on every request: origin sees If-None-Match, answers 304, client gets the body', async () => {
    const notModifiedSent: number[] = [];
    ROUTES['/no-cache'] = (req, n) => {
      if (req.headers['if-none-match'] === '"nc1"') {
        notModifiedSent.push(n);
        return { status: 304, headers: { etag: '"nc1"', 'cache-control': 'no-cache' }, body: '' };
      }
      return { headers: { 'cache-control': 'no-cache', etag: '"nc1"' }, body: 'no-cache body' };
    };
    const before = (await vhostStats(flint, HOST)).cacheResults;
    const first = await get('/no-cache');
    assert.equal(first.body.toString(), 'no-cache body');
    for (let i = 2; i <= 4; i++) {
      const res = await get('/no-cache');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'no-cache body', `request ${i}: the body comes from the cache`);
      assert.match(cacheStatus(res), /fwd-status=304/, `request ${i}: ${cacheStatus(res)}`);
      assert.equal(originCount('/no-cache'), i, `request ${i} was revalidated with the origin`);
      assert.equal(origin.seen.filter((r) => r.url === '/no-cache').at(-1)?.headers['if-none-match'], '"nc1"');
    }
    assert.deepEqual(notModifiedSent, [2, 3, 4], 'the origin answered every revalidation with a bodiless 304');
    const delta = await resultDelta(flint, HOST, before, 4);
    assert.equal(delta.TCP_MISS, 1, JSON.stringify(delta));
    assert.equal(delta.TCP_REFRESH_HIT, 3, JSON.stringify(delta));
    assert.equal(delta.TCP_HIT ?? 0, 0, JSON.stringify(delta));
  });

  test('a response to an Authorization request is stored only with public or s-maxage', async () => {
    ROUTES['/auth-plain'] = () => ({ headers: { 'cache-control': 'max-age=3600' } });
    ROUTES['/auth-public'] = () => ({ headers: { 'cache-control': 'public, max-age=3600' } });
    ROUTES['/auth-smaxage'] = () => ({ headers: { 'cache-control': 's-maxage=3600' } });
    const auth = { authorization: 'Bearer secret-token' };
    await get('/auth-plain', auth);
    const again = await get('/auth-plain', auth);
    assert.ok(!isHit(again), cacheStatus(again));
    assert.equal(again.body.toString(), '/auth-plain #2');
    // Nor does a later anonymous request get the authenticated response.
    const anonymous = await get('/auth-plain');
    assert.equal(anonymous.body.toString(), '/auth-plain #3');
    assert.equal(originCount('/auth-plain'), 3);
    for (const path of ['/auth-public', '/auth-smaxage']) {
      await get(path, auth);
      const hit = await get(path, auth);
      assert.ok(isHit(hit), `${path}: ${cacheStatus(hit)}`);
      assert.equal(hit.body.toString(), `${path} #1`);
      assert.equal(originCount(path), 1, path);
    }
  });

  test('<TTL><Res2xx> gives a 2xx without freshness or validators a TTL', async () => {
    ROUTES['/res2xx'] = () => ({});
    const before = (await vhostStats(flint, TTL2XX_HOST)).cacheResults;
    await get('/res2xx', {}, TTL2XX_HOST);
    const hit = await get('/res2xx', {}, TTL2XX_HOST);
    assert.ok(isHit(hit), cacheStatus(hit));
    assert.equal(hit.body.toString(), '/res2xx #1');
    const ttl = cacheTtl(hit);
    assert.ok(ttl !== null && ttl > 55 && ttl <= 60, `Res2xx=60: ${cacheStatus(hit)}`);
    assert.equal(originCount('/res2xx'), 1);
    const delta = await resultDelta(flint, TTL2XX_HOST, before, 2);
    assert.deepEqual(delta, { TCP_MISS: 1, TCP_HIT: 1 });
  });

  test('<TTL><Res4xx> caches a 404 without freshness (negative caching); the default does not', async () => {
    ROUTES['/missing'] = () => ({ status: 404 });
    const first = await get('/missing', {}, TTL4XX_HOST);
    assert.equal(first.status, 404);
    const second = await get('/missing', {}, TTL4XX_HOST);
    assert.equal(second.status, 404);
    assert.ok(isHit(second), cacheStatus(second));
    assert.equal(second.body.toString(), '/missing #1');
    assert.equal(originCount('/missing'), 1);
    // Same response on the default vhost: a 404 with no freshness and no validator is not kept.
    const a = await get('/missing');
    const b = await get('/missing');
    assert.equal(a.status, 404);
    assert.equal(b.status, 404);
    assert.ok(!isHit(b), cacheStatus(b));
    assert.equal(originCount('/missing'), 3);
  });

  test('default config: a 200 without freshness or validators is not cached (origin every time)', async () => {
    ROUTES['/plain'] = () => ({});
    const originBefore = (await vhostStats(flint, HOST)).originRequests;
    for (let i = 1; i <= 3; i++) {
      const res = await get('/plain');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), `/plain #${i}`);
      assert.ok(!isHit(res), cacheStatus(res));
    }
    assert.equal(originCount('/plain'), 3);
    const stats = await vhostStats(flint, HOST);
    assert.equal(stats.originRequests - originBefore, 3);
  });
});
