/**
 * SIGHUP reload: a changed vhost takes effect while a load loop runs with zero failed requests; broken XML keeps
 * the running config and logs the element at fault.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

describe('SIGHUP reload', () => {
  let first: TestOrigin;
  let second: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  before(async () => {
    first = await TestOrigin.start((_req, res) => res.end('first'));
    second = await TestOrigin.start((_req, res) => res.end('second'));
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 2 }),
      vhosts: vhostXml([{ name: 'example.com', port, origin: first.address }]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await first?.close();
    await second?.close();
  });

  test('a changed origin takes effect under load with zero failed requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    let failures = 0;
    let sawSecond = false;
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        try {
          const res = await request({ port, path: '/', agent });
          if (res.status !== 200) failures++;
          if (res.body.toString() === 'second') sawSecond = true;
        } catch {
          failures++;
        }
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    await sleep(300);
    flint.writeConf('vhosts.xml', vhostXml([{ name: 'example.com', port, origin: second.address }]));
    flint.signal('SIGHUP');
    const deadline = Date.now() + 5000;
    while (!sawSecond && Date.now() < deadline) await sleep(50);
    await sleep(300);
    running = false;
    await Promise.all(loops);
    agent.destroy();
    assert.equal(failures, 0);
    assert.ok(sawSecond, 'new origin served after reload');
    // Settled: every new request goes to the second origin.
    for (let i = 0; i < 10; i++) assert.equal((await request({ port })).body.toString(), 'second');
  });

  test('broken XML keeps the running config and logs the element', async () => {
    const hashBefore = (await flint.stats()).configHash;
    flint.writeConf('vhosts.xml', vhostXml([{ name: 'example.com', port, origin: '127.0.0.1:99999' }]));
    flint.signal('SIGHUP');
    const line = await flint.waitForLog((l) => l.event === 'config.reload_failed');
    assert.match(JSON.stringify(line), /vhosts\.xml: Vhosts\/Vhost\[Name=example\.com\]\/Origin\/Address/);
    assert.equal((await request({ port })).body.toString(), 'second');
    assert.equal((await flint.stats()).configHash, hashBefore);

    flint.writeConf('vhosts.xml', '<Vhosts><Vhost Name="example.com">');
    flint.signal('SIGHUP');
    await flint.waitForLog((l) => l.event === 'config.reload_failed' && /vhosts\.xml/.test(JSON.stringify(l)) && /line/i.test(JSON.stringify(l)));
    assert.equal((await request({ port })).body.toString(), 'second');
  });
});
