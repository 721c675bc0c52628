// Table-driven tests of what an origin transaction's failure is charged to (origin/fetch.ts originError over undici
// and socket error codes), and of origin/request-check.ts against undici itself: every hostile request the check
// refuses is one undici would refuse (so refusing it first changes no answer), every request it passes undici sends.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Pool } from 'undici';
import { FlintError } from '../../src/errors.js';
import { chargeOf, originError } from '../../src/origin/fetch.js';
import type { OriginCharge } from '../../src/origin/fetch.js';
import { unforwardable } from '../../src/origin/request-check.js';

const withCode = (code: string | undefined, message = 'boom'): Error => Object.assign(new Error(message), code === undefined ? {} : { code });

test('charges: only the origin\'s connectivity counts; undici\'s refusals, aborts, closed pools and client bodies never do', () => {
  const table: Array<[string | undefined, string, OriginCharge, boolean]> = [
    ['ECONNREFUSED', 'FLINT_ERR_ORIGIN_CONNECT', 'connect', true],
    ['EHOSTUNREACH', 'FLINT_ERR_ORIGIN_CONNECT', 'connect', true],
    ['ENETUNREACH', 'FLINT_ERR_ORIGIN_CONNECT', 'connect', true],
    ['ENOTFOUND', 'FLINT_ERR_ORIGIN_CONNECT', 'connect', true],
    ['EAI_AGAIN', 'FLINT_ERR_ORIGIN_CONNECT', 'connect', true],
    ['UND_ERR_CONNECT_TIMEOUT', 'FLINT_ERR_ORIGIN_CONNECT_TIMEOUT', 'connect', true],
    ['UND_ERR_HEADERS_TIMEOUT', 'FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT', 'receive', false],
    ['UND_ERR_BODY_TIMEOUT', 'FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT', 'receive', false],
    ['UND_ERR_SOCKET', 'FLINT_ERR_ORIGIN_RESET', 'receive', false],
    ['ECONNRESET', 'FLINT_ERR_ORIGIN_RESET', 'receive', false],
    ['EPIPE', 'FLINT_ERR_ORIGIN_RESET', 'receive', false],
    ['UND_ERR_HEADERS_OVERFLOW', 'FLINT_ERR_ORIGIN_PROTOCOL', 'receive', false],
    ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'FLINT_ERR_ORIGIN_PROTOCOL', 'receive', false],
    ['HPE_INVALID_CONSTANT', 'FLINT_ERR_ORIGIN_PROTOCOL', 'receive', false],
    ['HPE_INVALID_CHUNK_SIZE', 'FLINT_ERR_ORIGIN_PROTOCOL', 'receive', false],
    // Flint's side: never the origin's failure.
    ['UND_ERR_INVALID_ARG', 'FLINT_ERR_CLIENT_BAD_REQUEST', 'none', false],
    ['UND_ERR_NOT_SUPPORTED', 'FLINT_ERR_CLIENT_BAD_REQUEST', 'none', false],
    ['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'FLINT_ERR_CLIENT_BAD_REQUEST', 'none', false],
    ['UND_ERR_ABORTED', 'FLINT_ERR_ORIGIN_PROTOCOL', 'none', false],
    ['UND_ERR_CLOSED', 'FLINT_ERR_ORIGIN_PROTOCOL', 'none', false],
    ['UND_ERR_DESTROYED', 'FLINT_ERR_ORIGIN_PROTOCOL', 'none', false],
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'FLINT_ERR_ORIGIN_PROTOCOL', 'none', false],
    ['UND_ERR_SOMETHING_NEW', 'FLINT_ERR_ORIGIN_PROTOCOL', 'none', false],
    [undefined, 'FLINT_ERR_ORIGIN_PROTOCOL', 'none', false],
  ];
  for (const [code, flintCode, charge, retryable] of table) {
    const error = originError(withCode(code), '10.0.0.1:80');
    assert.deepEqual([error.code, chargeOf(error), error.retryable], [flintCode, charge, retryable], String(code));
    if (charge === 'none' && flintCode === 'FLINT_ERR_CLIENT_BAD_REQUEST') {
      assert.equal(error.source, 'client', String(code));
      assert.doesNotMatch(error.message, /UND_ERR|10\.0\.0\.1/, 'the client is not told internals');
    }
  }
  // A client body's own failure passes through as it is, uncharged.
  const body = new FlintError('FLINT_ERR_CLIENT_BODY_TOO_LARGE', 'too large', { source: 'client' });
  assert.equal(originError(body, '10.0.0.1:80'), body);
  assert.equal(chargeOf(body), 'none');
});

/** What undici does with a request: 'sent' (the origin answered) or the code it refused it with. */
async function undiciVerdict(pool: Pool, method: string, path: string, headers: string[]): Promise<string> {
  return new Promise((resolve) => {
    try {
      pool.dispatch(
        { method: method as 'GET', path, headers, body: null },
        {
          onRequestStart: () => undefined,
          onResponseStart: () => resolve('sent'),
          onResponseData: () => undefined,
          onResponseEnd: () => undefined,
          onResponseError: (_c, error) => resolve((error as { code?: string }).code ?? 'error'),
        },
      );
    } catch (error) {
      resolve((error as { code?: string }).code ?? 'thrown');
    }
  });
}

test('request-check refuses exactly what undici refuses (hostile targets, methods, names, values, framing fields)', async () => {
  const server = createServer((req, res) => {
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // No connection limit: a refusal costs this pool nothing, so every case gets its own verdict.
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const cases: Array<[string, string, string, string[]]> = [
    ['plain GET', 'GET', '/a?b=c', ['accept', '*/*']],
    ['obs-text in a value (Latin-1)', 'GET', '/', ['x-a', '\u00e9\u00ff']],
    ['percent-encoded target', 'GET', '/%E2%82%AC', []],
    ['Latin-1 target', 'GET', '/\u00e9', []],
    ['odd but valid method', 'PURGE', '/', []],
    ['Content-Length 0', 'POST', '/', ['content-length', '0']],
    ['Connection close', 'GET', '/', ['connection', 'close']],
    ['target above U+00FF', 'GET', '/\u20ac', []],
    ['target with a space', 'GET', '/a b', []],
    ['target with a tab', 'GET', '/a\tb', []],
    ['target with a NUL', 'GET', '/a\u0000', []],
    ['method with a parenthesis', 'G(T', '/', []],
    ['method with a space', 'G T', '/', []],
    ['empty method', '', '/', []],
    ['value above U+00FF', 'GET', '/', ['x-a', '\u20ac']],
    ['value with CR', 'GET', '/', ['x-a', 'a\rb']],
    ['value with LF', 'GET', '/', ['x-a', 'a\nb']],
    ['value with NUL', 'GET', '/', ['x-a', 'a\u0000b']],
    ['value with DEL', 'GET', '/', ['x-a', 'a\u007fb']],
    ['name with a parenthesis', 'GET', '/', ['x(y', '1']],
    ['name with a colon', 'GET', '/', ['x:y', '1']],
    ['name with a space', 'GET', '/', ['x y', '1']],
    ['empty name', 'GET', '/', ['', '1']],
    ['Content-Length -1', 'POST', '/', ['content-length', '-1']],
    ['Content-Length +5', 'POST', '/', ['content-length', '+5']],
    ['Content-Length 5.0', 'POST', '/', ['content-length', '5.0']],
    ['Content-Length empty', 'POST', '/', ['content-length', '']],
    ['Content-Length twice', 'POST', '/', ['content-length', '0', 'content-length', '0']],
    ['Host twice', 'GET', '/', ['host', 'a', 'host', 'b']],
    ['Transfer-Encoding', 'POST', '/', ['transfer-encoding', 'chunked']],
    ['Keep-Alive', 'GET', '/', ['keep-alive', 'timeout=5']],
    ['Upgrade', 'GET', '/', ['upgrade', 'websocket']],
    ['Expect', 'GET', '/', ['expect', '100-continue']],
    ['Connection with a space inside a token', 'GET', '/', ['connection', 'a b']],
    ['Connection with an empty token', 'GET', '/', ['connection', 'close,']],
  ];
  try {
    for (const [what, method, path, headers] of cases) {
      const verdict = await undiciVerdict(pool, method, path, headers);
      const refused = unforwardable(method, path, headers);
      assert.ok(verdict === 'sent' || verdict === 'UND_ERR_INVALID_ARG' || verdict === 'UND_ERR_NOT_SUPPORTED', `${what}: undici said ${verdict}`);
      assert.equal(refused !== null, verdict !== 'sent', `${what}: check says ${refused ?? 'send'}, undici ${verdict}`);
    }
  } finally {
    await pool.close();
    server.close();
  }
});
