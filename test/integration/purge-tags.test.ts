/**
 * Tag purge through a real Flint (primary + 2 workers, issue 24): origins tag objects with Surrogate-Key and
 * Cache-Tag; the fields are stripped before clients by default (miss and hit) and forwarded with Strip OFF;
 * /command/purge|expire|hardpurge?tag= reach every object carrying the tag, every variant, and only those, in both
 * workers (hot tiers included); `flint purge --tag` does the same; hostile tag headers (thousands of tags, over-long,
 * non-ASCII) are bounded and counted; bad tag parameters get 400. After a hardpurge the index (opened here, beside
 * the running Flint) holds no tag entry of a removed object.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { FlintProcess, MAIN, serverXml, vhostXml } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { isHit, reply, seenFor, startRoutedOrigin, vhostStats, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';
import { CacheIndex } from '../../src/cache/index.js';

const HOST = 'tags.test';
const OPEN = 'open.test';

interface ControlResult {
  Count: number;
  Size: number;
  Errors?: string[];
}

/** A cacheable resource whose body names the fetch (`path #n`), tagged by `tags` (header name -> value). */
function tagged(path: string, tags: Record<string, string>, extra: Record<string, string> = {}): Route {
  return (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600', 'content-type': 'text/plain', ...tags, ...extra }, `${path} #${n}`);
}

describe('tag purge', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string, host = HOST, headers: Record<string, string> = {}): Promise<TestResponse> => request({ port, path, host, headers });
  const control = async (command: string, query: string): Promise<{ status: number; body: ControlResult }> => {
    const res = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/command/${command}`, method: 'POST', body: query, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    return { status: res.status, body: JSON.parse(res.body.toString()) as ControlResult };
  };
  /** Requests until the response is a hit: the object is committed and served from the cache. */
  const warm = (path: string, host = HOST, headers: Record<string, string> = {}): Promise<TestResponse> =>
    waitFor(`${host}${path} cached`, async () => {
      const res = await get(path, host, headers);
      return isHit(res) ? res : undefined;
    });
  const fetches = (path: string): number => seenFor(origin, path).length;

  before(async () => {
    origin = await startRoutedOrigin(routes);
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 2 }),
      vhosts: vhostXml([
        { name: HOST, port, origin: origin.address, extra: '<Options><CacheTag Max="8" MaxLength="32">Surrogate-Key, Cache-Tag</CacheTag></Options>' },
        { name: OPEN, port, origin: origin.address, extra: '<Options><CacheTag Strip="OFF">Surrogate-Key</CacheTag></Options>' },
      ]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('tag fields are stripped before the client by default (miss and hit), forwarded with Strip OFF', async () => {
    routes['/strip'] = tagged('/strip', { 'surrogate-key': 'a b', 'cache-tag': 'c', 'x-other': 'kept' });
    const miss = await get('/strip');
    assert.equal(miss.status, 200);
    assert.equal(miss.headers['x-other'], 'kept');
    assert.equal(miss.headers['surrogate-key'], undefined, 'stripped on the miss');
    assert.equal(miss.headers['cache-tag'], undefined);
    const hit = await warm('/strip');
    assert.equal(hit.headers['surrogate-key'], undefined, 'stripped on the hit');
    assert.equal(hit.headers['cache-tag'], undefined);

    routes['/open'] = tagged('/open', { 'surrogate-key': 'a b' });
    assert.equal((await get('/open', OPEN)).headers['surrogate-key'], 'a b');
    assert.equal((await warm('/open', OPEN)).headers['surrogate-key'], 'a b');
    // Tags still index with Strip OFF.
    const purged = await control('purge', `tag=a&vhost=${OPEN}`);
    assert.deepEqual([purged.status, purged.body.Count], [200, 1]);
  });

  test('purge by tag reaches every tagged object and variant in both workers, and nothing else', async () => {
    for (const path of ['/p1', '/p2']) routes[path] = tagged(path, { 'surrogate-key': 'product-42 shelf-1' });
    routes['/v'] = tagged('/v', { 'cache-tag': 'product-42,variant' }, { vary: 'Accept-Language' });
    routes['/other'] = tagged('/other', { 'surrogate-key': 'product-420 shelf-1' });
    routes['/plain'] = tagged('/plain', {});
    // Warm on many connections so that both workers hold the objects (and their hot tiers have them).
    for (let round = 0; round < 4; round++) {
      for (const path of ['/p1', '/p2', '/other', '/plain']) await warm(path);
      await warm('/v', HOST, { 'accept-language': 'en' });
      await warm('/v', HOST, { 'accept-language': 'ko' });
    }
    const before = Object.fromEntries(['/p1', '/p2', '/v', '/other', '/plain'].map((p) => [p, fetches(p)]));

    const result = await control('purge', 'tag=product-42');
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.Count, 4, 'p1, p2 and both variants of v');

    // Whichever worker answers (new connection each time), no old copy is served.
    for (let i = 0; i < 6; i++) {
      assert.match((await get('/p1')).body.toString(), /^\/p1 #2$/);
      assert.match((await get('/p2')).body.toString(), /^\/p2 #2$/);
      assert.match((await get('/v', HOST, { 'accept-language': i % 2 === 0 ? 'en' : 'ko' })).body.toString(), /^\/v #[34]$/);
      assert.ok(isHit(await get('/other')), 'a tag that only starts like it is not reached');
      assert.ok(isHit(await get('/plain')));
    }
    assert.equal(fetches('/p1'), (before['/p1'] as number) + 1, 'one refetch');
    assert.equal(fetches('/v'), (before['/v'] as number) + 2, 'one refetch per variant');
    assert.equal(fetches('/other'), before['/other']);
    assert.equal(fetches('/plain'), before['/plain']);

    // A second purge of the same tag finds them fresh again (refetched) and purges again; expire likewise.
    await warm('/p1');
    assert.equal((await control('expire', 'tag=shelf-1')).body.Count, 3, 'p1, p2, other');
  });

  test('hardpurge by tag with flint purge --tag leaves no tag entry of a removed object in the index', async () => {
    for (const path of ['/h1', '/h2']) routes[path] = tagged(path, { 'cache-tag': 'gone,kept-elsewhere' });
    routes['/h3'] = tagged('/h3', { 'cache-tag': 'kept-elsewhere' });
    for (const path of ['/h1', '/h2', '/h3']) await warm(path);
    const cli = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN, 'hardpurge', '--tag', 'gone', '--vhost', HOST, '--conf', flint.confDir], { timeout: 30_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr }),
      );
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /hardpurge: 2 object\(s\)/);

    const index = new CacheIndex(join(flint.dir, 'cache', 'index'));
    try {
      const entries = index.tagEntries();
      assert.ok(entries.length > 0);
      for (const entry of entries) {
        const meta = index.getObject(entry.hash);
        assert.ok(meta !== undefined && meta.tags?.includes(entry.tag) === true, `stale tag entry ${entry.vhost} ${entry.tag}`);
      }
      assert.equal(entries.filter((e) => e.tag === 'gone').length, 0);
      assert.equal(entries.filter((e) => e.tag === 'kept-elsewhere' && e.vhost === HOST).length, 1, 'only /h3 keeps it');
    } finally {
      await index.close();
    }
    assert.equal((await get('/h1')).body.toString(), '/h1 #2', 'removed: fetched again');
  });

  test('hostile tag headers are bounded, counted and stripped; the response is still served and purgeable', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => `t${i}`).join(' ');
    routes['/many'] = tagged('/many', { 'surrogate-key': `${many} ${'x'.repeat(40)}`, 'cache-tag': 'caf\u00e9,ok"quote' });
    const droppedBefore = ((await vhostStats(flint, HOST)).tagsDropped as number | undefined) ?? 0;
    const res = await get('/many');
    assert.equal(res.status, 200);
    assert.equal(res.headers['surrogate-key'], undefined);
    await warm('/many');
    // Max="8": t0..t7 kept; 1992 past the bound, the 40-byte tag (MaxLength 32) and the two with bad bytes dropped.
    await waitFor('the dropped tags counted', async () => (((await vhostStats(flint, HOST)).tagsDropped as number | undefined) ?? 0) - droppedBefore >= 1995 || undefined);
    assert.equal((((await vhostStats(flint, HOST)).tagsDropped as number) - droppedBefore), 1995);
    assert.equal((await control('purge', 'tag=t7')).body.Count, 1);
    assert.equal((await control('purge', 'tag=t8')).body.Count, 0, 'past Max: not indexed');
  });

  test('bad tag parameters get 400 with a reason', async () => {
    const cases: Array<[string, RegExp]> = [
      ['tag=', /no tag/],
      ['tag=a%00b', /is not a tag/],
      ['tag=%C3%A9', /is not a tag/],
      [`tag=${'x'.repeat(2000)}`, /is not a tag/],
      ['tag=a&vhost=nosuch.test', /no vhost/],
      [`tag=${Array.from({ length: 101 }, (_, i) => `t${i}`).join('+')}`, /at most 100 tags/],
      ['tag=a&url=tags.test/x', /not both/],
    ];
    for (const [query, error] of cases) {
      const res = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/command/purge`, method: 'POST', body: query });
      assert.equal(res.status, 400, query);
      assert.match(res.body.toString(), error, query);
    }
  });
});

test('eviction leaves no tag entry of an evicted object (the index checked directly)', async () => {
  const routes: Record<string, Route> = {};
  const origin = await startRoutedOrigin(routes);
  const port = await freePort();
  const big = Buffer.alloc(256 * 1024, 7);
  for (let i = 0; i < 16; i++) routes[`/big${i}`] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', 'surrogate-key': `big all-${i % 2}` }, big);
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 2 }).replace(
      `<Storage><Disk>${join(dir, 'cache')}</Disk></Storage>`,
      `<Storage><Disk Quota="2M">${join(dir, 'cache')}</Disk><HighWater>80</HighWater><LowWater>50</LowWater></Storage>`,
    ),
    vhosts: vhostXml([{ name: HOST, port, origin: origin.address }]),
  }));
  try {
    for (let i = 0; i < 16; i++) await request({ port, path: `/big${i}`, host: HOST });
    const evicted = await waitFor('an eviction', async () => {
      const disk = (await flint.stats()).cache.disks[0];
      return (disk?.evictedObjects ?? 0) > 0 ? disk : undefined;
    });
    const index = new CacheIndex(join(flint.dir, 'cache', 'index'));
    try {
      // Evictions remove their objects' tag entries in the same transaction (cache/tag-index.ts): no wait.
      const entries = index.tagEntries();
      const live = entries.filter((e) => e.tag === 'big');
      for (const entry of entries) {
        const meta = index.getObject(entry.hash);
        assert.ok(meta !== undefined && meta.tags?.includes(entry.tag) === true, `stale tag entry ${entry.tag} ${entry.primary}`);
      }
      assert.equal(live.length, index.objectCount(), 'every object left has its entry, and only those');
      assert.ok(live.length < 16 && evicted.evictedObjects > 0, `${live.length} left, ${evicted.evictedObjects} evicted`);
    } finally {
      await index.close();
    }
  } finally {
    await flint.stop();
    await origin.close();
  }
});

