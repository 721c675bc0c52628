/**
 * Config endpoints through a real Flint: /conf/server.xml and /conf/vhosts.xml show the running files (not what is
 * on disk but not yet applied), every applied config becomes a snapshot in /conf/history, and /conf/restore?hash=
 * writes a snapshot back and reloads it (the round trip changes what the service answers). Bad hashes are 404; a
 * snapshot that no longer validates leaves the running config and the files as they were.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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
    const res = await request({ port: flint.managerPort, path });
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
