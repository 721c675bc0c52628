/**
 * Config endpoints through a real Flint: /conf/server.xml and /conf/vhosts.xml show the running files (not what is
 * on disk but not yet applied), every applied config becomes a snapshot in /conf/history, and /conf/restore?hash=
 * writes a snapshot back and reloads it (the round trip changes what the service answers). Bad hashes are 404; a
 * snapshot that no longer validates leaves the running config and the files as they were. Snapshots hold the rule
 * files svc/<vhost>/*.txt too, and a restore writes back exactly the snapshot's set (a txt file added since is removed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

interface Snapshot {
  id: number;
  time: string;
  hash: string;
  type: string;
  size: number;
}

describe('config history and rollback', () => {
  let first: TestOrigin;
  let second: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  let firstVhosts: string;

  const manager = async (path: string): Promise<{ status: number; text: string }> => {
    const method = /^\/conf\/(?:reload|restore)/.test(path) ? 'POST' : 'GET';
    const res = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path, method });
    return { status: res.status, text: res.body.toString() };
  };
  const history = async (): Promise<{ current: string; history: Snapshot[] }> => JSON.parse((await manager('/conf/history')).text) as { current: string; history: Snapshot[] };
  const body = async (): Promise<string> => (await request({ port, path: '/', host: 'example.com' })).body.toString();

  before(async () => {
    first = await TestOrigin.start((_req, res) => res.end('first'));
    second = await TestOrigin.start((_req, res) => res.end('second'));
    port = await freePort();
    firstVhosts = vhostXml([{ name: 'example.com', port, origin: first.address, extra: '<Options><Caching>OFF</Caching></Options>' }]);
    flint = await FlintProcess.start(({ dir, managerPort }) => ({ server: serverXml({ managerPort, dir }), vhosts: firstVhosts }));
  });

  after(async () => {
    await flint?.stop();
    await first?.close();
    await second?.close();
  });

  test('the running files, a snapshot per applied config, and restore round trip', async () => {
    const start = await history();
    assert.equal(start.history.length, 1);
    assert.equal(start.history[0]?.type, 'loaded');
    assert.equal(start.history[0]?.hash, start.current);
    const loaded = start.history[0] as Snapshot;
    assert.equal((await manager('/conf/vhosts.xml')).text, firstVhosts);
    assert.equal((await manager('/conf/server.xml')).text, readFileSync(join(flint.confDir, 'server.xml'), 'utf8'));
    assert.equal(await body(), 'first');

    // Written to disk but not reloaded: the endpoint still shows what runs.
    const secondVhosts = firstVhosts.replace(first.address, second.address);
    flint.writeConf('vhosts.xml', secondVhosts);
    assert.equal((await manager('/conf/vhosts.xml')).text, firstVhosts);
    const reload = await manager('/conf/reload');
    assert.equal(reload.status, 200, reload.text);
    assert.equal(await body(), 'second');
    assert.equal((await manager('/conf/vhosts.xml')).text, secondVhosts);
    const afterReload = await history();
    assert.equal(afterReload.history.length, 2);
    assert.equal(afterReload.history[1]?.type, 'modified');
    assert.notEqual(afterReload.current, loaded.hash);
    // A reload that changes nothing adds no snapshot.
    await manager('/conf/reload');
    assert.equal((await history()).history.length, 2);

    const restore = await manager(`/conf/restore?hash=${loaded.hash}`);
    assert.equal(restore.status, 200, restore.text);
    assert.equal(await body(), 'first', 'the restored config serves');
    assert.equal(readFileSync(join(flint.confDir, 'vhosts.xml'), 'utf8'), firstVhosts, 'the files were written back');
    const restored = await history();
    assert.equal(restored.current, loaded.hash);
    assert.deepEqual(restored.history.map((s) => s.type), ['loaded', 'modified', 'restored']);
    // A short hash prefix and the id work too.
    assert.equal((await manager(`/conf/restore?hash=${afterReload.current.slice(0, 10)}`)).status, 200);
    assert.equal(await body(), 'second');
    assert.equal((await manager(`/conf/restore?id=${loaded.id}`)).status, 200);
    assert.equal(await body(), 'first');
  });

  test('unknown snapshots are 404, a missing hash 400; a snapshot that no longer validates changes nothing', async () => {
    assert.equal((await manager('/conf/restore?hash=0123456789abcdef')).status, 404);
    assert.equal((await manager('/conf/restore')).status, 400);
    // Make the stored snapshot of the running config invalid; restoring it must fail and keep everything.
    const { current, history: list } = await history();
    const other = [...list].reverse().find((s) => s.hash !== current) as Snapshot;
    const snapshotFile = join(flint.confDir, 'history', other.hash, 'vhosts.xml');
    writeFileSync(snapshotFile, '<Vhosts><Vhost Name="example.com"><Bogus/></Vhost></Vhosts>');
    const onDisk = readFileSync(join(flint.confDir, 'vhosts.xml'), 'utf8');
    const refused = await manager(`/conf/restore?hash=${other.hash}`);
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.text, /Bogus/);
    assert.equal(readFileSync(join(flint.confDir, 'vhosts.xml'), 'utf8'), onDisk, 'the previous files were put back');
    assert.equal((await history()).current, current);
  });
});

describe('config history covers the rule files svc/<vhost>/*.txt', () => {
  const HOST = 'rules.test';
  const FIRST_BYPASS = '/b/*, bypass\n';
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  const gets = new Map<string, number>();

  const manager = async (path: string): Promise<{ status: number; text: string }> => {
    const method = /^\/conf\/(?:reload|restore)/.test(path) ? 'POST' : 'GET';
    const res = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path, method });
    return { status: res.status, text: res.body.toString() };
  };
  const svcFile = (file: string): string => join(flint.confDir, 'svc', HOST, file);
  /** Requests `path` twice; returns how many of them reached the origin (2 = bypassed, 1 = cached). */
  const originHitsForTwo = async (path: string): Promise<number> => {
    const before = gets.get(path) ?? 0;
    for (let i = 0; i < 2; i++) {
      const res = await request({ port, path, host: HOST });
      assert.equal(res.status, 200);
    }
    return (gets.get(path) ?? 0) - before;
  };

  before(async () => {
    origin = await TestOrigin.start((req, res) => {
      gets.set(req.url ?? '', (gets.get(req.url ?? '') ?? 0) + 1);
      res.setHeader('cache-control', 'max-age=600');
      res.end('body');
    });
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => {
      mkdirSync(join(dir, 'conf', 'svc', HOST), { recursive: true });
      writeFileSync(join(dir, 'conf', 'svc', HOST, 'bypass.txt'), FIRST_BYPASS);
      return { server: serverXml({ managerPort, dir }), vhosts: vhostXml([{ name: HOST, port, origin: origin.address }]) };
    });
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('change bypass.txt and add ttl.txt, reload, restore the earlier hash: the files and the behaviour return', async () => {
    assert.equal(await originHitsForTwo('/b/1'), 2, 'bypass.txt bypasses /b/*');
    assert.equal(await originHitsForTwo('/c/1'), 1, '/c/* is cached');
    const loaded = JSON.parse((await manager('/conf/history')).text) as { current: string; history: Snapshot[] };
    const loadedHash = loaded.current;
    assert.equal(readFileSync(join(flint.confDir, 'history', loadedHash, 'svc', HOST, 'bypass.txt'), 'utf8'), FIRST_BYPASS, 'the snapshot holds bypass.txt');

    writeFileSync(svcFile('bypass.txt'), '/c/*, bypass\n');
    writeFileSync(svcFile('ttl.txt'), '/b/*, 1234\n');
    const reload = await manager('/conf/reload');
    assert.equal(reload.status, 200, reload.text);
    assert.equal(await originHitsForTwo('/b/2'), 1, 'after the change /b/* is cached');
    assert.equal(await originHitsForTwo('/c/2'), 2, 'after the change /c/* is bypassed');
    const modified = JSON.parse((await manager('/conf/history')).text) as { current: string; history: Snapshot[] };
    assert.notEqual(modified.current, loadedHash);
    assert.equal(modified.history.at(-1)?.type, 'modified');
    assert.ok(existsSync(join(flint.confDir, 'history', modified.current, 'svc', HOST, 'ttl.txt')), 'the new snapshot holds ttl.txt');

    const restore = await manager(`/conf/restore?hash=${loadedHash}`);
    assert.equal(restore.status, 200, restore.text);
    assert.equal(readFileSync(svcFile('bypass.txt'), 'utf8'), FIRST_BYPASS, 'bypass.txt was written back');
    assert.ok(!existsSync(svcFile('ttl.txt')), 'ttl.txt, absent from the snapshot, was removed');
    const restored = JSON.parse((await manager('/conf/history')).text) as { current: string; history: Snapshot[] };
    assert.equal(restored.current, loadedHash, 'the running config hashes as the snapshot (rule files included)');
    assert.deepEqual(restored.history.map((s) => s.type), ['loaded', 'modified', 'restored']);
    assert.equal(await originHitsForTwo('/b/3'), 2, 'restored: /b/* is bypassed again');
    assert.equal(await originHitsForTwo('/c/3'), 1, 'restored: /c/* is cached again');

    // And forward again: the modified snapshot brings ttl.txt back.
    assert.equal((await manager(`/conf/restore?hash=${modified.current}`)).status, 200);
    assert.equal(readFileSync(svcFile('ttl.txt'), 'utf8'), '/b/*, 1234\n');
    assert.equal(await originHitsForTwo('/c/4'), 2);
  });
});
