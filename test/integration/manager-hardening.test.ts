/**
 * The management API against a browser on the operator's machine and against hostile callers (real Flint, one
 * worker): state-changing endpoints refuse GET without a token (405) and take it with one; a Host that is not the
 * manager's (DNS rebinding) gets 421 on reads and commands alike; a page of another origin or site gets 403; a 2 MB
 * body gets 413 (Content-Length or chunked) and Flint keeps answering; the User role sees no file path in /stats,
 * /metrics, /health or /monitoring/*; a <ServerName> is accepted as Host once configured; config history
 * snapshots keep the permission bits of the files they copy, and a restore keeps those of the files it replaces.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { rawExchange, request } from '../helpers/http.js';
import type { TestRequest, TestResponse } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';

const HOST = 'mgr.test';
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('management API hardening', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  let mp: number;

  /** A management request with the manager's own Host unless the test gives another. */
  const call = (r: Omit<TestRequest, 'port'>): Promise<TestResponse> => request({ host: `127.0.0.1:${mp}`, ...r, port: mp });
  const modeOf = (path: string): number => statSync(path).mode & 0o777;

  before(async () => {
    origin = await TestOrigin.start((_req, res) => {
      res.setHeader('cache-control', 'max-age=600');
      res.end('hello');
    });
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }).replace('<Allow>127.0.0.1</Allow>', '<Allow>127.0.0.1</Allow><Allow Role="User">127.0.0.2</Allow>'),
      vhosts: vhostXml([{ name: HOST, port, origin: `127.0.0.1:${origin.port}` }]),
    }));
    mp = flint.managerPort;
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('without a token, state-changing endpoints take POST only: GET and HEAD get 405 with Allow: POST', async () => {
    for (const path of [`/command/purge?url=${HOST}/a`, `/command/expire?url=${HOST}/a`, `/command/hardpurge?url=${HOST}/a`, `/command/expireafter?sec=5&url=${HOST}/a`, '/conf/reload', '/conf/restore?id=1']) {
      for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
        const res = await call({ path, method });
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers.allow, 'POST', `${method} ${path}`);
        if (method === 'GET') assert.match(res.body.toString(), /POST.*Token/s);
      }
    }
    assert.equal((await call({ path: `/command/purge?url=${HOST}/a`, method: 'POST' })).status, 200);
    assert.equal((await call({ path: '/command/purge', method: 'POST', body: `url=${HOST}/a` })).status, 200);
    assert.equal((await call({ path: '/conf/reload', method: 'POST' })).status, 200);
    assert.equal((await call({ path: '/stats' })).status, 200, 'reads stay GET');
  });

  test('a Host that is not the manager (DNS rebinding) gets 421, reads and commands alike', async () => {
    const hostile = [
      `evil.example:${mp}`,
      `127.0.0.1.nip.io:${mp}`,
      `localhost.:${mp}`,
      `localhost.evil.example:${mp}`,
      `127.0.0.1:${mp + 1}`,
      `127.0.0.1:0${mp}`,
      `127.0.0.1:${mp}.evil.example`,
      `127.0.0.1:${mp}@evil.example`,
      `evil.example@127.0.0.1:${mp}`,
      `127.0.0.1:${mp}:${mp}`,
      `127.1:${mp}`,
      `0x7f.0.0.1:${mp}`,
      `::1:${mp}`,
      `[::1]`,
      `[localhost]:${mp}`,
      `127.0.0.1`,
      'localhost',
      `127.0.0.1:${mp}, evil.example`,
    ];
    for (const host of hostile) {
      for (const [method, path] of [['GET', '/conf/server.xml'], ['GET', '/stats'], ['POST', '/conf/reload'], ['POST', `/command/hardpurge?url=${HOST}/*`]] as const) {
        const res = await call({ path, method, host });
        assert.equal(res.status, 421, `${method} ${path} with Host ${JSON.stringify(host)}: ${res.body.toString()}`);
      }
    }
    for (const host of [`127.0.0.1:${mp}`, `localhost:${mp}`, `LocalHost:${mp}`, `[::1]:${mp}`, `[::ffff:127.0.0.1]:${mp}`]) {
      assert.equal((await call({ path: '/stats', host })).status, 200, `Host ${host}`);
    }
    const twice = await rawExchange(mp, [`GET /stats HTTP/1.1\r\nHost: 127.0.0.1:${mp}\r\nHost: evil.example:${mp}\r\nConnection: close\r\n\r\n`]);
    assert.match(twice.received, /^HTTP\/1\.1 400 /, 'two Host headers (the first one is the manager)');
    const empty = await rawExchange(mp, ['GET /stats HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n']);
    assert.match(empty.received, /^HTTP\/1\.1 421 /, 'an empty Host');
  });

  test('a request from a page of another origin or site gets 403 (CSRF), the manager itself is let through', async () => {
    const refused: Array<Record<string, string>> = [
      { origin: 'http://evil.example' },
      { origin: `http://127.0.0.1:${port}` },
      { origin: `https://127.0.0.1:${mp}` },
      { origin: `http://localhost:${mp}` },
      { origin: 'null' },
      { origin: '' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: `http://127.0.0.1:${mp}`, 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of refused) {
      for (const path of [`/command/purge?url=${HOST}/a`, '/conf/reload']) {
        const res = await call({ path, method: 'POST', headers, body: 'url=x' });
        assert.equal(res.status, 403, `${JSON.stringify(headers)} ${path}: ${res.body.toString()}`);
      }
    }
    const allowed: Array<Record<string, string>> = [{ origin: `http://127.0.0.1:${mp}` }, { 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }];
    for (const headers of allowed) {
      assert.equal((await call({ path: `/command/purge?url=${HOST}/a`, method: 'POST', headers })).status, 200, JSON.stringify(headers));
    }
  });

  test('a 2 MB body gets 413, with Content-Length or chunked, and the manager keeps answering', async () => {
    const big = 'url=' + 'a'.repeat(2 * 1024 * 1024);
    const declared = await call({ path: '/command/purge', method: 'POST', body: big });
    assert.equal(declared.status, 413, declared.body.toString());
    const chunked = await call({ path: '/command/purge', method: 'POST', body: Readable.from([big.slice(0, 1_000_000), big.slice(1_000_000)]) });
    assert.equal(chunked.status, 413, chunked.body.toString());
    const restore = await call({ path: '/conf/restore', method: 'POST', body: Readable.from([big]) });
    assert.equal(restore.status, 413, restore.body.toString());
    assert.equal((await call({ path: '/health' })).status, 200);
  });

  test('the User role sees no file path in /stats, /metrics, /health or /monitoring/*; Admin does', async () => {
    await request({ port, path: '/p', host: HOST });
    const paths = ['/stats', '/metrics', '/health', '/monitoring/origin', '/monitoring/realtime', '/monitoring/realtime?type=xml', '/monitoring/average?min=1', '/monitoring/average?type=xml', `/monitoring/fileinfo?url=${HOST}/p`];
    const admin = await call({ path: '/stats' });
    assert.ok(admin.body.toString().includes(flint.dir), 'Admin sees the disk path (so this test can fail)');
    for (const path of paths) {
      const res = await call({ path, localAddress: '127.0.0.2' });
      assert.ok(res.status === 200 || res.status === 404, `${path}: ${res.status}`);
      const text = res.body.toString();
      assert.ok(!text.includes(flint.dir) && !text.includes('flint-test-'), `${path} shows a path to the User role:\n${text.slice(0, 2000)}`);
      assert.equal(Number(res.headers['content-length']), res.body.length, `${path}: Content-Length of the redacted body`);
    }
    const stats = JSON.parse((await call({ path: '/stats', localAddress: '127.0.0.2' })).body.toString()) as { cache: { disks: Array<{ path: string }> } };
    assert.equal(stats.cache.disks[0]?.path, 'disk0');
    assert.match((await call({ path: '/metrics', localAddress: '127.0.0.2' })).body.toString(), /flint_cache_objects\{disk="disk0"\}/);
  });

  test('`npm run reload` reads the management port from the conf (not a hard-coded 10040) and reloads', async () => {
    const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const reload = scripts.reload ?? '';
    assert.doesNotMatch(reload, /10040/);
    const before = (JSON.parse((await call({ path: '/conf/history' })).body.toString()) as { history: unknown[] }).history.length;
    writeFileSync(join(flint.confDir, 'vhosts.xml'), `${readFileSync(join(flint.confDir, 'vhosts.xml'), 'utf8')}<!-- npm run reload -->\n`);
    const out = await new Promise<{ code: number; text: string }>((resolve) => {
      execFile('sh', ['-c', `${reload} --conf "$0"`, flint.confDir], { cwd: REPO_ROOT }, (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), text: stdout + stderr }));
    });
    assert.equal(out.code, 0, out.text);
    assert.match(out.text, /configuration reloaded/);
    const afterReload = (JSON.parse((await call({ path: '/conf/history' })).body.toString()) as { history: unknown[] }).history.length;
    assert.equal(afterReload, before + 1, 'the reload made a new snapshot');
  });

  test('config snapshots keep the source files\' permission bits; a restore keeps those of the files it replaces', async () => {
    const serverPath = join(flint.confDir, 'server.xml');
    const vhostsPath = join(flint.confDir, 'vhosts.xml');
    chmodSync(serverPath, 0o600);
    chmodSync(vhostsPath, 0o440);
    const named = `cache1.example.test:${mp}`;
    assert.equal((await call({ path: '/health', host: named })).status, 421, 'a name not listed');
    writeFileSync(serverPath, readFileSync(serverPath, 'utf8').replace('<Manager ', '<Manager Token="s3cret-token" ').replace('</Manager>', '<ServerName>cache1.example.test</ServerName></Manager>'));
    const reload = await call({ path: '/conf/reload', method: 'POST' });
    assert.equal(reload.status, 200, reload.body.toString());
    const auth = { authorization: 'Bearer s3cret-token' };
    assert.equal((await call({ path: '/health', host: named, headers: auth })).status, 200, 'a <ServerName> is the manager');
    const history = JSON.parse((await call({ path: '/conf/history', headers: auth })).body.toString()) as { current: string; history: Array<{ hash: string; type: string }> };
    const snapshot = join(flint.confDir, 'history', history.current);
    assert.ok(readFileSync(join(snapshot, 'server.xml'), 'utf8').includes('s3cret-token'));
    assert.equal(modeOf(join(snapshot, 'server.xml')).toString(8), '600', 'the snapshot holding the token is not world-readable');
    assert.equal(modeOf(join(snapshot, 'vhosts.xml')).toString(8), '440', 'a read-only source is copied too');

    // With the token set, STON's GET form of the commands works again, and only with the token.
    assert.equal((await call({ path: `/command/purge?url=${HOST}/a`, headers: auth })).status, 200);
    assert.equal((await call({ path: `/command/purge?url=${HOST}/a` })).status, 401);
    assert.equal((await call({ path: '/conf/reload', method: 'HEAD', headers: auth })).status, 200);

    // Restoring the first snapshot (0644 files, no token) keeps the conf files at 0600 / 0440.
    const loaded = history.history.find((s) => s.type === 'loaded');
    assert.ok(loaded !== undefined);
    const restore = await call({ path: '/conf/restore', method: 'POST', headers: auth, body: `hash=${loaded.hash}` });
    assert.equal(restore.status, 200, restore.body.toString());
    assert.equal(modeOf(serverPath).toString(8), '600');
    assert.equal(modeOf(vhostsPath).toString(8), '440');
    assert.ok(!readFileSync(serverPath, 'utf8').includes('s3cret-token'));
    assert.equal((await call({ path: `/command/purge?url=${HOST}/a` })).status, 405, 'token gone: GET refused again');
  });
});
