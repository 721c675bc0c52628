/**
 * Cache control through a real Flint (primary + 2 workers): /command/purge, expire, expireafter and hardpurge for
 * exact URLs (every Vary variant), globs and `|`-joined targets, the STON result JSON, the Purge2Expire,
 * RootPurgeExpire and RootHardPurge guards, a purged copy restored when the origin fails on the refetch, the PURGE method (management and service port) for allowed
 * and other addresses, the User role, hot-tier coherence across both workers, and fills in flight when a command
 * runs (their response may predate it: never stored or served as fresh afterwards, in either worker).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { Barrier, MiB, cacheStatus, download, isHit, patternBody, reply, seenFor, sha256, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import type { Download } from '../helpers/cache.js';
import { sleep } from '../helpers/flint.js';
import { freePort } from '../helpers/ports.js';

const HOST = 'purge.test';
const GUARDED = 'guard.test';
const ROOTLESS = 'root.test';
const NO_ROOT_HARD = 'nohardroot.test';
const KEYED = 'nocase.test';
const COLLECTIVE = 'collective.test';

interface ControlResult {
  Count: number;
  Size: number;
  Time: number;
  Denied?: string[];
  Errors?: string[];
}

/** A cacheable resource whose body names the fetch (`path #n`); answers 304 to a matching If-None-Match. */
function versioned(path: string, extra: Record<string, string> = {}): Route {
  return (req, res, n) => {
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && inm !== '') {
      reply(res, 304, { etag: inm, 'cache-control': 'max-age=3600' });
      return;
    }
    reply(res, 200, { 'cache-control': 'max-age=3600', etag: `"${path}-${n}"`, 'content-type': 'text/plain', ...extra }, `${path} #${n}`);
  };
}

describe('purge, expire, expireafter, hardpurge', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string, host = HOST, headers: Record<string, string> = {}): Promise<TestResponse> => request({ port, path, host, headers });
  const control = async (command: string, query: string, localAddress?: string): Promise<{ status: number; body: ControlResult }> => {
    const res = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/command/${command}?${query}`, method: 'POST', ...(localAddress === undefined ? {} : { localAddress }) });
    return { status: res.status, body: JSON.parse(res.body.toString()) as ControlResult };
  };
  const fetches = (path: string): number => seenFor(origin, path).length;
  /** Fetches a URL and waits until its object is committed to the index (a miss is answered before that). */
  const cached = async (path: string, host = HOST, headers: Record<string, string> = {}): Promise<TestResponse> => {
    const res = await get(path, host, headers);
    await waitFor(`${host}${path} in the index`, async () => {
      const info = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/monitoring/fileinfo?url=${host}${path}` });
      const body = JSON.parse(info.body.toString()) as { Variants?: Array<{ State: string; ETag: string | null }> };
      return info.status === 200 && body.Variants?.some((v) => v.State === 'complete' && (v.ETag ?? undefined) === res.headers.etag) === true ? true : undefined;
    });
    return res;
  };

  before(async () => {
    origin = await startRoutedOrigin(routes);
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 2 }).replace('</Manager>', '<Allow Role="User">127.0.0.2</Allow></Manager>'),
      vhosts: vhostXml([
        { name: HOST, port, origin: origin.address },
        { name: GUARDED, port, origin: origin.address, extra: '<Options><Purge2Expire>PATTERN</Purge2Expire></Options>' },
        { name: ROOTLESS, port, origin: origin.address, extra: '<Options><RootPurgeExpire>OFF</RootPurgeExpire></Options>' },
        { name: NO_ROOT_HARD, port, origin: origin.address, extra: '<Options><RootHardPurge>OFF</RootHardPurge></Options>' },
        { name: COLLECTIVE, port, origin: origin.address, extra: '<Options><ApplyQueryString Collective="ON">ON</ApplyQueryString></Options>' },
        { name: KEYED, port, origin: origin.address, extra: '<Options><CaseSensitive>OFF</CaseSensitive><ApplyQueryString>OFF</ApplyQueryString></Options>' },
      ]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('purge of an exact URL invalidates every Vary variant; the next request refetches without validators', async () => {
    routes['/v'] = versioned('/v', { vary: 'Accept-Language' });
    await cached('/v', HOST, { 'accept-language': 'en' });
    await cached('/v', HOST, { 'accept-language': 'fr' });
    assert.ok(isHit(await get('/v', HOST, { 'accept-language': 'en' })));
    assert.equal(fetches('/v'), 2);
    const result = await control('purge', `url=${HOST}/v`);
    assert.equal(result.status, 200);
    assert.equal(result.body.Count, 2, JSON.stringify(result.body));
    assert.equal(result.body.Size, Buffer.byteLength('/v #1') + Buffer.byteLength('/v #2'));
    assert.equal(typeof result.body.Time, 'number');
    const en = await get('/v', HOST, { 'accept-language': 'en' });
    assert.equal(en.body.toString(), '/v #3', 'refetched');
    assert.equal(seenFor(origin, '/v')[2]?.headers['if-none-match'], undefined, 'a purged copy is refetched whole');
    const fr = await get('/v', HOST, { 'accept-language': 'fr' });
    assert.equal(fr.body.toString(), '/v #4');
    assert.ok(isHit(await get('/v', HOST, { 'accept-language': 'fr' })), 'the refetched copy is cached again');
    // Purging what was already purged and refetched counts again; purging twice in a row does not.
    assert.equal((await control('purge', `url=${HOST}/v`)).body.Count, 2);
    assert.equal((await control('purge', `url=${HOST}/v`)).body.Count, 0, 'a second purge is a no-op');
  });

  test("an exact purge builds the key with the vhost's key rules (CaseSensitive OFF, ApplyQueryString OFF)", async () => {
    routes['/Key/Mixed.txt'] = versioned('/Key/Mixed.txt');
    await get('/Key/Mixed.txt?session=1', KEYED);
    await waitFor('the object in the index', async () => {
      const info = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/monitoring/fileinfo?url=${KEYED}/key/mixed.txt` });
      return info.status === 200 && info.body.toString().includes('"complete"') ? true : undefined;
    });
    const result = await control('purge', `url=${KEYED}/KEY/MIXED.TXT?session=2`);
    assert.equal(result.body.Count, 1, JSON.stringify(result.body));
    assert.equal((await get('/Key/Mixed.txt?session=1', KEYED)).body.toString(), '/Key/Mixed.txt #2', 'refetched after the purge');
  });

  test('ApplyQueryString Collective="ON": a purge of a URL without a query reaches its query-string variants, and only them', async () => {
    routes['/q'] = versioned('/q');
    routes['/qq'] = versioned('/qq');
    for (const path of ['/q', '/q?a=1', '/q?b=2', '/qq']) await cached(path, COLLECTIVE);
    assert.equal((await control('purge', `url=${COLLECTIVE}/q?a=1`)).body.Count, 1, 'a URL with a query purges only itself');
    const result = await control('purge', `url=${COLLECTIVE}/q`);
    assert.equal(result.body.Count, 2, `/q and /q?b=2 (the purged /q?a=1 was refetched by nobody yet): ${JSON.stringify(result.body)}`);
    assert.ok(isHit(await get('/qq', COLLECTIVE)), '/qq shares the prefix but is another URL');
    assert.equal((await get('/q?b=2', COLLECTIVE)).body.toString(), '/q #2', 'the variant is refetched');
  });

  test('expire makes the next request revalidate (If-None-Match, 304 keeps the body)', async () => {
    routes['/e'] = versioned('/e');
    await cached('/e');
    assert.ok(isHit(await get('/e')));
    const result = await control('expire', `url=${HOST}/e`);
    assert.equal(result.body.Count, 1);
    assert.equal(result.body.Size, Buffer.byteLength('/e #1'));
    const revalidated = await get('/e');
    assert.equal(revalidated.body.toString(), '/e #1', 'the 304 kept the stored body');
    assert.match(cacheStatus(revalidated), /fwd-status=304/);
    assert.equal(seenFor(origin, '/e')[1]?.headers['if-none-match'], '"/e-1"');
    assert.ok(isHit(await get('/e')), 'fresh again after the 304');
  });

  test('expireafter sets the expiry to now + sec: sooner, and later than the origin said', async () => {
    routes['/ea'] = versioned('/ea');
    routes['/short'] = (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=1', 'content-type': 'text/plain' }, `short #${n}`);
    await cached('/ea');
    await cached('/short');
    assert.equal((await control('expireafter', `sec=1&url=${HOST}/ea`)).body.Count, 1);
    assert.equal((await control('expireafter', `sec=3600&url=${HOST}/short`)).body.Count, 1);
    assert.ok(isHit(await get('/ea')), 'still fresh within the second');
    await new Promise((resolve) => setTimeout(resolve, 1600));
    assert.equal((await get('/ea')).body.toString(), '/ea #1');
    assert.equal(fetches('/ea'), 2, 'revalidated after sec');
    const short = await get('/short');
    assert.ok(isHit(short), `max-age=1 was extended to an hour: ${cacheStatus(short)}`);
    assert.equal(fetches('/short'), 1);
    const bad = await control('expireafter', `url=${HOST}/ea`);
    assert.equal(bad.status, 400, 'sec is required');
  });

  test('hardpurge deletes the object: Count, Size, the disk usage, and a plain miss next', async () => {
    routes['/h'] = versioned('/h');
    await cached('/h');
    const objects = async (): Promise<number> => (await flint.stats()).cache.disks[0]?.objects ?? -1;
    const before = await objects();
    const result = await control('hardpurge', `url=${HOST}/h`);
    assert.deepEqual([result.body.Count, result.body.Size], [1, Buffer.byteLength('/h #1')]);
    assert.equal(await objects(), before - 1);
    const next = await cached('/h');
    assert.match(cacheStatus(next), /fwd=miss/);
    assert.equal((await control('hardpurge', `url=${HOST}/h`)).body.Count, 1);
    assert.equal((await control('hardpurge', `url=${HOST}/h`)).body.Count, 0);
  });

  test('a glob purges only the keys it matches; several targets join with |', async () => {
    for (const p of ['/img/a.jpg', '/img/b.jpg', '/img/c.png', '/img/sub/d.jpg', '/other/a.jpg']) {
      routes[p] = versioned(p);
      await cached(p);
    }
    const glob = await control('purge', `url=${HOST}/img/*.jpg`);
    assert.equal(glob.body.Count, 3, 'a.jpg, b.jpg and sub/d.jpg (the star spans /)');
    assert.ok(isHit(await get('/img/c.png')));
    assert.ok(isHit(await get('/other/a.jpg')));
    assert.equal((await get('/img/a.jpg')).body.toString(), '/img/a.jpg #2');
    await cached('/other/a.jpg');
    const multi = await control('purge', `url=${HOST}/img/c.png|${HOST}/other/a.jpg|http://${HOST}/nothing-here`);
    assert.equal(multi.body.Count, 2);
    assert.equal((await get('/other/a.jpg')).body.toString(), '/other/a.jpg #2');
    const unknown = await control('purge', 'url=unknown.host/x');
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.Errors?.[0] ?? '', /no vhost/);
    await cached('/img/c.png');
    const post = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: '/command/purge', method: 'POST', body: `url=${HOST}/img/c.png` });
    assert.equal((JSON.parse(post.body.toString()) as ControlResult).Count, 1, 'POST with a url= body');
  });

  test('guards: Purge2Expire PATTERN turns a glob purge into an expire; RootPurgeExpire OFF refuses host/*', async () => {
    routes['/g/x.css'] = versioned('/g/x.css');
    await cached('/g/x.css', GUARDED);
    const asExpire = await control('purge', `url=${GUARDED}/g/*`);
    assert.equal(asExpire.body.Count, 1);
    await cached('/g/x.css', GUARDED);
    assert.equal(seenFor(origin, '/g/x.css')[1]?.headers['if-none-match'], '"/g/x.css-1"', 'revalidated (expire), not refetched (purge)');
    const exact = await control('purge', `url=${GUARDED}/g/x.css`);
    assert.equal(exact.body.Count, 1, 'an exact purge stays a purge');
    await cached('/g/x.css', GUARDED);
    assert.equal(seenFor(origin, '/g/x.css')[2]?.headers['if-none-match'], undefined);

    routes['/r'] = versioned('/r');
    await cached('/r', ROOTLESS);
    const denied = await control('purge', `url=${ROOTLESS}/*`);
    assert.equal(denied.status, 200, 'STON answers a guarded target with 200');
    assert.equal(denied.body.Count, 0);
    assert.match(denied.body.Denied?.[0] ?? '', /RootPurgeExpire/);
    assert.ok(isHit(await get('/r', ROOTLESS)), 'nothing was purged');
    assert.equal((await control('purge', `url=${ROOTLESS}/r*`)).body.Count, 1, 'a narrower glob is allowed');
  });

  test('guards: RootHardPurge, not RootPurgeExpire, governs a hardpurge of host/*', async () => {
    // RootHardPurge OFF (RootPurgeExpire ON): host/* may be purged but not hard-purged.
    routes['/h/1'] = versioned('/h/1');
    routes['/h/2'] = versioned('/h/2');
    await cached('/h/1', NO_ROOT_HARD);
    await cached('/h/2', NO_ROOT_HARD);
    const refused = await control('hardpurge', `url=${NO_ROOT_HARD}/*`);
    assert.equal(refused.status, 200, 'STON answers a guarded target with 200');
    assert.equal(refused.body.Count, 0);
    assert.match(refused.body.Denied?.[0] ?? '', /RootHardPurge/);
    assert.ok(isHit(await get('/h/1', NO_ROOT_HARD)), 'nothing was hard-purged');
    assert.equal((await control('hardpurge', `url=${NO_ROOT_HARD}/h/1`)).body.Count, 1, 'an exact hardpurge is allowed');
    const rootPurge = await control('purge', `url=${NO_ROOT_HARD}/*`);
    assert.equal(rootPurge.body.Count, 1, `purge of host/* still follows RootPurgeExpire (ON): ${JSON.stringify(rootPurge.body)}`);

    // RootPurgeExpire OFF, RootHardPurge at its default (ON): purge of host/* is refused, hardpurge runs.
    routes['/rh'] = versioned('/rh');
    await cached('/rh', ROOTLESS);
    assert.match((await control('expire', `url=${ROOTLESS}/*`)).body.Denied?.[0] ?? '', /RootPurgeExpire/);
    const hard = await control('hardpurge', `url=${ROOTLESS}/*`);
    assert.equal(hard.body.Denied, undefined, JSON.stringify(hard.body));
    assert.ok(hard.body.Count >= 1, JSON.stringify(hard.body));
    const info = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/monitoring/fileinfo?url=${ROOTLESS}/rh` });
    assert.equal(info.status, 404, 'the hard-purged object is gone from the index');
    const before = fetches('/rh');
    assert.ok(!isHit(await get('/rh', ROOTLESS)));
    assert.equal(fetches('/rh'), before + 1, 'fetched again from the origin');
  });

  test('a purged copy is restored when the origin fails on the refetch', async () => {
    let down = false;
    const healthy = versioned('/down');
    routes['/down'] = (req, res, n) => {
      if (down) res.destroy();
      else healthy(req, res, n);
    };
    assert.equal((await cached('/down')).body.toString(), '/down #1');
    assert.equal((await control('purge', `url=${HOST}/down`)).body.Count, 1);
    down = true;
    const restored = await get('/down');
    assert.equal(restored.status, 200);
    assert.equal(restored.body.toString(), '/down #1', 'the old copy answers');
    assert.match(cacheStatus(restored), /fwd-status=error/);
    down = false;
    // Restored for <ConnectTimeout> (3 s) only: it stays purged, so once that passes it is refetched.
    assert.ok(isHit(await get('/down')));
  });

  test('the PURGE method on the management port: allowed for Admin addresses, 403 for others, 401 for the User role', async () => {
    routes['/m'] = versioned('/m');
    await cached('/m');
    const purgeAs = (localAddress?: string): Promise<TestResponse> =>
      request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/${HOST}/m`, method: 'PURGE', ...(localAddress === undefined ? {} : { localAddress }) });
    const purge = await purgeAs();
    assert.equal(purge.status, 200, purge.body.toString());
    assert.equal((JSON.parse(purge.body.toString()) as ControlResult).Count, 1);
    assert.equal((await cached('/m')).body.toString(), '/m #2');
    assert.equal((await purgeAs('127.0.0.3')).status, 403, 'an address outside <Allow>');
    assert.equal((await purgeAs('127.0.0.2')).status, 401, 'a User address');
    assert.ok(isHit(await get('/m')), 'neither refused call purged anything');
    assert.equal(fetches('/m'), 2);
    // The /command endpoints: a User may read monitoring, not purge; others are refused outright.
    assert.equal((await control('purge', `url=${HOST}/m`, '127.0.0.2')).status, 401);
    assert.equal((await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: '/stats', localAddress: '127.0.0.2' })).status, 200);
    assert.equal((await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/monitoring/fileinfo?url=${HOST}/m`, localAddress: '127.0.0.2' })).status, 200);
    assert.equal((await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: '/conf/history', localAddress: '127.0.0.2' })).status, 401);
    assert.equal((await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: '/command/purge?url=x', localAddress: '127.0.0.3' })).status, 403);
    assert.ok(isHit(await get('/m')));
  });

  test('the PURGE method on the service port: Admin addresses only, a User address gets 403 (purge-methods.test.ts: tokens)', async () => {
    routes['/sp'] = versioned('/sp');
    await cached('/sp');
    const purgeAs = (localAddress: string): Promise<TestResponse> => request({ port, path: '/sp', host: HOST, method: 'PURGE', localAddress });
    assert.equal((await purgeAs('127.0.0.2')).status, 403, 'a User address');
    assert.equal((await purgeAs('127.0.0.3')).status, 403, 'an address outside <Allow>');
    assert.ok(isHit(await get('/sp')), 'neither refused call purged anything');
    const purge = await purgeAs('127.0.0.1');
    assert.equal(purge.status, 200, purge.body.toString());
    assert.equal((JSON.parse(purge.body.toString()) as ControlResult).Count, 1);
    assert.equal((await get('/sp')).body.toString(), '/sp #2');
  });

  test('hot-tier coherence: once purge returns, neither worker serves the old copy', async () => {
    routes['/hot'] = versioned('/hot');
    await cached('/hot');
    // New connections spread over both workers (SO_REUSEPORT); enough hits put the object in both hot tiers.
    for (let i = 0; i < 30; i++) assert.equal((await get('/hot')).body.toString(), '/hot #1');
    const hot = (await flint.stats()).cache.hot;
    assert.ok(hot.hits > 0, 'the hot tier served some of those hits');
    assert.equal((await control('purge', `url=${HOST}/hot`)).body.Count, 1);
    const bodies = await Promise.all(Array.from({ length: 20 }, () => get('/hot')));
    for (const res of bodies) assert.notEqual(res.body.toString(), '/hot #1', `a worker served the purged copy: ${cacheStatus(res)}`);
    assert.equal(fetches('/hot'), 2, 'refetched once (collapsed)');
  });

  /**
   * The origin sends the head and 2 of 3 MiB of version 1 (two whole blocks that followers in the other worker
   * read through the fill record), then holds the rest until `release`. Later requests get version 2 at once.
   */
  function heldFirstFetch(path: string, v1: Buffer, v2: Buffer, release: Barrier, headSent: Barrier): Route {
    return async (_req, res, n) => {
      if (n > 1) {
        reply(res, 200, { 'cache-control': 'max-age=3600', etag: `"${path}-v${n}"`, 'content-type': 'application/octet-stream' }, v2);
        return;
      }
      res.sendDate = false;
      res.writeHead(200, { 'content-length': String(v1.length), 'cache-control': 'max-age=3600', etag: `"${path}-v1"`, 'content-type': 'application/octet-stream' });
      res.write(v1.subarray(0, 2 * MiB));
      headSent.open();
      await release.wait();
      res.end(v1.subarray(2 * MiB));
    };
  }

  for (const command of ['purge', 'expire', 'hardpurge'] as const) {
    test(`${command} while a fill is in flight: its clients finish, but the next requests (both workers) refetch the new version`, async () => {
      const path = `/inflight-${command}`;
      const v1 = patternBody(3 * MiB, 1);
      const v2 = patternBody(3 * MiB + 7, 2);
      const release = new Barrier();
      const headSent = new Barrier();
      routes[path] = heldFirstFetch(path, v1, v2, release, headSent);
      const statsBefore = await flint.stats();

      // The leader and followers on new connections (SO_REUSEPORT spreads them over both workers) join the fill.
      const leader = download(port, path, HOST);
      await headSent.wait();
      const followers: Array<Promise<Download>> = [];
      for (let i = 0; i < 8; i++) followers.push(download(port, path, HOST));
      // Let them reach Flint and start streaming the blocks already written (they are the fill's current clients).
      await sleep(300);

      const result = await control(command, `url=${HOST}${path}`);
      assert.equal(result.status, 200);
      assert.equal(result.body.Count, 0, 'nothing was stored yet: Count is of stored objects');

      // Requests after the command returned, in both workers, while the old fill still runs.
      const later: Array<Promise<Download>> = [];
      for (let i = 0; i < 8; i++) later.push(download(port, path, HOST));
      await sleep(300);
      assert.equal(fetches(path), 1, 'nothing refetched while the old fill runs (later requests wait for it)');
      release.open();

      const early = await Promise.all([leader, ...followers]);
      const v1Digest = sha256(v1);
      for (const res of early) {
        // Its clients get version 1 whole. A hardpurge drops the result, so a follower in the other worker still
        // short of the end is cut (it never gets other bytes), which the leader's worker does not do.
        if (command === 'hardpurge' && res.error !== null) continue;
        assert.equal(res.status, 200);
        assert.equal(res.bytes, v1.length, `a client of the fill got ${res.bytes} bytes (${res.error ?? 'no error'})`);
        assert.equal(res.sha256, v1Digest, 'a client of the fill got version 1 whole');
      }
      assert.equal((await leader).sha256, v1Digest, 'the leader finishes its download');

      const after = await Promise.all(later);
      const v2Digest = sha256(v2);
      for (const res of after) {
        assert.equal(res.error, null);
        assert.equal(res.sha256, v2Digest, `a request after the ${command} got bytes fetched before it (${res.bytes} bytes, ${String(res.headers['cache-status'])})`);
      }
      assert.equal(fetches(path), 2, 'one refetch, shared by every later request');
      if (command === 'expire') assert.equal(seenFor(origin, path)[1]?.headers['if-none-match'], `"${path}-v1"`, 'expire revalidates');
      else assert.equal(seenFor(origin, path)[1]?.headers['if-none-match'], undefined, `${command} refetches whole`);

      const statsAfter = await flint.stats();
      const perWorker = statsAfter.workers.map((w, i) => w.requests - (statsBefore.workers[i]?.requests ?? 0));
      assert.ok(perWorker.length === 2 && perWorker.every((n) => n > 0), `both workers served clients: ${perWorker.join(', ')}`);

      const hit = await get(path);
      assert.ok(isHit(hit), cacheStatus(hit));
      assert.equal(sha256(hit.body), v2Digest, 'version 2 is what is stored now');
      assert.equal(fetches(path), 2);
    });
  }

  test('a fill in flight when purge runs commits its object purged (stale), so a request after the commit refetches', async () => {
    const path = '/inflight-commit';
    const v1 = patternBody(3 * MiB, 3);
    const v2 = patternBody(3 * MiB + 5, 4);
    const release = new Barrier();
    const headSent = new Barrier();
    routes[path] = heldFirstFetch(path, v1, v2, release, headSent);
    const leader = download(port, path, HOST);
    await headSent.wait();
    const inspect = async (): Promise<{ status: number; variants: Array<{ State: string; ETag?: string | null; Fill?: { Controls: string[] } | null }> }> => {
      const info = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/monitoring/fileinfo?url=${HOST}${path}` });
      return { status: info.status, variants: (JSON.parse(info.body.toString()) as { Variants?: [] }).Variants ?? [] };
    };
    await waitFor('the fill in the inspector', async () => ((await inspect()).variants[0]?.State === 'filling' ? true : undefined));
    assert.equal((await control('purge', `url=${HOST}${path}`)).body.Count, 0);
    assert.deepEqual((await inspect()).variants[0]?.Fill?.Controls, ['purge'], 'the purge is recorded in the fill record');
    release.open();
    const done = await leader;
    assert.equal(done.sha256, sha256(v1), 'the leader got version 1 whole');
    const committed = await waitFor('the fill committed', async () => {
      const v = (await inspect()).variants[0];
      return v !== undefined && v.State !== 'filling' ? v : undefined;
    });
    assert.equal(committed.State, 'purged', 'stored stale and marked purged, not fresh');
    assert.equal(committed.ETag, `"${path}-v1"`);
    const next = await get(path);
    assert.equal(sha256(next.body), sha256(v2), `refetched: ${cacheStatus(next)}`);
    assert.equal(fetches(path), 2);
    assert.equal(seenFor(origin, path)[1]?.headers['if-none-match'], undefined, 'refetched whole, as after any purge');
  });
});
