/**
 * Pass-through proxying through a real Flint (primary + 1 worker) to scripted origins: methods and bodies,
 * header rules, origin failures, client aborts, access records.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

const MiB = 1024 * 1024;
const PASS_ONLY = '<Options><Caching>OFF</Caching></Options>';

/** A deterministic pseudo-random stream of `size` bytes, produced lazily (never held in memory whole). */
function patternStream(size: number, chunk = 256 * 1024): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(chunk, size - sent);
      const buf = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) buf[i] = (sent + i) % 251;
      sent += n;
      this.push(buf);
    },
  });
}

function patternDigest(size: number): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(MiB);
  for (let off = 0; off < size; off += MiB) {
    const n = Math.min(MiB, size - off);
    for (let i = 0; i < n; i++) buf[i] = (off + i) % 251;
    hash.update(buf.subarray(0, n));
  }
  return hash.digest('hex');
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? '0');
}

describe('pass-through proxy', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  let deadPort: number;
  let slow: TestOrigin;

  before(async () => {
    origin = await TestOrigin.start((req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/echo')) {
        // Streams the request body back with its sha256 in a trailer-free header computed afterwards: echo + count.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-method': req.method ?? '' });
        req.pipe(res);
      } else if (url === '/slow-digest') {
        req.pause();
        setTimeout(() => req.resume(), 1000);
        const hash = createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => {
          n += c.length;
          hash.update(c);
        });
        req.on('end', () => res.end(JSON.stringify({ bytes: n, sha256: hash.digest('hex') })));
      } else if (url.startsWith('/big/')) {
        const size = Number(url.slice(5));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
        patternStream(size).pipe(res);
      } else if (url === '/headers') {
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
        res.setHeader('x-multi', ['one', 'two']);
        res.setHeader('connection', 'x-origin-secret');
        res.setHeader('x-origin-secret', 'must-not-pass');
        res.setHeader('keep-alive', 'timeout=5');
        res.end(JSON.stringify(req.headers));
      } else if (url === '/head-check') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' });
        res.end(req.method === 'HEAD' ? undefined : 'hello world');
      } else if (url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part1-');
        setTimeout(() => res.end('part2'), 20);
      } else if (url === '/slow-body') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(4 * MiB) });
        res.write(Buffer.alloc(64 * 1024, 1));
        // never finishes on its own: the client aborts
      } else {
        res.end('ok');
      }
    });
    port = await freePort();
    deadPort = await freePort();
    slow = await TestOrigin.start(async (_req, res) => {
      await sleep(3000);
      res.end('late');
    });
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 1 }),
      // Pass-through semantics are tested with caching off; test/integration/cache-*.test.ts cover the cache path.
      vhosts: vhostXml([
        { name: 'example.com', port, origin: origin.address, extra: PASS_ONLY },
        { name: 'dead.test', port, origin: `127.0.0.1:${deadPort}`, extra: PASS_ONLY },
        { name: 'slow.test', port, origin: slow.address, extra: `${PASS_ONLY}<OriginOptions><ReceiveTimeout>1</ReceiveTimeout></OriginOptions>` },
      ]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
    await slow?.close();
  });

  test('GET passes status, headers and body through', async () => {
    const res = await request({ port, path: '/plain?x=1' });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'ok');
    assert.equal(origin.seen.at(-1)?.url, '/plain?x=1');
    assert.equal(origin.seen.at(-1)?.headers.host, 'example.com');
  });

  test('HEAD gets the origin headers and Content-Length without a body', async () => {
    const res = await request({ port, path: '/head-check', method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], '11');
    assert.equal(res.body.length, 0);
    assert.equal(origin.seen.at(-1)?.method, 'HEAD');
  });

  test('POST and PUT bodies reach the origin and come back', async () => {
    for (const method of ['POST', 'PUT']) {
      const res = await request({ port, path: '/echo', method, body: `payload for ${method}` });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-method'], method);
      assert.equal(res.body.toString(), `payload for ${method}`);
    }
  });

  test('a chunked origin response is relayed chunked', async () => {
    const res = await request({ port, path: '/chunked' });
    assert.equal(res.body.toString(), 'part1-part2');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
  });

  test('50 MiB streams both ways with backpressure, never buffered whole in the worker', async () => {
    const size = 50 * MiB;
    // Upload: the origin reads nothing for 1 s. With backpressure the client can only fill socket buffers by then;
    // a proxy that buffered bodies would have swallowed all 50 MiB.
    let uploadedBeforeOriginRead = -1;
    const upload = patternStream(size);
    let pushed = 0;
    upload.on('data', (c: Buffer) => (pushed += c.length));
    const up = request({ port, path: '/slow-digest', method: 'POST', body: upload, headers: { 'content-length': String(size) } });
    setTimeout(() => (uploadedBeforeOriginRead = pushed), 900);
    const upRes = await up;
    assert.deepEqual(JSON.parse(upRes.body.toString()), { bytes: size, sha256: patternDigest(size) });
    assert.ok(uploadedBeforeOriginRead >= 0 && uploadedBeforeOriginRead < 24 * MiB, `client sent ${(uploadedBeforeOriginRead / MiB).toFixed(1)} MiB while the origin was not reading`);
    // Download: the client reads nothing for 700 ms; the worker's memory must not take the body meanwhile.
    const pid = (await flint.stats()).workers[0]?.pid ?? 0;
    assert.ok(pid > 0);
    const digest = await new Promise<{ bytes: number; sha256: string; growthMiB: number }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: `/big/${size}`, headers: { host: 'example.com' }, agent: false }, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        res.pause();
        const before = rssKiB(pid);
        let growthMiB = 0;
        setTimeout(() => {
          growthMiB = (rssKiB(pid) - before) / 1024;
          res.resume();
        }, 700);
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          hash.update(c);
        });
        res.on('end', () => resolve({ bytes, sha256: hash.digest('hex'), growthMiB }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(digest.bytes, size);
    assert.equal(digest.sha256, patternDigest(size));
    assert.ok(digest.growthMiB < 24, `worker RSS grew ${digest.growthMiB.toFixed(1)} MiB while the client was not reading`);
  });

  test('repeated headers are kept; hop-by-hop and Connection-named headers are stripped both ways', async () => {
    const res = await request({
      port,
      path: '/headers',
      headers: {
        connection: 'x-client-secret',
        'x-client-secret': 'nope',
        te: 'trailers',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'x-forwarded-for': '203.0.113.9',
        'x-keep': 'yes',
      },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
    const multi = res.rawHeaders.filter((_, i, a) => i % 2 === 1 && a[i - 1]?.toLowerCase() === 'x-multi');
    assert.deepEqual(multi, ['one', 'two']);
    assert.equal(res.headers['x-origin-secret'], undefined);
    assert.equal(res.headers['keep-alive'], undefined);
    const seen = JSON.parse(res.body.toString()) as Record<string, string>;
    assert.equal(seen['x-client-secret'], undefined);
    assert.equal(seen.te, undefined);
    assert.equal(seen['proxy-authorization'], undefined);
    assert.equal(seen['x-keep'], 'yes');
    assert.equal(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.match(seen.via ?? '', /flint/);
  });

  test('origin refusing connections (its only member) gives 503 with a clear body; the cause goes to the access log only', async () => {
    const res = await request({ port, host: 'dead.test', path: '/x' });
    assert.equal(res.status, 503);
    assert.equal(res.body.toString(), '503 Service Unavailable: no origin available\n');
    assert.equal(res.headers['cache-control'], 'no-store');
    await sleep(100);
    const record = flint.accessLog().find((r) => r.vhost === 'dead.test' && r.url === '/x');
    assert.equal(record?.error, 'FLINT_ERR_ORIGIN_DOWN');
    assert.match(String(record?.errorDetail), /ECONNREFUSED/);
  });

  test('origin slower than ReceiveTimeout gives 504', async () => {
    const started = Date.now();
    const res = await request({ port, host: 'slow.test', path: '/x' });
    assert.equal(res.status, 504);
    assert.equal(res.body.toString(), '504 Gateway Timeout: origin response timed out\n');
    assert.ok(Date.now() - started < 2900, 'answered before the origin did');
  });

  test('client abort mid-body stops the origin transfer and is logged as aborted', async () => {
    const originClosed = new Promise<void>((resolve) => {
      const previous = origin.handler;
      origin.handler = (req, res) => {
        if (req.url === '/slow-body') res.on('close', () => resolve());
        return previous(req, res);
      };
    });
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/slow-body', headers: { host: 'example.com' }, agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end();
      setTimeout(() => reject(new Error('no body bytes')), 5000);
    });
    await originClosed;
    await sleep(300);
    const record = flint.accessLog().find((r) => r.url === '/slow-body');
    assert.ok(record, 'access record written');
    assert.equal(record.transactionStatus, 'aborted');
    assert.equal(record.status, 200);
  });

  test('every transaction has one access record with the STON fields', async () => {
    await request({ port, path: '/logged' });
    await sleep(300);
    const records = flint.accessLog().filter((r) => r.url === '/logged');
    assert.equal(records.length, 1);
    const r = records[0] as Record<string, unknown>;
    assert.equal(r.vhost, 'example.com');
    assert.equal(r.method, 'GET');
    assert.equal(r.status, 200);
    assert.equal(r.cacheResult, 'PASS');
    assert.equal(r.transactionStatus, 'complete');
    assert.equal(r.origin, origin.address);
    assert.equal(r.clientIp, '127.0.0.1');
    assert.equal(typeof r.ttfbMs, 'number');
    assert.equal(typeof r.totalMs, 'number');
    assert.equal(r.bytesSent, 2);
  });
});
