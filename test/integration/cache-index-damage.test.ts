/**
 * A damaged LMDB index (issue 19): pages overwritten, a bad header or a truncated file in a stopped Flint make it
 * start cold (the index moved aside, logged) and serve correct bytes refetched from the origin, instead of crashing
 * at start; bytes changed inside an inline body are never served (its checksum); pages damaged while Flint runs
 * make the keys on them pass through to the origin without killing the worker that read them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

const PAGE = 4096;
const SMALL = 120;
const LARGE = 20 * 1024;

/** Deterministic body of a path: /s<n> are small (inline in the index), /b<n> larger (in block files). */
function bodyFor(path: string): Buffer {
  const size = path.startsWith('/s') ? SMALL : LARGE;
  const text = `<${path}>`.padEnd(24, '.');
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = text.charCodeAt(i % text.length);
  return body;
}

const PATHS = [...Array.from({ length: 300 }, (_, i) => `/s${i}`), ...Array.from({ length: 40 }, (_, i) => `/b${i}`)];

function startOrigin(): Promise<TestOrigin> {
  return TestOrigin.start((req, res) => {
    const body = bodyFor(req.url ?? '/');
    res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': String(body.length) });
    res.end(body);
  });
}

function startFlint(port: number, origin: TestOrigin): Promise<FlintProcess> {
  return FlintProcess.start(({ dir, managerPort }) => ({
    // No hot tier: every hit reads the index.
    server: serverXml({ managerPort, dir, workers: 1, cacheExtra: '<ContentMemoryRatio>0</ContentMemoryRatio>' }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
}

function indexFile(flint: FlintProcess): string {
  return join(flint.dir, 'cache', 'index', 'index.lmdb');
}

/** Requests every path and asserts each answer is the origin's bytes; returns how many the origin served again. */
async function assertAllCorrect(port: number, origin: TestOrigin): Promise<number> {
  const before = origin.seen.length;
  for (const path of PATHS) {
    const res = await request({ port, path });
    assert.equal(res.status, 200, `${path}: status`);
    assert.ok(res.body.equals(bodyFor(path)), `${path}: wrong bytes (${res.body.length} bytes: ${res.body.subarray(0, 40).toString('latin1')})`);
  }
  return origin.seen.length - before;
}

/** Fills the cache with PATHS, stops Flint (keeping its directory), damages the index with `damage`, restarts. */
async function damagedRestart(damage: (file: string) => void): Promise<{ flint: FlintProcess; origin: TestOrigin; port: number }> {
  const origin = await startOrigin();
  const port = await freePort();
  const first = await startFlint(port, origin);
  assert.equal(await assertAllCorrect(port, origin), PATHS.length);
  assert.equal(await assertAllCorrect(port, origin), 0, 'every object is cached before the damage');
  await first.stop(20_000, true);
  damage(indexFile(first));
  const flint = await FlintProcess.restart(first);
  return { flint, origin, port };
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Pseudo-random bytes (a fixed seed: the same damage on every run). */
function garbage(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const DAMAGES: ReadonlyArray<{ readonly name: string; readonly damage: (file: string) => void }> = [
  { name: 'truncated to a third', damage: (file) => truncateSync(file, Math.floor(statSync(file).size / 3 / PAGE) * PAGE) },
  { name: 'header (both meta pages) overwritten', damage: (file) => overwrite(file, 0, garbage(2 * PAGE, 7)) },
  {
    name: 'pages in the middle overwritten',
    damage: (file) => {
      const pages = Math.floor(statSync(file).size / PAGE);
      overwrite(file, Math.floor(pages / 4) * PAGE, garbage(Math.max(1, Math.floor(pages / 2)) * PAGE, 11));
    },
  },
  {
    name: 'pages in the middle zeroed',
    damage: (file) => {
      const pages = Math.floor(statSync(file).size / PAGE);
      overwrite(file, Math.floor(pages / 3) * PAGE, Buffer.alloc(Math.max(1, Math.floor(pages / 3)) * PAGE));
    },
  },
];

for (const { name, damage } of DAMAGES) {
  test(`damaged index (${name}): Flint starts cold, logs it and serves the origin's bytes`, async () => {
    const { flint, origin, port } = await damagedRestart(damage);
    try {
      const logged = await flint.waitForLog((l) => l.event === 'cache.index_damaged', 5000);
      assert.equal(logged.disk, join(flint.dir, 'cache'));
      assert.ok(existsSync(join(flint.dir, 'cache', 'index.damaged', 'index.lmdb')), 'the damaged index is kept aside');
      // Started cold: every object is fetched again, and all bytes are right; then it caches again.
      assert.equal(await assertAllCorrect(port, origin), PATHS.length);
      assert.equal(await assertAllCorrect(port, origin), 0);
      assert.deepEqual(
        (await flint.stats()).workers.map((w) => w.restarts),
        [0],
      );
    } finally {
      await flint.stop();
      await origin.close();
    }
  });
}

test('16 changed bytes inside an inline body are never served: the copy is dropped and refetched', async () => {
  const target = '/s17';
  const { flint, origin, port } = await damagedRestart((file) => {
    const data = readFileSync(file);
    const at = data.indexOf(bodyFor(target).subarray(0, 48));
    assert.ok(at > 0, 'the inline body is in the index file');
    overwrite(file, at + 40, Buffer.alloc(16, 0x5a));
  });
  try {
    const res = await request({ port, path: target });
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(bodyFor(target)), `wrong bytes served: ${res.body.toString('latin1')}`);
    assert.equal(origin.seen.filter((r) => r.url === target).length, 2, 'refetched from the origin');
    await flint.waitForLog((l) => l.event === 'cache.inline_corrupt');
    // Every other object is still a hit, and the refetched one is stored again.
    assert.equal(await assertAllCorrect(port, origin), 0);
  } finally {
    await flint.stop();
    await origin.close();
  }
});

test('pages damaged while Flint runs: the keys on them pass through, the worker lives, the next start is cold', async () => {
  const origin = await startOrigin();
  const port = await freePort();
  const flint = await startFlint(port, origin);
  try {
    assert.equal(await assertAllCorrect(port, origin), PATHS.length);
    const file = indexFile(flint);
    const pages = Math.floor(statSync(file).size / PAGE);
    // Zeroed leaf pages under a running Flint (the mapping shares the page cache): lmdb reports them corrupt.
    overwrite(file, Math.floor(pages / 3) * PAGE, Buffer.alloc(Math.max(1, Math.floor(pages / 3)) * PAGE));
    // Every answer is still the origin's bytes, twice over (a failing key is not retried from the index).
    await assertAllCorrect(port, origin);
    await assertAllCorrect(port, origin);
    await flint.waitForLog((l) => l.event === 'cache.index_read_failed');
    // The primary stops walking the damaged index (LMDB aborts a process whose cursor meets a zeroed page), and
    // lives through the sweeps and eviction passes of the next seconds.
    await flint.waitForLog((l) => l.event === 'cache.index_abandoned' && l.role === 'primary');
    await sleep(2500);
    assert.deepEqual(
      (await flint.stats()).workers.map((w) => w.restarts),
      [0],
      'no worker died',
    );
    assert.equal(flint.child.exitCode, null, 'the primary lives');
    assert.ok(existsSync(join(flint.dir, 'cache', 'index-damaged')), 'the next start discards the index');
    await flint.stop(20_000, true);
    const again = await FlintProcess.restart(flint);
    try {
      await again.waitForLog((l) => l.event === 'cache.index_damaged');
      assert.equal(await assertAllCorrect(port, origin), PATHS.length);
      assert.equal(await assertAllCorrect(port, origin), 0);
    } finally {
      await again.stop();
    }
  } finally {
    await flint.stop();
    await origin.close();
  }
});
