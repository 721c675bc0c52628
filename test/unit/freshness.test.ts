// Unit tests of cache/freshness: HTTP-date formats (RFC 9110 §5.6.7), Age (RFC 9111 §5.1), current age (§4.2.3),
// explicit lifetime precedence (§4.2.1, §5.3) and heuristic freshness (§4.2.2, RFC 9110 §15.1).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DELTA_SECONDS_MAX, parseResponseCacheControl } from '../../src/cache/cache-control.js';
import {
  HEURISTIC_STATUSES,
  ageHeaderSeconds,
  apparentAge,
  currentAge,
  explicitLifetime,
  heuristicLifetime,
  parseAgeHeader,
  parseDateHeader,
  parseHttpDate,
  remainingTtl,
} from '../../src/cache/freshness.js';

const SUN_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);
const NOW = Date.UTC(2025, 0, 1, 0, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();
const POLICY = { heuristicPercent: 10, heuristicMaxSec: 86400 };

test('parseHttpDate: the three formats', () => {
  assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), SUN_1994);
  assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), SUN_1994);
  assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), SUN_1994);
  assert.equal(parseHttpDate('Sun Nov 16 08:49:37 1994'), Date.UTC(1994, 10, 16, 8, 49, 37));
  assert.equal(parseHttpDate('  sun, 06 nov 1994 08:49:37 gmt '), SUN_1994);
});

test('parseHttpDate: rejects what Date.parse would accept and impossible dates', () => {
  for (const text of [
    '',
    '0',
    '784111777',
    '2020-01-01',
    '2020-01-01T00:00:00Z',
    'Sun, 06 Nov 1994 08:49:37 PST',
    'Sun, 06 Nov 1994 08:49:37',
    'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'Sun, 06 Foo 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT',
    'Nov 6 1994',
  ]) {
    assert.equal(parseHttpDate(text), null, text);
  }
});

test('parseHttpDate: the same answers whatever came before (it keeps the last two dates it read)', () => {
  const cases: Array<[string, number | null]> = [
    ['', null],
    ['Sun, 06 Nov 1994 08:49:37 GMT', SUN_1994],
    ['Sun, 06 Nov 1994 08:49:38 GMT', SUN_1994 + 1000],
    ['Sun, 06 Nov 1994 08:49:37 GMT ', SUN_1994],
    ['sun, 06 nov 1994 08:49:37 gmt', SUN_1994],
    ['Sun, 06 Nov 1994 08:49:37 GMT\u0000', null],
    ['Sun, 31 Nov 1994 08:49:37 GMT', null],
    ['Sun, 06 Nov 1994 08:49:37 GMX', null],
    ['Sunday, 06-Nov-94 08:49:37 GMT', SUN_1994],
    ['Sun Nov  6 08:49:37 1994', SUN_1994],
    ['2020', null],
  ];
  // '' first, while nothing was read yet; then every ordered pair and triple, so each case follows every other.
  assert.equal(parseHttpDate(''), null);
  for (const [a, expectedA] of cases) {
    for (const [b, expectedB] of cases) {
      for (const [c, expectedC] of cases) {
        assert.equal(parseHttpDate(a), expectedA, JSON.stringify(a));
        assert.equal(parseHttpDate(b), expectedB, JSON.stringify(b));
        assert.equal(parseHttpDate(c), expectedC, JSON.stringify(c));
      }
    }
  }
  // An rfc850 two-digit year is read against nowMs every time, never from what an earlier call decided.
  assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2090, 0, 1)), Date.UTC(2094, 10, 6, 8, 49, 37));
  assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2026, 0, 1)), SUN_1994);
});

test('parseHttpDate: a leap second stays in its day', () => {
  assert.equal(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT'), Date.UTC(2016, 11, 31, 23, 59, 59));
});

test('parseHttpDate: rfc850 two-digit years use the 50-year rule against now', () => {
  const year = (text: string, now?: number): number => new Date(parseHttpDate(text, now) as number).getUTCFullYear();
  assert.equal(year('Thursday, 01-Jan-30 00:00:00 GMT', NOW), 2030);
  assert.equal(year('Thursday, 01-Jan-74 00:00:00 GMT', NOW), 2074);
  assert.equal(year('Thursday, 01-Jan-80 00:00:00 GMT', NOW), 1980);
  assert.equal(year('Thursday, 01-Jan-01 00:00:00 GMT', Date.UTC(2099, 0, 1)), 2101);
  assert.equal(year('Thursday, 01-Jan-69 00:00:00 GMT'), 2069);
  assert.equal(year('Thursday, 01-Jan-70 00:00:00 GMT'), 1970);
});

test('parseAgeHeader: first member, invalid ignored, clamped (§5.1)', () => {
  assert.equal(parseAgeHeader('60'), 60);
  assert.equal(parseAgeHeader(' 60 , 70'), 60);
  assert.equal(parseAgeHeader(['5', '6']), 5);
  assert.equal(parseAgeHeader('abc'), 0);
  assert.equal(parseAgeHeader('-1'), 0);
  assert.equal(parseAgeHeader('1.5'), 0);
  assert.equal(parseAgeHeader(undefined), 0);
  assert.equal(parseAgeHeader('99999999999999'), DELTA_SECONDS_MAX);
});

test('parseDateHeader', () => {
  assert.equal(parseDateHeader({ date: httpDate(NOW) }), NOW);
  assert.equal(parseDateHeader({ date: ['nonsense', httpDate(NOW)] }), null);
  assert.equal(parseDateHeader({}), null);
});

test('apparentAge: response_time - date, clamped at 0', () => {
  assert.equal(apparentAge({ responseTime: NOW, dateMs: NOW - 10_000 }), 10);
  assert.equal(apparentAge({ responseTime: NOW, dateMs: NOW + 10_000 }), 0);
  assert.equal(apparentAge({ responseTime: NOW, dateMs: null }), 0);
});

test('currentAge: RFC 9111 §4.2.3', () => {
  const base = { requestTime: NOW - 2000, responseTime: NOW, dateMs: NOW - 10_000, ageHeaderSec: 5 };
  // apparent 10 > corrected age value 5 + 2 = 7, plus 20 s resident.
  assert.equal(currentAge(base, NOW + 20_000), 30);
  // The Age header (plus the response delay) dominates when larger.
  assert.equal(currentAge({ ...base, ageHeaderSec: 100 }, NOW + 20_000), 122);
  // A Date in the future (origin clock ahead) does not make the age negative.
  assert.equal(currentAge({ ...base, dateMs: NOW + 60_000, ageHeaderSec: 0 }, NOW), 2);
  // A clock step backwards never reduces the age below the initial age.
  assert.equal(currentAge({ ...base, ageHeaderSec: 0 }, NOW - 5000), 10);
  assert.equal(currentAge({ requestTime: NOW, responseTime: NOW, dateMs: null, ageHeaderSec: 0 }, NOW - 1), 0);
});

test('explicitLifetime: s-maxage over max-age over Expires (§4.2.1)', () => {
  const headers = { date: httpDate(NOW), expires: httpDate(NOW + 300_000) };
  assert.equal(explicitLifetime(parseResponseCacheControl('max-age=60, s-maxage=30'), headers, NOW), 30);
  assert.equal(explicitLifetime(parseResponseCacheControl('max-age=60'), headers, NOW), 60);
  assert.equal(explicitLifetime(parseResponseCacheControl('public'), headers, NOW), 300);
  assert.equal(explicitLifetime(parseResponseCacheControl(undefined), {}, NOW), null);
  assert.equal(explicitLifetime(parseResponseCacheControl('max-age=0'), headers, NOW), 0);
});

test('explicitLifetime: invalid freshness information is stale', () => {
  const future = { date: httpDate(NOW), expires: httpDate(NOW + 300_000) };
  assert.equal(explicitLifetime(parseResponseCacheControl('max-age=soon'), future, NOW), 0);
  // An invalid max-age makes the response stale even beside a valid s-maxage.
  assert.equal(explicitLifetime(parseResponseCacheControl('s-maxage=60, max-age=soon'), future, NOW), 0);
  assert.equal(explicitLifetime(parseResponseCacheControl(undefined), { expires: '0' }, NOW), 0);
  assert.equal(explicitLifetime(parseResponseCacheControl(undefined), { expires: 'tomorrow' }, NOW), 0);
  assert.equal(explicitLifetime(parseResponseCacheControl(undefined), { date: httpDate(NOW), expires: httpDate(NOW - 60_000) }, NOW), 0);
});

test('explicitLifetime: Expires uses the first line, and response time when Date is missing', () => {
  const cc = parseResponseCacheControl(undefined);
  assert.equal(explicitLifetime(cc, { expires: [httpDate(NOW + 120_000), httpDate(NOW + 999_000)], date: httpDate(NOW) }, NOW), 120);
  assert.equal(explicitLifetime(cc, { expires: httpDate(NOW + 120_000) }, NOW + 20_000), 100);
  assert.equal(explicitLifetime(cc, { expires: httpDate(NOW + 120_000), date: 'garbage' }, NOW), 120);
  assert.equal(explicitLifetime(cc, { expires: httpDate(NOW + 120_000) }), 0);
  // A valid Date is used over the response time.
  assert.equal(explicitLifetime(cc, { expires: httpDate(NOW + 120_000), date: httpDate(NOW - 60_000) }, NOW), 180);
});

test('heuristicLifetime: percent of Date - Last-Modified, capped (§4.2.2)', () => {
  const headers = (sinceSec: number): Record<string, string> => ({ date: httpDate(NOW), 'last-modified': httpDate(NOW - sinceSec * 1000) });
  assert.equal(heuristicLifetime(headers(1000), 200, POLICY, NOW), 100);
  assert.equal(heuristicLifetime(headers(1005), 200, POLICY, NOW), 100);
  assert.equal(heuristicLifetime(headers(10 * 86400), 200, POLICY, NOW), 86400);
  assert.equal(heuristicLifetime(headers(10 * 86400), 200, { heuristicPercent: 10, heuristicMaxSec: 3600 }, NOW), 3600);
  assert.equal(heuristicLifetime(headers(1000), 200, { heuristicPercent: 50, heuristicMaxSec: 86400 }, NOW), 500);
  // Last-Modified after Date: applicable but zero.
  assert.equal(heuristicLifetime(headers(-100), 200, POLICY, NOW), 0);
  // Without Date, the response time stands in.
  assert.equal(heuristicLifetime({ 'last-modified': httpDate(NOW - 1_000_000) }, 200, POLICY, NOW), 100);
  assert.equal(heuristicLifetime({ 'last-modified': httpDate(NOW - 1_000_000) }, 200, POLICY), null);
});

test('heuristicLifetime: only heuristically cacheable statuses, only with Last-Modified, only when enabled', () => {
  const headers = { date: httpDate(NOW), 'last-modified': httpDate(NOW - 1_000_000) };
  for (const status of [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]) {
    assert.equal(HEURISTIC_STATUSES.has(status), true, String(status));
    assert.equal(heuristicLifetime(headers, status, POLICY, NOW), 100, String(status));
  }
  for (const status of [201, 302, 303, 307, 400, 403, 500, 502, 503]) {
    assert.equal(heuristicLifetime(headers, status, POLICY, NOW), null, String(status));
  }
  assert.equal(heuristicLifetime({ date: httpDate(NOW) }, 200, POLICY, NOW), null);
  assert.equal(heuristicLifetime({ ...headers, 'last-modified': 'yesterday' }, 200, POLICY, NOW), null);
  assert.equal(heuristicLifetime(headers, 200, { heuristicPercent: 0, heuristicMaxSec: 86400 }, NOW), null);
});

test('Age and Cache-Status ttl: whole seconds that add up to the freshness lifetime', () => {
  // Each row: lifetime, current age (fractional), expected Age, expected ttl.
  const rows: Array<[number, number, number, number]> = [
    [600, 0, 0, 600],
    [600, 0.4, 0, 600],
    [600, 0.6, 0, 600],
    [600, 1.999, 1, 599],
    [600, 599.9, 599, 1],
    [600, -3, 0, 600],
    [63.4, 60.7, 60, 3],
    [63.6, 60.2, 60, 4],
  ];
  for (const [lifetime, age, expectedAge, expectedTtl] of rows) {
    assert.equal(ageHeaderSeconds(age), expectedAge, `age ${age}`);
    assert.equal(remainingTtl(lifetime, age), expectedTtl, `lifetime ${lifetime}, age ${age}`);
    assert.equal(ageHeaderSeconds(age) + remainingTtl(lifetime, age), Math.round(lifetime));
  }
});
