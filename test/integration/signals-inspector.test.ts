/**
 * Signals a real Flint (primary + 2 workers) must survive without opening a door: SIGUSR1 would start Node's
 * inspector (127.0.0.1:9229 by default: code execution for anyone on the machine) and SIGUSR2 would kill the
 * process. Both go to the primary and to a worker; the inspector ports stay closed, every process lives, the
 * logs are reopened, and Flint keeps serving. The inspector port is moved to free ports with --inspect-port (cluster
 * gives each worker the next port up), so another process holding 9229 cannot make the test pass or fail; 9229
 * itself is checked too when nothing else holds it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

const WORKERS = 2;

/** True when a TCP connect to 127.0.0.1:`port` is refused (nothing listens). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** A base port P with P..P+WORKERS all closed now (the primary's and each worker's inspector port). */
async function inspectorPorts(): Promise<number[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = await freePort();
    const ports = Array.from({ length: WORKERS + 1 }, (_, i) => base + i);
    if ((await Promise.all(ports.map(refused))).every(Boolean)) return ports;
  }
  throw new Error('no run of free ports for the inspector');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('signals', () => {
  let origin: TestOrigin;

  before(async () => {
    origin = await TestOrigin.start((_req, res) => res.end('ok'));
  });

  after(async () => {
    await origin.close();
  });

  test('SIGUSR1 and SIGUSR2 to the primary and a worker: no inspector listens, no process dies, Flint serves', async () => {
    const ports = await inspectorPorts();
    const default9229Closed = await refused(9229);
    const port = await freePort();
    const flint = await FlintProcess.start(
      ({ dir, managerPort }) => ({
        server: serverXml({ dir, managerPort, workers: WORKERS }),
        vhosts: vhostXml([{ name: 'site.test', port, origin: origin.address }]),
      }),
      [`--inspect-port=${ports[0]}`],
    );
    try {
      const workers = (await flint.stats()).workers.map((w) => w.pid ?? 0);
      assert.equal(workers.length, WORKERS);
      const worker = workers[0] ?? 0;
      for (const pid of [flint.pid, worker]) process.kill(pid, 'SIGUSR1');
      // Node starts the inspector from a watchdog thread right after the signal; give it ample time to show up.
      await sleep(1000);
      for (const p of ports) assert.ok(await refused(p), `an inspector listens on 127.0.0.1:${p}`);
      if (default9229Closed) assert.ok(await refused(9229), 'an inspector listens on 127.0.0.1:9229');
      await flint.waitForLog((l) => l.event === 'log.reopened' && l.signal === 'SIGUSR1');

      for (const pid of [flint.pid, worker]) process.kill(pid, 'SIGUSR2');
      await flint.waitForLog((l) => l.event === 'signal.ignored' && l.signal === 'SIGUSR2');
      await sleep(500);
      for (const pid of [flint.pid, ...workers]) assert.ok(alive(pid), `process ${pid} died`);
      assert.equal(flint.child.exitCode, null);
      const after = (await flint.stats()).workers;
      assert.deepEqual(
        after.map((w) => [w.pid, w.restarts]),
        workers.map((pid) => [pid, 0]),
        'no worker was replaced',
      );
      const res = await request({ port, host: 'site.test', path: '/after-signals' });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'ok');
    } finally {
      await flint.stop();
    }
  });
});
