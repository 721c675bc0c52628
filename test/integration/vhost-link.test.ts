/**
 * <VhostLink> through a real Flint (primary + 1 worker): the content chain of seed 002 (a vhost whose storage lacks
 * an object hands the request to the next one). Three scripted origins, each the storage of one vhost:
 *
 *   a.test --404--> b.test --404,410--> c.test        dead.test (origin refuses connections) --fail--> b.test
 *   pass.test (Caching OFF, passed-through requests) --404--> b.test
 *
 * Objects are cached by the vhost that served them (b.test, c.test), never by the linking one; the access log
 * records the chain (`a.test+b.test`). Bad link configs are rejected by `flint check-config` with the chain named.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlintProcess, MAIN, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { isHit, reply, seenFor, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';

const CACHED = { 'cache-control': 'max-age=3600', 'content-type': 'text/plain' };

/** A storage origin serving `paths` (body `<label>:<path>`), 403 for /forbidden, 410 for /gone on B, 404 for the rest. */
function storage(label: string, paths: readonly string[]): Promise<TestOrigin> {
  return TestOrigin.start((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (paths.includes(path)) reply(res, 200, CACHED, `${label}:${path}`);
    else if (path === '/gone' && label === 'B') reply(res, 410, { 'content-type': 'text/plain' }, `${label}: gone`);
    else if (path === '/forbidden') reply(res, 403, { 'content-type': 'text/plain' }, `${label}: forbidden`);
    else reply(res, 404, { 'content-type': 'text/plain' }, `${label}: not found`);
  });
}

describe('vhost link chains', () => {
  let originA: TestOrigin;
  let originB: TestOrigin;
  let originC: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (host: string, path: string, method = 'GET'): Promise<TestResponse> => request({ port, host, path, method });
  /** The access records of `url` once `count` are written (the log is asynchronous). */
  const records = (url: string, count: number): Promise<Array<Record<string, unknown>>> =>
    waitFor(`${count} access records of ${url}`, () => {
      const found = flint.accessLog().filter((r) => r.url === url);
      return found.length >= count ? found : undefined;
    });

  before(async () => {
    originA = await storage('A', ['/here']);
    originB = await storage('B', ['/b-only', '/b-also', '/via-dead', '/via-pass', '/head']);
    originC = await storage('C', ['/c-only', '/gone']);
    const dead = await freePort(); // nothing listens there: connections are refused
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }),
      vhosts: vhostXml([
        { name: 'a.test', port, origin: originA.address, extra: '<VhostLink Condition="404">b.test</VhostLink>' },
        { name: 'b.test', port, origin: originB.address, extra: '<VhostLink Condition="404,410">c.test</VhostLink>' },
        { name: 'c.test', port, origin: originC.address },
        { name: 'dead.test', port, origin: `127.0.0.1:${dead}`, extra: '<VhostLink Condition="fail">b.test</VhostLink>' },
        { name: 'pass.test', port, origin: originA.address, extra: '<Options><Caching>OFF</Caching></Options><VhostLink Condition="4xx">b.test</VhostLink>' },
      ]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await Promise.all([originA?.close(), originB?.close(), originC?.close()]);
  });

  test('an object the first vhost has is served by it, without a link', async () => {
    const res = await get('a.test', '/here');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'A:/here');
    const [record] = await records('/here', 1);
    assert.equal(record?.vhost, 'a.test');
    assert.equal(seenFor(originB, '/here').length, 0, 'the linked vhost is not asked');
  });

  test('404 from the first vhost: the second serves and caches it; the chain is in the access log', async () => {
    const first = await get('a.test', '/b-only');
    assert.equal(first.status, 200);
    assert.equal(first.body.toString(), 'B:/b-only');
    const second = await get('a.test', '/b-only');
    assert.equal(second.body.toString(), 'B:/b-only');
    assert.ok(isHit(second), `the second request is a hit in b.test's cache: ${String(second.headers['cache-status'])}`);
    assert.equal(seenFor(originB, '/b-only').length, 1, 'b.test fetched it once and cached it');
    // a.test stores nothing for the answer that linked: its storage is asked each time (it may gain the object).
    assert.equal(seenFor(originA, '/b-only').length, 2);
    // The object lives in b.test's cache: a request for b.test itself is a hit.
    const direct = await get('b.test', '/b-only');
    assert.ok(isHit(direct));
    assert.equal(seenFor(originB, '/b-only').length, 1);
    const chained = await records('/b-only', 3);
    assert.deepEqual(chained.map((r) => r.vhost), ['a.test+b.test', 'a.test+b.test', 'b.test']);
    assert.deepEqual(chained.map((r) => r.status), [200, 200, 200]);
  });

  test('a three-vhost chain a -> b -> c, and a status list (410) on the second link', async () => {
    const res = await get('a.test', '/c-only');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'C:/c-only');
    const [record] = await records('/c-only', 1);
    assert.equal(record?.vhost, 'a.test+b.test+c.test');
    // /gone: A says 404 (-> b), B says 410 (-> c), C has it.
    const gone = await get('a.test', '/gone');
    assert.equal(gone.status, 200);
    assert.equal(gone.body.toString(), 'C:/gone');
    assert.equal(seenFor(originB, '/gone').length, 1, 'B answered 410');
    const [goneRecord] = await records('/gone', 1);
    assert.equal(goneRecord?.vhost, 'a.test+b.test+c.test');
  });

  test('a Range request is linked too: the linked vhost answers the range from its own cache', async () => {
    const res = await request({ port, host: 'a.test', path: '/b-also', headers: { range: 'bytes=2-4' } });
    assert.equal(res.status, 206);
    assert.equal(res.body.toString(), '/b-');
    assert.equal(res.headers['content-range'], `bytes 2-4/${'B:/b-also'.length}`);
    assert.equal(seenFor(originA, '/b-also').length, 1, "one ask of a.test's origin: its 404 to the block fetch links at once");
    assert.match(seenFor(originA, '/b-also')[0]?.headers.range ?? '', /^bytes=0-\d+$/, 'a.test asked for the block');
    const [record] = await records('/b-also', 1);
    assert.equal(record?.vhost, 'a.test+b.test');
  });

  test('a status outside the condition is answered by the first vhost', async () => {
    const res = await get('a.test', '/forbidden');
    assert.equal(res.status, 403);
    assert.equal(res.body.toString(), 'A: forbidden');
    assert.equal(seenFor(originB, '/forbidden').length, 0);
    const [record] = await records('/forbidden', 1);
    assert.equal(record?.vhost, 'a.test');
  });

  test('the end of a chain answers with its own 404 when nobody has the object', async () => {
    const res = await get('a.test', '/nowhere');
    assert.equal(res.status, 404);
    assert.equal(seenFor(originA, '/nowhere').length, 1);
    assert.equal(seenFor(originB, '/nowhere').length, 1);
    assert.equal(seenFor(originC, '/nowhere').length, 1);
    const [record] = await records('/nowhere', 1);
    assert.equal(record?.vhost, 'a.test+b.test+c.test');
  });

  test('fail: a dead origin hands the request on', async () => {
    const res = await get('dead.test', '/via-dead');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'B:/via-dead');
    const [record] = await records('/via-dead', 1);
    assert.equal(record?.vhost, 'dead.test+b.test');
  });

  test('passed-through requests (Caching OFF) follow the link too; HEAD as well', async () => {
    const res = await get('pass.test', '/via-pass');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'B:/via-pass');
    const [record] = await records('/via-pass', 1);
    assert.equal(record?.vhost, 'pass.test+b.test');
    const head = await get('a.test', '/head', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String('B:/head'.length));
    assert.equal(head.body.length, 0);
  });

  test('a request with a body is never handed on (it went to the first origin already)', async () => {
    const res = await request({ port, host: 'pass.test', path: '/post-target', method: 'POST', body: 'payload' });
    assert.equal(res.status, 404);
    assert.equal(seenFor(originB, '/post-target').length, 0);
  });
});

describe('vhost link config validation', () => {
  function check(vhosts: string): { status: number | null; stderr: string } {
    const dir = mkdtempSync(join(tmpdir(), 'flint-link-check-'));
    try {
      mkdirSync(join(dir, 'conf'));
      writeFileSync(join(dir, 'conf', 'server.xml'), serverXml({ managerPort: 10040, dir }));
      writeFileSync(join(dir, 'conf', 'vhosts.xml'), vhosts);
      const r = spawnSync(process.execPath, [MAIN, 'check-config', '--conf', join(dir, 'conf')], { encoding: 'utf8', timeout: 20_000 });
      return { status: r.status, stderr: r.stderr };
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
  const linked = (links: Record<string, string>, names = ['a', 'b', 'c']): string =>
    vhostXml(names.map((name) => ({ name, port: 8080, origin: '127.0.0.1:9000', extra: links[name] === undefined ? '' : `<VhostLink Condition="404">${links[name]}</VhostLink>` })));

  test('a valid chain passes', () => {
    assert.equal(check(linked({ a: 'b', b: 'c' })).status, 0);
  });

  test('a cycle a -> b -> a is rejected with the chain named', () => {
    const r = check(linked({ a: 'b', b: 'a' }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /vhosts\.xml: Vhosts\/Vhost\[Name=a\]\/VhostLink: link cycle a -> b -> a/);
    assert.doesNotMatch(r.stderr, /link cycle b -> a -> b/, 'one cycle, one problem');
  });

  test('a longer cycle entered from outside is named once, from its first member', () => {
    const r = check(linked({ a: 'b', b: 'c', c: 'b' }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Vhost\[Name=b\]\/VhostLink: link cycle b -> c -> b/);
    assert.doesNotMatch(r.stderr, /Vhost\[Name=a\]\/VhostLink/);
  });

  test('a link to itself and to a missing vhost are rejected', () => {
    const self = check(linked({ a: 'a' }));
    assert.equal(self.status, 1);
    assert.match(self.stderr, /Vhosts\/Vhost\[Name=a\]\/VhostLink: links to itself \(a -> a\)/);
    const missing = check(linked({ a: 'nowhere.test' }));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /Vhosts\/Vhost\[Name=a\]\/VhostLink: "nowhere\.test" is not the Name of any vhost \(a -> \?\)/);
  });

  test('a bad condition is rejected naming the attribute', () => {
    const r = check(vhostXml([
      { name: 'a', port: 8080, origin: '127.0.0.1:9000', extra: '<VhostLink Condition="404,6xx">b</VhostLink>' },
      { name: 'b', port: 8080, origin: '127.0.0.1:9000' },
    ]));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Vhost\[Name=a\]\/VhostLink@Condition: "6xx" is not a link condition/);
  });
});
