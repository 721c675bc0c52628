/**
 * The `flint` CLI end to end against a real Flint: purge / expire / expireafter / hardpurge (exact and glob), fileinfo
 * and reload, their output and exit codes; a clear error and exit 1 when Flint is not running, when access is
 * denied (a User-role manager; an <Allow> list without the CLI's address), and when a reload is refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlintProcess, MAIN, serverXml, vhostXml } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { isHit, reply, seenFor, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';

const HOST = 'cli.test';

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('flint CLI', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string): ReturnType<typeof request> => request({ port, path, host: HOST });
  const cached = async (path: string): Promise<void> => {
    await get(path);
    await waitFor(`${path} stored`, async () => ((await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: `/monitoring/fileinfo?url=${HOST}${path}` })).status === 200 ? true : undefined));
  };

  before(async () => {
    origin = await startRoutedOrigin(routes);
    for (const path of ['/a.css', '/img/1.png', '/img/2.png', '/keep.png', '/e', '/ea']) {
      routes[path] = (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600', etag: `"${n}"` }, `${path} #${n}`);
    }
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }),
      vhosts: vhostXml([{ name: HOST, port, origin: origin.address }]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('purge, glob hardpurge, expire and expireafter print STON counts and exit 0', async () => {
    await cached('/a.css');
    const purge = await cli('purge', '--conf', flint.confDir, `${HOST}/a.css`);
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /^purge: 1 object\(s\), 9 bytes, \d+ ms/);
    assert.equal((await get('/a.css')).body.toString(), '/a.css #2');

    await cached('/img/1.png');
    await cached('/img/2.png');
    await cached('/keep.png');
    const hard = await cli('hardpurge', `${HOST}/img/*.png`, '--conf', flint.confDir);
    assert.equal(hard.code, 0, hard.stderr);
    assert.match(hard.stdout, /hardpurge: 2 object\(s\)/);
    assert.ok(isHit(await get('/keep.png')));

    await cached('/e');
    await cached('/ea');
    const expire = await cli('expire', '--conf', flint.confDir, `${HOST}/e`, `${HOST}/ea`);
    assert.match(expire.stdout, /expire: 2 object\(s\)/);
    await get('/e');
    assert.equal(seenFor(origin, '/e')[1]?.headers['if-none-match'], '"1"', 'revalidated');
    const later = await cli('expireafter', '--conf', flint.confDir, '3600', `${HOST}/ea`);
    assert.equal(later.code, 0, later.stderr);
    assert.match(later.stdout, /expireafter: 1 object/);
    assert.ok(isHit(await get('/ea')), 'fresh again for an hour');

    const bad = await cli('purge', '--conf', flint.confDir, 'no-such-vhost.test/x');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no vhost/);
    const usage = await cli('expireafter', '--conf', flint.confDir, `${HOST}/ea`);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /usage: flint expireafter SECONDS URL/);
  });

  test('fileinfo prints each variant; --json the API document; exit 1 when not cached', async () => {
    await cached('/keep.png');
    const info = await cli('fileinfo', '--conf', flint.confDir, `${HOST}/keep.png`);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /cli\.test\/keep\.png \(vhost cli\.test\): 1 variant/);
    assert.match(info.stdout, /state\s+complete/);
    assert.match(info.stdout, /etag\s+"1"/);
    const json = await cli('fileinfo', '--conf', flint.confDir, `${HOST}/keep.png`, '--json');
    assert.equal((JSON.parse(json.stdout) as { Count: number }).Count, 1);
    const missing = await cli('fileinfo', '--conf', flint.confDir, `${HOST}/never`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not in the cache/);
  });

  test('reload applies a good config (exit 0) and reports a refused one (exit 1)', async () => {
    const good = await cli('reload', '--conf', flint.confDir);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /reloaded/);
    const vhosts = vhostXml([{ name: HOST, port, origin: origin.address }]);
    flint.writeConf('vhosts.xml', vhosts.replace('<Listen>', '<Lisen>x</Lisen><Listen>'));
    try {
      const refused = await cli('reload', '--conf', flint.confDir);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /reload refused[\s\S]*Lisen/);
    } finally {
      flint.writeConf('vhosts.xml', vhosts);
    }
  });

  test('not running: a clear message and exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flint-cli-'));
    try {
      mkdirSync(join(dir, 'conf'));
      writeFileSync(join(dir, 'conf', 'server.xml'), serverXml({ managerPort: await freePort(), dir }));
      writeFileSync(join(dir, 'conf', 'vhosts.xml'), vhostXml([{ name: HOST, port: await freePort(), origin: origin.address }]));
      for (const args of [['purge', `${HOST}/x`], ['reload'], ['fileinfo', `${HOST}/x`]]) {
        const run = await cli(...(args as [string, ...string[]]), '--conf', join(dir, 'conf'));
        assert.equal(run.code, 1);
        assert.match(run.stderr, /flint is not running: nothing listens on the management port 127\.0\.0\.1:\d+/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('access denied: a User-role manager refuses purge and reload (exit 1), monitoring still works', async () => {
    const userPort = await freePort();
    const readOnly = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }).replace('<Manager ', '<Manager Role="User" '),
      vhosts: vhostXml([{ name: HOST, port: userPort, origin: origin.address }]),
    }));
    try {
      const purge = await cli('purge', '--conf', readOnly.confDir, `${HOST}/x`);
      assert.equal(purge.code, 1);
      assert.match(purge.stderr, /access denied by 127\.0\.0\.1:\d+ \(401\): role User may not call this endpoint/);
      const reload = await cli('reload', '--conf', readOnly.confDir);
      assert.equal(reload.code, 1);
      assert.match(reload.stderr, /access denied/);
      const info = await cli('fileinfo', '--conf', readOnly.confDir, `${HOST}/x`);
      assert.match(info.stderr, /not in the cache/, 'the User role may read monitoring');
    } finally {
      await readOnly.stop();
    }
  });

  test('access denied by address: <Allow> without 127.0.0.1 makes purge, stats and reload exit 1 with a 403 message', async () => {
    const deniedPort = await freePort();
    const walled = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }),
      vhosts: vhostXml([{ name: HOST, port: deniedPort, origin: origin.address }]),
    }));
    try {
      // Started allowing 127.0.0.1 (the helper's health polls come from it); now only 127.0.0.2 may call.
      walled.writeConf('server.xml', serverXml({ managerPort: walled.managerPort, dir: walled.dir, allow: ['127.0.0.2'] }));
      const reloaded = await walled.admin<{ ok: boolean }>('/conf/reload');
      assert.equal(reloaded.body.ok, true);
      const fromAllowed = await request({ port: walled.managerPort, host: `127.0.0.1:${walled.managerPort}`, path: '/health', localAddress: '127.0.0.2' });
      assert.equal(fromAllowed.status, 200, 'the manager runs and answers the allowed address');

      const denied = /access denied by .*127\.0\.0\.1:\d+.*\(\D*403\): address 127\.0\.0\.1 is not in <Manager><Allow>/;
      const purge = await cli('purge', '--conf', walled.confDir, `${HOST}/x`);
      assert.equal(purge.code, 1, purge.stdout);
      assert.match(purge.stderr, denied);
      const stats = await cli('stats', '--conf', walled.confDir);
      assert.equal(stats.code, 1, stats.stdout);
      assert.match(stats.stderr, denied);
      const reload = await cli('reload', '--conf', walled.confDir);
      assert.equal(reload.code, 1, reload.stdout);
      assert.match(reload.stderr, denied);
      assert.ok(walled.logs.some((l) => l.event === 'admin.denied' && l.address === '127.0.0.1'), 'the manager logged the denied calls');
    } finally {
      await walled.stop();
    }
  });
});
