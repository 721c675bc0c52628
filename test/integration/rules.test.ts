/**
 * TTL, bypass and cache-key rules through a real Flint (primary + 1 worker) in front of a scripted origin: TTL rule
 * precedence over origin max-age (and not over no-store), bypass rules on method, URL, header, cookie and client
 * IP with the defaults and BypassNoCacheRequest, query-string key rules, CaseSensitive OFF, the VaryHeader
 * whitelist, STON's svc/<vhost>/*.txt files, a bad rule rejected on SIGHUP with its line, and a SIGHUP that changes
 * behaviour.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { accessRecordsFor, cacheStatus, cacheTtl, isHit, reply, seenFor, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';

const TTL = 'ttl.test';
const BYPASS = 'bypass.test';
const GETOFF = 'getoff.test';
const KEY = 'key.test';
const TXT = 'txt.test';

const VHOSTS = (port: number, origin: string): string =>
  vhostXml([
    {
      name: TTL,
      port,
      origin,
      extra: `<TTLRules>
        <Rule Url="/img/*.jpg" Status="200">3600</Rule>
        <Rule Url="*.jpg">600</Rule>
        <Rule Status="404">300</Rule>
      </TTLRules>`,
    },
    {
      name: BYPASS,
      port,
      origin,
      // CookieRequest any: these tests are about which requests bypass; what a cookie request may store is
      // cache-hardening.test.ts's.
      extra: `<Options><BypassNoCacheRequest>ON</BypassNoCacheRequest><CookieRequest>any</CookieRequest></Options>
      <BypassRules>
        <Rule Url="/public/*">cache</Rule>
        <Rule Url="/api/*">bypass</Rule>
        <Rule Method="HEAD" Url="/head/*">bypass</Rule>
        <Rule Header="X-Preview: yes*">bypass</Rule>
        <Rule Cookie="session">bypass</Rule>
        <Rule ClientIp="127.0.0.2">bypass</Rule>
      </BypassRules>`,
    },
    {
      name: GETOFF,
      port,
      origin,
      extra: '<Options><BypassGetRequest>ON</BypassGetRequest></Options><BypassRules><Rule Url="*.css">cache</Rule></BypassRules>',
    },
    {
      name: KEY,
      port,
      origin,
      extra: `<Options>
        <CaseSensitive>OFF</CaseSensitive>
        <ApplyQueryString>OFF</ApplyQueryString>
        <VaryHeader>Accept-Language</VaryHeader>
      </Options>
      <QueryStringRules>
        <Rule Url="/search/*" Keep="q"/>
        <Rule Url="/static/*" Drop="v"/>
        <Rule Url="/dyn/*">apply</Rule>
      </QueryStringRules>`,
    },
    { name: TXT, port, origin },
  ]);

const TXT_TTL = '# STON ttl.txt\n$URL[/t/*] & $ORGSTATUS[200], 1234\n';
const TXT_BYPASS = '$URL[/b/*], bypass\n';

/** A cacheable response (max-age=5) whose body names the request count, so a refetch is visible. */
const counted =
  (headers: Record<string, string> = {}, status = 200): Route =>
  (req, res, n) =>
    reply(res, status, { 'cache-control': 'max-age=5', 'content-type': 'text/plain', ...headers }, `${req.url} #${n}`);

describe('TTL, bypass and cache-key rules', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (host: string, path: string, headers: Record<string, string> = {}, extra: { method?: string; localAddress?: string; body?: string } = {}): Promise<TestResponse> =>
    request({ port, host, path, headers, ...extra });
  /** Requests the origin saw for `path`, query included when `withQuery`. */
  const originGets = (path: string): number => seenFor(origin, path).length;

  before(async () => {
    origin = await startRoutedOrigin(routes);
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => {
      mkdirSync(join(dir, 'conf', 'svc', TXT), { recursive: true });
      writeFileSync(join(dir, 'conf', 'svc', TXT, 'ttl.txt'), TXT_TTL);
      writeFileSync(join(dir, 'conf', 'svc', TXT, 'bypass.txt'), TXT_BYPASS);
      return { server: serverXml({ managerPort, dir }), vhosts: VHOSTS(port, origin.address) };
    });
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('TTL rules: the first matching rule fixes the TTL, over origin max-age, by status; never over no-store', async () => {
    for (const p of ['/img/a.jpg', '/x/b.jpg', '/plain.html']) routes[p] = counted();
    routes['/missing'] = (_req, res) => reply(res, 404, { 'content-type': 'text/plain' }, 'not here');
    routes['/img/secret.jpg'] = counted({ 'cache-control': 'no-store' });

    const ttlOfHit = async (host: string, path: string): Promise<number | null> => {
      await get(host, path);
      const hit = await get(host, path);
      assert.ok(isHit(hit), `${path}: ${cacheStatus(hit)}`);
      return cacheTtl(hit);
    };
    const near = (actual: number | null, expected: number): void => assert.ok(actual !== null && actual <= expected && actual >= expected - 5, `ttl ${actual}, expected ~${expected}`);
    near(await ttlOfHit(TTL, '/img/a.jpg'), 3600);
    near(await ttlOfHit(TTL, '/x/b.jpg'), 600);
    near(await ttlOfHit(TTL, '/plain.html'), 5);
    // A 404 without freshness is not stored by default; the Status="404" rule keeps it for 300 s.
    near(await ttlOfHit(TTL, '/missing'), 300);
    assert.equal(originGets('/missing'), 1);
    // no-store beats every TTL rule (STON: cc_nostore comes first).
    await get(TTL, '/img/secret.jpg');
    const again = await get(TTL, '/img/secret.jpg');
    assert.ok(!isHit(again), cacheStatus(again));
    assert.equal(originGets('/img/secret.jpg'), 2);
  });

  test('bypass defaults: GET cached, POST passed and logged as a bypass', async () => {
    routes['/form'] = counted();
    await get(BYPASS, '/form');
    assert.ok(isHit(await get(BYPASS, '/form')));
    const post = await get(BYPASS, '/form', { 'content-type': 'text/plain' }, { method: 'POST', body: 'x=1' });
    assert.equal(post.status, 200);
    assert.equal(seenFor(origin, '/form').filter((r) => r.method === 'POST').length, 1);
    const records = await accessRecordsFor(flint, BYPASS, '/form', 3);
    const postRecord = records.find((r) => r.method === 'POST');
    assert.equal(postRecord?.cacheResult, 'PASS');
    assert.equal(postRecord?.reqInfo, 'Bypass');
    assert.equal(postRecord?.bypassReason, 'default');
    assert.ok(records.filter((r) => r.method === 'GET').every((r) => r.reqInfo === undefined));
  });

  test('bypass rules: URL, method, header, cookie and client IP pass to the origin every time', async () => {
    const twice = async (path: string, headers: Record<string, string> = {}, extra: { method?: string; localAddress?: string } = {}): Promise<number> => {
      routes[path] = counted();
      const before = originGets(path);
      await get(BYPASS, path, headers, extra);
      const second = await get(BYPASS, path, headers, extra);
      assert.equal(second.status, 200);
      return originGets(path) - before;
    };
    assert.equal(await twice('/api/list'), 2, 'Url="/api/*" bypasses');
    assert.equal(await twice('/head/x', {}, { method: 'HEAD' }), 2, 'Method="HEAD" bypasses HEAD');
    assert.equal(await twice('/head/y'), 1, '... but not GET');
    assert.equal(await twice('/h1', { 'x-preview': 'yes-please' }), 2, 'header value glob bypasses');
    assert.equal(await twice('/h2', { 'x-preview': 'no' }), 1, 'other header values are cached');
    assert.equal(await twice('/c1', { cookie: 'lang=ko; session=abc' }), 2, 'cookie rule bypasses');
    assert.equal(await twice('/c2', { cookie: 'sessionid=abc' }), 1, 'cookie names match exactly');
    assert.equal(await twice('/ip', {}, { localAddress: '127.0.0.2' }), 2, 'ClientIp rule bypasses 127.0.0.2');
    assert.equal(await twice('/ip2', {}, { localAddress: '127.0.0.1' }), 1, '... and caches for 127.0.0.1');
    // The first matching rule wins: /public/* says cache before the cookie rule.
    assert.equal(await twice('/public/p', { cookie: 'session=1' }), 1);
    const bypassed = await get(BYPASS, '/api/list');
    assert.equal(cacheStatus(bypassed), 'flint; fwd=bypass', 'RFC 9211 Cache-Status on a bypassed response');
    const records = await accessRecordsFor(flint, BYPASS, '/api/list', 2);
    assert.ok(records.every((r) => r.cacheResult === 'PASS' && r.reqInfo === 'Bypass' && r.bypassReason === 'rule'), JSON.stringify(records));
  });

  test('BypassNoCacheRequest ON passes client no-cache requests without touching the cache', async () => {
    routes['/nc'] = counted();
    await get(BYPASS, '/nc');
    assert.ok(isHit(await get(BYPASS, '/nc')));
    const passed = await get(BYPASS, '/nc', { 'cache-control': 'no-cache' });
    assert.ok(!isHit(passed));
    assert.equal(originGets('/nc'), 2);
    // The stored copy is untouched: the next plain request is still a hit on the first fetch.
    const hit = await get(BYPASS, '/nc');
    assert.ok(isHit(hit));
    assert.equal(hit.body.toString(), '/nc #1');
    const records = await accessRecordsFor(flint, BYPASS, '/nc', 4);
    assert.ok(records.some((r) => r.bypassReason === 'no-cache-request'));
  });

  test('BypassGetRequest ON passes GETs except where a rule says cache', async () => {
    routes['/page.html'] = counted();
    routes['/site.css'] = counted();
    await get(GETOFF, '/page.html');
    await get(GETOFF, '/page.html');
    assert.equal(originGets('/page.html'), 2);
    await get(GETOFF, '/site.css');
    assert.ok(isHit(await get(GETOFF, '/site.css')));
    assert.equal(originGets('/site.css'), 1);
  });

  test('cache key: ApplyQueryString OFF shares one object, Keep/Drop/apply rules per URL, CaseSensitive OFF', async () => {
    for (const p of ['/a', '/search/s', '/static/app.js', '/dyn/d', '/Mixed/Case.txt', '/mixed/case.txt']) routes[p] = counted();
    const first = await get(KEY, '/a?x=1');
    const second = await get(KEY, '/a?x=2');
    assert.ok(isHit(second), cacheStatus(second));
    assert.equal(second.body.toString(), first.body.toString());
    assert.equal(originGets('/a'), 1, '/a?x=1 and /a?x=2 are one object');

    await get(KEY, '/search/s?q=cats&utm=1');
    assert.ok(isHit(await get(KEY, '/search/s?utm=2&q=cats')), 'Keep="q": utm is not in the key');
    assert.ok(!isHit(await get(KEY, '/search/s?q=dogs')), 'a different q is a different object');
    assert.equal(originGets('/search/s'), 2);

    await get(KEY, '/static/app.js?v=1&lang=en');
    assert.ok(isHit(await get(KEY, '/static/app.js?v=2&lang=en')), 'Drop="v"');
    assert.ok(!isHit(await get(KEY, '/static/app.js?v=2&lang=ko')));

    await get(KEY, '/dyn/d?id=1');
    assert.ok(!isHit(await get(KEY, '/dyn/d?id=2')), 'apply: the whole query is in the key');
    assert.equal(originGets('/dyn/d'), 2);

    await get(KEY, '/Mixed/Case.txt');
    const lower = await get(KEY, '/mixed/case.txt');
    assert.ok(isHit(lower), 'CaseSensitive OFF: one object for both spellings');
    assert.equal(originGets('/mixed/case.txt'), 0);
    // The origin still got the path as the client sent it.
    assert.equal(originGets('/Mixed/Case.txt'), 1);
  });

  test('VaryHeader whitelist: listed Vary names make variants, others are ignored', async () => {
    routes['/v'] = (req, res, n) =>
      reply(res, 200, { 'cache-control': 'max-age=60', vary: 'Accept-Encoding, Accept-Language' }, `${String(req.headers['accept-language'])} #${n}`);
    const ko = await get(KEY, '/v', { 'accept-language': 'ko', 'accept-encoding': 'gzip' });
    const koOtherEncoding = await get(KEY, '/v', { 'accept-language': 'ko', 'accept-encoding': 'br' });
    assert.ok(isHit(koOtherEncoding), 'Accept-Encoding is not in the whitelist');
    assert.equal(koOtherEncoding.body.toString(), ko.body.toString());
    const en = await get(KEY, '/v', { 'accept-language': 'en' });
    assert.ok(!isHit(en), 'Accept-Language is');
    assert.equal(originGets('/v'), 2);
  });

  test('svc/<vhost>/ttl.txt and bypass.txt are read; a bad line is rejected on SIGHUP with its line; a good reload changes behaviour', async () => {
    routes['/t/a'] = counted();
    routes['/b/a'] = counted();
    routes['/later/a'] = counted();
    await get(TXT, '/t/a');
    const hit = await get(TXT, '/t/a');
    assert.ok(isHit(hit));
    const ttl = cacheTtl(hit);
    assert.ok(ttl !== null && ttl > 1200 && ttl <= 1234, `ttl.txt rule: ${cacheStatus(hit)}`);
    await get(TXT, '/b/a');
    await get(TXT, '/b/a');
    assert.equal(originGets('/b/a'), 2, 'bypass.txt rule');
    await get(TXT, '/later/a');
    assert.ok(isHit(await get(TXT, '/later/a')));

    const svc = join(flint.confDir, 'svc', TXT);
    const hashBefore = (await flint.stats()).configHash;
    writeFileSync(join(svc, 'bypass.txt'), `${TXT_BYPASS}$URL[/later/*] & $COOKIE[a=1, bypass\n`);
    flint.signal('SIGHUP');
    const failed = await flint.waitForLog((l) => l.event === 'config.reload_failed' && JSON.stringify(l).includes('svc/txt.test/bypass.txt: line 2'));
    assert.match(JSON.stringify(failed), /svc\/txt\.test\/bypass\.txt: line 2: /);
    assert.equal((await flint.stats()).configHash, hashBefore, 'the running config is kept');
    assert.ok(isHit(await get(TXT, '/later/a')));

    writeFileSync(join(svc, 'bypass.txt'), `${TXT_BYPASS}/later/*, bypass\n`);
    flint.signal('SIGHUP');
    const before = originGets('/later/a');
    await waitFor('the reloaded bypass rule', async () => {
      const res = await get(TXT, '/later/a');
      return isHit(res) ? undefined : res;
    });
    await get(TXT, '/later/a');
    assert.ok(originGets('/later/a') >= before + 2, 'every request now reaches the origin');
    assert.notEqual((await flint.stats()).configHash, hashBefore);
  });
});
