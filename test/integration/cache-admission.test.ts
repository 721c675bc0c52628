/**
 * The admission filter (vhost <Admission>) through a real Flint with 2 workers: a new object is stored on its Nth
 * request within the window, counted in the shared index whichever worker serves each request; concurrent requests
 * still share one origin request, and a fill that others follow is stored at once; a lapsed count starts over and
 * is swept from the index.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FlintProcess } from '../helpers/flint.js';
import { sleep } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { MiB, cacheStatus, download, isHit, patternBody, reply, seenFor, sha256, startCacheFlint, startRoutedOrigin, vhostStats, waitFor } from '../helpers/cache.js';

const TWICE = 'twice.test';
const BRIEF = 'brief.test';
const THRICE = 'thrice.test';

describe('admission filter (2 workers)', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string, host: string): ReturnType<typeof request> => request({ port, path, host });
  const admissionSeen = async (): Promise<number> => (await flint.stats()).cache.disks.reduce((sum, d) => sum + d.admissionSeen, 0);
  // A vhost without any request yet has no counters in /stats.
  const notAdmitted = async (host: string): Promise<number> => ((await vhostStats(flint, host)).notAdmitted as number | undefined) ?? 0;

  before(async () => {
    origin = await startRoutedOrigin(routes);
    ({ flint, port } = await startCacheFlint(
      [
        { name: TWICE, origin, extra: '<Options><Admission>2</Admission></Options>' },
        { name: BRIEF, origin, extra: '<Options><Admission Window="1">2</Admission></Options>' },
        { name: THRICE, origin, extra: '<Options><Admission>3</Admission></Options>' },
      ],
      { workers: 2 },
    ));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('an object is stored on its second request, whichever worker served the first', async () => {
    const urls = Array.from({ length: 10 }, (_, i) => `/twice/${i}`);
    for (const url of urls) routes[url] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', etag: `"${url}"` }, `body of ${url}`);
    const workersBefore = (await flint.stats()).workers.map((w) => w.requests);
    const countedBefore = await notAdmitted(TWICE);

    for (const url of urls) {
      const first = await get(url, TWICE);
      assert.equal(first.status, 200);
      assert.equal(first.body.toString(), `body of ${url}`);
      assert.match(cacheStatus(first), /fwd=miss; detail=admission/, `${url}: the first response says it was not stored`);
      assert.doesNotMatch(cacheStatus(first), /stored/);
    }
    assert.ok((await admissionSeen()) >= urls.length, 'the index holds a count for each URL');

    // Each request on a new connection: the workers share them, so about half of the second requests land on the
    // other worker than the first. With a count per worker, some of these would not be stored.
    for (const url of urls) {
      const second = await get(url, TWICE);
      assert.equal(second.body.toString(), `body of ${url}`);
      assert.match(cacheStatus(second), /fwd=miss; stored/, `${url}: stored on the second request`);
    }
    for (const url of urls) {
      const third = await get(url, TWICE);
      assert.ok(isHit(third), `${url}: a hit on the third request (${cacheStatus(third)})`);
      assert.equal(third.body.toString(), `body of ${url}`);
      assert.equal(seenFor(origin, url).length, 2, `${url}: two origin requests`);
    }
    const served = (await flint.stats()).workers.map((w, i) => w.requests - (workersBefore[i] ?? 0));
    assert.ok(served.length === 2 && served.every((n) => n > 0), `both workers served requests: ${served.join(', ')}`);
    // A transaction is counted once it finished, a moment after its client had the last byte.
    await waitFor('the not-admitted count', async () => ((await notAdmitted(TWICE)) - countedBefore >= urls.length ? true : undefined), 2000).catch(() => undefined);
    assert.equal((await notAdmitted(TWICE)) - countedBefore, urls.length, '/stats counts the responses not stored');
    const metrics = await (await fetch(`http://127.0.0.1:${flint.managerPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`^flint_cache_not_admitted_total\\{vhost="${TWICE}"\\} ${urls.length}$`, 'm'));
    assert.match(metrics, /^flint_cache_admission_seen\{disk="[^"]+"\} \d+$/m);
  });

  test('a response kept out is served from memory: no block is written for it', async () => {
    // Bytes allocated on disk by the block files of the slot classes (bodies under 3/4 of a block), which no other
    // test here writes (their bodies are inline or whole blocks).
    const slotFileBytes = (): number => {
      const dir = join(flint.dir, 'cache', 'blocks');
      return readdirSync(dir)
        .filter((name) => name.startsWith('blocks-c'))
        .reduce((sum, name) => sum + statSync(join(dir, name)).blocks * 512, 0);
    };
    const body = patternBody(40 * 1024, 12);
    routes['/twice/slot'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600' }, body);
    const before = slotFileBytes();
    const keptOut = await notAdmitted(TWICE);
    const first = await get('/twice/slot', TWICE);
    assert.equal(sha256(first.body), sha256(body));
    assert.match(cacheStatus(first), /detail=admission/);
    // The fill is over once it is counted (the client may have its bytes a moment before).
    await waitFor('the fill counted as kept out', async () => ((await notAdmitted(TWICE)) > keptOut ? true : undefined));
    assert.equal(slotFileBytes(), before, 'nothing written for the response kept out');
    const second = await get('/twice/slot', TWICE);
    assert.equal(sha256(second.body), sha256(body));
    assert.match(cacheStatus(second), /fwd=miss; stored/);
    await waitFor('the stored one written', () => (slotFileBytes() >= before + body.length ? true : undefined));
    const third = await get('/twice/slot', TWICE);
    assert.ok(isHit(third));
    assert.equal(sha256(third.body), sha256(body));
  });

  test('concurrent requests of a cold object share one origin request, and are stored at once', async () => {
    const size = 2 * MiB;
    const body = patternBody(size, 11);
    routes['/thrice/big'] = async (_req, res) => {
      res.writeHead(200, { 'content-length': String(size), 'cache-control': 'max-age=3600', etag: '"big"' });
      // 8 pieces over ~0.4 s, so every client joins while the fill runs.
      for (let i = 0; i < 8 && !res.destroyed; i++) {
        res.write(body.subarray((i * size) / 8, ((i + 1) * size) / 8));
        await sleep(50);
      }
      res.end();
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => download(port, '/thrice/big', THRICE)));
    const bad = results.filter((r) => r.error !== null || r.status !== 200 || r.sha256 !== sha256(body));
    assert.deepEqual(bad.map((r) => ({ status: r.status, bytes: r.bytes, error: r.error })), [], 'every response is the complete body');
    assert.equal(seenFor(origin, '/thrice/big').length, 1, 'one origin request');
    // Followed fills are stored although the count (1 of 3) is short.
    const next = await waitFor('the object stored', async () => {
      const res = await get('/thrice/big', THRICE);
      return isHit(res) ? res : undefined;
    });
    assert.equal(sha256(next.body), sha256(body));
    assert.equal(seenFor(origin, '/thrice/big').length, 1, 'still one origin request');
  });

  test('a count lapses after its window and leaves the index', async () => {
    routes['/brief'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600' }, 'brief');
    const seenBefore = await admissionSeen();
    const first = await get('/brief', BRIEF);
    assert.match(cacheStatus(first), /detail=admission/);
    assert.equal(await admissionSeen(), seenBefore + 1);
    // The primary sweeps the fill table once a second: the count goes once its 1 s window is over.
    await waitFor('the lapsed count swept', async () => ((await admissionSeen()) === seenBefore ? true : undefined), 5000, 100);
    const again = await get('/brief', BRIEF);
    assert.match(cacheStatus(again), /detail=admission/, 'a request after the window counts as the first');
    const stored = await get('/brief', BRIEF);
    assert.match(cacheStatus(stored), /fwd=miss; stored/);
    assert.ok(isHit(await get('/brief', BRIEF)));
    assert.equal(seenFor(origin, '/brief').length, 3);
  });
});
