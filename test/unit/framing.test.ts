// Unit tests of http/framing (request framing and Host checks, RFC 9112 §3.2 and §6), the Host normal form of
// policy/vhost, the origin request head of pipeline/headers (the origin's Host is the vhost's) and the client
// bodies of pipeline/fail (general terms only). Table-driven, hostile inputs first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Vhost } from '../../src/config/types.js';
import { FlintError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import { checkFraming, declaredLength, isValidHost } from '../../src/http/framing.js';
import type { RequestHead } from '../../src/http/request.js';
import { errorResponse } from '../../src/pipeline/fail.js';
import { clientResponseHead, originRequestHeaders } from '../../src/pipeline/headers.js';
import { VhostRouter, normaliseHost } from '../../src/policy/vhost.js';

/** The status checkFraming gives a request with `headers` (flat list, lower-case names), or 0 when accepted. */
function verdict(headers: string[], path = '/', badValue = false): number {
  return checkFraming(headers, path, badValue)?.status ?? 0;
}

const H = ['host', 'site.test'];

test('framing: every hostile input gets its status, a clean request passes', () => {
  const cases: Array<[string, string[], number]> = [
    ['GET, no body fields', [...H, 'accept', '*/*'], 0],
    ['Content-Length 5', [...H, 'content-length', '5'], 0],
    ['Content-Length 0', [...H, 'content-length', '0'], 0],
    ['identical Content-Lengths', [...H, 'content-length', '5', 'content-length', '5'], 0],
    ['Content-Length -1', [...H, 'content-length', '-1'], 400],
    ['Content-Length +5', [...H, 'content-length', '+5'], 400],
    ['Content-Length 5abc', [...H, 'content-length', '5abc'], 400],
    ['Content-Length 5.0', [...H, 'content-length', '5.0'], 400],
    ['Content-Length " 5"', [...H, 'content-length', ' 5'], 400],
    ['Content-Length 0x5', [...H, 'content-length', '0x5'], 400],
    ['Content-Length empty', [...H, 'content-length', ''], 400],
    ['Content-Length list', [...H, 'content-length', '5, 5'], 400],
    ['Content-Length 16 digits', [...H, 'content-length', '1234567890123456'], 400],
    ['two differing Content-Lengths', [...H, 'content-length', '5', 'content-length', '6'], 400],
    ['Content-Length + Transfer-Encoding', [...H, 'content-length', '5', 'transfer-encoding', 'chunked'], 400],
    ['Transfer-Encoding chunked', [...H, 'transfer-encoding', 'chunked'], 411],
    ['Transfer-Encoding Chunked', [...H, 'transfer-encoding', 'Chunked'], 411],
    ['Transfer-Encoding xchunked', [...H, 'transfer-encoding', 'xchunked'], 400],
    ['Transfer-Encoding identity', [...H, 'transfer-encoding', 'identity'], 400],
    ['Transfer-Encoding empty', [...H, 'transfer-encoding', ''], 400],
    ['Transfer-Encoding chunked, gzip', [...H, 'transfer-encoding', 'chunked, gzip'], 400],
    ['Transfer-Encoding chunked, chunked', [...H, 'transfer-encoding', 'chunked, chunked'], 400],
    ['two Transfer-Encoding chunked fields', [...H, 'transfer-encoding', 'chunked', 'transfer-encoding', 'chunked'], 400],
    ['Transfer-Encoding gzip, chunked', [...H, 'transfer-encoding', 'gzip, chunked'], 501],
    ['Transfer-Encoding gzip + chunked fields', [...H, 'transfer-encoding', 'gzip', 'transfer-encoding', 'chunked'], 501],
    ['no Host', ['accept', '*/*'], 400],
    ['two Hosts', [...H, 'host', 'evil.test'], 400],
    ['two identical Hosts', [...H, ...H], 400],
    ['Host with a path', ['host', 'site.test/evil?x'], 400],
    ['Host empty', ['host', ''], 400],
    ['Host with userinfo', ['host', 'evil@site.test'], 400],
    ['Host with a space', ['host', 'site .test'], 400],
    ['Host with a percent-escape', ['host', 'site%2etest'], 400],
    ['Host port not digits', ['host', 'site.test:80a'], 400],
    ['Host empty port', ['host', 'site.test:'], 400],
    ['Host port too large', ['host', 'site.test:65536'], 400],
    ['Host two ports', ['host', 'site.test:80:81'], 400],
    ['Host leading dot', ['host', '.site.test'], 400],
    ['Host double dot', ['host', 'site..test'], 400],
    ['Host two trailing dots', ['host', 'site.test..'], 400],
    ['Host bad IPv6 literal', ['host', '[fe80::1%eth0]'], 400],
    ['Host unclosed IPv6 literal', ['host', '[::1'], 400],
    ['Host junk after IPv6 literal', ['host', '[::1]x'], 400],
    ['Host with port', ['host', 'site.test:1337'], 0],
    ['Host upper case', ['host', 'SITE.TEST'], 0],
    ['Host trailing dot', ['host', 'site.test.'], 0],
    ['Host IPv4 and port', ['host', '127.0.0.1:8080'], 0],
    ['Host IPv6 and port', ['host', '[::1]:8080'], 0],
    ['Host subdomain', ['host', 'evil.site.test'], 0],
  ];
  for (const [name, headers, status] of cases) assert.equal(verdict(headers), status, name);
});

test('framing: a control character in a value, or a target that is not origin-form, is refused', () => {
  assert.equal(verdict(H, '/', true), 400);
  assert.equal(verdict(H, 'http://evil.test/x'), 400);
  assert.equal(verdict(H, '*'), 400);
  assert.equal(verdict(H, ''), 400);
  assert.equal(verdict(H, '/a?b'), 0);
});

test('framing: rejection texts say what is wrong in general terms, never echo the input', () => {
  const refused = checkFraming(['host', 'evil@<script>'], '/', false);
  assert.ok(refused !== null);
  assert.doesNotMatch(refused.detail, /evil|script/);
});

test('host syntax alone: labels, length, IP literals', () => {
  assert.equal(isValidHost('a'), true);
  assert.equal(isValidHost('under_score.test'), true);
  assert.equal(isValidHost(`${'a'.repeat(63)}.test`), true);
  assert.equal(isValidHost(`${'a'.repeat(64)}.test`), false);
  assert.equal(isValidHost('a'.repeat(300)), false);
  assert.equal(isValidHost('[2001:db8::1]'), true);
  assert.equal(isValidHost('[::ffff:127.0.0.1]:80'), true);
  assert.equal(isValidHost('[]'), false);
  assert.equal(isValidHost(':80'), false);
  assert.equal(isValidHost('é.test'), false);
});

test('declaredLength reads the Content-Length of an accepted head', () => {
  assert.equal(declaredLength([...H]), -1);
  assert.equal(declaredLength([...H, 'content-length', '0']), 0);
  assert.equal(declaredLength([...H, 'content-length', '123456789012345']), 123456789012345);
});

test('Host normal form: case, port and one trailing dot', () => {
  const cases: Array<[string, string]> = [
    ['site.test', 'site.test'],
    ['SITE.TEST', 'site.test'],
    ['site.test.', 'site.test'],
    ['Site.Test.:8080', 'site.test'],
    ['site.test:1337', 'site.test'],
    ['[::1]:8080', '[::1]'],
    ['evil.site.test', 'evil.site.test'],
  ];
  for (const [raw, normal] of cases) assert.equal(normaliseHost(raw), normal, raw);
});

const SERVER = '<Server><Cache><Storage><Disk>/tmp/flint-unit-cache</Disk></Storage></Cache></Server>';

function vhosts(xml: string): Vhost[] {
  return [...loadConfigFromText('/srv/flint/conf', SERVER, `<Vhosts>${xml}</Vhosts>`, { cpuCount: 1 }).vhosts];
}

test('routing: the normal forms reach the vhost, look-alikes do not', () => {
  const all = vhosts(
    '<Vhost Name="site.test"><Alias>*.img.site.test</Alias><Origin><Address>10.0.0.1</Address></Origin></Vhost>' +
      '<Vhost Name="other.test"><Origin><Address>10.0.0.2</Address></Origin></Vhost>',
  );
  const router = new VhostRouter(all, null);
  const cases: Array<[string, string | null]> = [
    ['site.test', 'site.test'],
    ['SITE.TEST', 'site.test'],
    ['site.test.', 'site.test'],
    ['site.test:1337', 'site.test'],
    ['a.img.site.test.', 'site.test'],
    ['evil.site.test', null],
    ['site.test.evil', null],
    ['img.site.test', null],
    ['other.test', 'other.test'],
  ];
  for (const [host, name] of cases) assert.equal(router.route(host)?.name ?? null, name, host);
});

function head(headers: string[]): RequestHead {
  return { method: 'GET', path: '/', query: '', headers, host: headers[headers.indexOf('host') + 1] ?? '', clientIp: '192.0.2.1' };
}

test('origin request: Host is the vhost Name (or <Host>) whatever the client sent; one Content-Length', () => {
  const [plain, fixed] = vhosts(
    '<Vhost Name="site.test"><Alias>*.site.test</Alias><Origin><Address>10.0.0.1</Address></Origin></Vhost>' +
      '<Vhost Name="fixed.test"><Origin><Address>10.0.0.2</Address></Origin><OriginOptions><Host>origin.internal</Host></OriginOptions></Vhost>',
  );
  assert.ok(plain !== undefined && fixed !== undefined);
  for (const client of ['site.test', 'SITE.TEST', 'site.test.', 'site.test:1337', 'evil.site.test']) {
    const out = originRequestHeaders(head(['host', client, 'content-length', '5', 'content-length', '5']), plain);
    const hosts = out.filter((_, i) => i % 2 === 0 && out[i] === 'host').length;
    assert.equal(hosts, 1, client);
    assert.equal(out[out.indexOf('host') + 1], 'site.test', client);
    assert.equal(out.filter((v, i) => i % 2 === 0 && v === 'content-length').length, 1, client);
    const viaFixed = originRequestHeaders(head(['host', client]), fixed);
    assert.equal(viaFixed[viaFixed.indexOf('host') + 1], 'origin.internal', client);
  }
});

test('client response: <ServerHeader>OFF drops Server and X-Powered-By, ON keeps them', () => {
  const [on, off] = vhosts(
    '<Vhost Name="on.test"><Origin><Address>10.0.0.1</Address></Origin></Vhost>' +
      '<Vhost Name="off.test"><Origin><Address>10.0.0.2</Address></Origin><Options><ServerHeader>OFF</ServerHeader></Options></Vhost>',
  );
  assert.ok(on !== undefined && off !== undefined);
  const origin = { server: 'Apache/2.4.1', 'x-powered-by': 'PHP/5.1', 'content-type': 'text/plain' };
  const names = (v: Vhost): string[] => clientResponseHead(origin, v.options).headers.filter((_, i) => i % 2 === 0);
  assert.deepEqual(names(off).filter((n) => n !== 'via'), ['content-type']);
  assert.deepEqual(names(on).filter((n) => n !== 'via'), ['server', 'x-powered-by', 'content-type']);
});

test('error bodies name the failure in general terms: no address, no library code, no Flint code', () => {
  const cases: Array<[ErrorCode, number, string]> = [
    ['FLINT_ERR_ORIGIN_CONNECT', 502, '502 Bad Gateway: origin unreachable\n'],
    ['FLINT_ERR_ORIGIN_RESET', 502, '502 Bad Gateway: origin connection reset\n'],
    ['FLINT_ERR_ORIGIN_PROTOCOL', 502, '502 Bad Gateway: invalid response from origin\n'],
    ['FLINT_ERR_ORIGIN_CONNECT_TIMEOUT', 504, '504 Gateway Timeout: origin connect timed out\n'],
    ['FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT', 504, '504 Gateway Timeout: origin response timed out\n'],
    ['FLINT_ERR_ORIGIN_DOWN', 503, '503 Service Unavailable: no origin available\n'],
    ['FLINT_ERR_CLIENT_BODY_TOO_LARGE', 413, '413 Content Too Large: request body too large\n'],
    ['FLINT_ERR_CLIENT_BAD_REQUEST', 400, '400 Bad Request: bad request\n'],
    ['FLINT_ERR_INTERNAL', 500, '500 Internal Server Error: internal error\n'],
  ];
  for (const [code, status, body] of cases) {
    const error = new FlintError(code, 'origin 10.1.2.3:8080: connect ECONNREFUSED (UND_ERR_CONNECT_TIMEOUT)', { source: 'origin' });
    const response = errorResponse(error);
    assert.equal(response.status, status, code);
    assert.equal(response.body, body, code);
  }
  assert.equal(errorResponse(new Error('at /srv/flint/x.js:1')).body, '500 Internal Server Error: internal error\n');
});
