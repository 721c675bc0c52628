/**
 * tls/h2-fast-respond on real node:http2 streams (an in-process secure server and client on loopback, a certificate
 * made at test time): a prepared set of fields goes through node's respond() once, then natively, and the client
 * receives the same fields either way (Date included); HEAD, 304 and fields node refuses never take the native path;
 * and this Node's internals are the ones the path needs (a Node upgrade that changes them fails here, not silently
 * in production, where the path would only switch itself off).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createSecureServer } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PreparedFields, respondPrepared } from '../../src/tls/h2-fast-respond.js';
import type { RespondPath } from '../../src/tls/h2-fast-respond.js';
import { makeCert } from '../helpers/tls.js';

const BODY = Buffer.from('0123456789');
const FIELDS: OutgoingHttpHeaders = {
  ':status': 200,
  'content-type': 'text/plain',
  'cache-control': 'public, max-age=60',
  'set-cookie': ['a=1', 'b=2'],
  'cache-status': 'flint; hit; ttl=59',
  'content-length': BODY.length,
};

/** What the server does with the next stream: the fields to send and where the path taken is recorded. */
let nextFields = new PreparedFields(FIELDS);
const paths: Array<RespondPath | 'threw'> = [];

let dir = '';
let port = 0;
let server: ReturnType<typeof createSecureServer>;
let client: ClientHttp2Session;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flint-fast-respond-'));
  const cert = makeCert(dir, 'site', ['localhost']);
  server = createSecureServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) });
  server.on('stream', (stream: ServerHttp2Stream) => {
    stream.on('error', () => undefined);
    try {
      const path = respondPrepared(stream, nextFields);
      paths.push(path);
      if (path === 'failed') stream.destroy();
      else stream.end((stream as unknown as { headRequest: boolean }).headRequest ? undefined : BODY);
    } catch {
      paths.push('threw');
      stream.close(2);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  client = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
});

after(async () => {
  client.close();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function request(method = 'GET'): Promise<{ headers: IncomingHttpHeaders; body: Buffer; reset: boolean }> {
  return new Promise((resolve) => {
    const stream = client.request({ ':method': method, ':path': '/x' });
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders = {};
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => resolve({ headers, body: Buffer.concat(chunks), reset: true }));
    stream.on('end', () => resolve({ headers, body: Buffer.concat(chunks), reset: false }));
    stream.end();
  });
}

/** The received fields without Date, and Date checked to be an IMF-fixdate within a few seconds of now. */
function withoutDate(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const date = Date.parse(String(headers['date']));
  assert.ok(Math.abs(date - Date.now()) < 5_000, `Date ${String(headers['date'])} is now`);
  const { date: _date, ...rest } = headers;
  return rest;
}

test('a prepared head goes through node once, then natively, and the client receives the same fields and body', async () => {
  nextFields = new PreparedFields(FIELDS);
  paths.length = 0;
  const first = await request();
  const second = await request();
  const third = await request();
  assert.deepEqual(paths, ['node', 'native', 'native'], 'the native path is available on this Node version');
  for (const r of [first, second, third]) {
    assert.equal(r.reset, false);
    assert.deepEqual(r.body, BODY);
  }
  assert.deepEqual(withoutDate(second.headers), withoutDate(first.headers));
  assert.deepEqual(withoutDate(third.headers), withoutDate(first.headers));
  assert.deepEqual(first.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(first.headers['content-length'], String(BODY.length));
});

test('HEAD requests and 304/204 heads always go through node (it ends the stream for them)', async () => {
  nextFields = new PreparedFields(FIELDS);
  paths.length = 0;
  await request();
  const head = await request('HEAD');
  assert.deepEqual(head.body.length, 0);
  assert.equal(head.reset, false);
  nextFields = new PreparedFields({ ':status': 304, etag: '"x"' });
  await request();
  const notModified = await request();
  assert.equal(notModified.headers[':status'], 304);
  nextFields = new PreparedFields({ ':status': 204 });
  await request();
  await request();
  assert.deepEqual(paths, ['node', 'node', 'node', 'node', 'node', 'node']);
});

test('fields node refuses are never sent natively: each response is refused again', async () => {
  // Two Content-Type values: node:http2 throws ERR_HTTP2_HEADER_SINGLE_VALUE (RFC 9110 §8.3 allows one).
  nextFields = new PreparedFields({ ':status': 200, 'content-type': ['text/plain', 'text/html'] });
  paths.length = 0;
  const first = await request();
  const second = await request();
  assert.deepEqual(paths, ['threw', 'threw']);
  assert.equal(first.reset || first.headers[':status'] === undefined, true);
  assert.equal(second.reset || second.headers[':status'] === undefined, true);
});
