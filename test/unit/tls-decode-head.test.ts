/**
 * tls/h2-writer decodeHead: the TLS engine reads back the heads the hot tier encoded for uWS (http/respond.ts
 * encodeHead), including latin1 bytes, a reason phrase, repeated fields and values holding ': '; and the HTTP/2
 * fields Tls2StreamWriter builds from such a head (built once per head and length, shared between responses).
 */
import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { test } from 'node:test';
import { encodeHead } from '../../src/http/respond.js';
import type { ServerHttp2Stream } from 'node:http2';
import { Tls2StreamWriter, decodeHead } from '../../src/tls/h2-writer.js';

const CASES: ReadonlyArray<{ status: number; reason: string; headers: string[] }> = [
  { status: 200, reason: '', headers: ['content-type', 'text/plain', 'cache-status', 'flint; hit; ttl=5'] },
  { status: 304, reason: '', headers: ['etag', '"x"'] },
  { status: 206, reason: 'Partial Content', headers: ['set-cookie', 'a=1', 'set-cookie', 'b=2'] },
  { status: 200, reason: '', headers: ['x-latin1', 'caf\u00e9', 'x-colon', 'a: b: c', 'x-empty', ''] },
  { status: 599, reason: '', headers: [] },
];

for (const c of CASES) {
  test(`decodeHead(encodeHead(${c.status}, ${JSON.stringify(c.headers).slice(0, 40)}))`, () => {
    const encoded = encodeHead(c.status, c.reason, c.headers);
    const decoded = decodeHead(encoded);
    assert.equal(decoded.status, c.status);
    assert.equal(decoded.reason, c.reason !== '' ? c.reason : (STATUS_CODES[c.status] ?? 'Unknown'));
    assert.deepEqual(decoded.headers, c.headers);
    assert.equal(decodeHead(encoded), decoded, 'decoded once per buffer');
  });
}

/** A stand-in for node:http2's ServerHttp2Stream: records respond() fields, body bytes and listeners. */
function fakeStream(): { stream: ServerHttp2Stream; sent: Array<Record<string, unknown>>; events: string[]; emit: (event: string) => void } {
  const sent: Array<Record<string, unknown>> = [];
  const events: string[] = [];
  const listeners = new Map<string, Array<() => void>>();
  const stream = {
    on(event: string, fn: () => void) {
      events.push(event);
      listeners.set(event, [...(listeners.get(event) ?? []), fn]);
      return stream;
    },
    respond(fields: Record<string, unknown>) {
      sent.push(fields);
    },
    end() {},
    write() {
      return true;
    },
    destroy() {},
  };
  return { stream: stream as unknown as ServerHttp2Stream, sent, events, emit: (event) => listeners.get(event)?.forEach((fn) => fn()) };
}

test('Tls2StreamWriter: fields of a shared encoded head are lower-cased, carry each response its own length and extras', () => {
  const encoded = encodeHead(200, '', ['Content-Type', 'text/plain', 'Connection', 'keep-alive', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  const expected = { ':status': 200, 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'content-length': 4 };
  const first = fakeStream();
  const w1 = new Tls2StreamWriter(first.stream, '127.0.0.1');
  w1.writeEncodedHead(encoded, 4);
  w1.writeBody(Buffer.from('abcd'), () => undefined);
  assert.deepEqual({ ...first.sent[0] }, expected);
  // Completed within the handler: no 'close' listener was added (the engine adds one only to open responses).
  assert.deepEqual(first.events, ['error']);
  const extra = fakeStream();
  const w2 = new Tls2StreamWriter(extra.stream, '127.0.0.1');
  w2.addHeader('X-Extra', '1');
  w2.writeEncodedHead(encoded, 4);
  w2.writeBody(Buffer.from('abcd'), () => undefined);
  assert.deepEqual({ ...extra.sent[0] }, { ...expected, 'x-extra': '1' });
  const third = fakeStream();
  const w3 = new Tls2StreamWriter(third.stream, '127.0.0.1');
  w3.writeEncodedHead(encoded, 2);
  w3.writeBody(Buffer.from('ab'), () => undefined);
  assert.deepEqual({ ...third.sent[0] }, { ...expected, 'content-length': 2 }, 'another length, no extra field from the previous response');
  assert.deepEqual({ ...first.sent[0] }, expected, 'what the first response sent is unchanged');
});

test('Tls2StreamWriter: a response still open when watchClose() is called is aborted by the stream closing', () => {
  const open = fakeStream();
  const writer = new Tls2StreamWriter(open.stream, '127.0.0.1');
  let aborted = 0;
  writer.onAbort(() => aborted++);
  writer.writeEncodedHead(encodeHead(200, '', ['content-type', 'text/plain']), 10);
  writer.watchClose();
  assert.deepEqual(open.events, ['error', 'close']);
  open.emit('close');
  assert.equal(writer.state, 'aborted');
  assert.equal(aborted, 1);
});
