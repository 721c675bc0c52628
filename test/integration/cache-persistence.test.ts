/**
 * The cache survives a restart: objects filled by one Flint (inline, one block, several blocks with a partial last
 * one, Vary variants) are hits with identical bytes and headers for the next Flint started on the same conf and
 * cache directories after a graceful stop (SIGTERM), with no origin request at all. A stop with nothing in flight
 * is prompt (well inside ShutdownTimeout), also right after fills and hits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { FlintProcess } from '../helpers/flint.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { MiB, cacheStatus, isHit, patternBody, reply, resultDelta, sha256, startCacheFlint, startRoutedOrigin, vhostStats } from '../helpers/cache.js';

const HOST = 'persist.test';

/** path -> body; every object is cacheable for an hour and carries validators and a custom header. */
const OBJECTS: ReadonlyMap<string, Buffer> = new Map([
  ['/inline', patternBody(5000, 1)],
  ['/empty', Buffer.alloc(0)],
  ['/one-block', patternBody(1 * MiB, 2)],
  ['/multi-block', patternBody(3 * MiB, 3)],
  ['/partial-last-block', patternBody(2 * MiB + 12_345, 4)],
]);
const LATE = patternBody(1.5 * MiB, 9);
const VARY_TEXT = 'varying text '.repeat(500);
const VARY_GZIP = gzipSync(VARY_TEXT);

test('objects survive a graceful restart: hits with identical bytes and headers, zero origin requests', async () => {
  const routes: Record<string, Route> = {};
  for (const [path, body] of OBJECTS) {
    routes[path] = (_req, res) =>
      reply(res, 200, { 'cache-control': 'max-age=3600', etag: `"${path.slice(1)}"`, 'content-type': 'application/octet-stream', 'x-object': path }, body);
  }
  routes['/late'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', 'content-type': 'application/octet-stream' }, LATE);
  routes['/vary'] = (req, res) => {
    const gzip = /gzip/.test(String(req.headers['accept-encoding'] ?? ''));
    const headers = { 'cache-control': 'max-age=3600', vary: 'Accept-Encoding', 'content-type': 'text/plain' };
    reply(res, 200, gzip ? { ...headers, 'content-encoding': 'gzip' } : headers, gzip ? VARY_GZIP : VARY_TEXT);
  };
  const origin = await startRoutedOrigin(routes);
  const { flint, port } = await startCacheFlint([{ name: HOST, origin }], { cacheExtra: '<BlockSize>1M</BlockSize>' });
  const get = (path: string, headers: Record<string, string> = {}): Promise<TestResponse> => request({ port, path, host: HOST, headers });
  let second: FlintProcess | null = null;
  let third: FlintProcess | null = null;
  try {
    // Fill: misses only, so the stop below follows nothing but fills.
    for (const [path, body] of OBJECTS) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.match(cacheStatus(res), /fwd=miss; stored/, path);
      assert.equal(sha256(res.body), sha256(body), path);
    }
    assert.deepEqual((await get('/vary', { 'accept-encoding': 'gzip' })).body, VARY_GZIP);
    assert.equal((await get('/vary')).body.toString(), VARY_TEXT);
    const filled = origin.seen.length;
    assert.equal(filled, OBJECTS.size + 2);

    assert.equal(await flint.stop(20_000, true), 0, 'SIGTERM: exit code 0');
    second = await FlintProcess.restart(flint);
    const before = (await vhostStats(second, HOST)).cacheResults;

    const checkAll = async (): Promise<void> => {
      for (const [path, body] of OBJECTS) {
        const res = await get(path);
        assert.equal(res.status, 200, path);
        assert.ok(isHit(res), `${path} after the restart: ${cacheStatus(res)}`);
        assert.equal(res.body.length, body.length, path);
        assert.equal(sha256(res.body), sha256(body), path);
        assert.equal(res.headers.etag, `"${path.slice(1)}"`, path);
        assert.equal(res.headers['content-type'], 'application/octet-stream', path);
        assert.equal(res.headers['x-object'], path, path);
      }
      const gzip = await get('/vary', { 'accept-encoding': 'gzip' });
      assert.ok(isHit(gzip), cacheStatus(gzip));
      assert.equal(gzip.headers['content-encoding'], 'gzip');
      assert.deepEqual(gzip.body, VARY_GZIP);
      const identity = await get('/vary');
      assert.ok(isHit(identity), cacheStatus(identity));
      assert.equal(identity.headers['content-encoding'], undefined);
      assert.equal(identity.body.toString(), VARY_TEXT);
      // A range across a block boundary of a persisted object reads the right blocks.
      const range = await get('/multi-block', { range: 'bytes=1048000-2098000' });
      assert.equal(range.status, 206);
      assert.ok(range.body.equals((OBJECTS.get('/multi-block') as Buffer).subarray(1048000, 2098001)));
    };
    await checkAll();
    assert.equal(origin.seen.length, filled, 'no origin request after the restart');
    const delta = await resultDelta(second, HOST, before, OBJECTS.size + 3);
    assert.deepEqual(delta, { TCP_HIT: OBJECTS.size + 3 }, 'every request after the restart is a TCP_HIT');
    const stats = await second.stats();
    assert.equal(stats.totals.originRequests, 0, '/stats: no origin request by the new Flint');

    // A fill and a hit just before the stop: nothing is in flight, but the index has fresh writes and pending LRU
    // touches. The stop must be as clean and prompt, and the new object must survive too.
    const late = await get('/late');
    assert.match(cacheStatus(late), /fwd=miss; stored/);
    const lateHit = await get('/late');
    assert.ok(isHit(lateHit), cacheStatus(lateHit));
    const stopStarted = performance.now();
    const code = await second.stop(20_000, true);
    const stopMs = performance.now() - stopStarted;
    third = await FlintProcess.restart(second);
    await checkAll();
    const lateAgain = await get('/late');
    assert.ok(isHit(lateAgain), `/late after the second restart: ${cacheStatus(lateAgain)}`);
    assert.ok(lateAgain.body.equals(LATE), '/late bytes');
    assert.equal(origin.seen.length, filled + 1, 'no origin request after the second restart');
    assert.equal(code, 0, 'second SIGTERM: exit code 0');
    assert.ok(stopMs < 5000, `SIGTERM with nothing in flight (a fill and a hit just before) took ${Math.round(stopMs)} ms (ShutdownTimeout is 10 s)`);
  } finally {
    await third?.stop();
    await second?.stop(20_000, third !== null);
    await flint.stop(20_000, second !== null);
    await origin.close();
  }
});
