/**
 * Cache semantics hardening (issue 19) through a real Flint (primary + 1 worker) and scripted origins on loopback:
 * request directives never become a shared hit-for-pass, rules match the normalised path, Set-Cookie and Cookie
 * handling, RFC 9213 targeted fields, unsafe-method invalidation as configured, Connection-listed headers out of the
 * variant key, must-revalidate copies never served stale on origin failure, and Age + Cache-Status ttl adding up.
 * Bodies say how many times the origin saw the path for that Host (`<path> #<n>`), so every assertion can tell a hit
 * from a refetch.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FlintProcess } from '../helpers/flint.js';
import { sleep } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { rawExchange, request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { ageOf, cacheStatus, cacheTtl, isHit, startCacheFlint } from '../helpers/cache.js';

const HOST = 'harden.test';
const STRIP = 'strip.test';
const ANY_COOKIE = 'anycookie.test';
const NO_INVALIDATE = 'noinval.test';
const CUSTOM_TARGET = 'target.test';
const CASE = 'case.test';
const FAILING = 'failing.test';
const VIOLATE = 'violate.test';
const ANSWERS_5XX = 'fivexx.test';

/** The origin's answer per path: status, headers; or 'reset' to drop the connection without an answer. */
type Route = (req: IncomingMessage, n: number) => { status?: number; headers?: Record<string, string | string[]>; body?: string; delayMs?: number } | 'reset';

const ROUTES: Record<string, Route> = {};

async function handle(origin: TestOrigin, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const path = url.split('?')[0] as string;
  const n = origin.seen.filter((r) => r.url === url && r.headers.host === req.headers.host).length;
  // Like a case-insensitive origin that decodes %2F into a separator (IIS): hostile spellings reach the real route.
  const route = ROUTES[path] ?? ROUTES[new URL(decodeURIComponent(path).toLowerCase(), 'http://origin').pathname];
  if (route === undefined) {
    res.writeHead(500);
    res.end(`no route for ${path}`);
    return;
  }
  const out = route(req, n);
  if (out === 'reset') {
    res.socket?.destroy();
    return;
  }
  if (out.delayMs !== undefined) await sleep(out.delayMs);
  // No Date: apparent_age is 0 and a max-age=N object is fresh for exactly N seconds after Flint received it.
  res.sendDate = false;
  const body = out.body ?? `${path} #${n}`;
  res.writeHead(out.status ?? 200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), ...out.headers });
  res.end(body);
}

describe('cache hardening (issue 19)', () => {
  let origin: TestOrigin;
  let failing: TestOrigin;
  let fiveXX: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const seen = (o: TestOrigin, path: string): number => o.seen.filter((r) => r.url.split('?')[0] === path).length;
  const get = (path: string, headers: Record<string, string> = {}, host = HOST): Promise<TestResponse> => request({ port, path, host, headers });

  before(async () => {
    origin = await TestOrigin.start((req, res) => handle(origin, req, res));
    failing = await TestOrigin.start((req, res) => handle(failing, req, res));
    fiveXX = await TestOrigin.start((req, res) => handle(fiveXX, req, res));
    ({ flint, port } = await startCacheFlint([
      { name: HOST, origin, extra: '<BypassRules><Rule Url="/admin/*">bypass</Rule><Rule Url="/shared/*">cache</Rule></BypassRules><TTLRules><Rule Url="/ruled/*">3600</Rule></TTLRules>' },
      { name: STRIP, origin, extra: '<Options><SetCookie>strip</SetCookie></Options>' },
      { name: ANY_COOKIE, origin, extra: '<Options><CookieRequest>any</CookieRequest></Options>' },
      { name: NO_INVALIDATE, origin, extra: '<Options><UnsafeInvalidation>OFF</UnsafeInvalidation></Options>' },
      { name: CUSTOM_TARGET, origin, extra: '<Options><TargetedCacheControl>Edge-Control</TargetedCacheControl></Options>' },
      { name: CASE, origin, extra: '<Options><RuleCaseSensitive>ON</RuleCaseSensitive></Options><BypassRules><Rule Url="/admin/*">bypass</Rule></BypassRules>' },
      // One origin per failure test group, so failures on one cannot exclude the origin of another.
      { name: FAILING, origin: failing, extra: '<OriginOptions><Retry>0</Retry></OriginOptions>' },
      { name: VIOLATE, origin: failing, extra: '<OriginOptions><Retry>0</Retry></OriginOptions><Options><ViolateMustRevalidate>ON</ViolateMustRevalidate></Options>' },
      { name: ANSWERS_5XX, origin: fiveXX },
    ]));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
    await failing?.close();
    await fiveXX?.close();
  });

  test('a request with no-store, Authorization or Cookie on a cold URL does not make it pass-through for the next clients', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['/hfp-nostore', { 'cache-control': 'no-store' }],
      ['/hfp-auth', { authorization: 'Bearer t' }],
      ['/hfp-cookie', { cookie: 'sid=1' }],
    ];
    for (const [path, headers] of cases) {
      ROUTES[path] = () => ({ headers: { 'cache-control': 'max-age=3600' } });
      const first = await get(path, headers);
      assert.equal(first.body.toString(), `${path} #1`);
      const second = await get(path);
      assert.equal(second.body.toString(), `${path} #2`, `${path}: a clean request fills the cache (${cacheStatus(second)})`);
      assert.match(cacheStatus(second), /fwd=miss; stored/, path);
      const third = await get(path);
      assert.ok(isHit(third), `${path}: then it is a hit, not a pass (${cacheStatus(third)})`);
      assert.equal(third.body.toString(), `${path} #2`);
      assert.equal(seen(origin, path), 2, path);
    }
  });

  test('clients collapsed onto a fill that only the leader\'s Cookie kept from storing: the others fill it once, cookie clients pass side by side', async () => {
    ROUTES['/hfp-collapse'] = () => ({ headers: { 'cache-control': 'max-age=3600' }, delayMs: 500 });
    const leader = get('/hfp-collapse', { cookie: 'sid=1' });
    await sleep(100);
    const startedAt = Date.now();
    const [plainA, plainB, cookieA, cookieB] = await Promise.all([
      get('/hfp-collapse'),
      get('/hfp-collapse'),
      get('/hfp-collapse', { cookie: 'sid=2' }),
      get('/hfp-collapse', { cookie: 'sid=3' }),
    ]);
    const elapsed = Date.now() - startedAt;
    assert.equal((await leader).body.toString(), '/hfp-collapse #1');
    const bodies = [plainA, plainB, cookieA, cookieB].map((r) => r.body.toString());
    assert.equal(bodies[0], bodies[1], `the cookie-less followers share one new fill: ${JSON.stringify(bodies)}`);
    assert.equal(new Set(bodies).size, 3, `each cookie follower got its own answer: ${JSON.stringify(bodies)}`);
    assert.equal(seen(origin, '/hfp-collapse'), 4);
    // Side by side: ~0.4 s for the leader's answer plus one more origin round (0.5 s); queued one after the other it
    // would take a round per cookie client.
    assert.ok(elapsed < 1400, `followers took ${elapsed} ms`);
    const hit = await get('/hfp-collapse');
    assert.ok(isHit(hit), cacheStatus(hit));
    assert.equal(hit.body.toString(), bodies[0]);
  });

  test('a no-store request revalidating a stale URL does not make it pass-through either', async () => {
    ROUTES['/hfp-stale'] = () => ({ headers: { 'cache-control': 'max-age=1' } });
    await get('/hfp-stale');
    await sleep(1100);
    const refused = await get('/hfp-stale', { 'cache-control': 'no-store' });
    assert.equal(refused.body.toString(), '/hfp-stale #2');
    const clean = await get('/hfp-stale');
    assert.equal(clean.body.toString(), '/hfp-stale #3', cacheStatus(clean));
    const hit = await get('/hfp-stale');
    assert.ok(isHit(hit), cacheStatus(hit));
    assert.equal(hit.body.toString(), '/hfp-stale #3');
  });

  test('a response that is not storable still leaves a hit-for-pass (decided from the response)', async () => {
    ROUTES['/hfp-private'] = () => ({ headers: { 'cache-control': 'private, max-age=3600' } });
    await get('/hfp-private');
    const second = await get('/hfp-private');
    assert.equal(second.body.toString(), '/hfp-private #2');
    assert.doesNotMatch(cacheStatus(second), /stored/);
  });

  test('bypass rules match the normalised path: escaped, %2F-slashed, dotted and upper-case spellings are bypassed', async () => {
    ROUTES['/admin/panel'] = () => ({ headers: { 'cache-control': 'max-age=3600' } });
    for (const path of ['/%61dmin/panel', '/admin%2Fpanel', '/ADMIN/panel', '/x/..%2Fadmin/panel', '/%2e%2e/admin/panel']) {
      const before = origin.seen.length;
      const one = await get(path);
      const two = await get(path);
      assert.equal(one.status, 200, `${path}: ${one.body.toString()}`);
      assert.ok(!isHit(two), `${path} must bypass the cache: ${cacheStatus(two)}`);
      assert.equal(origin.seen.length - before, 2, `${path}: both requests reach the origin`);
    }
    // RuleCaseSensitive ON (with CaseSensitive ON): /ADMIN is another path, cached as any other.
    const one = await get('/ADMIN/panel', {}, CASE);
    const two = await get('/ADMIN/panel', {}, CASE);
    assert.equal(one.status, 200);
    assert.ok(isHit(two), cacheStatus(two));
    const escaped = await get('/%61dmin%2Fpanel', {}, CASE);
    const escapedAgain = await get('/%61dmin%2Fpanel', {}, CASE);
    assert.ok(!isHit(escaped) && !isHit(escapedAgain), cacheStatus(escapedAgain));
  });

  test('an escaped unreserved character addresses the same cached object (the cache key is the normalised path)', async () => {
    ROUTES['/same'] = () => ({ headers: { 'cache-control': 'max-age=3600' } });
    await get('/same');
    const escaped = await get('/%73ame');
    assert.ok(isHit(escaped), cacheStatus(escaped));
    assert.equal(escaped.body.toString(), '/same #1');
  });

  test('Set-Cookie: passed to its client intact and not stored (default); strip stores without it but the filler keeps it', async () => {
    ROUTES['/cookie'] = (_req, n) => ({ headers: { 'cache-control': 'max-age=3600', 'set-cookie': [`sid=${n}; Path=/`, 'theme=dark'] } });
    const first = await get('/cookie');
    assert.deepEqual(first.headers['set-cookie'], ['sid=1; Path=/', 'theme=dark']);
    const second = await get('/cookie');
    assert.ok(!isHit(second), cacheStatus(second));
    assert.deepEqual(second.headers['set-cookie'], ['sid=2; Path=/', 'theme=dark']);
    assert.equal(seen(origin, '/cookie'), 2);

    ROUTES['/cookie-strip'] = (_req, n) => ({ headers: { 'cache-control': 'max-age=3600', 'set-cookie': `sid=${n}` } });
    const filler = await get('/cookie-strip', {}, STRIP);
    assert.deepEqual(filler.headers['set-cookie'], ['sid=1'], 'the client that caused the fill gets its cookie');
    const hit = await get('/cookie-strip', {}, STRIP);
    assert.ok(isHit(hit), cacheStatus(hit));
    assert.equal(hit.headers['set-cookie'], undefined, 'nobody else gets it');
  });

  test('a response to a request with Cookie is stored only when public / s-maxage or a TTL or cache rule says so (CookieRequest)', async () => {
    ROUTES['/c-plain'] = () => ({ headers: { 'cache-control': 'max-age=3600' } });
    ROUTES['/c-public'] = () => ({ headers: { 'cache-control': 'public, max-age=3600' } });
    ROUTES['/ruled/c'] = () => ({ headers: { 'cache-control': 'max-age=60' } });
    ROUTES['/shared/c'] = () => ({ headers: { 'cache-control': 'max-age=60' } });
    const cookie = { cookie: 'sid=victim' };
    await get('/c-plain', cookie);
    const plain = await get('/c-plain', cookie);
    assert.equal(plain.body.toString(), '/c-plain #2', 'not stored from a cookie request');
    for (const path of ['/c-public', '/ruled/c', '/shared/c']) {
      await get(path, cookie);
      const hit = await get(path);
      assert.ok(isHit(hit), `${path}: ${cacheStatus(hit)}`);
    }
    ROUTES['/c-any'] = () => ({ headers: { 'cache-control': 'max-age=3600' } });
    await get('/c-any', cookie, ANY_COOKIE);
    assert.ok(isHit(await get('/c-any', {}, ANY_COOKIE)), 'CookieRequest any stores it');
  });

  test('CDN-Cache-Control and the targeted field decide storage over Cache-Control and are not forwarded', async () => {
    ROUTES['/cdn'] = () => ({ headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=3600' } });
    ROUTES['/cdn-flint'] = () => ({ headers: { 'cache-control': 'max-age=3600', 'cdn-cache-control': 'max-age=3600', 'flint-cdn-cache-control': 'no-store' } });
    ROUTES['/cdn-custom'] = () => ({ headers: { 'cache-control': 'no-store', 'edge-control': 'max-age=3600', 'cdn-cache-control': 'no-store' } });
    await get('/cdn');
    const hit = await get('/cdn');
    assert.ok(isHit(hit), cacheStatus(hit));
    assert.equal(hit.headers['cdn-cache-control'], undefined);
    assert.equal(hit.headers['cache-control'], 'no-store', 'Cache-Control is for the clients');
    await get('/cdn-flint');
    const passed = await get('/cdn-flint');
    assert.ok(!isHit(passed), 'Flint-CDN-Cache-Control: no-store wins');
    assert.equal(passed.headers['flint-cdn-cache-control'], undefined, 'not forwarded on a pass either');
    assert.equal(passed.headers['cdn-cache-control'], undefined);
    await get('/cdn-custom', {}, CUSTOM_TARGET);
    const custom = await get('/cdn-custom', {}, CUSTOM_TARGET);
    assert.ok(isHit(custom), `a configured target list: ${cacheStatus(custom)}`);
    assert.equal(custom.headers['edge-control'], undefined);
  });

  test('unsafe-method invalidation: on by default, off with UnsafeInvalidation OFF', async () => {
    ROUTES['/inval'] = (req) => (req.method === 'POST' ? { body: 'posted' } : { headers: { 'cache-control': 'max-age=3600' } });
    for (const [host, evicted] of [[HOST, true], [NO_INVALIDATE, false]] as const) {
      await get('/inval', {}, host);
      assert.ok(isHit(await get('/inval', {}, host)), host);
      const post = await request({ port, path: '/inval', host, method: 'POST', body: 'x' });
      assert.equal(post.status, 200);
      const after = await get('/inval', {}, host);
      assert.equal(isHit(after), !evicted, `${host}: ${cacheStatus(after)}`);
    }
  });

  test('a header the request\'s Connection names is not forwarded and does not select a variant', async () => {
    ROUTES['/vary'] = (req) => ({ headers: { 'cache-control': 'max-age=3600', vary: 'X-Device' }, body: `device=${String(req.headers['x-device'] ?? 'none')}` });
    const raw = await rawExchange(port, [`GET /vary HTTP/1.1\r\nHost: ${HOST}\r\nX-Device: evil\r\nConnection: close, X-Device\r\n\r\n`]);
    assert.match(raw.received, /device=none$/, 'the origin never saw X-Device');
    const anonymous = await get('/vary');
    assert.ok(isHit(anonymous), `stored as the variant without X-Device: ${cacheStatus(anonymous)}`);
    assert.equal(anonymous.body.toString(), 'device=none');
    const evil = await get('/vary', { 'x-device': 'evil' });
    assert.equal(evil.body.toString(), 'device=evil', 'a real X-Device: evil gets its own variant');
  });

  test('must-revalidate, proxy-revalidate and s-maxage copies are not served stale when the origin fails: 504', async () => {
    for (const [path, cc] of [['/mr', 'max-age=1, must-revalidate'], ['/pr', 'max-age=1, proxy-revalidate'], ['/sm', 's-maxage=1'], ['/plain', 'max-age=1']] as const) {
      ROUTES[path] = (_req, n) => (n === 1 ? { headers: { 'cache-control': cc, etag: '"v1"' } } : 'reset');
      for (const host of [FAILING, VIOLATE]) {
        const first = await get(path, {}, host);
        assert.equal(first.status, 200);
      }
    }
    await sleep(1100);
    for (const path of ['/mr', '/pr', '/sm']) {
      const refused = await get(path, {}, FAILING);
      assert.equal(refused.status, 504, `${path}: ${refused.status} ${cacheStatus(refused)} ${refused.body.toString()}`);
      const violated = await get(path, {}, VIOLATE);
      assert.equal(violated.status, 200, `${path} with ViolateMustRevalidate ON is served stale`);
      assert.equal(violated.body.toString(), `${path} #1`);
    }
    const plain = await get('/plain', {}, FAILING);
    assert.equal(plain.status, 200, 'without must-revalidate TTLExtensionByFail still serves it');
  });

  test('a must-revalidate copy is not served stale when the origin answers 5xx: the 5xx goes through', async () => {
    ROUTES['/mr5xx'] = (_req, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1, must-revalidate', etag: '"v1"' } } : { status: 503, body: 'down' });
    await get('/mr5xx', {}, ANSWERS_5XX);
    await sleep(1100);
    const answer = await get('/mr5xx', {}, ANSWERS_5XX);
    assert.equal(answer.status, 503);
    assert.equal(answer.body.toString(), 'down');
  });

  test('Age + Cache-Status ttl add up to the freshness lifetime', async () => {
    ROUTES['/age'] = () => ({ headers: { 'cache-control': 'max-age=600' } });
    await get('/age');
    // A fractional age (0.6 s) is where floor(Age) and round(ttl) used to disagree: 0 + 599.
    await sleep(600);
    for (let i = 0; i < 3; i++) {
      const hit = await get('/age');
      assert.ok(isHit(hit), cacheStatus(hit));
      assert.equal(ageOf(hit) + (cacheTtl(hit) ?? -1), 600, `Age ${String(hit.headers.age)} + ${cacheStatus(hit)}`);
    }
     // uWS writes its own Date (the time of serving), so Age must carry the age: here from an origin Date 5 s old.
    ROUTES['/age-dated'] = () => ({ headers: { 'cache-control': 'max-age=600', date: new Date(Math.floor(Date.now() / 1000) * 1000 - 5000).toUTCString() } });
    await get('/age-dated');
    const dated = await get('/age-dated');
    assert.ok(isHit(dated), cacheStatus(dated));
    assert.ok(ageOf(dated) >= 5 && ageOf(dated) <= 7, `Age ${String(dated.headers.age)}`);
    assert.equal(ageOf(dated) + (cacheTtl(dated) ?? -1), 600, `Age ${String(dated.headers.age)} + ${cacheStatus(dated)}`);
    assert.ok(Math.abs(Date.parse(String(dated.headers.date)) - Date.now()) < 3000, `Date is the time of serving: ${String(dated.headers.date)}`);
  });
});
