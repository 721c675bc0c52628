/**
 * A worker's memory while it fills a 1 GiB object for one client that keeps up and 20 that read slowly stays
 * bounded by its buffers, not by the object's size (issue 19: the filling worker went from ~66 MB to ~730 MB RSS
 * and stayed there; measured ~900 MB peak on this test before the fix, ~135 MB after). The origin produces the body
 * from one reused 1 MiB buffer, so the test holds no copy of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { ClientRequest } from 'node:http';
import { MiB, startCacheFlint, startRoutedOrigin } from '../helpers/cache.js';

const HOST = 'big.test';
const SIZE = 1024 * MiB;
const SLOW_CLIENTS = 20;
/** Peak RSS growth allowed: 20 slow clients' read buffers, the pool of block buffers, and the fill's 8 queued blocks. */
const MAX_GROWTH_MIB = 250;

/** The body's repeating 1 MiB: a sparse pattern (one changed byte per page). */
const UNIT = Buffer.alloc(MiB, 0x5a);
for (let i = 0; i < UNIT.length; i += 4096) UNIT[i] = (i >> 12) & 0xff;

function expectedDigest(): string {
  const hash = createHash('sha256');
  for (let i = 0; i < SIZE / MiB; i++) hash.update(UNIT);
  return hash.digest('hex');
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 'NaN');
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

test('filling a 1 GiB object with 20 slow clients keeps the worker within its buffers', async (t) => {
  const origin = await startRoutedOrigin({
    '/big': (_req, res) => {
      res.writeHead(200, { 'content-length': String(SIZE), 'cache-control': 'max-age=600' });
      let sent = 0;
      const pump = (): void => {
        while (sent < SIZE) {
          sent += UNIT.length;
          if (!res.write(UNIT)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    },
  });
  const { flint, port } = await startCacheFlint([{ name: HOST, origin }]);
  const requests: ClientRequest[] = [];
  try {
    const worker = (await flint.stats()).workers[0]?.pid as number;
    const before = memoryOf(worker);
    const get = (slow: boolean): Promise<{ bytes: number; digest: string }> =>
      new Promise((resolve, reject) => {
        const hash = createHash('sha256');
        let bytes = 0;
        const req = httpRequest({ host: '127.0.0.1', port, path: '/big', headers: { host: HOST }, agent: false }, (res) => {
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (!slow) return void hash.update(chunk);
            // A slow client: a chunk every 200 ms, so its socket stays full and Flint must hold back.
            res.pause();
            setTimeout(() => res.resume(), 200);
          });
          res.on('end', () => resolve({ bytes, digest: slow ? '' : hash.digest('hex') }));
          // Slow clients are cut at the end of the test.
          res.on('error', (error) => (slow ? resolve({ bytes, digest: '' }) : reject(error)));
        });
        req.on('error', (error) => (slow ? resolve({ bytes, digest: '' }) : reject(error)));
        req.end();
        requests.push(req);
      });
    const fast = get(false);
    for (let i = 0; i < SLOW_CLIENTS; i++) void get(true);
    const done = await fast;
    assert.equal(done.bytes, SIZE, 'the client that keeps up gets the whole body');
    assert.equal(done.digest, expectedDigest());
    const after = memoryOf(worker);
    const growth = after.peak - before.rss;
    t.diagnostic(`worker RSS ${before.rss.toFixed(0)} MiB before, peak ${after.peak.toFixed(0)} MiB, ${after.rss.toFixed(0)} MiB after`);
    assert.ok(growth < MAX_GROWTH_MIB, `the worker's peak RSS grew by ${growth.toFixed(0)} MiB (from ${before.rss.toFixed(0)} to ${after.peak.toFixed(0)} MiB)`);
  } finally {
    for (const req of requests) req.destroy();
    await flint.stop();
    await origin.close();
  }
});
