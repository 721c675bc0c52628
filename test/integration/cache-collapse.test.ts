/**
 * Collapsed forwarding through a real Flint with 2 workers (STYLE convention 7): many clients of one cold object
 * cause one origin request, and followers stream the body while the fill is still running, in the leader's worker
 * and in the other one. A response that turns out not storable must not become a stampede either: the waiting
 * clients are passed, each with a correct response, and later requests pass at once (hit-for-pass).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlintProcess } from '../helpers/flint.js';
import { sleep } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { MiB, accessRecordsFor, download, patternBody, resultDelta, seenFor, sha256, startCacheFlint, startRoutedOrigin, vhostStats, waitFor } from '../helpers/cache.js';

const HOST = 'collapse.test';
const SIZE = 8 * MiB;
const BODY = patternBody(SIZE, 5);
const DIGEST = sha256(BODY);
const PRIVATE_BODY = patternBody(256 * 1024, 6);

describe('collapsed forwarding (2 workers)', () => {
  const routes: Record<string, Route> = {};
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

  test('100 concurrent clients of a cold 8 MiB object: 1 origin request, identical complete bodies, streamed while filling', async () => {
    let originEndAt = 0;
    routes['/big'] = async (_req, res) => {
      res.writeHead(200, { 'content-length': String(SIZE), 'cache-control': 'max-age=3600', etag: '"big"', 'content-type': 'application/octet-stream' });
      // 16 pieces over ~1 s.
      const piece = SIZE / 16;
      for (let i = 0; i < 16 && !res.destroyed; i++) {
        res.write(BODY.subarray(i * piece, (i + 1) * piece));
        await sleep(1000 / 16);
      }
      await new Promise<void>((resolve) => res.end(resolve));
      originEndAt = performance.now();
    };
    const before = await flint.stats();
    const beforeVhost = await vhostStats(flint, HOST);
    const results = await Promise.all(Array.from({ length: 100 }, () => download(port, '/big', HOST)));
    // The origin's end callback can run after the last client finished (its bytes were already on the wire).
    await waitFor('the origin finished', () => (originEndAt > 0 ? true : undefined));

    const bad = results.filter((r) => r.error !== null || r.status !== 200 || r.bytes !== SIZE || r.sha256 !== DIGEST);
    assert.deepEqual(bad.map((r) => ({ status: r.status, bytes: r.bytes, error: r.error })), [], 'every response is a complete, identical 200');
    assert.equal(seenFor(origin, '/big').length, 1, 'exactly one origin request');

    // Streaming, not store-and-forward: clients had body bytes before the origin had sent everything.
    const late = results.filter((r) => r.firstByteAt === null || r.firstByteAt >= originEndAt);
    assert.equal(late.length, 0, `${late.length} of 100 clients got their first byte only after the origin finished`);

    const after = await flint.stats();
    const perWorker = after.workers.map((w, i) => w.requests - (before.workers[i]?.requests ?? 0));
    assert.ok(perWorker.length === 2 && perWorker.every((n) => n > 0), `both workers served clients: ${perWorker.join(', ')}`);
    const delta = await resultDelta(flint, HOST, beforeVhost.cacheResults, 100);
    assert.equal(delta.TCP_MISS, 1, JSON.stringify(delta));
    assert.equal((delta.TCP_MISS ?? 0) + (delta.TCP_RT_HIT ?? 0) + (delta.TCP_HIT ?? 0), 100, JSON.stringify(delta));
    assert.equal((await vhostStats(flint, HOST)).originRequests - beforeVhost.originRequests, 1, '/stats counts one origin request');

    // Followers read each block once it is listed, all at the same moment: the block memory of each worker reads it
    // from its file once or twice (the second read is the one it keeps) and the others share that read, where
    // each follower used to read it itself (219 file reads of the 8 blocks in one run).
    const memory = after.cache.blockMemory;
    assert.ok(memory.misses <= 2 * 3 * (SIZE / MiB), `block file reads: ${JSON.stringify(memory)}`);

    const hit = await request({ port, path: '/big', host: HOST });
    assert.equal(sha256(hit.body), DIGEST);
    assert.equal(seenFor(origin, '/big').length, 1);
  });

  test('an uncacheable answer (private) with 20 waiting clients: all get it, no stampede, later requests pass', async () => {
    const baseRequests = Number((await vhostStats(flint, HOST)).requests);
    routes['/private'] = async (_req, res, n) => {
      // Hold the first answer until Flint has all 20 requests in hand, so they all wait on this one fetch.
      if (n === 1) await waitFor('20 client requests at Flint', async () => (Number((await vhostStats(flint, HOST)).requests) >= baseRequests + 20 ? true : undefined));
      res.sendDate = false;
      res.writeHead(200, { 'content-length': String(PRIVATE_BODY.length), 'cache-control': 'private, max-age=3600', 'content-type': 'application/octet-stream' });
      res.end(PRIVATE_BODY);
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => download(port, '/private', HOST)));
    const digest = sha256(PRIVATE_BODY);
    const bad = results.filter((r) => r.error !== null || r.status !== 200 || r.sha256 !== digest);
    assert.deepEqual(bad.map((r) => ({ status: r.status, bytes: r.bytes, error: r.error })), [], 'every client gets the correct 200');
    const afterBurst = seenFor(origin, '/private').length;
    assert.ok(afterBurst >= 1 && afterBurst <= 21, `origin requests for 20 clients: ${afterBurst}`);
    assert.ok(results.every((r) => !/hit/.test(String(r.headers['cache-status'] ?? ''))), 'no client was served a stored copy');

    // Within the hit-for-pass window: straight to the origin, logged as PASS. (The burst's 20 records are written
    // first, so the next record in the file is this request's.)
    await accessRecordsFor(flint, HOST, '/private', 20);
    const next = await request({ port, path: '/private', host: HOST });
    assert.equal(next.status, 200);
    assert.ok(next.body.equals(PRIVATE_BODY));
    assert.equal(seenFor(origin, '/private').length, afterBurst + 1);
    const records = await accessRecordsFor(flint, HOST, '/private', 21);
    assert.equal(records.length, 21);
    assert.equal(records[20]?.cacheResult, 'PASS', JSON.stringify(records[20]));
  });

  test('hit-for-pass markers of 30 distinct uncacheable URLs leave the index once they expire', async () => {
    for (let i = 0; i < 30; i++) {
      routes[`/u/${i}`] = (_req, res) => {
        res.writeHead(200, { 'content-length': '2', 'cache-control': 'private' });
        res.end('ok');
      };
    }
    const records = async (): Promise<number> => (await flint.stats()).cache.disks.reduce((sum, d) => sum + d.fillRecords, 0);
    const before = await records();
    for (let i = 0; i < 30; i++) assert.equal((await request({ port, path: `/u/${i}`, host: HOST })).status, 200);
    assert.ok((await records()) >= before + 30, 'one marker per URL while they pass');
    // Markers live 10 s (HIT_FOR_PASS_MS); the primary sweeps the fill table every second.
    await waitFor('the markers swept', async () => ((await records()) === 0 ? true : undefined), 20_000);
  });
});
