// Unit tests of policy/cacheable: the shared-cache storage decision (RFC 9111 §3, §3.5, §4.1, §5.2.2) with STON's
// TTL policy (class TTLs, priority, NoCache, negative values, Res2xx Ratio), and the reuse decisions (RFC 9111 §4.2.4,
// §5.2.1; RFC 5861).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TtlPolicy } from '../../src/config/types.js';
import { EMPTY_REQUEST_DIRECTIVES, parseRequestCacheControl } from '../../src/cache/cache-control.js';
import type { RequestDirectives } from '../../src/cache/cache-control.js';
import {
  NO_CACHE_REASONS,
  REQUEST_NO_CACHE_REASONS,
  STORED_HEADER_EXCLUDES,
  decideServe,
  decideStorage,
  grownTtl,
  isStaleIfErrorAllowed,
  storedHeaderList,
  withFillerCookies,
} from '../../src/policy/cacheable.js';
import { staleOnError } from '../../src/policy/stale-on-error.js';
import type { StorageDecision, StorageInput, StoreDecision, StoredFreshness } from '../../src/policy/cacheable.js';

const NOW = Date.UTC(2025, 0, 1, 0, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();
const POLICY: TtlPolicy = {
  res2xxSec: 0,
  res2xxRatioPercent: 0,
  res2xxMaxSec: 86400,
  noCacheSec: 0,
  res3xxSec: 0,
  res4xxSec: 0,
  res5xxSec: 0,
  priority: 'origin',
  heuristicPercent: 10,
  heuristicMaxSec: 86400,
  errorExtensionSec: 3,
};

function decide(over: Omit<Partial<StorageInput>, 'policy'> & { policy?: Partial<TtlPolicy> } = {}): StorageDecision {
  return decideStorage({
    method: 'GET',
    status: 200,
    requestHeaders: [],
    responseHeaders: { date: httpDate(NOW) },
    now: NOW,
    ...over,
    policy: { ...POLICY, ...over.policy },
  });
}

function stored(decision: StorageDecision): StoreDecision {
  assert.equal(decision.action, 'store', JSON.stringify(decision));
  return decision as StoreDecision;
}

const reason = (decision: StorageDecision): string => (decision.action === 'no-store' ? decision.reason : `stored ${JSON.stringify(decision)}`);
const cc = (value: string, extra: Record<string, string | string[]> = {}): Record<string, string | string[]> => ({ date: httpDate(NOW), 'cache-control': value, ...extra });

test('NO_CACHE_REASONS is a closed set of distinct names', () => {
  assert.equal(new Set(NO_CACHE_REASONS).size, NO_CACHE_REASONS.length);
});

test('only GET responses are stored', () => {
  for (const method of ['HEAD', 'POST', 'PUT', 'get', 'OPTIONS']) {
    assert.equal(reason(decide({ method, responseHeaders: cc('max-age=60') })), 'method', method);
  }
  assert.equal(stored(decide({ responseHeaders: cc('max-age=60') })).ttlSec, 60);
});

test('statuses never stored: 1xx, 206, 304, >= 600', () => {
  for (const status of [100, 103, 206, 304, 600, 999]) {
    assert.equal(reason(decide({ status, responseHeaders: cc('max-age=60') })), 'status', String(status));
  }
});

test('no-store (response and request) and private are never stored', () => {
  assert.equal(reason(decide({ responseHeaders: cc('no-store, max-age=60') })), 'no-store');
  assert.equal(reason(decide({ requestHeaders: ['cache-control', 'no-store'], responseHeaders: cc('max-age=60') })), 'request-no-store');
  assert.equal(reason(decide({ responseHeaders: cc('private, max-age=60') })), 'private');
  assert.equal(reason(decide({ responseHeaders: cc('public, private, s-maxage=60') })), 'private');
});

test('private="field" stores the response without that field (§5.2.2.7)', () => {
  const d = stored(decide({ responseHeaders: cc('private="x-user", max-age=60') }));
  assert.equal(d.excludeHeaders.has('x-user'), true);
  assert.equal(d.ttlSec, 60);
});

test('a request with Authorization is stored only with public, s-maxage or must-revalidate (§3.5)', () => {
  const auth = ['authorization', 'Basic Zm9vOmJhcg=='];
  assert.equal(reason(decide({ requestHeaders: auth, responseHeaders: cc('max-age=60') })), 'authorization');
  assert.equal(stored(decide({ requestHeaders: auth, responseHeaders: cc('public, max-age=60') })).ttlSec, 60);
  const s = stored(decide({ requestHeaders: auth, responseHeaders: cc('s-maxage=30') }));
  assert.equal(s.ttlSec, 30);
  assert.equal(s.mustRevalidate, true);
  assert.equal(stored(decide({ requestHeaders: auth, responseHeaders: cc('must-revalidate, max-age=60') })).mustRevalidate, true);
  // proxy-revalidate is not on the §3.5 list.
  assert.equal(reason(decide({ requestHeaders: auth, responseHeaders: cc('proxy-revalidate, max-age=60') })), 'authorization');
});

test('Vary: * is never stored; other Vary values are', () => {
  assert.equal(reason(decide({ responseHeaders: cc('max-age=60', { vary: '*' }) })), 'vary-star');
  assert.equal(reason(decide({ responseHeaders: cc('max-age=60', { vary: 'Accept-Encoding, *' }) })), 'vary-star');
  assert.equal(reason(decide({ responseHeaders: cc('max-age=60', { vary: ['accept-encoding', ' * '] }) })), 'vary-star');
  assert.equal(stored(decide({ responseHeaders: cc('max-age=60', { vary: 'Accept-Encoding' }) })).ttlSec, 60);
});

test('explicit origin freshness: s-maxage over max-age over Expires', () => {
  const expires = { expires: httpDate(NOW + 600_000) };
  assert.equal(stored(decide({ responseHeaders: cc('max-age=60, s-maxage=30', expires) })).ttlSec, 30);
  assert.equal(stored(decide({ responseHeaders: cc('max-age=60', expires) })).ttlSec, 60);
  const e = stored(decide({ responseHeaders: { date: httpDate(NOW), ...expires } }));
  assert.equal(e.ttlSec, 600);
  assert.equal(e.ttlSource, 'origin');
  assert.equal(e.revalidate, 'normal');
  assert.equal(e.mustRevalidate, false);
});

test('invalid Expires or max-age: stored stale when it has a validator, else not stored', () => {
  const d = stored(decide({ responseHeaders: { date: httpDate(NOW), expires: '0', etag: '"v1"' } }));
  assert.equal(d.ttlSec, 0);
  assert.equal(d.ttlSource, 'origin');
  assert.equal(reason(decide({ responseHeaders: { date: httpDate(NOW), expires: '0' } })), 'no-validator-no-freshness');
  assert.equal(stored(decide({ responseHeaders: cc('max-age=soon', { etag: '"v1"' }) })).ttlSec, 0);
});

test('2xx without explicit freshness: heuristic from Last-Modified (10%, capped)', () => {
  const d = stored(decide({ responseHeaders: { date: httpDate(NOW), 'last-modified': httpDate(NOW - 1_000_000) } }));
  assert.equal(d.ttlSec, 100);
  assert.equal(d.ttlSource, 'heuristic');
  const capped = stored(decide({ responseHeaders: { date: httpDate(NOW), 'last-modified': httpDate(NOW - 100 * 86400_000) } }));
  assert.equal(capped.ttlSec, 86400);
});

test('2xx without freshness: ttl 0 with a validator, else not stored', () => {
  const d = stored(decide({ responseHeaders: { date: httpDate(NOW), etag: 'W/"x"' } }));
  assert.equal(d.ttlSec, 0);
  assert.equal(reason(decide({ responseHeaders: { date: httpDate(NOW) } })), 'no-validator-no-freshness');
  assert.equal(reason(decide({ responseHeaders: { date: httpDate(NOW), 'last-modified': 'bogus' } })), 'no-validator-no-freshness');
  assert.equal(reason(decide({ responseHeaders: { date: httpDate(NOW), etag: '' } })), 'no-validator-no-freshness');
});

test('STON Res2xx: default for 2xx without explicit freshness; priority origin vs config', () => {
  const d = stored(decide({ policy: { res2xxSec: 300 } }));
  assert.equal(d.ttlSec, 300);
  assert.equal(d.ttlSource, 'config');
  // Res2xx beats the heuristic.
  assert.equal(stored(decide({ responseHeaders: { date: httpDate(NOW), 'last-modified': httpDate(NOW - 1_000_000) }, policy: { res2xxSec: 300 } })).ttlSec, 300);
  // priority origin: origin freshness wins.
  const origin = stored(decide({ responseHeaders: cc('max-age=60'), policy: { res2xxSec: 300 } }));
  assert.deepEqual([origin.ttlSec, origin.ttlSource], [60, 'origin']);
  // priority config: the class TTL wins, even over max-age=0.
  const config = stored(decide({ responseHeaders: cc('max-age=60'), policy: { res2xxSec: 300, priority: 'config' } }));
  assert.deepEqual([config.ttlSec, config.ttlSource], [300, 'config']);
  assert.equal(stored(decide({ responseHeaders: cc('max-age=0'), policy: { res2xxSec: 300, priority: 'config' } })).ttlSec, 300);
  // priority config without a class TTL falls back to the origin.
  assert.equal(stored(decide({ responseHeaders: cc('max-age=60'), policy: { priority: 'config' } })).ttlSec, 60);
});

test('STON: zero or negative configured TTLs count as unset', () => {
  const lm = { date: httpDate(NOW), 'last-modified': httpDate(NOW - 1_000_000) };
  const d = stored(decide({ responseHeaders: lm, policy: { res2xxSec: -5 } }));
  assert.deepEqual([d.ttlSec, d.ttlSource], [100, 'heuristic']);
  assert.equal(stored(decide({ responseHeaders: cc('max-age=60'), policy: { res2xxSec: -5, priority: 'config' } })).ttlSec, 60);
  assert.equal(reason(decide({ status: 500, policy: { res5xxSec: -10 } })), 'status-no-freshness');
  assert.equal(stored(decide({ responseHeaders: cc('no-cache', { etag: '"a"' }), policy: { noCacheSec: -1 } })).revalidate, 'always');
});

test('3xx/4xx/5xx: class TTLs, explicit freshness, and statuses not cacheable by default', () => {
  assert.equal(reason(decide({ status: 302 })), 'status-no-freshness');
  assert.equal(reason(decide({ status: 302, responseHeaders: { date: httpDate(NOW), etag: '"a"', 'last-modified': httpDate(NOW - 1_000_000) } })), 'status-no-freshness');
  assert.equal(stored(decide({ status: 302, responseHeaders: cc('max-age=60') })).ttlSec, 60);
  const r3 = stored(decide({ status: 302, policy: { res3xxSec: 120 } }));
  assert.deepEqual([r3.ttlSec, r3.ttlSource], [120, 'config']);
  // A 301 is cacheable by default: heuristic freshness applies.
  assert.equal(stored(decide({ status: 301, responseHeaders: { date: httpDate(NOW), 'last-modified': httpDate(NOW - 1_000_000) } })).ttlSec, 100);
  // Negative caching.
  assert.equal(stored(decide({ status: 404, policy: { res4xxSec: 30 } })).ttlSec, 30);
  assert.equal(reason(decide({ status: 404 })), 'no-validator-no-freshness');
  assert.equal(reason(decide({ status: 403 })), 'status-no-freshness');
  assert.equal(stored(decide({ status: 403, policy: { res4xxSec: 30 } })).ttlSec, 30);
  assert.equal(reason(decide({ status: 500 })), 'status-no-freshness');
  assert.equal(stored(decide({ status: 503, policy: { res5xxSec: 10 } })).ttlSec, 10);
  assert.equal(stored(decide({ status: 503, responseHeaders: cc('max-age=5') })).ttlSec, 5);
  // Each class uses its own setting.
  assert.equal(reason(decide({ status: 500, policy: { res2xxSec: 60, res3xxSec: 60, res4xxSec: 60 } })), 'status-no-freshness');
  // priority config: the class TTL overrides an origin max-age.
  assert.equal(stored(decide({ status: 404, responseHeaders: cc('max-age=600'), policy: { res4xxSec: 30, priority: 'config' } })).ttlSec, 30);
  assert.equal(stored(decide({ status: 404, responseHeaders: cc('max-age=600'), policy: { res4xxSec: 30 } })).ttlSec, 600);
});

test('no-cache: revalidate always, unless the NoCache TTL is set', () => {
  const d = stored(decide({ responseHeaders: cc('no-cache, max-age=600', { etag: '"a"' }) }));
  assert.equal(d.revalidate, 'always');
  assert.equal(d.ttlSec, 0);
  const n = stored(decide({ responseHeaders: cc('no-cache', { etag: '"a"' }), policy: { noCacheSec: 60 } }));
  assert.deepEqual([n.revalidate, n.ttlSec, n.ttlSource], ['normal', 60, 'config']);
  // NoCache beats the class TTL, whatever the priority.
  assert.equal(stored(decide({ responseHeaders: cc('no-cache', { etag: '"a"' }), policy: { res2xxSec: 300, priority: 'config' } })).revalidate, 'always');
  // Without a validator, an always-revalidated response is useless to store.
  assert.equal(reason(decide({ responseHeaders: cc('no-cache, max-age=600') })), 'no-validator-no-freshness');
  // The qualified form only strips fields.
  const q = stored(decide({ responseHeaders: cc('no-cache="x-secret", max-age=60') }));
  assert.deepEqual([q.revalidate, q.ttlSec, q.excludeHeaders.has('x-secret')], ['normal', 60, true]);
});

test('stale windows: kept; a zero-TTL response without validator is stored only when a stale window is usable', () => {
  const d = stored(decide({ responseHeaders: cc('max-age=0, stale-while-revalidate=30, stale-if-error=600') }));
  assert.deepEqual([d.ttlSec, d.staleWhileRevalidateSec, d.staleIfErrorSec], [0, 30, 600]);
  assert.equal(reason(decide({ responseHeaders: cc('max-age=0, must-revalidate, stale-while-revalidate=30') })), 'no-validator-no-freshness');
  assert.equal(reason(decide({ responseHeaders: cc('s-maxage=0, stale-if-error=30') })), 'no-validator-no-freshness');
  const none = stored(decide({ responseHeaders: cc('max-age=10') }));
  assert.deepEqual([none.staleWhileRevalidateSec, none.staleIfErrorSec], [0, 0]);
});

test('mustRevalidate: must-revalidate, proxy-revalidate or s-maxage', () => {
  assert.equal(stored(decide({ responseHeaders: cc('max-age=10, must-revalidate') })).mustRevalidate, true);
  assert.equal(stored(decide({ responseHeaders: cc('max-age=10, proxy-revalidate') })).mustRevalidate, true);
  assert.equal(stored(decide({ responseHeaders: cc('s-maxage=10') })).mustRevalidate, true);
  assert.equal(stored(decide({ responseHeaders: cc('max-age=10') })).mustRevalidate, false);
});

test('Set-Cookie responses are stored only under SetCookie strip, never their Set-Cookie; hop-by-hop and listed fields are dropped', () => {
  const headers = {
    date: httpDate(NOW),
    'cache-control': 'max-age=60, no-cache="x-secret"',
    'set-cookie': ['a=1', 'b=2'],
    connection: 'keep-alive, X-Hop',
    'x-hop': 'h',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'x-secret': 's',
    link: ['</a>; rel=preload', '</b>; rel=preload'],
    'content-type': 'text/plain',
    missing: undefined,
  };
  assert.equal(reason(decide({ responseHeaders: headers })), 'set-cookie');
  assert.equal(reason(decide({ responseHeaders: headers, setCookie: 'pass' })), 'set-cookie');
  const d = stored(decide({ responseHeaders: headers, setCookie: 'strip' }));
  assert.equal(STORED_HEADER_EXCLUDES.has('set-cookie'), true);
  for (const name of ['set-cookie', 'connection', 'x-hop', 'keep-alive', 'transfer-encoding', 'x-secret']) {
    assert.equal(d.excludeHeaders.has(name), true, name);
  }
  assert.deepEqual(storedHeaderList(headers, d.excludeHeaders), [
    'date', httpDate(NOW),
    'cache-control', 'max-age=60, no-cache="x-secret"',
    'link', '</a>; rel=preload',
    'link', '</b>; rel=preload',
    'content-type', 'text/plain',
  ]);
  // A plain response reuses the shared set.
  assert.equal(stored(decide({ responseHeaders: cc('max-age=60') })).excludeHeaders, STORED_HEADER_EXCLUDES);
});

test('grownTtl: STON Res2xx Ratio after a 304', () => {
  assert.equal(grownTtl(100, POLICY), 100);
  assert.equal(grownTtl(100, { ...POLICY, res2xxRatioPercent: 50 }), 150);
  assert.equal(grownTtl(10, { ...POLICY, res2xxRatioPercent: 10 }), 11);
  assert.equal(grownTtl(100, { ...POLICY, res2xxRatioPercent: 50, res2xxMaxSec: 120 }), 120);
  // Never shrinks, even above the cap.
  assert.equal(grownTtl(500, { ...POLICY, res2xxRatioPercent: 50, res2xxMaxSec: 120 }), 500);
  assert.equal(grownTtl(100, { ...POLICY, res2xxRatioPercent: -50 }), 100);
  assert.equal(grownTtl(0, { ...POLICY, res2xxRatioPercent: 50 }), 0);
  let ttl = 60;
  for (let i = 0; i < 20; i++) ttl = grownTtl(ttl, { ...POLICY, res2xxRatioPercent: 100, res2xxMaxSec: 3600 });
  assert.equal(ttl, 3600);
});

const FRESH_60: StoredFreshness = { ttlSec: 60, staleWhileRevalidateSec: 0, staleIfErrorSec: 0, revalidate: 'normal', mustRevalidate: false };
const serve = (ageSec: number, request: RequestDirectives = EMPTY_REQUEST_DIRECTIVES, over: Partial<StoredFreshness> = {}): string =>
  decideServe({ stored: { ...FRESH_60, ...over, ageSec }, request });
const req = (value: string): RequestDirectives => parseRequestCacheControl(value, undefined);

test('decideServe: fresh while age < ttl', () => {
  assert.equal(serve(0), 'fresh');
  assert.equal(serve(59.9), 'fresh');
  assert.equal(serve(60), 'must-revalidate');
  assert.equal(serve(0, EMPTY_REQUEST_DIRECTIVES, { ttlSec: 0 }), 'must-revalidate');
});

test('decideServe: no-cache (request or stored) always revalidates', () => {
  assert.equal(serve(1, req('no-cache')), 'must-revalidate');
  assert.equal(serve(1, parseRequestCacheControl(undefined, 'no-cache')), 'must-revalidate');
  assert.equal(serve(1, EMPTY_REQUEST_DIRECTIVES, { revalidate: 'always', ttlSec: 600 }), 'must-revalidate');
  assert.equal(serve(1, req('max-stale'), { revalidate: 'always' }), 'must-revalidate');
});

test('decideServe: request max-age (§5.2.1.1)', () => {
  assert.equal(serve(30, req('max-age=40')), 'fresh');
  assert.equal(serve(30, req('max-age=20')), 'must-revalidate');
  assert.equal(serve(0.5, req('max-age=0')), 'must-revalidate');
  // max-age alone does not accept stale, even inside a stale-while-revalidate window...
  assert.equal(serve(65, req('max-age=100'), { staleWhileRevalidateSec: 30 }), 'must-revalidate');
  assert.equal(serve(65, EMPTY_REQUEST_DIRECTIVES, { staleWhileRevalidateSec: 30 }), 'stale-while-revalidate');
  // ...but together with max-stale it does.
  assert.equal(serve(65, req('max-age=100, max-stale=10')), 'stale-while-revalidate');
  assert.equal(serve(65, req('max-age=62, max-stale=10')), 'must-revalidate');
});

test('decideServe: request min-fresh (§5.2.1.3)', () => {
  assert.equal(serve(30, req('min-fresh=20')), 'fresh');
  assert.equal(serve(30, req('min-fresh=30')), 'fresh');
  assert.equal(serve(30, req('min-fresh=31')), 'must-revalidate');
  assert.equal(serve(65, req('min-fresh=0, max-stale')), 'must-revalidate');
});

test('decideServe: request max-stale (§5.2.1.2), ignored under must-revalidate', () => {
  assert.equal(serve(65, req('max-stale=10')), 'stale-while-revalidate');
  assert.equal(serve(75, req('max-stale=10')), 'must-revalidate');
  assert.equal(serve(100000, req('max-stale')), 'stale-while-revalidate');
  assert.equal(serve(65, req('max-stale=10'), { mustRevalidate: true }), 'must-revalidate');
  assert.equal(serve(30, req('max-stale=10'), { mustRevalidate: true }), 'fresh');
});

test('decideServe: response stale-while-revalidate window (RFC 5861 §3)', () => {
  const swr = { staleWhileRevalidateSec: 30 };
  assert.equal(serve(80, EMPTY_REQUEST_DIRECTIVES, swr), 'stale-while-revalidate');
  assert.equal(serve(90, EMPTY_REQUEST_DIRECTIVES, swr), 'stale-while-revalidate');
  assert.equal(serve(91, EMPTY_REQUEST_DIRECTIVES, swr), 'must-revalidate');
  assert.equal(serve(80, EMPTY_REQUEST_DIRECTIVES, { ...swr, mustRevalidate: true }), 'must-revalidate');
  assert.equal(serve(60, EMPTY_REQUEST_DIRECTIVES), 'must-revalidate');
});

test('isStaleIfErrorAllowed (RFC 5861 §4, RFC 9111 §4.2.4)', () => {
  const sie = { ...FRESH_60, staleIfErrorSec: 600 };
  assert.equal(isStaleIfErrorAllowed(sie, 30), true);
  assert.equal(isStaleIfErrorAllowed(sie, 660), true);
  assert.equal(isStaleIfErrorAllowed(sie, 661), false);
  assert.equal(isStaleIfErrorAllowed(FRESH_60, 61), false);
  assert.equal(isStaleIfErrorAllowed(FRESH_60, 59), true);
  assert.equal(isStaleIfErrorAllowed({ ...sie, mustRevalidate: true }, 100), false);
  assert.equal(isStaleIfErrorAllowed({ ...sie, mustRevalidate: true }, 30), true);
  assert.equal(isStaleIfErrorAllowed({ ...sie, revalidate: 'always' }, 0), false);
});

// ---- issue 19: request-scoped declines, cookies, RFC 9213 targeted fields, stale on error

test('request-scoped reasons are given only for a response that is otherwise storable (no shared hit-for-pass)', () => {
  // Each row: request headers, response headers, expected reason ('store' = stored).
  const rows: Array<[string[], Record<string, string | string[]>, string]> = [
    [['cache-control', 'no-store'], cc('max-age=60'), 'request-no-store'],
    [['cache-control', 'no-store'], cc('private, max-age=60'), 'private'],
    [['cache-control', 'no-store'], cc('no-store'), 'no-store'],
    [['cache-control', 'no-store'], cc('max-age=60', { 'set-cookie': 'a=1' }), 'set-cookie'],
    [['cache-control', 'no-store'], { date: httpDate(NOW) }, 'no-validator-no-freshness'],
    [['authorization', 'Basic eDp5'], cc('max-age=60'), 'authorization'],
    [['authorization', 'Basic eDp5'], cc('private'), 'private'],
    [['authorization', 'Basic eDp5'], { date: httpDate(NOW), vary: '*', 'cache-control': 'max-age=60' }, 'vary-star'],
    [['cookie', 'sid=1'], cc('max-age=60'), 'cookie'],
    [['cookie', 'sid=1'], cc('no-store'), 'no-store'],
    [['cookie', 'sid=1'], cc('public, max-age=60'), 'store'],
    [['cookie', 'sid=1'], cc('s-maxage=60'), 'store'],
    [['pragma', 'no-store'], cc('max-age=60'), 'store'],
  ];
  for (const [requestHeaders, responseHeaders, expected] of rows) {
    const d = decide({ requestHeaders, responseHeaders });
    assert.equal(d.action === 'store' ? 'store' : d.reason, expected, `${JSON.stringify(requestHeaders)} ${JSON.stringify(responseHeaders)}`);
  }
  assert.deepEqual([...REQUEST_NO_CACHE_REASONS].sort(), ['authorization', 'cookie', 'request-no-store']);
  for (const r of REQUEST_NO_CACHE_REASONS) assert.ok(NO_CACHE_REASONS.includes(r));
});

test('CookieRequest: explicit needs public, s-maxage, a TTL rule or a cache bypass rule; any stores as without cookies', () => {
  const cookie = ['cookie', 'sid=1'];
  assert.equal(reason(decide({ requestHeaders: cookie, responseHeaders: cc('max-age=60') })), 'cookie');
  assert.equal(stored(decide({ requestHeaders: cookie, responseHeaders: cc('max-age=60'), ruleTtlSec: 30 })).ttlSec, 30);
  assert.equal(stored(decide({ requestHeaders: cookie, responseHeaders: cc('max-age=60'), ruleCaches: true })).ttlSec, 60);
  assert.equal(stored(decide({ requestHeaders: cookie, responseHeaders: cc('max-age=60'), cookieRequest: 'any' })).ttlSec, 60);
  assert.equal(stored(decide({ requestHeaders: [], responseHeaders: cc('max-age=60') })).ttlSec, 60);
});

test('withFillerCookies: the filling client gets the Set-Cookie lines the stored copy lacks', () => {
  const list = ['content-type', 'text/plain'];
  assert.equal(withFillerCookies(list, {}), list);
  assert.deepEqual(withFillerCookies(list, { 'set-cookie': 'a=1' }), ['content-type', 'text/plain', 'set-cookie', 'a=1']);
  assert.deepEqual(withFillerCookies(list, { 'set-cookie': ['a=1', 'b=2'] }), ['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2']);
  assert.deepEqual(list, ['content-type', 'text/plain']);
});

test('RFC 9213: the first valid targeted field replaces Cache-Control and Expires; invalid ones fall through', () => {
  const targetedFields = ['flint-cdn-cache-control', 'cdn-cache-control'];
  const d = (extra: Record<string, string>, base = cc('max-age=10')): StorageDecision => decide({ targetedFields, responseHeaders: { ...base, ...extra } });
  // Each row: extra response headers, expected ttl or reason.
  const rows: Array<[Record<string, string>, number | string]> = [
    [{}, 10],
    [{ 'cdn-cache-control': 'max-age=600' }, 600],
    [{ 'flint-cdn-cache-control': 'max-age=900', 'cdn-cache-control': 'max-age=600' }, 900],
    [{ 'flint-cdn-cache-control': 'max-age=9x', 'cdn-cache-control': 'max-age=600' }, 600],
    [{ 'cdn-cache-control': 'no-store' }, 'no-store'],
    [{ 'cdn-cache-control': 'private' }, 'private'],
    [{ 'cdn-cache-control': 'Max-Age=600' }, 10],
    [{ 'cdn-cache-control': 'max-age=600,' }, 10],
    [{ 'cdn-cache-control': 'max-age=600;;' }, 10],
    [{ 'cdn-cache-control': 'max-age="600' }, 10],
    [{ 'cdn-cache-control': '' }, 10],
    [{ 'cdn-cache-control': 'no-store=?0, max-age=600' }, 600],
    [{ 'cdn-cache-control': 'max-age=600;x=1, public' }, 600],
    [{ 'cdn-cache-control': 'max-age=-1' }, 'no-validator-no-freshness'],
  ];
  for (const [extra, expected] of rows) {
    const decision = d(extra);
    assert.equal(decision.action === 'store' ? decision.ttlSec : decision.reason, expected, JSON.stringify(extra));
  }
  // Cache-Control no-store loses to a valid targeted field; Expires is ignored once a targeted field decides.
  assert.equal(stored(d({ 'cdn-cache-control': 'max-age=60' }, cc('no-store'))).ttlSec, 60);
  const expires = { date: httpDate(NOW), expires: httpDate(NOW + 3600_000) };
  assert.equal(stored(d({}, expires)).ttlSec, 3600);
  assert.equal(stored(d({ 'cdn-cache-control': 'stale-if-error=60' }, expires)).ttlSec, 0);
  // s-maxage in a targeted field makes the copy must-revalidate, as in Cache-Control.
  assert.equal(stored(d({ 'cdn-cache-control': 's-maxage=60' })).mustRevalidate, true);
  // Targeted fields are never stored; without a target list they are ordinary headers.
  const withField = stored(d({ 'cdn-cache-control': 'max-age=60', 'flint-cdn-cache-control': 'bad;' }));
  assert.equal(withField.excludeHeaders.has('cdn-cache-control'), true);
  assert.equal(withField.excludeHeaders.has('flint-cdn-cache-control'), true);
  assert.equal(stored(decide({ responseHeaders: cc('max-age=10', { 'cdn-cache-control': 'max-age=600' }) })).ttlSec, 10);
});

test('staleOnError: must-revalidate, proxy-revalidate, s-maxage and no-cache copies are never served stale unless ViolateMustRevalidate', () => {
  const base: StoredFreshness = { ttlSec: 60, staleWhileRevalidateSec: 0, staleIfErrorSec: 0, revalidate: 'normal', mustRevalidate: false };
  const on = { ttlExtensionByFail: true, ttlExtensionBy5xx: true, violateMustRevalidate: false };
  const off = { ttlExtensionByFail: false, ttlExtensionBy5xx: false, violateMustRevalidate: false };
  // Each row: stored, age, failure, options, expected.
  const rows: Array<[StoredFreshness, number, 'fail' | '5xx', typeof on, string]> = [
    [base, 100, 'fail', on, 'extend'],
    [base, 100, '5xx', on, 'extend'],
    [base, 100, 'fail', off, 'refuse'],
    [{ ...base, staleIfErrorSec: 60 }, 100, 'fail', off, 'serve'],
    [{ ...base, mustRevalidate: true }, 100, 'fail', on, 'refuse'],
    [{ ...base, mustRevalidate: true }, 100, '5xx', on, 'refuse'],
    [{ ...base, mustRevalidate: true, staleIfErrorSec: 600 }, 100, 'fail', off, 'refuse'],
    [{ ...base, mustRevalidate: true }, 100, 'fail', { ...on, violateMustRevalidate: true }, 'extend'],
    [{ ...base, mustRevalidate: true }, 30, 'fail', on, 'extend'],
    [{ ...base, ttlSec: 0, revalidate: 'always' }, 5, 'fail', on, 'refuse'],
    [{ ...base, ttlSec: 0, revalidate: 'always' }, 5, 'fail', { ...on, violateMustRevalidate: true }, 'extend'],
  ];
  for (const [s, age, failure, options, expected] of rows) {
    assert.equal(staleOnError(s, age, failure, options), expected, JSON.stringify([s, age, failure, options]));
  }
});
