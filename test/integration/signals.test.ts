/**
 * Process signals and start-up binds, on real Flint processes started here (not through FlintProcess: one runs in
 * its own process group): SIGHUP sent to the whole group (as some service managers do) reloads the config and
 * leaves both workers serving with the same pids; a service or manager port held by another process for ~1 s at
 * start is retried until it is free; a port that stays taken ends the start with a clear error.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import type { StatsBody } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';

const HOST = 'sig.test';

interface Started {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly managerPort: number;
  readonly port: number;
  output: string;
}

const started: Started[] = [];

/** Writes a conf (2 workers) and spawns Flint; `detached` puts it in a process group of its own. */
function spawnFlint(originPort: number, ports: { managerPort: number; port: number }, detached: boolean): Started {
  const dir = mkdtempSync(join(tmpdir(), 'flint-test-'));
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf', 'server.xml'), serverXml({ managerPort: ports.managerPort, dir, workers: 2 }));
  writeFileSync(join(dir, 'conf', 'vhosts.xml'), vhostXml([{ name: HOST, port: ports.port, origin: `127.0.0.1:${originPort}` }]));
  const child = spawn(process.execPath, [MAIN, 'start', '--conf', join(dir, 'conf')], { stdio: ['ignore', 'pipe', 'pipe'], detached });
  const flint: Started = { child, dir, ...ports, output: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (flint.output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (flint.output += chunk));
  started.push(flint);
  return flint;
}

async function admin<T>(flint: Started, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${flint.managerPort}${path}`);
  return (await res.json()) as T;
}

async function waitHealthy(flint: Started, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (flint.child.exitCode !== null) throw new Error(`flint exited with ${flint.child.exitCode}:\n${flint.output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${flint.managerPort}/health`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`flint not healthy after ${timeoutMs} ms:\n${flint.output}`);
}

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const release = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

describe('signals and start-up binds', () => {
  let origin: TestOrigin;

  after(async () => {
    for (const flint of started) {
      if (flint.child.exitCode === null && flint.child.signalCode === null) {
        flint.child.kill('SIGTERM');
        const timer = setTimeout(() => flint.child.kill('SIGKILL'), 15_000);
        await exited(flint.child);
        clearTimeout(timer);
      }
      rmSync(flint.dir, { recursive: true, force: true });
    }
    await origin?.close();
  });

  test('SIGHUP to the whole process group reloads the config; both workers keep serving with the same pids', async () => {
    origin = await TestOrigin.start((_req, res) => res.end('ok'));
    const flint = spawnFlint(origin.port, { managerPort: await freePort(), port: await freePort() }, true);
    await waitHealthy(flint);
    const before = await admin<StatsBody>(flint, '/stats');
    const pids = before.workers.map((w) => w.pid);
    assert.equal(pids.length, 2);
    const get = (host: string): Promise<number> => request({ port: flint.port, path: '/', host }).then((r) => r.status, () => 0);
    assert.equal(await get('hup.test'), 404, 'the alias does not exist yet');
    writeFileSync(join(flint.dir, 'conf', 'vhosts.xml'), vhostXml([{ name: HOST, port: flint.port, origin: `127.0.0.1:${origin.port}`, aliases: ['hup.test'] }]));

    // Clients keep coming on new connections (so each one lands on either worker) while the group gets SIGHUP.
    const failures: number[] = [];
    let sent = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        const status = await get(HOST);
        sent++;
        if (status !== 200) failures.push(status);
        await sleep(10);
      }
    })();
    await sleep(200);
    process.kill(-(flint.child.pid as number), 'SIGHUP');
    await sleep(2500);
    running = false;
    await load;

    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed around the SIGHUP (0 = refused or reset)`);
    const afterHup = await admin<StatsBody>(flint, '/stats');
    assert.deepEqual(afterHup.workers.map((w) => w.pid), pids, 'the same worker processes');
    assert.ok(afterHup.workers.every((w) => (w as { restarts: number }).restarts === 0));
    assert.notEqual(afterHup.configHash, before.configHash, 'the primary reloaded');
    assert.equal(await get('hup.test'), 200, 'the workers serve the reloaded config');
    assert.equal(flint.child.exitCode, null);
  });

  test('a service port held by another process for ~1 s at start is retried, and Flint ends up listening', async () => {
    const ports = { managerPort: await freePort(), port: await freePort() };
    const holder = await hold(ports.port);
    const flint = spawnFlint(origin.port, ports, false);
    // Released once a worker has failed to bind and said it retries (about 1 s with the workers' start-up).
    const deadline = Date.now() + 15_000;
    while (!flint.output.includes('"event":"worker.listen_retry"') && flint.child.exitCode === null && Date.now() < deadline) await sleep(20);
    await release(holder);
    assert.match(flint.output, /"event":"worker\.listen_retry"/, `no retry logged:\n${flint.output}`);
    await waitHealthy(flint);
    assert.equal((await request({ port: flint.port, path: '/', host: HOST })).status, 200);
  });

  test('a manager port held by another process for ~1 s at start is retried (logged), and Flint ends up listening', async () => {
    const ports = { managerPort: await freePort(), port: await freePort() };
    const holder = await hold(ports.managerPort);
    const flint = spawnFlint(origin.port, ports, false);
    // Released once the primary has failed to bind and said it retries (a fixed delay would race a slow start).
    const deadline = Date.now() + 15_000;
    while (!flint.output.includes('"event":"admin.listen_retry"') && flint.child.exitCode === null && Date.now() < deadline) await sleep(20);
    await release(holder);
    assert.match(flint.output, /"event":"admin\.listen_retry"/, `no retry logged:\n${flint.output}`);
    await waitHealthy(flint);
    assert.equal((await request({ port: flint.port, path: '/', host: HOST })).status, 200);
  });

  test('a service port that stays taken ends the start with exit 1 and a clear message after the retries', async () => {
    const ports = { managerPort: await freePort(), port: await freePort() };
    const holder = await hold(ports.port);
    try {
      const flint = spawnFlint(origin.port, ports, false);
      const startedAt = Date.now();
      assert.equal(await exited(flint.child), 1);
      assert.ok(Date.now() - startedAt >= 2000, 'it retried for about 2 s before giving up');
      assert.match(flint.output, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${ports.port} \\(tried 5 times`));
    } finally {
      await release(holder);
    }
  });
});
