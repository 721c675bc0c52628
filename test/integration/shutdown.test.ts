/** Graceful stop: SIGTERM stops accepting, lets an in-flight 10 MiB response finish, then exits 0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

const SIZE = 10 * 1024 * 1024;

test('SIGTERM drains an in-flight 10 MiB response and exits 0', async () => {
  // The origin dribbles the body over ~1.5 s so the response is surely in flight when SIGTERM lands.
  const origin = await TestOrigin.start(async (_req, res) => {
    res.writeHead(200, { 'content-length': String(SIZE) });
    const piece = Buffer.alloc(SIZE / 10, 7);
    for (let i = 0; i < 10; i++) {
      res.write(piece);
      await sleep(150);
    }
    res.end();
  });
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 2 }),
    vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }]),
  }));
  try {
    const download = new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/big', headers: { host: 'example.com' }, agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    await sleep(300);
    flint.signal('SIGTERM');
    await sleep(200);
    // No longer accepting: a new connection is refused while the old response is still streaming.
    await assert.rejects(request({ port, path: '/new' }));
    assert.equal(await download, SIZE);
    assert.equal(await flint.exited, 0);
  } finally {
    await flint.stop();
    await origin.close();
  }
});
