/**
 * DIMS images (issue 21) through a real Flint with 2 workers and a real origin, with images made by sharp at test
 * time and every result decoded (sharp metadata) for format and size: a variant is converted from the cached
 * original (one origin request for the original and all its variants), once across workers for N concurrent
 * clients, then a hit with no conversion; format/auto keeps one variant per chosen format with Vary: Accept; a purge
 * of the original drops its variants and a changed original is converted again; a truncated JPEG and a PNG whose
 * header claims 20000x20000 are served as they are, failed once (counted, logged, image log); an animated GIF keeps
 * `limit/N` frames; malformed chains get 400 with no origin request; a full queue answers 503 + Retry-After; an
 * original above MaxSourceSize is served as it is; hits on a 1 KiB object keep their latency while 8 conversions run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { FlintProcess } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { cacheStatus, isHit, reply, seenFor, startCacheFlint, startRoutedOrigin, vhostStats, waitFor } from '../helpers/cache.js';
import { idleAvailable, threadPolicies } from '../helpers/sched.js';

const HOST = 'img.test';

async function jpeg(width: number, height: number, seed = 0): Promise<Buffer> {
  // Noise, not a flat colour: encoders and resizers then do real work, as with photographs.
  const channels = 3;
  const raw = Buffer.alloc(width * height * channels);
  let x = 2463534242 + seed;
  for (let i = 0; i < raw.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    raw[i] = (x >>> 0) & 0xff;
  }
  return sharp(raw, { raw: { width, height, channels } }).jpeg({ quality: 85 }).toBuffer();
}

async function decoded(res: TestResponse): Promise<{ format: string; width: number; height: number; pages: number }> {
  const meta = await sharp(res.body, { pages: -1, limitInputPixels: false }).metadata();
  return { format: meta.format === 'heif' ? 'avif' : String(meta.format), width: meta.width, height: meta.pageHeight ?? meta.height, pages: meta.pages ?? 1 };
}

interface DimsCounts {
  conversions: number;
  failures: number;
  refused: number;
  msSum: number;
  originRequests: number;
}

describe('DIMS (2 workers)', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  let photo: Buffer;

  const get = (path: string, headers: Record<string, string> = {}): Promise<TestResponse> => request({ port, path, host: HOST, headers });
  const counts = async (): Promise<DimsCounts> => {
    const v = (await vhostStats(flint, HOST)) as unknown as Record<string, number>;
    return { conversions: v.dimsConversions ?? 0, failures: v.dimsFailures ?? 0, refused: v.dimsRefused ?? 0, msSum: v.dimsMsSum ?? 0, originRequests: v.originRequests ?? 0 };
  };
  const image = (body: Buffer, type: string, etag: string, maxAge = 3600): Route => (_req, res) => reply(res, 200, { 'content-type': type, 'cache-control': `max-age=${maxAge}`, etag }, body);

  before(async () => {
    photo = await jpeg(1600, 1200);
    routes['/img/photo.jpg'] = image(photo, 'image/jpeg', '"p1"');
    origin = await startRoutedOrigin(routes);
    ({ flint, port } = await startCacheFlint(
      [{ name: HOST, origin, extra: '<Options><Dims Status="Active" MaxSourceSize="10" MaxPixels="50000000"/></Options><Log><Image>ON</Image></Log>' }],
      { workers: 2 },
    ));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('a resize is converted from the cached original: right format and size, own ETag, one origin request', async () => {
    const res = await get('/img/photo.jpg/dims/resize/400x/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.deepEqual(await decoded(res), { format: 'jpeg', width: 400, height: 300, pages: 1 });
    assert.equal(Number(res.headers['content-length']), res.body.length);
    assert.match(String(res.headers.etag), /^"dims-[0-9a-f]+-[0-9a-f]+"$/);
    assert.notEqual(res.headers.etag, '"p1"');
    // The original itself is unchanged, from the cache.
    const original = await get('/img/photo.jpg');
    assert.deepEqual(original.body, photo);
    assert.ok(isHit(original), cacheStatus(original));
    const webp = await get('/img/photo.jpg/dims/resize/200x150/format/webp/quality/80/');
    assert.equal(webp.headers['content-type'], 'image/webp');
    assert.deepEqual(await decoded(webp), { format: 'webp', width: 200, height: 150, pages: 1 });
    const avif = await get('/img/photo.jpg/dims/thumbnail/100x100!/format/avif');
    assert.deepEqual(await decoded(avif), { format: 'avif', width: 100, height: 100, pages: 1 });
    const cropped = await get('/img/photo.jpg/dims/crop/300x200+10+10/grayscale/true/format/png');
    assert.deepEqual(await decoded(cropped), { format: 'png', width: 300, height: 200, pages: 1 });
    assert.equal(seenFor(origin, '/img/photo.jpg').length, 1, 'the original and all its variants: one origin request');
    // Conditional and Range requests work on the variant's own bytes.
    const notModified = await get('/img/photo.jpg/dims/resize/400x/', { 'if-none-match': String(res.headers.etag) });
    assert.equal(notModified.status, 304);
    const part = await get('/img/photo.jpg/dims/resize/400x/', { range: 'bytes=0-99' });
    assert.equal(part.status, 206);
    assert.deepEqual(part.body, res.body.subarray(0, 100));
  });

  test('N concurrent clients of a new variant across both workers: one origin request, one conversion; then hits with none', async () => {
    const body = await jpeg(1200, 900, 7);
    routes['/img/crowd.jpg'] = image(body, 'image/jpeg', '"c1"');
    const before = await counts();
    const N = 16;
    const all = await Promise.all(Array.from({ length: N }, () => get('/img/crowd.jpg/dims/resize/300x/format/webp')));
    for (const res of all) {
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, all[0]?.body, 'every client got the same bytes');
    }
    assert.deepEqual(await decoded(all[0] as TestResponse), { format: 'webp', width: 300, height: 225, pages: 1 });
    assert.equal(seenFor(origin, '/img/crowd.jpg').length, 1, 'one origin request');
    const afterBurst = await waitFor('conversion counted', async () => {
      const c = await counts();
      return c.conversions > before.conversions ? c : undefined;
    });
    assert.equal(afterBurst.conversions - before.conversions, 1, 'one conversion across both workers');
    assert.ok(afterBurst.msSum > before.msSum, 'milliseconds per conversion are counted');
    const hits = await Promise.all(Array.from({ length: 8 }, () => get('/img/crowd.jpg/dims/resize/300x/format/webp')));
    for (const hit of hits) {
      assert.ok(isHit(hit), cacheStatus(hit));
      assert.deepEqual(hit.body, all[0]?.body);
    }
    assert.equal((await counts()).conversions, afterBurst.conversions, 'hits convert nothing');
  });

  test('format/auto: AVIF, WebP or the source format by Accept, one variant per format, Vary: Accept', async () => {
    const body = await jpeg(800, 600, 3);
    routes['/img/auto.jpg'] = image(body, 'image/jpeg', '"a1"');
    const before = await counts();
    const path = '/img/auto.jpg/dims/resize/200x/format/auto';
    const avif = await get(path, { accept: 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8' });
    const webp = await get(path, { accept: 'image/webp,*/*' });
    const plain = await get(path, { accept: '*/*' });
    assert.equal((await decoded(avif)).format, 'avif');
    assert.equal((await decoded(webp)).format, 'webp');
    assert.equal((await decoded(plain)).format, 'jpeg');
    for (const res of [avif, webp, plain]) assert.match(String(res.headers.vary), /accept/i);
    // Other Accept strings choosing the same formats are hits on the same three variants.
    const again = [await get(path, { accept: 'image/avif' }), await get(path, { accept: 'text/html,image/webp' }), await get(path)];
    assert.deepEqual(await Promise.all(again.map(async (r) => (await decoded(r)).format)), ['avif', 'webp', 'jpeg']);
    for (const res of again) assert.ok(isHit(res), cacheStatus(res));
    const after = await waitFor('three conversions', async () => {
      const c = await counts();
      return c.conversions - before.conversions >= 3 ? c : undefined;
    });
    assert.equal(after.conversions - before.conversions, 3, 'one conversion per chosen format');
  });

  test('a purge of the original drops its variants; a changed original (new ETag) is converted again', async () => {
    let version = 1;
    const first = await jpeg(1000, 500, 11);
    const second = await jpeg(600, 600, 12);
    routes['/img/changing.jpg'] = (_req, res) => reply(res, 200, { 'content-type': 'image/jpeg', 'cache-control': 'max-age=1', etag: `"v${version}"` }, version === 1 ? first : second);
    const path = '/img/changing.jpg/dims/resize/100x/';
    assert.deepEqual(await decoded(await get(path)), { format: 'jpeg', width: 100, height: 50, pages: 1 });
    const c1 = await counts();
    assert.equal((await flint.admin(`/command/purge?url=${HOST}/img/changing.jpg`)).status, 200);
    const afterPurge = await get(path);
    assert.deepEqual(await decoded(afterPurge), { format: 'jpeg', width: 100, height: 50, pages: 1 });
    assert.equal(seenFor(origin, '/img/changing.jpg').length, 2, 'the purge dropped the original: fetched again');
    const c2 = await waitFor('reconversion after purge', async () => {
      const c = await counts();
      return c.conversions > c1.conversions ? c : undefined;
    });
    assert.equal(c2.conversions - c1.conversions, 1, 'the purge dropped the variant: converted again');
    // The original changes at the origin; once the cached copy expires, its variant follows the new bytes.
    version = 2;
    await new Promise((r) => setTimeout(r, 2100));
    const changed = await get(path);
    assert.deepEqual(await decoded(changed), { format: 'jpeg', width: 100, height: 100, pages: 1 }, 'the variant of the new original');
    assert.equal((await get(path)).body.length, changed.body.length);
  });

  test('a truncated JPEG and a 20000x20000 PNG header: the original is served, the failure counted and logged once', async () => {
    const full = await jpeg(800, 600, 5);
    const truncated = full.subarray(0, Math.floor(full.length / 2));
    routes['/img/broken.jpg'] = image(truncated, 'image/jpeg', '"b1"');
    const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: 'white' } }).png().toBuffer());
    png.writeUInt32BE(20000, 16);
    png.writeUInt32BE(20000, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
    routes['/img/bomb.png'] = image(png, 'image/png', '"bomb"');
    const before = await counts();
    for (let i = 0; i < 3; i++) {
      const res = await get('/img/broken.jpg/dims/resize/100x/');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, truncated, 'the original, as the origin sent it');
      assert.equal(res.headers['content-type'], 'image/jpeg');
    }
    const bomb = await get('/img/bomb.png/dims/resize/100x/');
    assert.deepEqual(bomb.body, png);
    const after = await waitFor('failures counted', async () => {
      const c = await counts();
      return c.failures - before.failures >= 2 ? c : undefined;
    });
    // Each worker tries an object once at most; three requests over two workers fail at most twice for broken.jpg.
    assert.ok(after.failures - before.failures <= 3, `failures ${after.failures - before.failures}`);
    const logged = flint.logs.filter((l) => (l as Record<string, unknown>).event === 'dims.failed');
    assert.ok(logged.length >= 2 && logged.length <= 3, `dims.failed lines: ${logged.length}`);
    const imageLog = await waitFor('image log lines', () => {
      let text = '';
      try {
        text = readFileSync(join(flint.dir, 'var', 'log', 'image.log'), 'utf8');
      } catch {
        return undefined;
      }
      const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      return lines.some((l) => l.reason === 'too-many-pixels') ? lines : undefined;
    });
    const converted = imageLog.find((l) => l.result === 'converted' && l.source === '/img/photo.jpg');
    assert.ok(converted !== undefined, 'conversions are in the image log');
    assert.equal(converted.sourceSize, '1600x1200');
    assert.equal(typeof converted.ms, 'number');
    assert.ok(imageLog.some((l) => l.result === 'failed' && l.reason === 'corrupt' && l.source === '/img/broken.jpg'));
  });

  test('an animated GIF keeps limit/N frames; firstframeonly keeps one', async () => {
    const frames = await Promise.all([1, 2, 3, 4].map((i) => sharp({ create: { width: 60, height: 40, channels: 3, background: { r: i * 50, g: 100, b: 0 } } }).png().toBuffer()));
    routes['/img/anim.gif'] = image(await sharp(frames, { join: { animated: true } }).gif().toBuffer(), 'image/gif', '"g1"');
    assert.deepEqual(await decoded(await get('/img/anim.gif/dims/resize/30x')), { format: 'gif', width: 30, height: 20, pages: 4 });
    assert.deepEqual(await decoded(await get('/img/anim.gif/dims/resize/30x/limit/2')), { format: 'gif', width: 30, height: 20, pages: 2 });
    assert.deepEqual(await decoded(await get('/img/anim.gif/dims/firstframeonly/on/resize/30x')), { format: 'gif', width: 30, height: 20, pages: 1 });
  });

  test('malformed chains get 400 before any origin request; other paths are untouched', async () => {
    routes['/img/never.jpg'] = image(photo, 'image/jpeg', '"n"');
    for (const path of ['/img/never.jpg/dims/explode/1', '/img/never.jpg/dims/resize/99999x1', '/img/never.jpg/dims/resize', '/img/never.jpg/dims/quality/50/quality/60', '/img/never.jpg/dims/resize/1%2F1', `/img/never.jpg/dims${'/grayscale/true'.repeat(40)}`]) {
      const res = await get(path);
      assert.equal(res.status, 400, path.slice(0, 60));
      assert.doesNotMatch(res.body.toString(), /explode|99999|%2F/, 'the client input is not echoed');
    }
    assert.equal(seenFor(origin, '/img/never.jpg').length, 0);
  });

  test('conversions run in a converter process at SCHED_IDLE and nice 10, never in the worker; hits go on meanwhile (p99 logged)', async () => {
    routes['/small.txt'] = (_req, res) => reply(res, 200, { 'content-type': 'text/plain', 'cache-control': 'max-age=3600' }, Buffer.alloc(1024, 120));
    await get('/small.txt');
    const big = await jpeg(2000, 1500, 21);
    routes['/img/heavy.jpg'] = image(big, 'image/jpeg', '"h"');
    await get('/img/heavy.jpg');
    const measure = async (ms: number): Promise<number[]> => {
      const times: number[] = [];
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const t = performance.now();
        const res = await request({ port, path: '/small.txt', host: HOST });
        times.push(performance.now() - t);
        assert.equal(res.body.length, 1024);
      }
      return times.sort((a, b) => a - b);
    };
    const p99 = (t: number[]): number => t[Math.min(t.length - 1, Math.floor(t.length * 0.99))] ?? 0;
    const quiet = await measure(1000);
    const conversions = Promise.all(Array.from({ length: 8 }, (_, i) => get(`/img/heavy.jpg/dims/resize/${600 + i}x/format/avif`)));
    const busy = await measure(1000);
    // Where the work runs is what keeps hits fast (in the worker's own process their p99 went from ~4 ms to ~280 ms
    // on this 2-core machine): the structure is asserted, the latency only reported (no timed assertions in tests).
    const workers = ((await flint.stats()).workers ?? []).map((w) => w.pid).filter((pid): pid is number => pid !== null);
    assert.ok(workers.length > 0, 'worker pids in /stats');
    const converters = childrenOf(workers).filter((c) => c.cmdline.includes('converter-process'));
    assert.ok(converters.length > 0, 'a converter process runs under a worker');
    for (const c of converters) assert.ok(c.nice >= 10, `converter ${c.pid} runs at nice ${c.nice}`);
    // SCHED_IDLE (policy 5) on every converter thread, so a hit's wakeup preempts a conversion at once.
    if (idleAvailable()) for (const c of converters) assert.deepEqual(threadPolicies(c.pid), [5], `converter ${c.pid} threads' scheduling policies`);
    for (const pid of workers) assert.doesNotMatch(readFileSync(`/proc/${pid}/maps`, 'utf8'), /libvips/, `worker ${pid} never loads libvips`);
    const results = await conversions;
    for (const res of results) assert.equal((await decoded(res)).format, 'avif');
    console.log(`1 KiB hit latency: quiet p50 ${quiet[quiet.length >> 1]?.toFixed(2)} ms p99 ${p99(quiet).toFixed(2)} ms (${quiet.length} hits); during 8 conversions p50 ${busy[busy.length >> 1]?.toFixed(2)} ms p99 ${p99(busy).toFixed(2)} ms (${busy.length} hits)`);
  });
});

/** Processes whose parent is one of `parents`: pid, niceness (/proc stat field 19) and command line. */
function childrenOf(parents: readonly number[]): Array<{ pid: number; nice: number; cmdline: string }> {
  const out: Array<{ pid: number; nice: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (!parents.includes(Number(fields[1]))) continue;
      out.push({ pid: Number(entry), nice: Number(fields[16]), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

describe('DIMS queue limit (1 worker, Concurrency 1, Queue 0)', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  before(async () => {
    origin = await startRoutedOrigin(routes);
    ({ flint, port } = await startCacheFlint(
      [
        { name: HOST, origin, extra: '<Options><Dims Status="Active"/></Options>' },
        { name: 'small.test', origin, extra: '<Options><Dims Status="Active" MaxSourceSize="1"/></Options>' },
      ],
      { workers: 1, cacheExtra: '<Dims Concurrency="1" Queue="0" Timeout="30"/>' },
    ));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('beyond the queue a new variant gets 503 with Retry-After; cached variants are still served', async () => {
    routes['/img/q.jpg'] = (_req, res) => reply(res, 200, { 'content-type': 'image/jpeg', 'cache-control': 'max-age=3600' }, body);
    const body = await jpeg(2000, 1500, 31);
    const get = (path: string): Promise<TestResponse> => request({ port, path, host: HOST });
    await get('/img/q.jpg');
    const cached = await get('/img/q.jpg/dims/resize/50x');
    assert.equal(cached.status, 200);
    const burst = await Promise.all(Array.from({ length: 4 }, (_, i) => get(`/img/q.jpg/dims/resize/${700 + i}x/format/avif`)));
    const refused = burst.filter((r) => r.status === 503);
    const served = burst.filter((r) => r.status === 200);
    assert.ok(refused.length >= 1, `statuses ${burst.map((r) => r.status).join(',')}`);
    assert.ok(served.length >= 1);
    for (const r of refused) assert.match(String(r.headers['retry-after']), /^\d+$/);
    const again = await get('/img/q.jpg/dims/resize/50x');
    assert.ok(isHit(again), cacheStatus(again));
    const v = (await vhostStats(flint, HOST)) as unknown as Record<string, number>;
    assert.equal(v.dimsRefused, refused.length);
    const metrics = await (await fetch(`http://127.0.0.1:${flint.managerPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`flint_dims_refused_total\\{vhost="img\\.test"\\} ${refused.length}`));
    assert.match(metrics, /flint_dims_conversions_total\{vhost="img\.test"\} [1-9]/);
  });

  test('an original above MaxSourceSize is served as it is, not converted', async () => {
    const large = await jpeg(1600, 1200, 41);
    assert.ok(large.length > 1024 * 1024, `${large.length} bytes`);
    routes['/img/large.jpg'] = (_req, res) => reply(res, 200, { 'content-type': 'image/jpeg', 'cache-control': 'max-age=3600' }, large);
    const res = await request({ port, path: '/img/large.jpg/dims/resize/100x', host: 'small.test' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, large);
    const v = (await vhostStats(flint, 'small.test')) as unknown as Record<string, number>;
    assert.equal(v.dimsConversions ?? 0, 0);
    assert.equal(v.dimsFailures ?? 0, 0);
  });
});
