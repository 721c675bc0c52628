/**
 * policy/signed-url.ts, policy/cors.ts and config/edge-policy.ts on their own: table-driven, with hostile inputs
 * (duplicated parameters, non-canonical and padded tokens, exponent expiries, case and escape tricks on origins).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { SignedUrlPolicy, signedMessage } from '../../src/policy/signed-url.js';
import { CorsPolicy } from '../../src/policy/cors.js';
import { parseMethodList, parseOriginList, parseQueryParam } from '../../src/config/edge-policy.js';

const NOW = 1_800_000_000;
const KEYS = ['k-new', 'k-old'];
const policy = new SignedUrlPolicy({ keys: KEYS, paths: ['/private/*', '*.m3u8'], param: 'token', expiresParam: 'expires', bindClientIp: false });
const bound = new SignedUrlPolicy({ keys: KEYS, paths: ['/*'], param: 'sig', expiresParam: 'exp', bindClientIp: true });

const tok = (key: string, message: string): string => createHmac('sha256', key).update(message).digest('base64url');

describe('signed URLs', () => {
  test('covers: Path globs on the rule form of the normalised path, case-insensitively', () => {
    const table: Array<[string, boolean]> = [
      ['/private/a', true],
      ['/PRIVATE/a', true],
      ['/private%2Fa', true],
      ['/private', false],
      ['/public/a', false],
      ['/v/index.m3u8', true],
    ];
    for (const [path, expected] of table) assert.equal(policy.covers(path), expected, path);
  });

  test('check: valid, rotated, expired, tampered and malformed queries', () => {
    const exp = String(NOW + 60);
    const good = tok('k-new', `${exp}:/private/a`);
    const old = tok('k-old', `${exp}:/private/a`);
    const last = good.at(-1) as string;
    // A different last character that decodes to the same 32 bytes (its 2 low bits are padding).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[(alphabet.indexOf(last) ^ 1)] as string;
    const table: Array<[string, string, string | null]> = [
      ['valid', `expires=${exp}&token=${good}`, null],
      ['rotated key', `token=${old}&expires=${exp}`, null],
      ['expires this very second', `expires=${NOW}&token=${tok('k-new', `${NOW}:/private/a`)}`, null],
      ['expired', `expires=${NOW - 1}&token=${tok('k-new', `${NOW - 1}:/private/a`)}`, 'expired'],
      ['no token', `expires=${exp}`, 'missing'],
      ['no expires', `token=${good}`, 'missing'],
      ['empty query', '', 'missing'],
      ['token twice', `expires=${exp}&token=${good}&token=${good}`, 'malformed'],
      ['expires twice', `expires=${exp}&expires=${exp}&token=${good}`, 'malformed'],
      ['exponent expiry', `expires=1e12&token=${good}`, 'malformed'],
      ['negative expiry', `expires=-1&token=${good}`, 'malformed'],
      ['padded token', `expires=${exp}&token=${good}=`, 'malformed'],
      ['standard base64 token', `expires=${exp}&token=${good.replace(/-/g, '+').replace(/_/g, '/')}`, good.includes('-') || good.includes('_') ? 'malformed' : null],
      ['short token', `expires=${exp}&token=${good.slice(0, 42)}`, 'malformed'],
      ['non-canonical last character', `expires=${exp}&token=${good.slice(0, 42)}${twin}`, 'malformed'],
      ['token of another path', `expires=${exp}&token=${tok('k-new', `${exp}:/private/b`)}`, 'bad-signature'],
      ['unknown key', `expires=${exp}&token=${tok('k-other', `${exp}:/private/a`)}`, 'bad-signature'],
      ['encoded parameter name is not the parameter', `expires=${exp}&%74oken=${good}`, 'missing'],
    ];
    for (const [label, query, refusal] of table) assert.equal(policy.check('/private/a', query, '127.0.0.1', NOW).refusal, refusal, label);
  });

  test('check: both parameters are cut, every other pair kept in order', () => {
    const exp = String(NOW + 60);
    const t = tok('k-new', `${exp}:/private/a`);
    assert.equal(policy.check('/private/a', `a=1&expires=${exp}&b=2&token=${t}&c`, '', NOW).query, 'a=1&b=2&c');
    assert.equal(policy.check('/private/a', `expires=${exp}&token=${t}`, '', NOW).query, '');
  });

  test('BindClientIp: the message is <expires>:<ip>:<path>; another address fails', () => {
    const exp = String(NOW + 60);
    assert.equal(signedMessage(exp, '/a', '::1'), `${exp}:::1:/a`);
    const t = tok('k-old', `${exp}:2001:db8::1:/a`);
    assert.equal(bound.check('/a', `exp=${exp}&sig=${t}`, '2001:db8::1', NOW).refusal, null);
    assert.equal(bound.check('/a', `exp=${exp}&sig=${t}`, '2001:db8::2', NOW).refusal, 'bad-signature');
    // The IP-before-path order keeps IPv6 colons from shifting into the path.
    const shifted = tok('k-old', `${exp}:2001:db8::1:/a`);
    assert.equal(bound.check('/1:/a', `exp=${exp}&sig=${shifted}`, '2001:db8:', NOW).refusal, 'bad-signature');
  });

  test('sign: the first key, expiry then token appended to the query, and it verifies', () => {
    const url = policy.sign('/private/a', 'v=1', NOW + 10, null);
    assert.equal(url, `/private/a?v=1&expires=${NOW + 10}&token=${tok('k-new', `${NOW + 10}:/private/a`)}`);
    assert.equal(policy.check('/private/a', url.slice(url.indexOf('?') + 1), '', NOW).refusal, null);
  });
});

describe('CORS', () => {
  const cors = new CorsPolicy({ allowOrigins: ['https://app.example.com', 'http://localhost:3000'], maxAgeSec: 600, allowMethods: ['GET', 'HEAD'] });
  const any = new CorsPolicy({ allowOrigins: [], maxAgeSec: 0, allowMethods: ['GET'] });

  test('allowOrigin: exact listed origins only (case-insensitive), never a prefix or suffix', () => {
    const table: Array<[string | undefined, string | null]> = [
      ['https://app.example.com', 'https://app.example.com'],
      ['HTTPS://APP.EXAMPLE.COM', 'https://app.example.com'],
      ['http://app.example.com', null],
      ['https://app.example.com.evil.test', null],
      ['https://evil.app.example.com', null],
      ['https://app.example.com/', null],
      ['null', null],
      ['', null],
      [undefined, null],
      ['http://localhost:3000', 'http://localhost:3000'],
      ['http://localhost:30000', null],
    ];
    for (const [origin, expected] of table) assert.equal(cors.allowOrigin(origin), expected, String(origin));
    assert.equal(any.allowOrigin('https://whatever.test'), '*');
  });

  test('preflight verdicts', () => {
    const table: Array<[string | undefined, string | undefined, string | undefined, string]> = [
      ['https://app.example.com', 'GET', undefined, 'allowed'],
      ['https://app.example.com', 'GET', 'x-a, X-B', 'allowed'],
      ['https://app.example.com', 'DELETE', undefined, 'refused'],
      ['https://app.example.com', 'get', undefined, 'refused'],
      ['https://evil.test', 'GET', undefined, 'refused'],
      ['https://app.example.com', 'GET', 'x-a\r\nset-cookie: a', 'refused'],
      ['https://app.example.com', 'GET', 'x a', 'refused'],
      ['https://app.example.com', 'GET', 'a,'.repeat(600), 'refused'],
      [undefined, 'GET', undefined, 'not-preflight'],
      ['https://app.example.com', undefined, undefined, 'not-preflight'],
    ];
    for (const [origin, method, headers, expected] of table) assert.equal(cors.preflight(origin, method, headers), expected, `${origin} ${method} ${headers}`);
  });

  test('preflight headers echo the checked request headers and never store', () => {
    const h = cors.preflightHeaders('https://app.example.com', 'x-a');
    const get = (name: string): string | undefined => h[h.indexOf(name) + 1];
    assert.equal(get('access-control-allow-methods'), 'GET, HEAD');
    assert.equal(get('access-control-allow-headers'), 'x-a');
    assert.equal(get('access-control-max-age'), '600');
    assert.equal(get('cache-control'), 'no-store');
  });
});

describe('edge policy config values', () => {
  test('query parameter names', () => {
    for (const good of ['token', 'exp', 'a-b.c_d~']) assert.ok(parseQueryParam(good).ok, good);
    for (const bad of ['', 'a&b', 'a=b', 'a b', 'ü', 'x'.repeat(65), '%74']) assert.ok(!parseQueryParam(bad).ok, bad);
  });

  test('origin lists', () => {
    assert.deepEqual(parseOriginList('*'), { ok: true, value: [] });
    assert.deepEqual(parseOriginList(' https://A.example  http://b.example:8080 https://A.example '), { ok: true, value: ['https://a.example', 'http://b.example:8080'] });
    for (const bad of ['https://a.example/', 'https://a.example/x', 'ftp://a.example', 'a.example', '* https://a.example', 'https://a.example?x', 'https://user@a.example', 'https://-a.example']) {
      assert.ok(!parseOriginList(bad).ok, bad);
    }
  });

  test('method lists', () => {
    assert.deepEqual(parseMethodList(['get', 'HEAD', 'GET']), { ok: true, value: ['GET', 'HEAD'] });
    for (const bad of [['G T'], ['GET;'], []]) assert.ok(!parseMethodList(bad).ok, bad.join());
  });
});
