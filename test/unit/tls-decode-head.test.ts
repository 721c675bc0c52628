/**
 * tls/h2-writer decodeHead: the TLS engine reads back the heads the hot tier encoded for uWS (http/respond.ts
 * encodeHead), including latin1 bytes, a reason phrase, repeated fields and values holding ': '.
 */
import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { test } from 'node:test';
import { encodeHead } from '../../src/http/respond.js';
import { decodeHead } from '../../src/tls/h2-writer.js';

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
