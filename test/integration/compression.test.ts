/**
 * On-the-fly compression (issue 21) through a real Flint with 2 workers and a real origin: br and gzip copies decode
 * to the identity bytes, carry Content-Encoding, Vary, an encoding-specific ETag and the right Content-Length; HEAD,
 * 304 on the encoded ETag and Range on the encoded bytes work; N concurrent clients of a new object cause one origin
 * request and one compression; the next request is a hit with no compression; a purge drops the encoded copies and a
 * changed original is compressed again; what must not be compressed (other types, no-transform, too small, already
 * encoded by the origin, clients that accept none) goes out as the origin sent it; counters reach /stats, /metrics
 * and the access log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import type { FlintProcess } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { accessRecordsFor, reply, seenFor, startCacheFlint, startRoutedOrigin, vhostStats, waitFor } from '../helpers/cache.js';

const HOST = 'compress.test';
const LISTED = 'listed.test';
const STRIP = 'strip.test';

/** A text body of `size` bytes that compresses well but not trivially. */
function textBody(size: number, seed: number): Buffer {
  const words = ['cache', 'edge', 'flint', 'origin', 'variant', 'brotli', 'gzip', 'purge', 'hit', 'miss', String(seed)];
  let text = '<html><body>';
  for (let i = 0; text.length < size; i++) text += `${words[(i * 7 + seed) % words.length] as string} ${i % 97} `;
  return Buffer.from(text.slice(0, size));
}

const PAGE = textBody(20_000, 1);

function decode(res: TestResponse): Buffer {
  const encoding = res.headers['content-encoding'];
  if (encoding === 'br') return brotliDecompressSync(res.body);
  if (encoding === 'gzip') return gunzipSync(res.body);
  return res.body;
}

interface Counts {
  br: number;
  gzip: number;
  brResponses: number;
  brInBytes: number;
  brOutBytes: number;
}

describe('compression (2 workers)', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET', host = HOST): Promise<TestResponse> => request({ port, path, host, method, headers });
  const counts = async (host = HOST): Promise<Counts> => {
    const v = (await vhostStats(flint, host)) as unknown as Record<string, number>;
    return { br: v.brCompressions ?? 0, gzip: v.gzipCompressions ?? 0, brResponses: v.brResponses ?? 0, brInBytes: v.brInBytes ?? 0, brOutBytes: v.brOutBytes ?? 0 };
  };
  const page = (body: Buffer, etag: string, type = 'text/html; charset=utf-8', extra: Record<string, string> = {}): Route => (_req, res) =>
    reply(res, 200, { 'content-type': type, 'cache-control': 'max-age=3600', etag, ...extra }, body);

  before(async () => {
    origin = await startRoutedOrigin(routes);
    ({ flint, port } = await startCacheFlint(
      [
        { name: HOST, origin, extra: '<Options><Compression Method="br,gzip" GzipLevel="6" BrotliQuality="5" SourceSize="1-4096">ON</Compression></Options>' },
        { name: STRIP, origin, extra: '<Options><SetCookie>strip</SetCookie><Compression>ON</Compression></Options>' },
        {
          name: LISTED,
          origin,
          extra: `<Options><Compression Method="gzip">ON</Compression><MatchingList Target="compression"><![CDATA[
            $URL[*.json]
            $MIME[application/x-custom]
          ]]></MatchingList></Options>`,
        },
      ],
      { workers: 2 },
    ));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('br and gzip copies decode to the identity bytes, with Content-Encoding, Vary, their own ETag and Content-Length', async () => {
    routes['/page.html'] = page(PAGE, '"v1"');
    const br = await get('/page.html', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.match(String(br.headers.vary), /accept-encoding/i);
    assert.equal(br.headers.etag, '"v1-br"');
    assert.equal(Number(br.headers['content-length']), br.body.length);
    assert.ok(br.body.length < PAGE.length / 3, `br copy ${br.body.length} bytes`);
    assert.deepEqual(decode(br), PAGE);

    const gz = await get('/page.html', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.etag, '"v1-gzip"');
    assert.equal(Number(gz.headers['content-length']), gz.body.length);
    assert.deepEqual(decode(gz), PAGE);

    const plain = await get('/page.html');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.etag, '"v1"');
    assert.match(String(plain.headers.vary), /accept-encoding/i, 'the identity answer varies too');
    assert.deepEqual(plain.body, PAGE);

    const seen = seenFor(origin, '/page.html');
    assert.equal(seen.length, 1, 'one origin request for every encoding');
    assert.equal(seen[0]?.headers['accept-encoding'], 'identity', 'the origin is asked for identity');
  });

  test('a repeated request is a hit on the stored copy: no compression, in either worker', async () => {
    routes['/again.html'] = page(textBody(30_000, 2), '"a1"');
    await get('/again.html', { 'accept-encoding': 'br' });
    const before = await counts();
    // Separate connections: SO_REUSEPORT spreads them over both workers.
    const hits = await Promise.all(Array.from({ length: 12 }, () => get('/again.html', { 'accept-encoding': 'br' })));
    for (const hit of hits) {
      assert.equal(hit.headers['content-encoding'], 'br');
      assert.match(String(hit.headers['cache-status']), /^flint; hit/);
      assert.deepEqual(decode(hit), textBody(30_000, 2));
    }
    const after = await counts();
    assert.equal(after.br - before.br, 0, 'no compression for hits');
    await waitFor('12 br responses counted', async () => ((await counts()).brResponses - before.brResponses >= 12 ? true : undefined));
  });

  test('N concurrent clients of a new object: one origin request and one compression', async () => {
    const body = textBody(200_000, 3);
    routes['/cold.js'] = async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      reply(res, 200, { 'content-type': 'application/javascript', 'cache-control': 'max-age=3600', etag: '"c1"' }, body);
    };
    const before = await counts();
    const workersBefore = (await flint.stats()).workers.map((w) => w.requests);
    const results = await Promise.all(Array.from({ length: 24 }, () => get('/cold.js', { 'accept-encoding': 'br;q=1, gzip;q=0.5' })));
    const served = (await flint.stats()).workers.map((w, i) => w.requests - (workersBefore[i] ?? 0));
    assert.ok(served.length === 2 && served.every((n) => n > 0), `both workers served some of the clients: ${served.join(', ')}`);
    for (const res of results) {
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], 'br');
      assert.deepEqual(decode(res), body);
    }
    assert.equal(seenFor(origin, '/cold.js').length, 1, 'one origin request');
    const after = await counts();
    assert.equal(after.br - before.br, 1, 'one compression across both workers');
    assert.equal(after.brInBytes - before.brInBytes, body.length);
    assert.equal(after.brOutBytes - before.brOutBytes, results[0]?.body.length);
  });

  test('HEAD, 304 on the encoded ETag, and Range on the encoded bytes', async () => {
    const full = await get('/page.html', { 'accept-encoding': 'br' });
    const head = await get('/page.html', { 'accept-encoding': 'br' }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-encoding'], 'br');
    assert.equal(Number(head.headers['content-length']), full.body.length);
    assert.equal(head.body.length, 0);

    const notModified = await get('/page.html', { 'accept-encoding': 'br', 'if-none-match': '"v1-br"' });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.etag, '"v1-br"');
    // The identity ETag does not validate the br copy.
    const other = await get('/page.html', { 'accept-encoding': 'br', 'if-none-match': '"v1"' });
    assert.equal(other.status, 200);
    assert.equal(other.headers['content-encoding'], 'br');

    const ranged = await get('/page.html', { 'accept-encoding': 'br', range: 'bytes=10-109' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers['content-encoding'], 'br');
    assert.equal(ranged.headers['content-range'], `bytes 10-109/${full.body.length}`);
    assert.deepEqual(ranged.body, full.body.subarray(10, 110));
  });

  test('a purge drops the encoded copies; a changed original is compressed again', async () => {
    let version = 1;
    routes['/changing.css'] = (_req, res) => page(textBody(8000, 10 + version), `"s${version}"`, 'text/css')(_req, res, 0);
    const first = await get('/changing.css', { 'accept-encoding': 'br' });
    assert.deepEqual(decode(first), textBody(8000, 11));
    const before = await counts();
    const purge = await flint.admin(`/command/purge?url=${HOST}/changing.css`);
    assert.equal(purge.status, 200);
    assert.ok((purge.body as { Count: number }).Count >= 2, `the original and its br copy were purged: ${JSON.stringify(purge.body)}`);
    version = 2;
    const second = await get('/changing.css', { 'accept-encoding': 'br' });
    assert.deepEqual(decode(second), textBody(8000, 12), 'the new content, not the purged copy');
    assert.equal(second.headers.etag, '"s2-br"');
    assert.equal((await counts()).br - before.br, 1, 'compressed again');
    assert.equal(seenFor(origin, '/changing.css').length, 2);
  });

  test('a HEAD for a new object gets the encoded head; the GET after it is a hit with that length', async () => {
    routes['/head-first.txt'] = page(textBody(10_000, 40), '"hf"', 'text/plain');
    const head = await get('/head-first.txt', { 'accept-encoding': 'gzip' }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-encoding'], 'gzip');
    assert.equal(head.body.length, 0);
    const full = await get('/head-first.txt', { 'accept-encoding': 'gzip' });
    assert.match(String(full.headers['cache-status']), /^flint; hit/);
    assert.equal(Number(head.headers['content-length']), full.body.length);
    assert.deepEqual(decode(full), textBody(10_000, 40));
  });

  test('<SetCookie>strip: the client whose request filled the object keeps its cookie (identity), later clients get the encoded copy', async () => {
    routes['/cookie.html'] = page(textBody(6000, 50), '"ck"', 'text/html', { 'set-cookie': 'session=abc' });
    const first = await get('/cookie.html', { 'accept-encoding': 'br' }, 'GET', STRIP);
    assert.equal(first.headers['set-cookie']?.[0], 'session=abc');
    assert.equal(first.headers['content-encoding'], undefined);
    const second = await get('/cookie.html', { 'accept-encoding': 'br' }, 'GET', STRIP);
    assert.equal(second.headers['set-cookie'], undefined, 'the cookie is not stored');
    assert.equal(second.headers['content-encoding'], 'br');
    assert.deepEqual(decode(second), textBody(6000, 50));
  });

  test('a purge of the original drops its encoded copies even when the content comes back unchanged', async () => {
    routes['/same.txt'] = page(textBody(9000, 20), '"same"', 'text/plain');
    await get('/same.txt', { 'accept-encoding': 'gzip' });
    const before = await counts();
    await flint.admin(`/command/purge?url=${HOST}/same.txt`);
    const again = await get('/same.txt', { 'accept-encoding': 'gzip' });
    assert.deepEqual(decode(again), textBody(9000, 20));
    assert.equal((await counts()).gzip - before.gzip, 1, 'the purged gzip copy is not served: made again');
    assert.equal(seenFor(origin, '/same.txt').length, 2);
  });

  test('a revalidated original (304) keeps its encoded copy: served encoded, not compressed again', async () => {
    const body = textBody(12_000, 30);
    routes['/reval.html'] = (req, res) => {
      if (req.headers['if-none-match'] === '"rv"') reply(res, 304, { etag: '"rv"', 'cache-control': 'max-age=3600' });
      else page(body, '"rv"')(req, res, 0);
    };
    await get('/reval.html', { 'accept-encoding': 'br' });
    const before = await counts();
    await flint.admin(`/command/expire?url=${HOST}/reval.html`);
    const res = await get('/reval.html', { 'accept-encoding': 'br' });
    assert.equal(res.headers['content-encoding'], 'br');
    assert.match(String(res.headers['cache-status']), /fwd-status=304/);
    assert.deepEqual(decode(res), body);
    assert.equal(seenFor(origin, '/reval.html').length, 2, 'revalidated once');
    assert.equal((await counts()).br - before.br, 0, 'the copy of the same bytes is still valid');
  });

  test('what must not be compressed goes out as the origin sent it', async () => {
    const png = Buffer.alloc(5000, 7);
    routes['/img.png'] = page(png, '"p"', 'image/png');
    routes['/raw.html'] = page(PAGE, '"r"', 'text/html', { 'cache-control': 'max-age=3600, no-transform' });
    routes['/small.txt'] = page(Buffer.from('tiny text body'), '"t"', 'text/plain');
    const pre = gzipSync(PAGE);
    routes['/pre.html'] = page(pre, '"g"', 'text/html', { 'content-encoding': 'gzip' });
    const before = await counts();
    for (const path of ['/img.png', '/raw.html', '/small.txt']) {
      for (let i = 0; i < 2; i++) {
        const res = await get(path, { 'accept-encoding': 'br, gzip' });
        assert.equal(res.status, 200, path);
        assert.equal(res.headers['content-encoding'], undefined, path);
      }
    }
    const encoded = await get('/pre.html', { 'accept-encoding': 'br' });
    assert.equal(encoded.headers['content-encoding'], 'gzip', 'the origin\'s encoding is passed on');
    assert.deepEqual(encoded.body, pre, 'never compressed twice');
    const after = await counts();
    assert.equal(after.br - before.br + after.gzip - before.gzip, 0);
  });

  test('clients that accept no offered encoding get identity (q=0, identity only, unknown codings)', async () => {
    for (const ae of ['br;q=0, gzip;q=0', 'identity', 'deflate', 'compress;q=1', '*;q=0', 'br;q=2', 'gzip;q=abc', ';;;', 'x'.repeat(600)]) {
      const res = await get('/page.html', { 'accept-encoding': ae });
      assert.equal(res.status, 200, ae);
      assert.equal(res.headers['content-encoding'], undefined, ae);
      assert.deepEqual(res.body, PAGE, ae);
    }
    const star = await get('/page.html', { 'accept-encoding': '*' });
    assert.equal(star.headers['content-encoding'], 'br', '* accepts the preferred encoding');
    const preferGzip = await get('/page.html', { 'accept-encoding': 'br;q=0.5, gzip' });
    assert.equal(preferGzip.headers['content-encoding'], 'gzip', 'the higher q-value wins');
  });

  test('the compression MatchingList chooses the targets ($URL, $MIME)', async () => {
    const json = Buffer.from(JSON.stringify({ items: Array.from({ length: 300 }, (_, i) => ({ id: i, name: `item ${i}` })) }));
    routes['/data.json'] = page(json, '"j"', 'text/plain');
    routes['/custom'] = page(PAGE, '"c"', 'application/x-custom');
    routes['/page2.html'] = page(PAGE, '"h"', 'text/html');
    const a = await get('/data.json', { 'accept-encoding': 'gzip, br' }, 'GET', LISTED);
    assert.equal(a.headers['content-encoding'], 'gzip', 'Method="gzip" only');
    assert.deepEqual(decode(a), json);
    const b = await get('/custom', { 'accept-encoding': 'gzip' }, 'GET', LISTED);
    assert.equal(b.headers['content-encoding'], 'gzip');
    const c = await get('/page2.html', { 'accept-encoding': 'gzip' }, 'GET', LISTED);
    assert.equal(c.headers['content-encoding'], undefined, 'text/html is not on this vhost\'s list');
  });

  test('counters in /metrics and the encoding in the access log', async () => {
    const text = await (await fetch(`http://127.0.0.1:${flint.managerPort}/metrics`)).text();
    assert.match(text, new RegExp(`flint_compressions_total\\{vhost="${HOST}",encoding="br"\\} [1-9]`));
    assert.match(text, new RegExp(`flint_compression_out_bytes_total\\{vhost="${HOST}",encoding="gzip"\\} [1-9]`));
    assert.match(text, new RegExp(`flint_compressed_responses_total\\{vhost="${HOST}",encoding="br"\\} [1-9]`));
    const records = await accessRecordsFor(flint, HOST, '/page.html', 3);
    assert.ok(records.some((r) => r.contentEncoding === 'br'));
    assert.ok(records.some((r) => r.contentEncoding === 'gzip'));
    assert.ok(records.some((r) => r.contentEncoding === undefined));
  });
});
