/**
 * Partial (block-aligned) origin fetches: a Range on an uncached object fetches only the blocks it covers, later
 * ranges fill in missing blocks, random ranges never cost the origin more than the object's size plus one block,
 * an origin that ignores Range still gives correct answers, and an object that changed at the origin (If-Range
 * mismatch) replaces the partial copy; a purge, expire or hardpurge that runs while a block-range fetch is in flight
 * is not undone when that fetch ends.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB + 12_345;

/** A 64-block object for the tests of ranges that reach far beyond what is cached. */
const LONG = makeBody(3, 64 * MiB);

function makeBody(seed: number, size = SIZE): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + seed + (i >> 11)) & 0xff;
  return body;
}

describe('partial fetches of large objects', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  let body = makeBody(1);
  let etag = '"v1"';
  let honourRange = true;
  /** Body bytes the origin sent, per path. */
  const sent = new Map<string, number>();

  function send(res: ServerResponse, path: string, status: number, headers: Record<string, string>, data: Buffer): void {
    sent.set(path, (sent.get(path) ?? 0) + data.length);
    res.writeHead(status, { ...headers, 'content-length': String(data.length) });
    res.end(data);
  }

  before(async () => {
    origin = await TestOrigin.start((req, res) => {
      const path = req.url ?? '/';
      const data = path.startsWith('/long') ? LONG : body;
      const headers = { 'cache-control': 'max-age=3600', etag, 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      const ifRange = req.headers['if-range'];
      if (!honourRange || range === null || (ifRange !== undefined && ifRange !== etag)) return send(res, path, 200, headers, data);
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), data.length - 1);
      send(res, path, 206, { ...headers, 'content-range': `bytes ${start}-${end}/${data.length}` }, data.subarray(start, end + 1));
    });
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 1, cacheExtra: '<BlockSize>1M</BlockSize>' }),
      vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  async function range(path: string, start: number, end: number): Promise<void> {
    const res = await request({ port, path, headers: { range: `bytes=${start}-${end}` } });
    assert.equal(res.status, 206, `${path} ${start}-${end}`);
    assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${SIZE}`);
    assert.ok(res.body.equals(body.subarray(start, end + 1)), `bytes of ${path} ${start}-${end}`);
  }

  test('a range on an uncached object fetches only the blocks it covers', async () => {
    await range('/a', 100, 199);
    assert.equal(sent.get('/a'), MiB, 'one block');
    assert.equal(origin.seen.at(-1)?.headers.range, `bytes=0-${MiB - 1}`);
    await range('/a', 150, 160);
    assert.equal(sent.get('/a'), MiB, 'a hit on the present block');
    await range('/a', 3 * MiB + 5, 3 * MiB + 500);
    assert.equal(sent.get('/a'), 2 * MiB);
    // Spanning blocks 0..3: only blocks 1 and 2 are missing, fetched side by side (one request each) with If-Range.
    const seenBefore = origin.seen.length;
    await range('/a', 10, 3 * MiB + 10);
    assert.equal(sent.get('/a'), 4 * MiB);
    const fetches = origin.seen.slice(seenBefore);
    assert.deepEqual(fetches.map((r) => r.headers.range).sort(), [`bytes=${MiB}-${2 * MiB - 1}`, `bytes=${2 * MiB}-${3 * MiB - 1}`]);
    for (const fetch of fetches) assert.equal(fetch.headers['if-range'], etag);
  });

  test('random ranges cost the origin at most size + one block, every answer exact', async () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 150; i++) {
      const start = random(SIZE);
      const end = Math.min(SIZE - 1, start + random(300 * 1024));
      await range('/b', start, end);
    }
    assert.ok((sent.get('/b') ?? 0) <= SIZE + MiB, `origin sent ${sent.get('/b')} bytes for a ${SIZE}-byte object`);
    // Complete now or not, a full GET returns the exact object.
    const full = await request({ port, path: '/b' });
    assert.equal(full.status, 200);
    assert.ok(full.body.equals(body));
  });

  test('the tail block (shorter than a block) and a suffix range on a partial object', async () => {
    await range('/c', SIZE - 10, SIZE - 1);
    const suffix = await request({ port, path: '/c', headers: { range: 'bytes=-5' } });
    assert.equal(suffix.status, 206);
    assert.ok(suffix.body.equals(body.subarray(SIZE - 5)));
    assert.equal(sent.get('/c'), SIZE - 8 * MiB, 'only the tail block was fetched');
  });

  test('a block a range fetched stays in block memory: that range and the next one in the block are not read from its file', async () => {
    const before = (await flint.stats()).cache.blockMemory;
    await range('/k', 2 * MiB + 7, 2 * MiB + 70_000);
    await range('/k', 2 * MiB + 100, 2 * MiB + 200);
    const after = (await flint.stats()).cache.blockMemory;
    assert.equal(sent.get('/k'), MiB, 'one block fetched');
    assert.equal(after.misses - before.misses, 0, 'no read from a block file');
    assert.equal(after.hits - before.hits, 2, 'both answers from memory');
    assert.equal(after.blocks - before.blocks, 1);
  });

  test('an open range over a partial object is answered a window of blocks at a time, byte-exact to the end', async () => {
    const res = await request({ port, path: '/long-a', headers: { range: 'bytes=0-10' } });
    assert.equal(res.status, 206);
    const open = await request({ port, path: '/long-a', headers: { range: `bytes=${5 * MiB + 3}-` } });
    assert.equal(open.status, 206);
    assert.equal(open.headers['content-range'], `bytes ${5 * MiB + 3}-${LONG.length - 1}/${LONG.length}`);
    assert.ok(open.body.equals(LONG.subarray(5 * MiB + 3)), 'every byte to the end');
    assert.equal(sent.get('/long-a'), 60 * MiB, 'block 0, then blocks 5-63 once each');
  });

  test('an open range into an uncached object (a seek) fetches from its block on, and bytes=0- fetches it whole', async () => {
    const start = 40 * MiB + 5;
    const seek = await request({ port, path: '/long-c', headers: { range: `bytes=${start}-` } });
    assert.equal(seek.status, 206);
    assert.equal(seek.headers['content-range'], `bytes ${start}-${LONG.length - 1}/${LONG.length}`);
    assert.ok(seek.body.equals(LONG.subarray(start)), 'every byte to the end');
    assert.equal(sent.get('/long-c'), 24 * MiB, 'blocks 40-63, nothing before');
    const asked = origin.seen.filter((r) => r.url === '/long-c').map((r) => Number(/^bytes=(\d+)-/.exec(String(r.headers.range))?.[1]));
    assert.equal(Math.min(...asked), 40 * MiB, 'block-aligned from the block of the seek');
    const whole = await request({ port, path: '/long-d', headers: { range: 'bytes=0-' } });
    assert.equal(whole.status, 206);
    assert.ok(whole.body.equals(LONG));
    assert.deepEqual(origin.seen.filter((r) => r.url === '/long-d').map((r) => r.headers.range), [undefined], 'one request for the whole object');
  });

  test('a client that leaves early in an open range stops the block fetches within two windows', async () => {
    await request({ port, path: '/long-b', headers: { range: 'bytes=0-10' } });
    // Read the head and a little of the body, then go: the object has 63 blocks left to fetch.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(`GET /long-b HTTP/1.1\r\nHost: example.com\r\nRange: bytes=${MiB}-\r\n\r\n`));
      let seen = 0;
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > 64 * 1024) {
          socket.destroy();
          resolve();
        }
      });
      socket.on('error', reject);
    });
    // Fetches still in flight when the client left end; then the count stays.
    let last = -1;
    for (let i = 0; i < 50 && sent.get('/long-b') !== last; i++) {
      last = sent.get('/long-b') ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const fetched = (sent.get('/long-b') ?? 0) / MiB;
    // What the socket buffers took before the client left (a few MiB on loopback), two windows of 4 blocks ahead.
    assert.ok(fetched <= 24, `the origin sent ${fetched} MiB of a 64 MiB object for a client that read 64 KiB`);
  });

  test('an origin that ignores Range: the client still gets its 206, and the object is stored whole', async () => {
    honourRange = false;
    try {
      await range('/d', 5000, 6000);
      assert.equal(sent.get('/d'), SIZE);
      await range('/d', 7 * MiB, 7 * MiB + 10);
      const full = await request({ port, path: '/d' });
      assert.ok(full.body.equals(body));
      assert.equal(sent.get('/d'), SIZE, 'no refetch');
    } finally {
      honourRange = true;
    }
  });

  test('an object changed at the origin (If-Range mismatch) replaces the partial copy', async () => {
    await range('/e', 0, 10);
    body = makeBody(2);
    etag = '"v2"';
    // Block 5 is missing: the If-Range fetch gets a 200 with the new object, which replaces the partial copy.
    const res = await request({ port, path: '/e', headers: { range: `bytes=${5 * MiB}-${5 * MiB + 99}` } });
    assert.equal(res.status, 206);
    assert.ok(res.body.equals(body.subarray(5 * MiB, 5 * MiB + 100)), 'bytes of the new version');
    const first = await request({ port, path: '/e', headers: { range: 'bytes=0-10' } });
    assert.ok(first.body.equals(body.subarray(0, 11)), 'no old bytes mixed in');
  });
});

test('concurrent ranges on a cold object, over 2 workers: one origin request per missing block', async () => {
  const body = makeBody(3);
  const rangesSeen: string[] = [];
  const origin = await TestOrigin.start(async (req, res) => {
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range === null) {
      res.writeHead(200, { 'cache-control': 'max-age=3600', etag: '"c"', 'content-length': String(SIZE) });
      res.end(body);
      return;
    }
    rangesSeen.push(req.headers.range ?? '');
    // Slow enough that every request arrives while the first fetch runs.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), SIZE - 1);
    res.writeHead(206, { 'cache-control': 'max-age=3600', etag: '"c"', 'content-range': `bytes ${start}-${end}/${SIZE}`, 'content-length': String(end - start + 1) });
    res.end(body.subarray(start, end + 1));
  });
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 2, cacheExtra: '<BlockSize>1M</BlockSize>' }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
  try {
    const results = await Promise.all(
      Array.from({ length: 40 }, () => request({ port, path: '/shared', headers: { range: `bytes=${2 * MiB + 10}-${2 * MiB + 5000}` } })),
    );
    for (const res of results) {
      assert.equal(res.status, 206);
      assert.ok(res.body.equals(body.subarray(2 * MiB + 10, 2 * MiB + 5001)));
    }
    const workers = (await flint.stats()).workers.map((w) => w.requests);
    assert.ok(workers.every((n) => n > 0), `both workers served (${workers.join(', ')})`);
    assert.deepEqual(rangesSeen, [`bytes=${2 * MiB}-${3 * MiB - 1}`]);
  } finally {
    await flint.stop();
    await origin.close();
  }
});

/**
 * A purge, expire or hardpurge that returns while a block-range fetch of a partial object is in flight wins over
 * that fetch: the blocks it brings (bytes of the old version) are not merged, so the purged object does not come
 * back fresh (a hardpurged one is not recreated) and no old block is mixed into the new version.
 */
test('a purge while a block-range fetch is in flight: the next requests get the new version whole and byte-exact', async () => {
  let version = 1;
  const bodies = new Map([[1, makeBody(11)], [2, makeBody(12)]]);
  /** Range requests wait for this gate while it is set; `arrived` resolves when one is waiting. */
  let gate: { arrived: () => void; open: Promise<void> } | null = null;
  const origin = await TestOrigin.start(async (req, res) => {
    // The answer is decided when the request arrives (the old version), and sent only once the gate opens.
    const current = version;
    const body = bodies.get(current) as Buffer;
    const etag = `"v${current}"`;
    const headers = { 'cache-control': 'max-age=3600', etag, 'accept-ranges': 'bytes' };
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range === null || (ifRange !== undefined && ifRange !== etag)) {
      res.writeHead(200, { ...headers, 'content-length': String(SIZE) });
      res.end(body);
      return;
    }
    if (gate !== null) {
      gate.arrived();
      await gate.open;
    }
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), SIZE - 1);
    res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${SIZE}`, 'content-length': String(end - start + 1) });
    res.end(body.subarray(start, end + 1));
  });
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 1, cacheExtra: '<BlockSize>1M</BlockSize>' }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
  const get = (path: string, start: number, end: number) => request({ port, path, headers: { range: `bytes=${start}-${end}` } });
  try {
    // cold: the fetch would create the partial record; warm: it would extend one (block 0 already stored).
    for (const command of ['purge', 'expire', 'hardpurge'] as const) {
      for (const warm of [false, true]) {
        const path = `/race-${command}-${warm ? 'warm' : 'cold'}`;
        const what = `${command}, ${warm ? 'partial copy' : 'cold object'}`;
        version = 1;
        if (warm) {
          const res = await get(path, 10, 20);
          assert.ok(res.body.equals((bodies.get(1) as Buffer).subarray(10, 21)), `${what}: block 0 stored`);
        }
        let arrived = (): void => undefined;
        let open = (): void => undefined;
        const waiting = new Promise<void>((resolve) => (arrived = resolve));
        gate = { arrived, open: new Promise<void>((resolve) => (open = resolve)) };
        const inFlight = get(path, 3 * MiB + 5, 3 * MiB + 500);
        await waiting;
        gate = null;
        version = 2;
        const control = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/command/${command}?url=example.com${path}`, method: 'POST' });
        assert.equal(control.status, 200, `${what}: ${control.body.toString()}`);
        open();
        const raced = await inFlight;
        assert.equal(raced.status, 206, what);
        assert.ok([1, 2].some((v) => raced.body.equals((bodies.get(v) as Buffer).subarray(3 * MiB + 5, 3 * MiB + 501))), `${what}: one version's bytes`);
        const v2 = bodies.get(2) as Buffer;
        // The block fetched before the purge (old bytes) must not be served, nor mixed with new blocks around it.
        const same = await get(path, 3 * MiB + 5, 3 * MiB + 500);
        assert.equal(same.headers.etag, '"v2"', `${what}: the new version`);
        assert.ok(same.body.equals(v2.subarray(3 * MiB + 5, 3 * MiB + 501)), `${what}: new bytes of the raced block`);
        const span = await get(path, 0, 5 * MiB);
        assert.equal(span.status, 206, what);
        assert.ok(span.body.equals(v2.subarray(0, 5 * MiB + 1)), `${what}: a span over the raced block is the new version throughout`);
        const whole = await request({ port, path });
        assert.equal(whole.status, 200, what);
        assert.equal(whole.headers.etag, '"v2"', what);
        assert.ok(whole.body.equals(v2), `${what}: the whole new version, byte-exact`);
      }
    }
  } finally {
    await flint.stop();
    await origin.close();
  }
});
