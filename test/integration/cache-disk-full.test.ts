/**
 * A disk without a Quota on a small real file system (a 20 MiB tmpfs; issue 19): the quota is derived from the file
 * system at start and logged, the evictor counts Flint's own bytes (comparing the file system's usage evicted every
 * object while the disk stayed full), the block files of mixed object sizes stay within the quota, and on a file
 * system filled by someone else eviction and /command/hardpurge still work (the index reserve).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import { mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';
import { CacheIndex } from '../../src/cache/index.js';
import type { FillRecord } from '../../src/cache/index.js';
import { DiskReserve } from '../../src/cache/disk-space.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Body sizes cycled through: whole 1 MiB blocks and three smaller slot classes. */
const SIZES = [900 * KiB, 300 * KiB, 90 * KiB, 20 * KiB];

function bodyFor(path: string): Buffer {
  const n = Number(/\d+/.exec(path)?.[0] ?? 0);
  const body = Buffer.alloc(SIZES[n % SIZES.length] as number);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + n) & 0xff;
  return body;
}

function startOrigin(): Promise<TestOrigin> {
  return TestOrigin.start((req, res) => {
    const body = bodyFor(req.url ?? '/');
    res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': String(body.length) });
    res.end(body);
  });
}

/** Mounts a tmpfs of `size`; null when this machine does not allow it (not root, no CAP_SYS_ADMIN). */
function startFlint(port: number, origin: TestOrigin, mount: string): Promise<FlintProcess> {
  return FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, cacheExtra: '<BlockSize>1M</BlockSize><ContentMemoryRatio>0</ContentMemoryRatio>' }).replace(/<Disk>[^<]+<\/Disk>/, `<Disk>${mount}</Disk>`),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
}

/** Writes `path` in chunks of `chunkBytes` until its file system is full (ENOSPC, which must be the error). */
function fillUp(path: string, chunkBytes: number): void {
  const fd = openSync(path, 'w');
  try {
    const chunk = Buffer.alloc(chunkBytes, 1);
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}

function freeBytes(dir: string): number {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
}

test('no Quota on a 20 MiB file system: a derived quota, eviction by own bytes, the disk never full, new objects stored', async (t) => {
  const mount = mountTmpfs('20m');
  if (mount === null) {
    t.skip('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
    return;
  }
  const origin = await startOrigin();
  const port = await freePort();
  let flint: FlintProcess | null = null;
  try {
    flint = await startFlint(port, origin, mount);
    const derived = await flint.waitForLog((l) => l.event === 'cache.quota_derived');
    const quota = derived.quotaBytes as number;
    assert.ok(quota > 16 * MiB && quota <= 18 * MiB, `derived quota ${quota}: about 90% of 20 MiB`);
    // About 45 MiB of objects of four sizes through a 20 MiB file system, each answer intact.
    let minFree = Number.MAX_SAFE_INTEGER;
    for (let i = 0; i < 120; i++) {
      const res = await request({ port, path: `/o${i}` });
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(bodyFor(`/o${i}`)), `/o${i} intact`);
      minFree = Math.min(minFree, freeBytes(mount));
      if (i % 8 === 7) await sleep(150);
    }
    await sleep(1500);
    const disk = (await flint.stats()).cache.disks[0];
    assert.equal(disk?.limitBytes, quota);
    assert.ok((disk?.objects ?? 0) > 8, `objects stay cached (${disk?.objects}), the evictor did not empty the cache`);
    assert.ok((disk?.usedBytes ?? 0) <= quota, 'own bytes within the quota');
    assert.ok(minFree >= 1 * MiB, `the file system never filled up (least free: ${minFree} bytes)`);
    assert.deepEqual(
      flint.logs.filter((l) => l.event === 'cache.storage_degraded' || l.event === 'cache.evict_failed').map((l) => l.event),
      [],
    );
    // New objects of every size are still stored: a second request is a hit.
    for (let i = 1000; i < 1004; i++) await request({ port, path: `/n${i}` });
    await sleep(300);
    for (let i = 1000; i < 1004; i++) {
      const res = await request({ port, path: `/n${i}` });
      assert.ok(res.body.equals(bodyFor(`/n${i}`)));
      assert.match(String(res.headers['cache-status']), /hit/, `/n${i} (${bodyFor(`/n${i}`).length} bytes) stored`);
    }
  } finally {
    await flint?.stop();
    await origin.close();
    unmountTmpfs(mount);
  }
});

test('a file system filled by someone else: eviction and hardpurge still work (the index reserve)', async (t) => {
  const mount = mountTmpfs('20m');
  if (mount === null) {
    t.skip('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
    return;
  }
  const origin = await startOrigin();
  const port = await freePort();
  let flint: FlintProcess | null = null;
  const filler = join(mount, 'filler');
  try {
    flint = await startFlint(port, origin, mount);
    for (let i = 0; i < 12; i++) assert.equal((await request({ port, path: `/o${i}` })).status, 200);
    await sleep(1200);
    // Another program fills the file system to the last byte.
    fillUp(filler, 64 * KiB);
    // A hard purge deletes index records, which takes new LMDB pages.
    const purged: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`http://127.0.0.1:${flint.managerPort}/command/hardpurge`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `url=example.com/o${i}`,
      });
      purged.push(res.status);
      await res.arrayBuffer();
    }
    assert.deepEqual(purged, Array(8).fill(200), `every hardpurge answered 200; warnings:\n${flint.logs.filter((l) => (l.level as number) >= 40).map((l) => JSON.stringify(l)).join('\n')}`);
    // Whether these purges needed the reserve depends on how many freed pages LMDB still had to reuse (the next
    // test forces the case); when they did, it was released once and comes back below.
    const released = flint.logs.some((l) => l.event === 'cache.reserve_released');
    // Purged: a miss again, with the right bytes.
    const again = await request({ port, path: '/o1' });
    assert.ok(again.body.equals(bodyFor('/o1')));
    await sleep(1500);
    assert.deepEqual(flint.logs.filter((l) => l.event === 'cache.evict_failed').map((l) => l.err), [], 'the evictor never failed');
    // Once there is room again, the reserve comes back.
    unlinkSync(filler);
    if (released) await flint.waitForLog((l) => l.event === 'cache.reserve_restored', 5000);
  } finally {
    await flint?.stop();
    await origin.close();
    unmountTmpfs(mount);
  }
});

test('an index write on a full file system releases the reserve once and succeeds (the reserve, forced)', async (t) => {
  const mount = mountTmpfs('4m');
  if (mount === null) {
    t.skip('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
    return;
  }
  const index = new CacheIndex(join(mount, 'index'));
  const filler = join(mount, 'filler');
  try {
    const reserve = new DiskReserve(mount);
    assert.equal(reserve.ensure(), true);
    let released = 0;
    index.onNoSpace = () => {
      released++;
      return reserve.release();
    };
    fillUp(filler, 16 * KiB);
    // New fill records grow the tree until LMDB must extend its file: that write fails for want of space, the
    // reserve goes and the same write is retried and committed. Bounded: the file system has no room for more.
    const now = Date.now();
    let written = 0;
    for (; written < 50_000 && released === 0; written++) {
      const hash = createHash('sha256').update(`r${written}`).digest().subarray(0, 16);
      const record: FillRecord = { id: `f${written}`, pid: process.pid, until: now + 60_000, state: 'filling', status: 0, headers: null, timing: null, size: -1, blockSize: 4096, blocks: [], crcs: [] };
      assert.equal(index.acquireLease(hash, record, now, () => true).acquired, true, `record ${written} written`);
    }
    assert.equal(released, 1, `the reserve was needed after ${written} records`);
    assert.equal(reserve.release(), false, 'the reserve file is gone');
    const last = createHash('sha256').update(`r${written - 1}`).digest().subarray(0, 16);
    assert.equal(index.getFill(last)?.id, `f${written - 1}`, 'the retried write committed');
  } finally {
    await index.close();
    unmountTmpfs(mount);
  }
});
