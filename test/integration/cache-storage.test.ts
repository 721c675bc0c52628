/**
 * Storage limits: LRU eviction keeps a disk under its quota (oldest first, recently read objects kept), and a full
 * file system (a real 3 MiB tmpfs, ENOSPC) degrades to pass-through while cached objects keep being served, and a
 * fill that hits it mid-object keeps only a few blocks in memory; a key too long for the index is not an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { INDEX_RECORD_BYTES } from '../../src/cache/index.js';
import { CacheStore } from '../../src/cache/store.js';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import { waitFor } from '../helpers/cache.js';
import { mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';

const KiB = 1024;

/** Deterministic body for a path: 900 KiB (one 1 MiB block each). */
function bodyFor(path: string): Buffer {
  const body = Buffer.alloc(900 * KiB);
  for (let i = 0; i < body.length; i++) body[i] = (i + path.charCodeAt(path.length - 1)) & 0xff;
  return body;
}

function cacheableOrigin(): Promise<TestOrigin> {
  return TestOrigin.start((req, res) => {
    const body = bodyFor(req.url ?? '/');
    res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': String(body.length) });
    res.end(body);
  });
}

function seenCount(origin: TestOrigin, path: string): number {
  return origin.seen.filter((r) => r.url === path).length;
}

/**
 * Starts a 1-worker Flint with 1 MiB blocks and no hot tier (every hit reads the block files); `disk` gives the
 * storage XML that replaces `<Disk>` (quota, mount point, watermarks) from the default cache path.
 */
function startStorageFlint(port: number, origin: TestOrigin, disk: (path: string) => string): Promise<FlintProcess> {
  return FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, cacheExtra: '<BlockSize>1M</BlockSize><ContentMemoryRatio>0</ContentMemoryRatio>' }).replace(
      /<Disk>([^<]+)<\/Disk>/,
      (_all, path: string) => disk(path),
    ),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
}

test('eviction: over HighWater the least recently used objects go until LowWater', async () => {
  const origin = await cacheableOrigin();
  const port = await freePort();
  const flint = await startStorageFlint(port, origin, (path) => `<Disk Quota="8M">${path}</Disk><HighWater>80</HighWater><LowWater>51</LowWater><Eviction Policy="lru"/>`);
  try {
    // Each object counts its 1 MiB block and INDEX_RECORD_BYTES. o1..o6 fill 6 of 8 MiB (75%: below HighWater). Access times are kept in ms, so order is exact.
    for (let i = 1; i <= 6; i++) {
      assert.equal((await request({ port, path: `/o${i}` })).status, 200);
      await sleep(20);
    }
    // Reading o1 and o2 makes them the most recent; touches reach the index within a second.
    await request({ port, path: '/o1' });
    await request({ port, path: '/o2' });
    await sleep(1500);
    assert.equal((await flint.stats()).cache.disks[0]?.evictedObjects, 0);
    // o7 brings the disk to 7 MiB (87.5% > 80%): the evictor frees down to 51% (4.08 MiB) -> o3, o4, o5 go.
    await request({ port, path: '/o7' });
    const deadline = Date.now() + 10_000;
    let disk = (await flint.stats()).cache.disks[0];
    while (Date.now() < deadline && (disk?.evictedObjects ?? 0) === 0) {
      await sleep(100);
      disk = (await flint.stats()).cache.disks[0];
    }
    assert.equal(disk?.evictedObjects, 3);
    assert.equal(disk?.usedBytes, 4 * (1024 * KiB + INDEX_RECORD_BYTES));
    const before = origin.seen.length;
    for (const kept of ['/o1', '/o2', '/o6', '/o7']) {
      const res = await request({ port, path: kept });
      assert.deepEqual(res.body, bodyFor(kept));
      assert.match(String(res.headers['cache-status']), /hit/, `${kept} kept`);
    }
    assert.equal(origin.seen.length, before, 'kept objects are hits');
    for (const evicted of ['/o3', '/o4', '/o5']) {
      const res = await request({ port, path: evicted });
      assert.deepEqual(res.body, bodyFor(evicted));
      assert.equal(seenCount(origin, evicted), 2, `${evicted} was evicted and refetched`);
    }
  } finally {
    await flint.stop();
    await origin.close();
  }
});

test('bodiless objects count their index records against the quota: 1,200 cached 404s under a 1 MiB quota are evicted', async () => {
  const origin = await TestOrigin.start((_req, res) => {
    res.writeHead(404, { 'cache-control': 'max-age=3600', 'content-length': '0' });
    res.end();
  });
  const port = await freePort();
  const flint = await startStorageFlint(port, origin, (path) => `<Disk Quota="1M">${path}</Disk><HighWater>80</HighWater><LowWater>50</LowWater>`);
  try {
    for (let i = 0; i < 1200; i++) assert.equal((await request({ port, path: `/gone/${i}` })).status, 404);
    assert.match(String((await request({ port, path: '/gone/1199' })).headers['cache-status']), /hit/, 'a 404 is stored');
    // Counted at INDEX_RECORD_BYTES each, 1,200 objects are 1,200 KiB: the evictor (once a second) takes the disk
    // back under HighWater (819 objects) each time it is over, down to LowWater (512).
    let disk = (await flint.stats()).cache.disks[0];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && (disk?.objects ?? Infinity) > 819; await sleep(100)) {
      disk = (await flint.stats()).cache.disks[0];
    }
    assert.ok((disk?.objects ?? Infinity) <= 819 && (disk?.usedBytes ?? Infinity) <= 819 * INDEX_RECORD_BYTES, JSON.stringify(disk));
    assert.equal((disk?.objects ?? 0) + (disk?.evictedObjects ?? 0), 1200, JSON.stringify(disk));
  } finally {
    await flint.stop();
    await origin.close();
  }
});

/** Mounts a tmpfs of `size`; null when this machine does not allow it (not root, no CAP_SYS_ADMIN). */
test('a full disk (ENOSPC) degrades to pass-through; cached objects keep being served', async (t) => {
  const mount = mountTmpfs('3m');
  if (mount === null) {
    t.skip('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
    return;
  }
  const origin = await cacheableOrigin();
  const port = await freePort();
  let flint: FlintProcess | null = null;
  try {
    // A quota larger than the file system (without one, the derived quota would keep the disk from filling).
    flint = await startStorageFlint(port, origin, () => `<Disk Quota="64M">${mount}</Disk><HighWater>100</HighWater><LowWater>99</LowWater>`);
    // Fill until the tmpfs is full; every response must still be complete and correct.
    for (let i = 1; i <= 5; i++) {
      const res = await request({ port, path: `/f${i}` });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, bodyFor(`/f${i}`), `/f${i} intact while the disk fills`);
    }
    const degraded = await flint.waitForLog((l) => l.event === 'cache.storage_degraded');
    assert.match(JSON.stringify(degraded), /ENOSPC|no space|quota/i);
    assert.equal(flint.logs.filter((l) => l.event === 'cache.storage_degraded').length, 1, 'logged once');
    // Pass-through for new objects: correct bodies, each request goes to the origin.
    for (let i = 0; i < 2; i++) {
      const res = await request({ port, path: '/new' });
      assert.deepEqual(res.body, bodyFor('/new'));
    }
    assert.equal(seenCount(origin, '/new'), 2);
    // A range on a new object (block leases are index writes too): the right bytes, and the worker stays up.
    const ranged = await request({ port, path: '/ranged', headers: { range: 'bytes=10-99' } });
    assert.deepEqual(ranged.body, ranged.status === 206 ? bodyFor('/ranged').subarray(10, 100) : bodyFor('/ranged'), `a ${ranged.status} with the right bytes`);
    assert.deepEqual(flint.logs.filter((l) => l.event === 'worker.crash' || l.event === 'worker.exit'), [], 'no worker died');
    // The first object was stored before the disk filled: still a hit.
    const hit = await request({ port, path: '/f1' });
    assert.deepEqual(hit.body, bodyFor('/f1'));
    assert.match(String(hit.headers['cache-status']), /hit/);
    assert.equal(seenCount(origin, '/f1'), 1);
  } finally {
    await flint?.stop();
    await origin.close();
    unmountTmpfs(mount);
  }
});

test('blocks a given-up range fill wrote are freed once the disk has room again, though their first release failed (ENOSPC)', async (t) => {
  const mount = mountTmpfs('1m');
  if (mount === null) {
    t.skip('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
    return;
  }
  const disk = { path: join(mount, 'cache'), quotaBytes: 0 };
  const store = new CacheStore(disk, { disks: [disk], blockSizeBytes: 64 * KiB, inlineMaxBytes: KiB, evictionPolicy: 'lru', highWaterPercent: 90, lowWaterPercent: 70 });
  const filler = join(mount, 'filler');
  try {
    const now = Date.now();
    const ids = store.index.allocateBlocks(3, 3, now, 0);
    assert.deepEqual(ids, [0, 1, 2]);
    // Fill the disk to its last byte: the index file cannot take another page.
    const fd = openSync(filler, 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(4 * KiB));
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      closeSync(fd);
    }
    store.releaseUnlisted(ids as number[]);
    assert.match(store.degradedReason, /space/i, 'the failed release degrades storage');
    assert.equal(store.index.allocateBlocks(1, 3, Date.now(), 0), null, 'not released yet: the class has no block to give');
    unlinkSync(filler);
    // The retry (once a second) frees them: all three can be handed out again.
    await waitFor('the blocks released', () => store.index.allocateBlocks(3, 3, Date.now(), 0) ?? undefined);
  } finally {
    await store.close();
    unmountTmpfs(mount);
  }
});

/** VmHWM (peak resident memory) of a process, in bytes. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * KiB;
}

test('a fill that can no longer store (disk full) keeps only a few blocks in memory, not the object', async (t) => {
  const mount = mountTmpfs('3m');
  if (mount === null) {
    t.skip('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
    return;
  }
  const size = 128 * 1024 * KiB;
  const huge = Buffer.alloc(size, 0x68);
  // 128 MiB at about 33 MiB/s, so a reading client keeps up with the fill (it may stall ~240 ms before it is 8
  // blocks behind; at 64 MiB/s a loaded machine cut it) while a paused one falls far behind.
  const origin = await TestOrigin.start(async (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': String(size) });
    for (let at = 0; at < size && !res.destroyed; at += 1024 * KiB) {
      res.write(huge.subarray(at, at + 1024 * KiB));
      await sleep(30);
    }
    res.end();
  });
  const port = await freePort();
  let flint: FlintProcess | null = null;
  try {
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      // A quota larger than the file system, so the fill meets ENOSPC (a derived quota would stop it first).
      server: serverXml({ managerPort, dir, cacheExtra: '<ContentMemoryRatio>0</ContentMemoryRatio>' }).replace(/<Disk>[^<]+<\/Disk>/, `<Disk Quota="1G">${mount}</Disk>`),
      vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
    }));
    const worker = (await flint.stats()).workers[0]?.pid as number;
    const before = peakRss(worker);
    // One client reads at once; another reads one chunk, then stalls until the fill is over.
    const paused = new Promise<number>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/huge', headers: { host: 'example.com' }, agent: false }, (res) => {
        let bytes = 0;
        res.once('data', (c: Buffer) => {
          bytes += c.length;
          res.pause();
          setTimeout(() => res.resume(), 4000);
        });
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve(bytes));
        res.on('error', () => resolve(bytes));
        res.on('aborted', () => resolve(bytes));
      });
      req.on('error', () => resolve(-1));
      req.end();
    });
    const reader = await request({ port, path: '/huge' });
    assert.equal(reader.status, 200);
    assert.equal(reader.body.length, size, 'the client that keeps up gets every byte');
    assert.ok(reader.body.equals(huge));
    await flint.waitForLog((l) => l.event === 'cache.storage_degraded');
    // Dropped blocks are garbage the GC collects in its own time, so the peak is allowed well above the 8 blocks held.
    const grown = peakRss(worker) - before;
    assert.ok(grown < 96 * 1024 * KiB, `the worker's peak memory grew by ${(grown / 1024 / KiB).toFixed(1)} MiB for a 128 MiB object`);
    // The stalled client fell more than the held blocks behind: it is cut, and released.
    assert.ok((await paused) < size, 'the stalled client does not get the whole object from memory');
    await waitForIdle(flint);
  } finally {
    await flint?.stop();
    await origin.close();
    unmountTmpfs(mount);
  }
});

test('a URL too long to be an index key passes through, and storage keeps working (it crashed the worker)', async () => {
  const origin = await TestOrigin.start((req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': '5' });
    res.end('hello');
  });
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
  try {
    // lmdb keys are at most 1978 bytes; the object key holds the whole URL.
    const long = `/long/${'a'.repeat(2500)}`;
    for (let i = 0; i < 2; i++) {
      const res = await request({ port, path: long });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hello');
      assert.equal(res.headers['cache-status'], undefined, 'passed through, not cached');
    }
    assert.equal(seenCount(origin, long), 2);
    // Not a storage error: the next object is stored and hit as usual.
    assert.match(String((await request({ port, path: '/short' })).headers['cache-status']), /stored/);
    assert.match(String((await request({ port, path: '/short' })).headers['cache-status']), /hit/);
    assert.equal(seenCount(origin, '/short'), 1);
  } finally {
    await flint.stop();
    await origin.close();
  }
});

/** Waits until no request is in flight (a cut client is released too). */
async function waitForIdle(flint: FlintProcess): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await flint.stats()).totals.activeRequests !== 0) {
    assert.ok(Date.now() < deadline, 'requests still in flight 5 s after the fill ended');
    await sleep(50);
  }
}

test('size classes: a body of at most 3/4 of a block is stored in the smallest slot that holds it, not a whole block; so is the last part of a longer body', async () => {
  const sizes: Record<string, number> = { s: 20 * KiB, m: 60 * KiB, l: 300 * KiB, x: 900 * KiB, t: 2048 * KiB + 100 * KiB, u: 1024 * KiB + 800 * KiB };
  const bodyOf = (path: string): Buffer => {
    const size = sizes[path.slice(1, 2)] ?? 1;
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i++) body[i] = (i * 7 + path.length + path.charCodeAt(path.length - 1)) & 0xff;
    return body;
  };
  const origin = await TestOrigin.start((req, res) => {
    const body = bodyOf(req.url ?? '/');
    res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': String(body.length) });
    res.end(body);
  });
  const port = await freePort();
  let flint = await startStorageFlint(port, origin, (path) => `<Disk Quota="8M">${path}</Disk>`);
  // 40 x 20 KiB in 24 KiB slots (3/4 of 32 KiB), 60 KiB in 64 KiB, 300 KiB in 384 KiB (3/4 of 512 KiB), 900 KiB in a
  // whole 1 MiB block: 2.4 MiB. With a whole block each the 43 objects would need 43 MiB of an 8 MiB quota. A body of
  // 2 MiB + 100 KiB takes two whole blocks and a 128 KiB tail slot; one whose last 800 KiB pass 3/4 of a block, two.
  const paths = [...Array.from({ length: 40 }, (_, i) => `/s${i}`), '/m0', '/l0', '/x0', '/t0', '/u0'];
  const expectedBytes = 40 * 24 * KiB + 64 * KiB + 384 * KiB + 1024 * KiB + (2048 + 128) * KiB + 2048 * KiB + paths.length * INDEX_RECORD_BYTES;
  try {
    for (const path of paths) assert.deepEqual((await request({ port, path })).body, bodyOf(path), `${path} on its miss`);
    let disk = (await flint.stats()).cache.disks[0];
    for (const deadline = Date.now() + 5000; Date.now() < deadline && disk?.usedBytes !== expectedBytes; await sleep(100)) {
      disk = (await flint.stats()).cache.disks[0];
    }
    assert.equal(disk?.usedBytes, expectedBytes, 'each object counts its slot size');
    assert.equal(disk?.objects, paths.length);
    assert.equal(disk?.evictedObjects, 0);
    const files = readdirSync(join(flint.dir, 'cache', 'blocks')).sort();
    assert.deepEqual(files, ['blocks-0.dat', 'blocks-c17-0.dat', 'blocks-c21-0.dat', 'blocks-c3-0.dat', 'blocks-c4-0.dat']);
    assert.equal(await flint.stop(20_000, true), 0);
    // The slots are found again after a restart: every object a hit with the same bytes, no origin request.
    flint = await FlintProcess.restart(flint);
    const before = origin.seen.length;
    for (const path of paths) {
      const res = await request({ port, path });
      assert.deepEqual(res.body, bodyOf(path), `${path} after the restart`);
      assert.match(String(res.headers['cache-status']), /hit/, `${path} is a hit`);
    }
    const tail = await request({ port, path: '/t0', headers: { range: 'bytes=2097000-' } });
    assert.equal(tail.status, 206);
    assert.deepEqual(tail.body, bodyOf('/t0').subarray(2097000, 2199552), 'a range into the tail slot');
    assert.equal(origin.seen.length, before, 'no origin request after the restart');
  } finally {
    await flint.stop();
    await origin.close();
  }
});

test('a cache at its quota keeps storing new objects while the blocks it just evicted wait out their grace period', async () => {
  const origin = await cacheableOrigin();
  const port = await freePort();
  const flint = await startStorageFlint(port, origin, (path) => `<Disk Quota="4M">${path}</Disk><HighWater>80</HighWater><LowWater>50</LowWater>`);
  try {
    // 12 objects of one whole block each through a 4-block quota, one at a time as the evictor (once a second)
    // makes room: every block id is then in use or freed moments ago (the grace period is 120 s), yet each new
    // object is stored and its second request is a hit. Each request waits until the index shows room for its
    // block: a fixed pause raced the evictor on a loaded machine (two objects met a full quota in one CI run).
    const roomFor = 3 * (1024 * KiB + INDEX_RECORD_BYTES);
    let stored = 0;
    for (let i = 1; i <= 12; i++) {
      const path = `/q${i}`;
      await waitFor('room for one more block', async () => ((await flint.stats()).cache.disks[0]?.usedBytes ?? Infinity) <= roomFor || undefined);
      assert.deepEqual((await request({ port, path })).body, bodyFor(path));
      const again = await request({ port, path });
      if (/hit/.test(String(again.headers['cache-status']))) stored++;
    }
    assert.equal(stored, 12, `${stored} of 12 objects stored`);
    for (const path of ['/q11', '/q12']) assert.equal(seenCount(origin, path), 1, `${path} is a hit`);
    const disk = (await flint.stats()).cache.disks[0];
    assert.ok((disk?.evictedObjects ?? 0) >= 8, `evicted ${disk?.evictedObjects}`);
    assert.ok((disk?.usedBytes ?? Infinity) <= 4 * (1024 * KiB + INDEX_RECORD_BYTES), `used ${disk?.usedBytes} bytes`);
    assert.deepEqual(flint.logs.filter((l) => l.event === 'cache.storage_degraded'), [], 'never degraded to pass-through');
  } finally {
    await flint.stop();
    await origin.close();
  }
});
