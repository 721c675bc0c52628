/**
 * A failed response must never look like a success (issue 19): before the first body byte an origin failure is a
 * complete 502/504, a torn first block is refetched; once body bytes went out, the head is complete and the client
 * can see the body was cut (Content-Length not reached, or chunked without its last chunk, and a closed
 * connection). Checked on raw socket bytes and with curl's exit code, for cache misses (stored-size bodies), pass
 * -through, origins that hang after the head, a corrupted block on disk and followers in another worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { openSync, readSync, writeSync, closeSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { rawExchange } from '../helpers/http.js';
import { MiB, accessRecordsFor, patternBody, reply, seenFor, startCacheFlint, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import type { CacheFlint, Route } from '../helpers/cache.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import { FlintProcess, sleep } from '../helpers/flint.js';

const HOST = 'fail.test';
const PASS_HOST = 'failpass.test';
/** Never excluded: these tests make the origin fail on purpose, many times. */
const NO_EXCLUSION = '<OriginOptions><Exclusion>0</Exclusion><ReceiveTimeout>1</ReceiveTimeout></OriginOptions>';

/** A raw response split into its parts: the status, the head (complete or not), the body bytes after it. */
interface RawResponse {
  readonly status: number;
  /** True when the head ended with its blank line. */
  readonly headComplete: boolean;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly closedByServer: boolean;
}

async function rawGet(port: number, host: string, path: string, waitMs = 4000): Promise<RawResponse> {
  const exchange = await rawExchange(port, [`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`], 0, waitMs);
  const bytes = Buffer.from(exchange.received, 'latin1');
  const end = bytes.indexOf('\r\n\r\n');
  const headText = (end < 0 ? bytes : bytes.subarray(0, end)).toString('latin1');
  const lines = headText.split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headComplete: end >= 0, headers, body: end < 0 ? Buffer.alloc(0) : bytes.subarray(end + 4), closedByServer: exchange.closedByServer };
}

/** Decodes a chunked body; `complete` is true only when the last (zero) chunk arrived. */
function dechunk(body: Buffer): { data: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    if (eol < 0) return { data: Buffer.concat(parts), complete: false };
    const size = parseInt(body.subarray(pos, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return { data: Buffer.concat(parts), complete: false };
    if (size === 0) return { data: Buffer.concat(parts), complete: body.length >= eol + 4 };
    parts.push(body.subarray(eol + 2, Math.min(body.length, eol + 2 + size)));
    if (body.length < eol + 2 + size + 2) return { data: Buffer.concat(parts), complete: false };
    pos = eol + 2 + size + 2;
  }
}

/**
 * Asserts what a client sees is either a complete error response (`errorStatus`) or a complete head followed by a
 * body it can tell was cut short.
 */
function assertHonest(res: RawResponse, what: string, errorStatus: number | null): void {
  assert.ok(res.headComplete, `${what}: the head ended with its blank line (status ${res.status}, ${res.body.length} body bytes)`);
  if (errorStatus !== null && res.status === errorStatus) {
    assert.equal(res.headers['cache-control'], 'no-store', `${what}: the error is not cacheable`);
    assert.equal(Number(res.headers['content-length']), res.body.length, `${what}: the error response is whole`);
    return;
  }
  assert.equal(res.status, 200, `${what}: an error status or the origin's 200`);
  assert.ok(res.closedByServer, `${what}: the cut connection is closed`);
  if (res.headers['content-length'] !== undefined) {
    assert.ok(res.body.length < Number(res.headers['content-length']), `${what}: fewer bytes than Content-Length`);
  } else {
    assert.equal(res.headers['transfer-encoding'], 'chunked', `${what}: chunked without a length`);
    assert.equal(dechunk(res.body).complete, false, `${what}: no last chunk`);
  }
}

/** curl's exit code and the status it saw (null when curl is not installed). */
function curl(port: number, host: string, path: string): Promise<{ code: number; status: string } | null> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '8', '-H', `Host: ${host}`, `http://127.0.0.1:${port}${path}`], (error, stdout) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') resolve(null);
      else resolve({ code, status: stdout.trim() });
    });
  });
}

const SIZE = 256 * 1024;

/** The head of a `SIZE` body (Content-Length or chunked), then `sent` bytes of it, then `end` (a reset or a hang). */
function failing(chunked: boolean, sent: number, end: 'reset' | 'hang'): Route {
  return (req, res: ServerResponse) => {
    res.sendDate = false;
    const headers: Record<string, string> = { 'cache-control': 'max-age=600', 'content-type': 'application/octet-stream' };
    if (!chunked) headers['content-length'] = String(SIZE);
    res.writeHead(200, headers);
    res.flushHeaders();
    if (sent > 0) res.write(patternBody(sent, 9));
    if (end === 'reset') setTimeout(() => req.socket.resetAndDestroy(), 100);
  };
}

describe('failures after the origin head', () => {
  let origin: TestOrigin;
  let cache: CacheFlint;
  const routes: Record<string, Route> = {};

  before(async () => {
    origin = await startRoutedOrigin(routes);
    cache = await startCacheFlint([
      { name: HOST, origin, extra: NO_EXCLUSION },
      { name: PASS_HOST, origin, extra: `${NO_EXCLUSION}<Options><Caching>OFF</Caching></Options>` },
    ]);
  });

  after(async () => {
    assert.deepEqual(cache.flint.logs.filter((l) => l.event === 'worker.exit' || l.event === 'worker.crash'), [], 'no worker died');
    await cache?.flint.stop();
    await origin?.close();
  });

  for (const host of [HOST, PASS_HOST]) {
    for (const chunked of [false, true]) {
      const kind = `${host === HOST ? 'miss' : 'pass'}, ${chunked ? 'chunked' : 'Content-Length'}`;

      test(`${kind}: origin reset after the head, before any body byte -> a whole 502, logged as an origin reset`, async () => {
        const path = `/reset-early-${chunked ? 'c' : 'l'}`;
        routes[path] = failing(chunked, 0, 'reset');
        const res = await rawGet(cache.port, host, path);
        assertHonest(res, kind, 502);
        assert.equal(res.status, 502, `${kind}: 502, not a 200`);
        const records = await accessRecordsFor(cache.flint, host, path, 1);
        assert.equal(records[0]?.error, 'FLINT_ERR_ORIGIN_RESET');
        assert.equal(records[0]?.status, 502);
        const viaCurl = await curl(cache.port, host, path);
        if (viaCurl !== null) assert.equal(viaCurl.status, '502');
      });

      test(`${kind}: origin reset mid-body -> a complete head, a short body, a closed connection (curl exit 18)`, async () => {
        const path = `/reset-late-${chunked ? 'c' : 'l'}`;
        routes[path] = failing(chunked, 100 * 1024, 'reset');
        const res = await rawGet(cache.port, host, path);
        assertHonest(res, kind, null);
        const records = await accessRecordsFor(cache.flint, host, path, 1);
        assert.equal(records[0]?.error, 'FLINT_ERR_ORIGIN_RESET', 'the cause is the origin, not a cache read');
        const viaCurl = await curl(cache.port, host, path);
        if (viaCurl !== null) assert.ok(viaCurl.code === 18 || viaCurl.code === 56, `curl exit ${viaCurl.code} (18: partial file, 56: receive failure)`);
      });

      test(`${kind}: origin hangs after the head -> 504 at the receive timeout`, async () => {
        const path = `/hang-${chunked ? 'c' : 'l'}`;
        routes[path] = failing(chunked, 0, 'hang');
        const res = await rawGet(cache.port, host, path, 5000);
        assertHonest(res, kind, 504);
        assert.equal(res.status, 504);
        const records = await accessRecordsFor(cache.flint, host, path, 1);
        assert.equal(records[0]?.error, 'FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT');
      });
    }
  }

  test('a range on a partial object whose missing blocks the origin fails to send -> a whole 502/503', async () => {
    const path = '/partial';
    const body = patternBody(4 * MiB, 5);
    routes[path] = (req, res) => {
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (range === null) return reply(res, 200, { 'cache-control': 'max-age=600', etag: '"p"' }, body);
      const start = Number(range[1]);
      // Block 0 arrives; every later block's fetch is reset before its head.
      if (start > 0) return req.socket.resetAndDestroy();
      const end = Math.min(Number(range[2]), body.length - 1);
      res.writeHead(206, { 'cache-control': 'max-age=600', etag: '"p"', 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': String(end - start + 1) });
      res.end(body.subarray(start, end + 1));
    };
    const first = await request({ port: cache.port, host: HOST, path, headers: { range: 'bytes=0-99' } });
    assert.equal(first.status, 206);
    assert.ok(first.body.equals(body.subarray(0, 100)));
    const exchange = await rawExchange(cache.port, [`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nRange: bytes=${2 * MiB}-${2 * MiB + 99}\r\n\r\n`], 0, 4000);
    const headEnd = exchange.received.indexOf('\r\n\r\n');
    assert.ok(headEnd > 0, `a complete head: ${JSON.stringify(exchange.received.slice(0, 200))}`);
    // A reset before the origin's head may be retried on the member list first: 503 when none answers.
    assert.match(exchange.received, /^HTTP\/1\.1 50[23] /, 'a whole origin error, not a 206 without its body');
    assert.match(exchange.received, /\r\nContent-Length: \d+\r\n/i);
    const records = await accessRecordsFor(cache.flint, HOST, path, 2);
    assert.match(String(records[1]?.error), /^FLINT_ERR_ORIGIN_(RESET|DOWN)$/);
  });
});

describe('a torn block on disk', () => {
  test('a cached object whose first block fails its checksum is fetched again, not sent as an empty 200', async () => {
    const path = '/torn';
    const body = patternBody(3 * MiB, 21);
    const origin = await startRoutedOrigin({ [path]: (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600' }, body) });
    // No hot tier or block memory: the block is read from its file.
    const first = await startCacheFlint([{ name: HOST, origin }], { cacheExtra: '<ContentMemoryRatio>0</ContentMemoryRatio>' });
    let flint = first.flint;
    try {
      assert.ok((await request({ port: first.port, host: HOST, path })).body.equals(body));
      await waitFor('stored', async () => {
        const info = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/monitoring/fileinfo?url=${HOST}${path}` });
        const variants = (JSON.parse(info.body.toString()) as { Variants?: Array<{ State: string }> }).Variants ?? [];
        return variants[0]?.State === 'complete' ? true : undefined;
      });
      // The worker that wrote a block trusts it (store.writeBlock): corrupt it while Flint is stopped, as a disk would.
      await flint.stop(20_000, true);
      corruptOnDisk(join(flint.dir, 'cache', 'blocks'), body.subarray(0, 64));
      flint = await FlintProcess.restart(flint);
      const res = await rawGet(first.port, HOST, path, 4000);
      assert.ok(res.headComplete, `a complete head (status ${res.status}, ${res.body.length} body bytes)`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-length'], String(body.length));
      assert.ok(res.body.equals(body), `the whole body, refetched (${res.body.length} bytes)`);
      assert.equal(seenFor(origin, path).length, 2, 'refetched from the origin');
      const records = await accessRecordsFor(flint, HOST, path, 1);
      assert.equal(records.at(-1)?.error, undefined, 'answered from the refetch, without an error');
      await waitFor('the torn read logged', () => flint.logs.find((l) => l.event === 'cache.read_failed'));
    } finally {
      await flint.stop();
      await origin.close();
    }
  });
});

/** Flips one byte of the first block file region that starts with `prefix` (the object's first bytes). */
function corruptOnDisk(dir: string, prefix: Buffer): void {
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('blocks-')) continue;
    const file = join(dir, name);
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    try {
      const chunk = Buffer.alloc(4 * MiB);
      for (let offset = 0; offset < size; offset += chunk.length - prefix.length) {
        const n = readSync(fd, chunk, 0, chunk.length, offset);
        const at = chunk.subarray(0, n).indexOf(prefix);
        if (at >= 0) {
          const byte = Buffer.from([(chunk[at + 100] as number) ^ 0xff]);
          writeSync(fd, byte, 0, 1, offset + at + 100);
          return;
        }
        if (n < chunk.length) break;
      }
    } finally {
      closeSync(fd);
    }
  }
  throw new Error('the object\'s first block was not found on disk');
}

describe('failures seen by a follower in another worker', () => {
  let origin: TestOrigin;
  let cache: CacheFlint;
  const routes: Record<string, Route> = {};

  before(async () => {
    origin = await startRoutedOrigin(routes);
    cache = await startCacheFlint([{ name: HOST, origin, extra: NO_EXCLUSION }], { workers: 2 });
  });

  after(async () => {
    assert.deepEqual(cache.flint.logs.filter((l) => l.event === 'worker.exit' || l.event === 'worker.crash'), [], 'no worker died');
    await cache?.flint.stop();
    await origin?.close();
  });

  for (const chunked of [false, true]) {
    test(`${chunked ? 'chunked' : 'Content-Length'}: every client of a fill whose origin resets before the body gets a whole 502`, async () => {
      const path = `/collapsed-${chunked ? 'c' : 'l'}`;
      const heads: Array<() => void> = [];
      routes[path] = (req, res) => {
        res.sendDate = false;
        res.writeHead(200, chunked ? { 'cache-control': 'max-age=600' } : { 'cache-control': 'max-age=600', 'content-length': String(4 * MiB) });
        res.flushHeaders();
        heads.push(() => req.socket.resetAndDestroy());
      };
      const statsBefore = await cache.flint.stats();
      const first = rawGet(cache.port, HOST, path, 6000);
      await waitFor('the origin head', () => (heads.length > 0 ? true : undefined));
      // Let the fill record publish the head, so followers in the other worker follow the fill.
      await sleep(100);
      const followers = Array.from({ length: 8 }, () => rawGet(cache.port, HOST, path, 6000));
      await sleep(400);
      for (const reset of heads.splice(0)) reset();
      // A follower that restarts the fill gets its own origin head: reset those too.
      const resetter = setInterval(() => {
        for (const reset of heads.splice(0)) reset();
      }, 50);
      try {
        const all = await Promise.all([first, ...followers]);
        for (const [i, res] of all.entries()) {
          assertHonest(res, `client ${i}`, 502);
          assert.equal(res.status, 502, `client ${i}: 502`);
        }
      } finally {
        clearInterval(resetter);
      }
      const statsAfter = await cache.flint.stats();
      const perWorker = statsAfter.workers.map((w, i) => w.requests - (statsBefore.workers[i]?.requests ?? 0));
      assert.ok(perWorker.length === 2 && perWorker.every((n) => n > 0), `both workers served clients: ${perWorker.join(', ')}`);
    });
  }

  test('every client of a fill whose origin resets mid-body sees its body cut short, in both workers', async () => {
    const path = '/collapsed-mid';
    const resets: Array<() => void> = [];
    routes[path] = (req, res) => {
      res.sendDate = false;
      res.writeHead(200, { 'cache-control': 'max-age=600', 'content-length': String(4 * MiB) });
      // Two whole blocks: followers in the other worker stream them from the fill record.
      res.write(patternBody(2 * MiB, 3));
      resets.push(() => req.socket.resetAndDestroy());
    };
    const statsBefore = await cache.flint.stats();
    const first = rawGet(cache.port, HOST, path, 8000);
    await waitFor('the origin head', () => (resets.length > 0 ? true : undefined));
    await sleep(200);
    const followers = Array.from({ length: 8 }, () => rawGet(cache.port, HOST, path, 8000));
    await sleep(600);
    const resetter = setInterval(() => {
      for (const reset of resets.splice(0)) reset();
    }, 50);
    try {
      const all = await Promise.all([first, ...followers]);
      for (const [i, res] of all.entries()) {
        assertHonest(res, `client ${i}`, 502);
        if (res.status === 200) assert.ok(res.body.equals(patternBody(2 * MiB, 3).subarray(0, res.body.length)), `client ${i}: the bytes it got are right`);
      }
      assert.ok(all.some((res) => res.status === 200 && res.body.length > 0), 'some clients had body bytes before the reset');
    } finally {
      clearInterval(resetter);
    }
    const records = await accessRecordsFor(cache.flint, HOST, path, 9);
    for (const record of records) assert.match(String(record.error), /^FLINT_ERR_(ORIGIN_RESET|FILL_ABANDONED)$/, 'the cause, not a cache read error');
    const statsAfter = await cache.flint.stats();
    const perWorker = statsAfter.workers.map((w, i) => w.requests - (statsBefore.workers[i]?.requests ?? 0));
    assert.ok(perWorker.length === 2 && perWorker.every((n) => n > 0), `both workers served clients: ${perWorker.join(', ')}`);
  });
});
