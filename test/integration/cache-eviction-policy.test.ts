/**
 * <Eviction Policy> in a running Flint, across a restart: an object hit several times, then a restart (the primary
 * rebuilds its policy from the index: objects by last access, placed by their hit counts), then a scan of 20
 * objects asked for once through a quota of 7 of them. Under s3fifo and wtinylfu the hot object is still a hit
 * after the scan (s3fifo stores the scan as it goes, in its small queue; wtinylfu's admission turns the scanned
 * objects away as they leave its window); under lru, the control, the scan pushes it out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

const KiB = 1024;

/** 900 KiB bodies: one 1 MiB block each, so an 8 MiB quota holds 7 objects at the 97% HighWater. */
function bodyFor(path: string): Buffer {
  return Buffer.alloc(900 * KiB, path.charCodeAt(path.length - 1));
}

const isHit = (res: { headers: Record<string, string | string[] | undefined> }): boolean => /hit/.test(String(res.headers['cache-status']));

for (const [policy, survives] of [['s3fifo', true], ['wtinylfu', true], ['lru', false]] as const) {
  test(`${policy}: an object hit often before a restart ${survives ? 'survives' : 'does not survive'} a scan after it`, async () => {
    const origin = await TestOrigin.start((req, res) => {
      const body = bodyFor(req.url ?? '/');
      res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-length': String(body.length) });
      res.end(body);
    });
    const port = await freePort();
    const seen = (path: string): number => origin.seen.filter((r) => r.url === path).length;
    let flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, cacheExtra: '<BlockSize>1M</BlockSize><ContentMemoryRatio>0</ContentMemoryRatio>' }).replace(
        /<Disk>([^<]+)<\/Disk>/,
        (_all, path: string) => `<Disk Quota="8M">${path}</Disk><Eviction Policy="${policy}"/>`,
      ),
      vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
    }));
    try {
      assert.equal((await request({ port, path: '/hot' })).status, 200);
      for (let i = 0; i < 4; i++) assert.ok(isHit(await request({ port, path: '/hot' })), 'hot is a hit');
      for (const path of ['/a1', '/a2', '/a3']) assert.equal((await request({ port, path })).status, 200);
      await sleep(1500); // the worker's touches (with the hit counts) reach the index
      assert.equal(await flint.stop(20_000, true), 0);
      flint = await FlintProcess.restart(flint);

      for (let i = 1; i <= 20; i++) {
        assert.equal((await request({ port, path: `/s${i}` })).status, 200);
        await sleep(150); // the evictor checks every 100 ms
      }
      const disk = (await flint.stats()).cache.disks[0];
      assert.ok((disk?.evictedObjects ?? 0) >= 10, `evicted ${disk?.evictedObjects}`);
      if (policy !== 'wtinylfu') assert.ok(isHit(await request({ port, path: '/s20' })), 'the scan is stored as it goes');
      const hot = await request({ port, path: '/hot' });
      assert.deepEqual(hot.body, bodyFor('/hot'));
      if (survives) {
        assert.ok(isHit(hot), `hot after the scan: ${String(hot.headers['cache-status'])}`);
        assert.equal(seen('/hot'), 1);
      } else {
        assert.equal(seen('/hot'), 2, 'the control: lru evicted the hot object');
      }
    } finally {
      await flint.stop();
      await origin.close();
    }
  });
}
