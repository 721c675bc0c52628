/**
 * Bodies of unknown length (chunked from the origin, no Content-Length) through the cache, on 2 workers: the
 * miss, its collapsed followers in either worker, and later hits all end with the terminating chunk (a clean end
 * of message, not a closed connection) and carry every byte.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FlintProcess } from '../helpers/flint.js';
import { sleep } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import type { Route } from '../helpers/cache.js';
import { download, seenFor, startCacheFlint, startRoutedOrigin } from '../helpers/cache.js';

const HOST = 'chunked.test';
const PIECES = [Buffer.alloc(3000, 0x61), Buffer.alloc(70_000, 0x62), Buffer.alloc(1_500_000, 0x63)];
const DIGEST = createHash('sha256').update(Buffer.concat(PIECES)).digest('hex');
const SIZE = PIECES.reduce((n, p) => n + p.length, 0);

const routes: Record<string, Route> = {
  // Written in pieces with pauses, so the response is chunked and followers join while it streams.
  '/chunked': async (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'application/octet-stream' });
    for (const piece of PIECES) {
      res.write(piece);
      await sleep(100);
    }
    res.end();
  },
};

let origin: TestOrigin;
let flint: FlintProcess;
let port: number;

before(async () => {
  origin = await startRoutedOrigin(routes);
  ({ flint, port } = await startCacheFlint([{ name: HOST, origin }], { workers: 2 }));
});

after(async () => {
  await flint?.stop();
  await origin?.close();
});

test('a chunked body: the miss, its followers on both workers and the hits all end cleanly with every byte', async () => {
  const first = await Promise.all(Array.from({ length: 8 }, () => download(port, '/chunked', HOST)));
  for (const res of first) {
    assert.equal(res.error, null, `ended cleanly: ${JSON.stringify({ status: res.status, bytes: res.bytes, error: res.error })}`);
    assert.equal(res.bytes, SIZE);
    assert.equal(res.sha256, DIGEST);
  }
  assert.equal(seenFor(origin, '/chunked').length, 1, 'one origin request for all of them');
  for (let i = 0; i < 4; i++) {
    const hit = await download(port, '/chunked', HOST);
    assert.equal(hit.error, null);
    assert.equal(hit.sha256, DIGEST);
    assert.match(String(hit.headers['cache-status']), /hit/);
  }
  assert.equal(seenFor(origin, '/chunked').length, 1);
});
