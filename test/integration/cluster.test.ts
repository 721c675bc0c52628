/**
 * The process model with 2 workers: both serve, a SIGKILLed worker is replaced and traffic continues, /stats
 * totals equal what was sent, and the management port enforces its allow list.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

/**
 * True until the process is reaped. Zombie state is not enough: the main thread turns zombie while other threads
 * still hold the fd table, so the listen socket is released only when the last thread exits.
 */
function isAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

describe('cluster of 2 workers', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  before(async () => {
    origin = await TestOrigin.start((_req, res) => res.end(String(process.pid)));
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 2 }),
      vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }], 'example.com'),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('two workers with distinct pids both serve requests', async () => {
    const stats = await flint.stats();
    const pids = stats.workers.map((w) => w.pid);
    assert.equal(pids.length, 2);
    assert.notEqual(pids[0], pids[1]);
    assert.ok(pids.every((p) => p !== null && p !== flint.pid));
    // New connections are spread by the kernel (SO_REUSEPORT); 200 of them reach both workers.
    for (let i = 0; i < 200; i++) assert.equal((await request({ port, path: `/spread/${i}` })).status, 200);
    const after = await flint.stats();
    const served = after.workers.map((w) => w.requests);
    assert.ok(served.every((n) => n > 0), `requests per worker: ${served.join(', ')}`);
  });

  test('/stats totals equal the requests sent', async () => {
    const before = await flint.stats();
    const base = before.vhosts['example.com']?.requests ?? 0;
    const base2xx = before.vhosts['example.com']?.responses2xx ?? 0;
    const N = 57;
    await Promise.all(Array.from({ length: N }, (_, i) => request({ port, path: `/count/${i}` })));
    const stats = await flint.stats();
    assert.equal(stats.vhosts['example.com']?.requests, base + N);
    assert.equal(stats.vhosts['example.com']?.responses2xx, base2xx + N);
    assert.equal(stats.totals.requests, base + N);
    assert.equal(stats.totals.cacheResults.PASS, base + N);
    assert.ok((stats.totals.clientOutBytes ?? 0) > 0);
    assert.equal(typeof stats.activeConnections, 'number');
  });

  test('a SIGKILLed worker is replaced and traffic keeps flowing', async () => {
    const stats = await flint.stats();
    const victim = stats.workers[0]?.pid;
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    // Once the victim is reaped its listen socket has left the SO_REUSEPORT group: from then on, no connection may
    // fail while slot 0 restarts (a connection that landed on the victim's socket before that was its own).
    while (isAlive(victim)) await sleep(5);
    for (let i = 0; i < 20; i++) assert.equal((await request({ port, path: `/during-restart/${i}` })).status, 200);
    const deadline = Date.now() + 10_000;
    let replaced = false;
    while (Date.now() < deadline && !replaced) {
      const now = await flint.stats();
      const slot = now.workers.find((w) => w.index === 0);
      replaced = slot !== undefined && slot.pid !== null && slot.pid !== victim && slot.ready && slot.restarts === 1;
      if (!replaced) await sleep(100);
    }
    assert.ok(replaced, 'slot 0 has a new ready worker');
    for (let i = 0; i < 50; i++) assert.equal((await request({ port, path: `/after-restart/${i}` })).status, 200);
    const totals = (await flint.stats()).workers.map((w) => w.requests);
    assert.ok(totals.every((n) => n > 0), `both workers serve again: ${totals.join(', ')}`);
  });

  test('unknown Host falls back to the <Default> vhost', async () => {
    const res = await request({ port, host: 'unknown.example.org' });
    assert.equal(res.status, 200);
  });

  test('the management port refuses an address outside <Allow> with 403', async () => {
    const res = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: '/stats', localAddress: '127.0.0.2' });
    assert.equal(res.status, 403);
    assert.match(res.body.toString(), /127\.0\.0\.2/);
    const ok = await request({ port: flint.managerPort, host: `127.0.0.1:${flint.managerPort}`, path: '/health' });
    assert.equal(ok.status, 200);
  });
});
