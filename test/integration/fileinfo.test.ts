/**
 * The object inspector (/monitoring/fileinfo?url=) through a real Flint (primary + 1 worker): one entry per Vary
 * variant with size, blocks present, state (filling / complete / stale / purged), TTL left, validators, stored
 * headers, last access and hit count; a block-file object shows its blocks; bad and unknown URLs answer 400/404.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlintProcess } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { Barrier, patternBody, reply, startCacheFlint, startRoutedOrigin, waitFor } from '../helpers/cache.js';

const HOST = 'info.test';

interface Variant {
  Key: string;
  Variant: string;
  State: string;
  Size: number;
  ResCode: number;
  Inline: boolean;
  BlockSize: number;
  BlocksPresent: number;
  BlocksTotal: number;
  TTL: number;
  'TTL-Left': number;
  ETag: string | null;
  LMT: string | null;
  LastAccess: string | null;
  HitCount: number;
  Purge: boolean;
  'Downloader-Count': number;
  Headers: Record<string, string | string[]>;
}

interface FileInfo {
  Url: string;
  Vhost: string;
  Count: number;
  Variants: Variant[];
}

describe('object inspector', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string, headers: Record<string, string> = {}): Promise<TestResponse> => request({ port, path, host: HOST, headers });
  const info = async (url: string): Promise<{ status: number; body: FileInfo }> => {
    const res = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/monitoring/fileinfo?url=${encodeURIComponent(url)}` });
    return { status: res.status, body: JSON.parse(res.body.toString()) as FileInfo };
  };
  /** The inspector document once `ready` holds for it (commits and hit counts land asynchronously). */
  const infoWhen = (url: string, ready: (body: FileInfo) => boolean): Promise<FileInfo> =>
    waitFor(`fileinfo of ${url}`, async () => {
      const { status, body } = await info(url);
      return status === 200 && ready(body) ? body : undefined;
    });

  before(async () => {
    origin = await startRoutedOrigin(routes);
    ({ flint, port } = await startCacheFlint([{ name: HOST, origin }], { cacheExtra: '<BlockSize>64K</BlockSize>' }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('one entry per variant: size, state, TTL left, validators, stored headers, last access, hit count', async () => {
    const lastModified = 'Tue, 01 Sep 2026 10:00:00 GMT';
    routes['/doc'] = (req, res) => {
      const lang = String(req.headers['accept-language'] ?? 'none');
      reply(res, 200, { 'cache-control': 'max-age=600', etag: `"doc-${lang}"`, 'last-modified': lastModified, vary: 'Accept-Language', 'content-type': 'text/html', 'x-lang': lang }, `<p>${lang}</p>`);
    };
    const sentAt = Date.now();
    await get('/doc', { 'accept-language': 'en' });
    await get('/doc', { 'accept-language': 'de' });
    for (let i = 0; i < 3; i++) await get('/doc', { 'accept-language': 'en' });
    // Hits reach the index in the worker's batched touches (about once a second).
    const body = await infoWhen(`${HOST}/doc`, (b) => b.Count === 2 && b.Variants.some((v) => v.HitCount === 3));
    assert.equal(body.Vhost, HOST);
    const en = body.Variants.find((v) => v.Headers['x-lang'] === 'en');
    const de = body.Variants.find((v) => v.Headers['x-lang'] === 'de');
    assert.ok(en !== undefined && de !== undefined, JSON.stringify(body));
    assert.equal(en.State, 'complete');
    assert.equal(en.ResCode, 200);
    assert.equal(en.Size, Buffer.byteLength('<p>en</p>'));
    assert.equal(en.Inline, true);
    assert.equal(en.BlocksPresent, 1);
    assert.equal(en.ETag, '"doc-en"');
    assert.equal(en.LMT, new Date(lastModified).toISOString());
    assert.equal(en.TTL, 600);
    assert.ok(en['TTL-Left'] > 590 && en['TTL-Left'] <= 600, `TTL-Left ${en['TTL-Left']}`);
    assert.equal(en.Headers['content-type'], 'text/html');
    assert.equal(en.Headers.vary, 'Accept-Language');
    assert.match(en.Variant, /accept-language=en/);
    assert.equal(en.HitCount, 3);
    assert.equal(de.HitCount, 0);
    assert.ok(en.LastAccess !== null && Date.parse(en.LastAccess) >= sentAt - 1000, `LastAccess ${en.LastAccess}`);
    assert.equal(en.Purge, false);
  });

  test('stale, purged and filling states', async () => {
    routes['/short'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=1', etag: '"s"' }, 'short');
    await get('/short');
    const stale = await infoWhen(`${HOST}/short`, (b) => b.Variants[0]?.State === 'stale');
    assert.ok((stale.Variants[0]?.['TTL-Left'] ?? 1) <= 0);

    routes['/p'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600' }, 'p');
    await get('/p');
    await infoWhen(`${HOST}/p`, (b) => b.Variants[0]?.State === 'complete');
    await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/command/purge?url=${HOST}/p`, method: 'POST' });
    const purged = (await info(`${HOST}/p`)).body.Variants[0];
    assert.equal(purged?.State, 'purged');
    assert.equal(purged?.Purge, true);

    const release = new Barrier();
    routes['/slow'] = async (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600', 'content-length': String(256 * 1024) });
      res.write(patternBody(64 * 1024));
      await release.wait();
      res.end(patternBody(192 * 1024, 1));
    };
    const pending = get('/slow');
    const filling = await infoWhen(`${HOST}/slow`, (b) => b.Variants.some((v) => v.State === 'filling'));
    assert.equal(filling.Variants[0]?.['Downloader-Count'], 1);
    release.open();
    assert.equal((await pending).body.length, 256 * 1024);
    const done = await infoWhen(`${HOST}/slow`, (b) => b.Variants[0]?.State === 'complete');
    assert.deepEqual([done.Variants[0]?.Inline, done.Variants[0]?.BlocksPresent, done.Variants[0]?.BlocksTotal, done.Variants[0]?.BlockSize], [false, 4, 4, 64 * 1024]);
  });

  test('unknown URLs are 404, patterns and unknown hosts 400', async () => {
    assert.equal((await info(`${HOST}/never-fetched`)).status, 404);
    assert.equal((await info(`${HOST}/img/*`)).status, 400);
    assert.equal((await info('nohost.test/x')).status, 400);
    const missing = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: '/monitoring/fileinfo' });
    assert.equal(missing.status, 400);
  });
});
