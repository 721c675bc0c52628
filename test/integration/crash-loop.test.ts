/**
 * A worker that keeps dying young is restarted with exponential backoff (the first replacement is immediate),
 * and each death is logged with the delay chosen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

async function readyWorkerPid(flint: FlintProcess, notPid: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const worker = (await flint.stats()).workers[0];
    if (worker?.ready === true && worker.pid !== null && worker.pid !== notPid) return worker.pid;
    await sleep(20);
  }
  throw new Error('no ready worker');
}

test('a crash-looping worker slot backs off exponentially and recovers', async () => {
  const origin = await TestOrigin.start((_req, res) => res.end('ok'));
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 1 }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
  try {
    let pid = 0;
    for (let i = 0; i < 3; i++) {
      pid = await readyWorkerPid(flint, pid);
      process.kill(pid, 'SIGKILL');
      while (existsSync(`/proc/${pid}`)) await sleep(5);
    }
    await readyWorkerPid(flint, pid);
    const delays = flint.logs.filter((l) => l.event === 'worker.exit').map((l) => l.restartInMs);
    assert.deepEqual(delays, [0, 250, 500]);
    assert.equal((await request({ port })).status, 200);
    assert.equal((await flint.stats()).workers[0]?.restarts, 3);
  } finally {
    await flint.stop();
    await origin.close();
  }
});
