/**
 * Several `<Disk>`s (issue 19: only the first was ever used): objects spread across them by key, in proportion to
 * their quotas, /stats reports each, and a disk that fails (its directory removed under a running Flint) loses only
 * its own objects while the other keeps serving and caching, its URLs included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskSet } from '../../src/cache/disks.js';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import type { Logger } from '../../src/log.js';

const KiB = 1024;

function bodyFor(path: string): Buffer {
  const body = Buffer.alloc(20 * KiB);
  for (let i = 0; i < body.length; i++) body[i] = (i + path.length * 31 + path.charCodeAt(path.length - 1)) & 0xff;
  return body;
}

const SILENT = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;

test('keys spread over the disks in proportion to their quotas, the same way in every process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-disks-'));
  const storage = {
    disks: [
      { path: join(dir, 'a'), quotaBytes: 300 * 1024 * KiB },
      { path: join(dir, 'b'), quotaBytes: 100 * 1024 * KiB },
    ],
    blockSizeBytes: 1024 * KiB,
    inlineMaxBytes: KiB,
    evictionPolicy: 'lru' as const,
    highWaterPercent: 90,
    lowWaterPercent: 70,
  };
  const one = new DiskSet(storage, 0, SILENT);
  const other = new DiskSet(storage, 0, SILENT);
  try {
    const counts = [0, 0];
    for (let i = 0; i < 20_000; i++) {
      const primary = `example.com\n/object/${i}`;
      const disk = one.pick(primary);
      counts[disk] = (counts[disk] ?? 0) + 1;
      assert.equal(other.pick(primary), disk, 'every process picks the same disk');
    }
    const share = (counts[0] ?? 0) / 20_000;
    assert.ok(share > 0.72 && share < 0.78, `disk a (3/4 of the quota) got ${share} of the keys`);
    // A failed disk's keys move to the others; no other key moves.
    const before = Array.from({ length: 2000 }, (_, i) => one.pick(`example.com\n/k${i}`));
    one.stores[1]?.fail(new Error('test'));
    for (let i = 0; i < 2000; i++) assert.equal(one.pick(`example.com\n/k${i}`), 0);
    assert.ok(before.includes(1) && before.includes(0));
    // A block write that finds the device gone (here: its block directory removed) fails that disk.
    const store = other.stores[1];
    assert.ok(store !== undefined && !store.failed);
    rmSync(join(dir, 'b', 'blocks'), { recursive: true, force: true });
    await assert.rejects(store.writeBlock(0, Buffer.alloc(4096)), { code: 'ENOENT' });
    assert.equal(store.failed, true);
    for (let i = 0; i < 2000; i++) assert.equal(other.pick(`example.com\n/k${i}`), 0);
  } finally {
    await one.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two disks: both hold objects, /stats reports each; one removed under a running Flint, the other serves and caches', async () => {
  const origin = await TestOrigin.start((req, res) => {
    const body = bodyFor(req.url ?? '/');
    res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': String(body.length) });
    res.end(body);
  });
  const port = await freePort();
  let diskA = '';
  let diskB = '';
  const flint = await FlintProcess.start(({ dir, managerPort }) => {
    diskA = join(dir, 'cache-a');
    diskB = join(dir, 'cache-b');
    return {
      server: serverXml({ managerPort, dir, cacheExtra: '<ContentMemoryRatio>0</ContentMemoryRatio>' }).replace(
        /<Disk>[^<]+<\/Disk>/,
        `<Disk Quota="64M">${diskA}</Disk><Disk Quota="64M">${diskB}</Disk>`,
      ),
      vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
    };
  });
  const paths = Array.from({ length: 40 }, (_, i) => `/o${i}`);
  const fetchAll = async (): Promise<void> => {
    for (const path of paths) {
      const res = await request({ port, path });
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(bodyFor(path)), `${path} intact`);
    }
  };
  const seen = (): number => origin.seen.length;
  try {
    await fetchAll();
    await fetchAll();
    assert.equal(seen(), 40, 'all cached');
    const disks = (await flint.stats()).cache.disks;
    assert.deepEqual(
      disks.map((d) => d.path),
      [diskA, diskB],
    );
    const [onA, onB] = disks.map((d) => d.objects);
    assert.equal((onA ?? 0) + (onB ?? 0), 40);
    assert.ok((onA ?? 0) >= 8 && (onB ?? 0) >= 8, `objects spread over both disks (${onA}, ${onB})`);
    // Disk b goes away.
    rmSync(diskB, { recursive: true, force: true });
    await flint.waitForLog((l) => l.event === 'cache.disk_failed' && l.disk === diskB, 5000);
    // Disk a's objects are still hits; disk b's are fetched again, once, and cached on disk a.
    await fetchAll();
    assert.equal(seen(), 40 + (onB ?? 0), "only disk b's objects were refetched");
    await fetchAll();
    await sleep(1200);
    assert.equal(seen(), 40 + (onB ?? 0), 'and cached again, on disk a');
    const after = (await flint.stats()).cache.disks;
    assert.equal(after[0]?.objects, 40);
    // New URLs are cached too.
    for (let i = 0; i < 2; i++) await request({ port, path: '/new' });
    assert.equal(origin.seen.filter((r) => r.url === '/new').length, 1);
    assert.deepEqual(
      (await flint.stats()).workers.map((w) => w.restarts),
      [0],
    );
  } finally {
    await flint.stop();
    await origin.close();
  }
});
