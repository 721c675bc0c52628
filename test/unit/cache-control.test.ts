// Unit tests of cache/cache-control: response and request Cache-Control parsing (RFC 9111 §5.2), tolerance rules,
// invalid max-age/s-maxage meaning stale (§4.2.1), and Pragma only without Cache-Control (§5.4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DELTA_SECONDS_MAX,
  EMPTY_REQUEST_DIRECTIVES,
  EMPTY_RESPONSE_DIRECTIVES,
  parseRequestCacheControl,
  parseResponseCacheControl,
  requestDirectivesFromHeaders,
  targetedCacheControl,
} from '../../src/cache/cache-control.js';

test('response: the common directives', () => {
  const d = parseResponseCacheControl('public, max-age=3600, s-maxage=60, must-revalidate, proxy-revalidate, immutable');
  assert.equal(d.public, true);
  assert.equal(d.maxAge, 3600);
  assert.equal(d.sMaxAge, 60);
  assert.equal(d.mustRevalidate, true);
  assert.equal(d.proxyRevalidate, true);
  assert.equal(d.immutable, true);
  assert.equal(d.noStore, false);
  assert.equal(d.noCache, false);
  assert.equal(d.private, false);
  assert.equal(d.invalid, false);
  assert.equal(d.staleWhileRevalidate, null);
  assert.equal(d.staleIfError, null);
});

test('response: absent or blank header gives the empty directives', () => {
  assert.deepEqual(parseResponseCacheControl(undefined), EMPTY_RESPONSE_DIRECTIVES);
  assert.deepEqual(parseResponseCacheControl('  '), EMPTY_RESPONSE_DIRECTIVES);
  assert.deepEqual(parseResponseCacheControl([]), EMPTY_RESPONSE_DIRECTIVES);
});

test('response: directive names are case-insensitive', () => {
  const d = parseResponseCacheControl('Max-Age=10, NO-STORE, Private');
  assert.equal(d.maxAge, 10);
  assert.equal(d.noStore, true);
  assert.equal(d.private, true);
});

test('response: quoted values are accepted and unquoted', () => {
  assert.equal(parseResponseCacheControl('max-age="30"').maxAge, 30);
  assert.equal(parseResponseCacheControl('s-maxage = "40"').sMaxAge, 40);
});

test('response: repeated header lines are joined', () => {
  const d = parseResponseCacheControl(['max-age=10', 'must-revalidate', 'stale-if-error=5']);
  assert.equal(d.maxAge, 10);
  assert.equal(d.mustRevalidate, true);
  assert.equal(d.staleIfError, 5);
});

test('response: the first occurrence of a repeated directive wins (§4.2.1)', () => {
  assert.equal(parseResponseCacheControl('max-age=10, max-age=20').maxAge, 10);
  assert.equal(parseResponseCacheControl(['s-maxage=7', 's-maxage=70']).sMaxAge, 7);
  assert.equal(parseResponseCacheControl('max-age=10, max-age=oops').invalid, false);
});

test('response: an invalid max-age or s-maxage makes the response stale (§4.2.1)', () => {
  for (const value of ['max-age=abc', 'max-age=-5', 'max-age', 'max-age=1.5', 'max-age=', 'max-age=""', 'max-age=0x10']) {
    const d = parseResponseCacheControl(value);
    assert.equal(d.invalid, true, value);
    assert.equal(d.maxAge, 0, value);
  }
  const s = parseResponseCacheControl('s-maxage=soon, max-age=60');
  assert.equal(s.invalid, true);
  assert.equal(s.sMaxAge, 0);
  assert.equal(s.maxAge, 60);
});

test('response: other invalid numbers make only that directive absent', () => {
  const d = parseResponseCacheControl('stale-while-revalidate=x, stale-if-error=-1, max-age=5');
  assert.equal(d.staleWhileRevalidate, null);
  assert.equal(d.staleIfError, null);
  assert.equal(d.invalid, false);
  assert.equal(d.maxAge, 5);
  const ok = parseResponseCacheControl('stale-while-revalidate=30, stale-if-error=600');
  assert.equal(ok.staleWhileRevalidate, 30);
  assert.equal(ok.staleIfError, 600);
});

test('response: delta-seconds above 2^31 are clamped (§1.2.2)', () => {
  assert.equal(parseResponseCacheControl('max-age=99999999999999999999').maxAge, DELTA_SECONDS_MAX);
  assert.equal(parseResponseCacheControl('max-age=2147483647').maxAge, 2147483647);
});

test('response: unknown directives are ignored, including quoted values with commas and escapes', () => {
  const d = parseResponseCacheControl('foo=bar, x="a, max-age=1", no-transform, y="q\\"uote, no-store", max-age=5, community="UCI"');
  assert.equal(d.maxAge, 5);
  assert.equal(d.noStore, false);
  assert.equal(d.invalid, false);
});

test('response: no-cache, qualified and unqualified (§5.2.2.4)', () => {
  const plain = parseResponseCacheControl('no-cache');
  assert.equal(plain.noCache, true);
  assert.deepEqual(plain.noCacheFields, []);
  const fields = parseResponseCacheControl('no-cache="Set-Cookie, X-Foo"');
  assert.equal(fields.noCache, false);
  assert.deepEqual(fields.noCacheFields, ['set-cookie', 'x-foo']);
  assert.equal(parseResponseCacheControl('no-cache=""').noCache, true);
  const both = parseResponseCacheControl('no-cache="a", no-cache="b, a"');
  assert.deepEqual(both.noCacheFields, ['a', 'b']);
});

test('response: private, qualified and unqualified (§5.2.2.7)', () => {
  assert.equal(parseResponseCacheControl('private').private, true);
  const q = parseResponseCacheControl('private="Set-Cookie"');
  assert.equal(q.private, false);
  assert.deepEqual(q.privateFields, ['set-cookie']);
  assert.equal(parseResponseCacheControl('private=""').private, true);
});

test('request: the directives (§5.2.1)', () => {
  const d = parseRequestCacheControl('no-cache, no-store, max-age=0, min-fresh=5, only-if-cached, max-stale=10', undefined);
  assert.deepEqual(d, { noCache: true, noStore: true, maxAge: 0, maxStale: 10, minFresh: 5, onlyIfCached: true });
  assert.deepEqual(parseRequestCacheControl(undefined, undefined), EMPTY_REQUEST_DIRECTIVES);
});

test('request: max-stale without a value accepts any staleness; an invalid one is absent', () => {
  assert.equal(parseRequestCacheControl('max-stale', undefined).maxStale, Infinity);
  assert.equal(parseRequestCacheControl('MAX-STALE=abc', undefined).maxStale, null);
  assert.equal(parseRequestCacheControl('max-age=abc, min-fresh=-1', undefined).maxAge, null);
  assert.equal(parseRequestCacheControl('min-fresh=-1', undefined).minFresh, null);
});

test('request: Pragma no-cache counts only without Cache-Control (§5.4)', () => {
  assert.equal(parseRequestCacheControl(undefined, 'no-cache').noCache, true);
  assert.equal(parseRequestCacheControl(undefined, ['foo', 'No-Cache']).noCache, true);
  assert.equal(parseRequestCacheControl(undefined, 'foo').noCache, false);
  assert.equal(parseRequestCacheControl('max-age=5', 'no-cache').noCache, false);
  assert.equal(parseRequestCacheControl('', 'no-cache').noCache, true);
});

test('request: directives from a flat header list', () => {
  assert.equal(requestDirectivesFromHeaders(['host', 'a', 'pragma', 'no-cache']).noCache, true);
  assert.equal(requestDirectivesFromHeaders(['cache-control', 'max-age=5', 'pragma', 'no-cache']).noCache, false);
  const joined = requestDirectivesFromHeaders(['cache-control', 'max-age=5', 'x', 'y', 'cache-control', 'only-if-cached']);
  assert.equal(joined.maxAge, 5);
  assert.equal(joined.onlyIfCached, true);
  assert.deepEqual(requestDirectivesFromHeaders([]), EMPTY_REQUEST_DIRECTIVES);
});

test('targeted fields (RFC 9213): a valid RFC 8941 Dictionary reads as Cache-Control text, anything else as absent', () => {
  // Each row: field value(s), expected Cache-Control text or null (ignored: the next field or Cache-Control decides).
  const rows: Array<[string | string[] | undefined, string | null]> = [
    [undefined, null],
    ['', null],
    ['   ', null],
    ['max-age=600', 'max-age=600'],
    ['max-age=600, must-revalidate', 'max-age=600, must-revalidate'],
    ['max-age=600,must-revalidate', 'max-age=600, must-revalidate'],
    [['max-age=600', 'stale-if-error=60'], 'max-age=600, stale-if-error=60'],
    ['no-store', 'no-store'],
    ['no-store=?1', 'no-store'],
    ['no-store=?0, max-age=5', 'max-age=5'],
    ['no-store=?0', null],
    ['private="set-cookie"', 'private="set-cookie"'],
    ['max-age=600;a=1;b, public', 'max-age=600, public'],
    ['max-age=-1', 'max-age=-1'],
    ['max-age=1.5', 'max-age=1.5'],
    ['x=:aGVsbG8=:, max-age=1', 'x=:aGVsbG8=:, max-age=1'],
    ['*ext=tok/en:x', '*ext=tok/en:x'],
    // Invalid Dictionaries: the whole field is ignored.
    ['Max-Age=600', null],
    ['max-age=600,', null],
    [',max-age=600', null],
    ['max-age=600,,public', null],
    ['max-age==600', null],
    ['max-age=600 public', null],
    ['max-age="600', null],
    ['max-age="a\\qb"', null],
    ['max-age="\u0001"', null],
    ['max-age=1234567890123456', null],
    ['max-age=600;', null],
    ['max-age=600;A=1', null],
    ['1max-age=600', null],
    ['max-age=?2', null],
    ['max-age=600\u0000', null],
  ];
  for (const [value, expected] of rows) assert.equal(targetedCacheControl(value), expected, JSON.stringify(value));
});
