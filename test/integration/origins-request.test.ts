/**
 * What Flint sends to an origin member (STON `<OriginOptions>`): `<Host>` and `<UserAgent>` overrides versus `*`
 * (the client's), `<XFFClientIPOnly>` ON versus appending, and `<ReuseTimeout>`: a pooled keep-alive connection is
 * reused while busy and closed by Flint once idle for that long.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { FlintProcess, serverXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import { waitFor } from '../helpers/cache.js';

describe('origin request details', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  const sockets: Socket[] = [];
  /** The connection of every request, in order. */
  const perRequest: Socket[] = [];
  const closedAt = new Map<Socket, number>();

  before(async () => {
    origin = await TestOrigin.start((req, res) => {
      perRequest.push(req.socket);
      if (!sockets.includes(req.socket)) {
        sockets.push(req.socket);
        req.socket.once('close', () => closedAt.set(req.socket, performance.now()));
      }
      res.setHeader('cache-control', 'no-store');
      res.end('ok');
    });
    port = await freePort();
    const vhost = (name: string, originOptions: string): string => `  <Vhost Name="${name}">
    <Listen>127.0.0.1:${port}</Listen>
    <Origin><Address>${origin.address}</Address></Origin>
    <OriginOptions>${originOptions}</OriginOptions>
  </Vhost>`;
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 1 }),
      vhosts: `<Vhosts>
${vhost('set.test', '<Host>origin.internal</Host><UserAgent>STON</UserAgent><XFFClientIPOnly>ON</XFFClientIPOnly><ReuseTimeout>1</ReuseTimeout>')}
${vhost('star.test', '<Host>*</Host><UserAgent>*</UserAgent>')}
</Vhosts>
`,
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  const headers = { 'user-agent': 'client-agent/1.0', 'x-forwarded-for': '203.0.113.9' };

  test('<Host>, <UserAgent> and <XFFClientIPOnly>ON replace the client values', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await request({ port, host: 'set.test', path: `/h/${method}`, method, headers });
      assert.equal(res.status, 200);
      const seen = origin.seen.at(-1);
      assert.equal(seen?.url, `/h/${method}`);
      assert.equal(seen?.headers.host, 'origin.internal');
      assert.equal(seen?.headers['user-agent'], 'STON');
      assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.1');
    }
  });

  test('`*` passes the client Host and User-Agent; X-Forwarded-For gets the client IP appended', async () => {
    const res = await request({ port, host: 'star.test', path: '/s', headers });
    assert.equal(res.status, 200);
    const seen = origin.seen.at(-1);
    assert.equal(seen?.headers.host, 'star.test');
    assert.equal(seen?.headers['user-agent'], 'client-agent/1.0');
    assert.equal(seen?.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  });

  test('<ReuseTimeout>1: back-to-back requests share one origin connection, which Flint closes after about 1 s idle', async () => {
    const before = perRequest.length;
    for (let i = 0; i < 5; i++) assert.equal((await request({ port, host: 'set.test', path: `/r/${i}` })).status, 200);
    const used = new Set(perRequest.slice(before));
    assert.equal(used.size, 1, `sequential requests used ${used.size} connections`);
    const idleFrom = performance.now();
    const socket = [...used][0] as Socket;
    assert.equal(closedAt.has(socket), false);
    const closed = await waitFor('the idle connection closed', () => closedAt.get(socket), 10_000);
    const idleMs = closed - idleFrom;
    assert.ok(idleMs > 700 && idleMs < 4000, `closed after ${idleMs.toFixed(0)} ms idle`);
  });
});
