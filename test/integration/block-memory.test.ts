/**
 * The block memory through a real Flint (primary + 1 worker): the blocks of a body too large for the hot tier are
 * kept in memory from their second read, served from there byte for byte, and never served for another object
 * that reuses their block ids (a 3 MiB quota forces the refetch after a purge into the same blocks).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { INDEX_RECORD_BYTES } from '../../src/cache/index.js';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import { isHit, reply, seenFor, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import type { TestOrigin } from '../helpers/origin.js';

const HOST = 'blocks.test';
const MIB = 1024 * 1024;
/** Three whole 1 MiB blocks, over the default HotObjectMaxSize (1M); each version has other bytes. */
const SIZE = 3 * MIB;
const V1 = patterned(SIZE, 1);
const V2 = patterned(SIZE, 2);
let current = V1;

let origin: TestOrigin;
let flint: FlintProcess;
let port: number;
const get = (path: string) => request({ port, path, host: HOST });

before(async () => {
  origin = await startRoutedOrigin({
    '/large': (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600', etag: current === V1 ? '"v1"' : '"v2"' }, current),
  });
  port = await freePort();
  // The quota holds exactly the object's three blocks and its index records (4 KiB of a fourth block, which it
  // cannot allocate); HighWater 100 keeps the evictor off it.
  flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir }).replace(/<Disk>([^<]+)<\/Disk>/, (_all, path: string) => `<Disk Quota="3076K">${path}</Disk><HighWater>100</HighWater><LowWater>90</LowWater>`),
    vhosts: vhostXml([{ name: HOST, port, origin: origin.address }]),
  }));
});

after(async () => {
  assert.deepEqual(flint.logs.filter((l) => l.event === 'worker.exit' || l.event === 'worker.crash'), [], 'no worker died');
  await flint?.stop();
  await origin?.close();
});

/** Stored and committed: the miss is answered before its commit, so wait for a hit. */
async function cached(path: string, body: Buffer): Promise<void> {
  await waitFor(`${path} cached`, async () => {
    const res = await get(path);
    assert.ok(res.body.equals(body), `${path}: ${res.body.length} bytes, not the expected version`);
    return isHit(res) ? true : undefined;
  });
}

test('blocks of a large body enter memory on their second read and are then served from there, byte for byte', async () => {
  await cached('/large', V1);
  // The hit above read the 3 blocks once (remembered); the next read keeps them.
  const before = await waitFor('the three blocks held', async () => {
    assert.ok((await get('/large')).body.equals(V1));
    const memory = (await flint.stats()).cache.blockMemory;
    return memory.blocks === 3 ? memory : undefined;
  });
  assert.equal(before.bytes, SIZE);
  assert.equal((await flint.stats()).cache.hot.objects, 0, 'a 3 MiB body is not in the hot tier');
  const bodies = await Promise.all([1, 2, 3, 4].map(() => get('/large')));
  for (const res of bodies) assert.ok(isHit(res) && res.body.equals(V1), 'a hit with the exact body');
  const after = (await flint.stats()).cache.blockMemory;
  assert.equal(after.hits - before.hits, 12, 'four responses x three blocks from memory');
  assert.equal(seenFor(origin, '/large').length, 1);
});

test('an object refetched into the same block ids is never answered with the old blocks from memory (hard purge, full quota)', async () => {
  const purged = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/command/hardpurge?url=${HOST}/large`, method: 'POST' });
  assert.equal(purged.status, 200, purged.body.toString());
  current = V2;
  // The 3 MiB quota is full of released blocks, so the new copy reuses them (inside their grace period).
  await cached('/large', V2);
  for (let i = 0; i < 4; i++) {
    const res = await get('/large');
    assert.ok(isHit(res) && res.body.equals(V2), `hit ${i}: the old version's bytes came back`);
  }
  const disk = (await flint.stats()).cache.disks[0];
  assert.ok(disk !== undefined && disk.usedBytes <= SIZE + INDEX_RECORD_BYTES, `the new copy fits the quota only by reusing blocks: ${disk?.usedBytes}`);
  assert.equal(seenFor(origin, '/large').length, 2);
});

/** `size` bytes from a seeded generator: two seeds give bodies that differ throughout. */
function patterned(size: number, seed: number): Buffer {
  const body = Buffer.allocUnsafe(size);
  for (let i = 0, x = seed; i < size; i++, x = (x * 1103515245 + 12345) >>> 0) body[i] = x >>> 24;
  return body;
}
