/**
 * Crash safety of fills: a fill owner SIGKILLed mid-body is taken over and its followers in the other worker
 * complete with the right bytes; a whole Flint SIGKILLed mid-fill never serves the half object after a restart;
 * a block torn on disk is detected by its checksum, never served, and the object is refetched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import type { StatsBody } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
const BODY = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) BODY[i] = (i * 7 + (i >> 13)) & 0xff;
const DIGEST = createHash('sha256').update(BODY).digest('hex');

/** An origin that sends BODY in 16 pieces over ~`ms`, cacheable for an hour. */
function slowOrigin(ms: number): Promise<TestOrigin> {
  return TestOrigin.start(async (_req, res) => {
    res.writeHead(200, { 'content-length': String(SIZE), 'cache-control': 'max-age=3600', etag: '"v1"' });
    const piece = SIZE / 16;
    for (let i = 0; i < 16 && !res.destroyed; i++) {
      res.write(BODY.subarray(i * piece, (i + 1) * piece));
      await sleep(ms / 16);
    }
    res.end();
  });
}

interface Download {
  readonly status: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly error: string | null;
}

function download(port: number, path: string): Promise<Download> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host: 'example.com' }, agent: false }, (res) => {
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex'), error: null }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, bytes, sha256: '', error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, bytes, sha256: '', error: e.message }));
    req.end();
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('fill owner SIGKILLed mid-body: followers on the other worker complete with the right bytes', async () => {
  const origin = await slowOrigin(3000);
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 2 }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
  try {
    const downloads = Array.from({ length: 12 }, () => download(port, '/big'));
    // The owner is the worker with a fill running once the origin has started sending.
    const owner = await waitFor('a fill owner', async () => {
      const stats: StatsBody = await flint.stats();
      return stats.workers.find((w) => w.fills > 0 && w.pid !== null);
    });
    const perWorker = (await flint.stats()).workers.map((w) => w.requests);
    await waitFor('origin sending', async () => (origin.seen.length > 0 ? true : undefined));
    await sleep(500);
    process.kill(owner.pid as number, 'SIGKILL');
    const results = await Promise.all(downloads);
    const complete = results.filter((r) => r.error === null && r.bytes === SIZE);
    const otherRequests = perWorker.reduce((a, b) => a + b, 0) - (perWorker[owner.index] ?? 0);
    // Every client of the surviving worker completes with identical bytes; only the killed worker's own lose.
    assert.ok(otherRequests > 0, `the other worker got followers (${perWorker.join(', ')})`);
    assert.ok(complete.length >= otherRequests, `${complete.length} complete downloads, ${otherRequests} on the surviving worker: ${JSON.stringify(results.map((r) => [r.status, r.bytes, r.error]))}\n${flint.logText()}`);
    for (const r of complete) assert.equal(r.sha256, DIGEST);
    for (const r of results) if (r.error === null && r.bytes === SIZE) assert.equal(r.sha256, DIGEST);
    // The take-over refetched once; afterwards the object is a plain hit.
    assert.equal(origin.seen.length, 2);
    const hit = await request({ port, path: '/big' });
    assert.equal(createHash('sha256').update(hit.body).digest('hex'), DIGEST);
    assert.match(String(hit.headers['cache-status']), /hit/);
    assert.equal(origin.seen.length, 2);
  } finally {
    await flint.stop();
    await origin.close();
  }
});

test('whole Flint SIGKILLed mid-fill: after a restart the half object is never served', async () => {
  const origin = await slowOrigin(2000);
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 1 }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
  let second: FlintProcess | null = null;
  try {
    const first = download(port, '/big');
    await waitFor('half the body', async () => (((await flint.stats()).totals.clientOutBytes ?? 0) > 0 || origin.seen.length > 0 ? true : undefined));
    await sleep(1000);
    const workers = (await flint.stats()).workers.map((w) => w.pid as number);
    process.kill(flint.pid, 'SIGKILL');
    for (const pid of workers) if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    await flint.exited;
    for (const pid of workers) while (existsSync(`/proc/${pid}`)) await sleep(10);
    const cut = await first;
    assert.ok(cut.bytes < SIZE, 'the first download was cut by the kill');
    second = await FlintProcess.restart(flint);
    await second.waitForLog((l) => l.event === 'cache.fills_discarded');
    const again = await request({ port, path: '/big' });
    assert.equal(again.status, 200);
    assert.equal(again.body.length, SIZE);
    assert.equal(createHash('sha256').update(again.body).digest('hex'), DIGEST);
    assert.match(String(again.headers['cache-status']), /fwd=miss/, 'refetched, not served half');
    assert.equal(origin.seen.length, 2);
  } finally {
    await second?.stop();
    await flint.stop();
    await origin.close();
  }
});

test('objects survive a restart: hits with zero origin requests', async () => {
  const origin = await TestOrigin.start((req, res) => {
    const small = req.url === '/small';
    res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': String(small ? 100 : SIZE) });
    res.end(small ? BODY.subarray(0, 100) : BODY);
  });
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 1 }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
  let second: FlintProcess | null = null;
  try {
    await request({ port, path: '/small' });
    await request({ port, path: '/big' });
    assert.equal(origin.seen.length, 2);
    assert.equal(await flint.stop(20_000, true), 0);
    second = await FlintProcess.restart(flint);
    const small = await request({ port, path: '/small' });
    const big = await request({ port, path: '/big' });
    assert.deepEqual(small.body, BODY.subarray(0, 100));
    assert.equal(createHash('sha256').update(big.body).digest('hex'), DIGEST);
    assert.equal(origin.seen.length, 2, 'no origin request after the restart');
    assert.equal((await second.stats()).totals.cacheResults.TCP_HIT, 2);
  } finally {
    await second?.stop();
    await origin.close();
  }
});

/** Every block file under `dir` (the cache's sparse block files). */
function blockFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /blocks-\d+\.dat$/.test(name))
    .map((name) => join(dir, name));
}

/** A 1-worker Flint in front of an origin that serves BODY, cacheable for an hour. */
async function cachingOneWorker(): Promise<{ origin: TestOrigin; port: number; flint: FlintProcess }> {
  const origin = await TestOrigin.start((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': String(SIZE) });
    res.end(BODY);
  });
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 1 }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
  return { origin, port, flint };
}

test('a torn block is never served: after a restart the read fails, the object is dropped and refetched', async () => {
  const { origin, port, flint } = await cachingOneWorker();
  let second: FlintProcess | null = null;
  try {
    assert.equal((await download(port, '/big')).sha256, DIGEST);
    assert.equal(await flint.stop(20_000, true), 0);
    const files = blockFiles(flint.dir);
    assert.equal(files.length, 1, `one block file: ${files.join(', ')}`);
    // Tear the middle of the object on disk, as a crash during a block write would (same length, other bytes).
    const fd = openSync(files[0] as string, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, SIZE / 2);
    closeSync(fd);
    second = await FlintProcess.restart(flint);
    const torn = await download(port, '/big');
    assert.ok(torn.error !== null || torn.bytes < SIZE, `the torn copy is cut short, never completed: ${JSON.stringify(torn)}`);
    await second.waitForLog((l) => l.event === 'cache.read_failed');
    const again = await download(port, '/big');
    assert.equal(again.status, 200);
    assert.equal(again.sha256, DIGEST, 'refetched whole and right');
    assert.equal(origin.seen.length, 2, 'the object was fetched again');
  } finally {
    await second?.stop();
    await origin.close();
  }
});

test('a client that leaves in the middle of a large hit is released: nothing stays in flight, stop is prompt', async () => {
  const { origin, port, flint } = await cachingOneWorker();
  try {
    assert.equal((await download(port, '/big')).sha256, DIGEST);
    // Several hits read from the block files, each client gone after its first chunk (the socket still full).
    await Promise.all(
      Array.from({ length: 5 }, () =>
        new Promise<void>((resolve) => {
          const req = httpRequest({ host: '127.0.0.1', port, path: '/big', headers: { host: 'example.com' }, agent: false }, (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          });
          req.on('error', () => resolve());
          req.end();
        }),
      ),
    );
    await waitFor('no request in flight', async () => ((await flint.stats()).totals.activeRequests === 0 ? true : undefined), 5000);
    const started = Date.now();
    assert.equal(await flint.stop(), 0);
    assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
  } finally {
    await flint.stop();
    await origin.close();
  }
});
