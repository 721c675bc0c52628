/**
 * admin/request-guard.ts, table-driven: which Host values name the manager (DNS rebinding defence), which browser
 * headers are refused (CSRF), and the method rule of the state-changing endpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserRefusal, isCommandPath, isManagerHost, methodRefusal } from '../../src/admin/request-guard.js';

const MANAGER = { serverNames: ['cache1.example.com'], port: 10040 };

test('Host: localhost, IP literals and the <ServerName>s with the manager port pass; everything else is refused', () => {
  const good = ['127.0.0.1:10040', 'localhost:10040', 'LOCALHOST:10040', '[::1]:10040', '[::ffff:127.0.0.1]:10040', '10.1.2.3:10040', '0.0.0.0:10040'];
  const bad = [
    '', 'evil.example:10040', 'localhost.:10040', 'localhost', '127.0.0.1', '127.0.0.1:10041', '127.0.0.1:010040', '127.0.0.1:+10040',
    '127.0.0.1:10040 ', ' 127.0.0.1:10040', '127.0.0.1:10040.', '127.0.0.1.:10040', '127.0.0.1:10040@evil', 'evil@127.0.0.1:10040',
    '127.0.0.1:10040:10040', '127.1:10040', '2130706433:10040', '0x7f000001:10040', '::1:10040', '[::1]', '[::1:10040', '[evil.example]:10040',
    'localhost:10040/x', 'localhost:10040,evil.example', '127.0.0.1:99999', '127.0.0.1:', 'xn--lcalhost-:10040',
  ];
  for (const host of good) assert.ok(isManagerHost(host, MANAGER), host);
  for (const host of bad) assert.ok(!isManagerHost(host, MANAGER), JSON.stringify(host));
  assert.ok(isManagerHost('Cache1.Example.COM:10040', MANAGER), 'a <ServerName>');
  assert.ok(!isManagerHost('cache1.example.com.evil.example:10040', MANAGER));
  assert.ok(!isManagerHost('evil.cache1.example.com:10040', MANAGER));
  assert.ok(!isManagerHost('cache1.example.com:10041', MANAGER));
  assert.ok(isManagerHost('127.0.0.1', { serverNames: [], port: 80 }), 'no port is port 80');
  assert.ok(!isManagerHost('127.0.0.1:80', MANAGER));
});

test('browser headers: another Origin, Origin null, a cross-site or same-site fetch, two Host headers are refused', () => {
  const host = ['127.0.0.1:10040'];
  const cases: Array<[Record<string, string[]>, number | null]> = [
    [{ host }, null],
    [{}, null],
    [{ host, origin: ['http://127.0.0.1:10040'] }, null],
    [{ host, origin: ['HTTP://127.0.0.1:10040'] }, null],
    [{ host, 'sec-fetch-site': ['same-origin'] }, null],
    [{ host, 'sec-fetch-site': ['none'] }, null],
    [{ host: ['evil.example:10040'] }, 421],
    [{ host: ['127.0.0.1:10040', 'evil.example:10040'] }, 400],
    [{ host, origin: ['http://evil.example'] }, 403],
    [{ host, origin: ['null'] }, 403],
    [{ host, origin: [''] }, 403],
    [{ host, origin: ['https://127.0.0.1:10040'] }, 403],
    [{ host, origin: ['http://127.0.0.1:8080'] }, 403],
    [{ host, origin: ['http://localhost:10040'] }, 403],
    [{ host, origin: ['http://127.0.0.1:10040', 'http://127.0.0.1:10040'] }, 403],
    [{ origin: ['http://127.0.0.1:10040'] }, 403],
    [{ host, 'sec-fetch-site': ['cross-site'] }, 403],
    [{ host, 'sec-fetch-site': ['same-site'] }, 403],
    [{ host, 'sec-fetch-site': ['same-origin', 'cross-site'] }, 403],
  ];
  for (const [headers, status] of cases) assert.equal(browserRefusal(headers, MANAGER)?.status ?? null, status, JSON.stringify(headers));
});

test('state-changing endpoints: POST always, GET/HEAD only with a token, other methods never', () => {
  for (const path of ['/command/purge', '/command/expire', '/command/expireafter', '/command/hardpurge', '/command/x', '/conf/reload', '/conf/restore']) {
    assert.ok(isCommandPath(path), path);
    assert.equal(methodRefusal('POST', path, false), null);
    assert.equal(methodRefusal('GET', path, false)?.status, 405);
    assert.equal(methodRefusal('HEAD', path, false)?.status, 405);
    assert.equal(methodRefusal('GET', path, true), null);
    assert.equal(methodRefusal('PUT', path, true)?.status, 405);
    assert.equal(methodRefusal(undefined, path, true)?.status, 405);
  }
  for (const path of ['/stats', '/health', '/metrics', '/conf/history', '/conf/server.xml', '/monitoring/fileinfo', '/conf/reload/', '/command']) {
    assert.equal(methodRefusal('GET', path, false), null, path);
  }
});
