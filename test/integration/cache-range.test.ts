/**
 * Range requests answered from the cache (RFC 9110 §14, §13.1.5) through a real Flint (primary + 1 worker): a
 * 3 MiB object in 1 MiB blocks, so ranges cross block boundaries, and a 10 000-byte object kept inline in its index
 * record. Every byte served is compared with the origin's; after the warm-up no request reaches the origin.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlintProcess } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { MiB, cacheStatus, isHit, patternBody, reply, seenFor, sha256, startCacheFlint, startRoutedOrigin } from '../helpers/cache.js';

const HOST = 'range.test';
const BIG = patternBody(3 * MiB, 1);
const SMALL = patternBody(10_000, 2);
const ETAG = '"range-v1"';

interface Part {
  readonly headers: Record<string, string>;
  readonly data: Buffer;
}

/** Parses a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1); throws on anything malformed. */
function parseMultipart(body: Buffer, contentType: string): Part[] {
  const m = /^multipart\/byteranges;\s*boundary=("?)([^";]+)\1$/i.exec(contentType);
  assert.ok(m !== null, `multipart/byteranges content type with a boundary: ${contentType}`);
  const delimiter = Buffer.from(`--${m[2] as string}`, 'latin1');
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  assert.ok(pos >= 0, 'the first delimiter is present');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') {
      assert.equal(body.subarray(pos + 2).toString('latin1'), '\r\n', 'nothing but CRLF after the close delimiter');
      return parts;
    }
    assert.equal(body.subarray(pos, pos + 2).toString('latin1'), '\r\n', 'CRLF after a delimiter');
    const headerEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
    assert.ok(headerEnd > 0, 'part headers end with a blank line');
    const headers: Record<string, string> = {};
    for (const line of body.subarray(pos + 2, headerEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const dataStart = headerEnd + 4;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), dataStart);
    assert.ok(next >= 0, 'every part is followed by a delimiter');
    parts.push({ headers, data: body.subarray(dataStart, next) });
    pos = next + 2;
  }
}

/** Checks a single-range 206 against `whole`. */
function assertPartial(res: TestResponse, whole: Buffer, start: number, end: number): void {
  assert.equal(res.status, 206, `status for ${start}-${end}`);
  assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${whole.length}`);
  assert.equal(res.headers['content-length'], String(end - start + 1));
  assert.equal(res.body.length, end - start + 1);
  assert.ok(res.body.equals(whole.subarray(start, end + 1)), `bytes ${start}-${end} match the origin's`);
}

describe('cache range requests', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<TestResponse> => request({ port, path, host: HOST, headers, method });
  const objectRoute = (body: Buffer): Route => (_req, res) =>
    reply(res, 200, { 'cache-control': 'max-age=3600', etag: ETAG, 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' }, body);

  before(async () => {
    routes['/big'] = objectRoute(BIG);
    routes['/small'] = objectRoute(SMALL);
    routes['/cold-big'] = objectRoute(BIG);
    routes['/cold-small'] = objectRoute(SMALL);
    origin = await startRoutedOrigin(routes);
    ({ flint, port } = await startCacheFlint([{ name: HOST, origin }], { cacheExtra: '<BlockSize>1M</BlockSize>' }));
    for (const [path, body] of [['/big', BIG], ['/small', SMALL]] as const) {
      const res = await get(path);
      assert.equal(res.status, 200);
      assert.equal(sha256(res.body), sha256(body));
      const hit = await get(path);
      assert.ok(isHit(hit), `${path} is cached: ${cacheStatus(hit)}`);
    }
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('single ranges: inside a block, across one and two block boundaries, inline', async () => {
    assertPartial(await get('/big', { range: 'bytes=0-0' }), BIG, 0, 0);
    assertPartial(await get('/big', { range: 'bytes=1048000-1049999' }), BIG, 1048000, 1049999);
    assertPartial(await get('/big', { range: 'bytes=1000000-2200000' }), BIG, 1000000, 2200000);
    assertPartial(await get('/big', { range: 'bytes=2097152-2097152' }), BIG, 2097152, 2097152);
    // A last-pos past the end is clamped (RFC 9110 §14.1.2).
    assertPartial(await get('/big', { range: `bytes=3145000-${10 * MiB}` }), BIG, 3145000, BIG.length - 1);
    assertPartial(await get('/small', { range: 'bytes=100-199' }), SMALL, 100, 199);
    const res = await get('/big', { range: 'bytes=5-9' });
    assert.ok(isHit(res), cacheStatus(res));
    assert.equal(seenFor(origin, '/big').length, 1);
    assert.equal(seenFor(origin, '/small').length, 1);
  });

  test('suffix ranges: the last N bytes; a suffix longer than the object is all of it', async () => {
    assertPartial(await get('/big', { range: 'bytes=-500' }), BIG, BIG.length - 500, BIG.length - 1);
    assertPartial(await get('/small', { range: 'bytes=-500' }), SMALL, SMALL.length - 500, SMALL.length - 1);
    assertPartial(await get('/small', { range: 'bytes=-20000' }), SMALL, 0, SMALL.length - 1);
  });

  test('open ranges: from an offset to the end', async () => {
    assertPartial(await get('/big', { range: 'bytes=2500000-' }), BIG, 2500000, BIG.length - 1);
    assertPartial(await get('/small', { range: 'bytes=9990-' }), SMALL, 9990, SMALL.length - 1);
  });

  test('multiple ranges: multipart/byteranges whose parts parse back to the right bytes', async () => {
    const cases: Array<[string, Buffer, string, Array<[number, number]>]> = [
      ['/big', BIG, 'bytes=0-99,1048570-1048580,3145700-', [[0, 99], [1048570, 1048580], [3145700, BIG.length - 1]]],
      ['/small', SMALL, 'bytes=0-9, 20-29, -5', [[0, 9], [20, 29], [SMALL.length - 5, SMALL.length - 1]]],
    ];
    for (const [path, whole, range, expected] of cases) {
      const res = await get(path, { range });
      assert.equal(res.status, 206, `${path} ${range}`);
      assert.equal(res.headers['content-range'], undefined, 'no Content-Range on the multipart response itself');
      assert.equal(Number(res.headers['content-length']), res.body.length, 'Content-Length is the multipart body length');
      const parts = parseMultipart(res.body, String(res.headers['content-type']));
      assert.equal(parts.length, expected.length, `${path}: ${parts.length} parts`);
      parts.forEach((part, i) => {
        const [start, end] = expected[i] as [number, number];
        assert.equal(part.headers['content-range'], `bytes ${start}-${end}/${whole.length}`);
        assert.equal(part.headers['content-type'], 'application/octet-stream');
        assert.ok(part.data.equals(whole.subarray(start, end + 1)), `${path} part ${i} bytes`);
      });
    }
    assert.equal(seenFor(origin, '/big').length, 1);
  });

  test('If-Range: the matching ETag gets the range, another (or a weak one) the whole object', async () => {
    assertPartial(await get('/big', { range: 'bytes=1048570-1048590', 'if-range': ETAG }), BIG, 1048570, 1048590);
    for (const ifRange of ['"range-v0"', `W/${ETAG}`]) {
      const full = await get('/big', { range: 'bytes=1048570-1048590', 'if-range': ifRange });
      assert.equal(full.status, 200, `If-Range ${ifRange}`);
      assert.equal(full.headers['content-range'], undefined);
      assert.equal(full.body.length, BIG.length);
      assert.equal(sha256(full.body), sha256(BIG));
    }
    const small = await get('/small', { range: 'bytes=0-9', 'if-range': '"other"' });
    assert.equal(small.status, 200);
    assert.ok(small.body.equals(SMALL));
  });

  test('unsatisfiable ranges: 416 with Content-Range bytes */size', async () => {
    for (const [path, whole, range] of [
      ['/big', BIG, `bytes=${BIG.length}-`],
      ['/big', BIG, 'bytes=4000000-5000000'],
      ['/small', SMALL, 'bytes=10000-10010'],
      ['/small', SMALL, 'bytes=-0'],
    ] as const) {
      const res = await get(path, { range });
      assert.equal(res.status, 416, `${path} ${range}`);
      assert.equal(res.headers['content-range'], `bytes */${whole.length}`, `${path} ${range}`);
    }
  });

  test('HEAD with Range: range handling is defined for GET only, so a 200 with the full length and no body', async () => {
    for (const [path, whole] of [['/big', BIG], ['/small', SMALL]] as const) {
      const res = await get(path, { range: 'bytes=0-99' }, 'HEAD');
      assert.equal(res.body.length, 0);
      // RFC 9110 §14.2: "A server MUST ignore a Range header field received with a request method [...] for which
      // range handling is not defined"; only GET has it.
      assert.equal(res.status, 200, `${path}: HEAD ignores Range (got ${res.status}, Content-Range ${String(res.headers['content-range'])})`);
      assert.equal(res.headers['content-length'], String(whole.length));
      assert.equal(res.headers['content-range'], undefined);
    }
  });

  test('a Range on the first (miss) request gets the right bytes; the object then serves ranges and full GETs', async () => {
    const cases: Array<[string, Buffer, string, number, number]> = [
      ['/cold-big', BIG, 'bytes=2000000-2100000', 2000000, 2100000],
      ['/cold-small', SMALL, 'bytes=-100', SMALL.length - 100, SMALL.length - 1],
    ];
    for (const [path, whole, range, start, end] of cases) {
      assertPartial(await get(path, { range }), whole, start, end);
      const fetched = seenFor(origin, path).length;
      // This origin ignores Range. A closed range on a cold object asks for its first block(s) only, block-aligned,
      // alone until the answer comes; the 200 it gets is stored whole, so nothing else is asked.
      assert.equal(fetched, 1, `${path}: one origin request`);
      const asked = seenFor(origin, path)[0]?.headers.range;
      if (asked !== undefined) assert.match(String(asked), new RegExp(`^bytes=${Math.floor(start / MiB) * MiB}-\\d+$`), `${path}: origin Range ${asked}`);
      const again = await get(path, { range });
      assertPartial(again, whole, start, end);
      assert.ok(isHit(again), `${path}: the same range again is a hit: ${cacheStatus(again)}`);
      assert.equal(seenFor(origin, path).length, fetched, `${path}: the same range again needs no origin request`);
      const full = await get(path);
      assert.equal(full.status, 200, path);
      assert.equal(sha256(full.body), sha256(whole), path);
      const before = seenFor(origin, path).length;
      const hit = await get(path);
      assert.ok(isHit(hit), `${path}: ${cacheStatus(hit)}`);
      assert.equal(sha256(hit.body), sha256(whole), path);
      assert.equal(seenFor(origin, path).length, before, `${path}: the whole object is cached`);
    }
  });
});
