/**
 * STON's cache-control methods on the service port (issue 18 §2): PURGE, EXPIRE and HARDPURGE sent to a vhost's
 * own port act as /command/purge|expire|hardpurge on the management port, with the same answer body, for an
 * address in <Manager><Allow> that also sends the <Manager Token>; any other caller gets 403 and the cache is
 * untouched. A real Flint with a token, Allow = 127.0.0.1 only; the refused client binds 127.0.0.2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { isHit, reply, seenFor, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';

const HOST = 'methods.test';
const TOKEN = 'a-long-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface ControlResult {
  Count: number;
  Size: number;
  Time: number;
}

/** A cacheable resource whose body names the fetch (`path #n`); answers 304 to a matching If-None-Match. */
function versioned(path: string): Route {
  return (req, res, n) => {
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && inm !== '') return reply(res, 304, { etag: inm, 'cache-control': 'max-age=3600' });
    return reply(res, 200, { 'cache-control': 'max-age=3600', etag: `"${path}-${n}"`, 'content-type': 'text/plain' }, `${path} #${n}`);
  };
}

describe('PURGE, EXPIRE and HARDPURGE on the service port', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string): Promise<TestResponse> => request({ port, path, host: HOST });
  /** A control method on the service port, as `localAddress`, with `headers`. */
  const method = (name: string, path: string, headers: Record<string, string> = AUTH, localAddress = '127.0.0.1'): Promise<TestResponse> =>
    request({ port, path, host: HOST, method: name, headers, localAddress });
  const command = async (name: string, path: string): Promise<TestResponse> =>
    request({ port: flint.managerPort, method: 'POST', host: `127.0.0.1:${flint.managerPort}`, path: `/command/${name}?url=${HOST}${path}`, headers: AUTH });
  const json = (res: TestResponse): ControlResult => JSON.parse(res.body.toString()) as ControlResult;
  /** Fetches a URL until it is answered from the cache. */
  const cached = async (path: string): Promise<TestResponse> => {
    await get(path);
    return waitFor(`${HOST}${path} cached`, async () => {
      const res = await get(path);
      return isHit(res) ? res : undefined;
    });
  };

  before(async () => {
    origin = await startRoutedOrigin(routes);
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, allow: ['127.0.0.1'] }),
      vhosts: vhostXml([{ name: HOST, port, origin: origin.address }]),
    }));
    // The test helper's health check sends no token: the token comes with a reload once Flint runs.
    flint.writeConf('server.xml', serverXml({ managerPort: flint.managerPort, dir: flint.dir, allow: ['127.0.0.1'] }).replace('<Manager ', `<Manager Token="${TOKEN}" `));
    assert.equal((await flint.admin<{ ok: boolean }>('/conf/reload')).body.ok, true);
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('PURGE from an allowed address with the token: the same answer as /command/purge, and the copy is gone', async () => {
    routes['/p'] = versioned('/p');
    await cached('/p');
    const purged = await method('PURGE', '/p');
    assert.equal(purged.status, 200, purged.body.toString());
    assert.match(String(purged.headers['content-type']), /^application\/json/);
    const viaMethod = json(purged);
    assert.equal(viaMethod.Count, 1);
    assert.equal((await get('/p')).body.toString(), '/p #2', 'refetched after the purge');
    await cached('/p');
    const viaCommand = json(await command('purge', '/p'));
    assert.deepEqual(Object.keys(viaMethod).sort(), Object.keys(viaCommand).sort(), 'the same fields');
    assert.deepEqual([viaMethod.Count, viaMethod.Size], [viaCommand.Count, viaCommand.Size], 'the same figures');
  });

  test('EXPIRE makes the next request revalidate; HARDPURGE deletes the copy', async () => {
    routes['/e'] = versioned('/e');
    await cached('/e');
    const expired = await method('EXPIRE', '/e');
    assert.equal(expired.status, 200, expired.body.toString());
    assert.equal(json(expired).Count, 1);
    const before = seenFor(origin, '/e').length;
    assert.equal((await get('/e')).body.toString(), '/e #1', 'revalidated with a 304: the same copy');
    assert.equal(seenFor(origin, '/e').length, before + 1);
    assert.equal(seenFor(origin, '/e').at(-1)?.headers['if-none-match'], '"/e-1"');

    routes['/h'] = versioned('/h');
    await cached('/h');
    const hard = await method('HARDPURGE', '/h');
    assert.equal(hard.status, 200, hard.body.toString());
    assert.equal(json(hard).Count, 1);
    const refetched = await get('/h');
    assert.equal(refetched.body.toString(), '/h #2');
    assert.equal(seenFor(origin, '/h').at(-1)?.headers['if-none-match'], undefined, 'nothing left to revalidate');
  });

  test('refused with 403 and nothing changes: another address (even with the token), no token, a wrong token', async () => {
    routes['/r'] = versioned('/r');
    await cached('/r');
    const address = /not an Admin address in <Manager><Allow>/;
    const token = /needs the management token/;
    const refusals: ReadonlyArray<readonly [string, Promise<TestResponse>, RegExp]> = [
      ['127.0.0.2 with the token', method('PURGE', '/r', AUTH, '127.0.0.2'), address],
      ['127.0.0.2 HARDPURGE', method('HARDPURGE', '/r', AUTH, '127.0.0.2'), address],
      ['127.0.0.2 EXPIRE', method('EXPIRE', '/r', AUTH, '127.0.0.2'), address],
      ['127.0.0.2 without a token', method('PURGE', '/r', {}, '127.0.0.2'), address],
      ['127.0.0.1 without a token', method('PURGE', '/r', {}), token],
      ['127.0.0.1 with a wrong token', method('PURGE', '/r', { authorization: `Bearer ${TOKEN}x` }), token],
      ['127.0.0.1 with the token as Basic', method('PURGE', '/r', { authorization: `Basic ${TOKEN}` }), token],
      ['127.0.0.1 with the bare token', method('HARDPURGE', '/r', { authorization: TOKEN }), token],
    ];
    for (const [what, pending, reason] of refusals) {
      const res = await pending;
      assert.equal(res.status, 403, `${what}: ${res.body.toString()}`);
      assert.match(res.body.toString(), reason, what);
    }
    const still = await get('/r');
    assert.ok(isHit(still), 'still served from the cache');
    assert.equal(still.body.toString(), '/r #1');
    assert.equal(seenFor(origin, '/r').length, 1, 'the origin was not asked again');
  });
});
