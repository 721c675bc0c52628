/** Host -> vhost selection through a real Flint: Name, exact alias, wildcard alias, no default -> 404. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

describe('vhost selection', () => {
  const origins: TestOrigin[] = [];
  let flint: FlintProcess;
  let port: number;

  before(async () => {
    for (const name of ['a', 'b', 'c']) origins.push(await TestOrigin.start((_req, res) => res.end(name)));
    port = await freePort();
    const [a, b, c] = origins as [TestOrigin, TestOrigin, TestOrigin];
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }),
      vhosts: vhostXml([
        { name: 'a.test', port, origin: a.address, aliases: ['www.a.test', '*.a.test'] },
        { name: 'b.test', port, origin: b.address, aliases: ['*.img.b.test'] },
        { name: 'c.b.test', port, origin: c.address, aliases: ['*.deep.img.b.test'] },
      ]),
    }));
  });

  after(async () => {
    await flint?.stop();
    for (const o of origins) await o.close();
  });

  const cases: Array<[string, number, string]> = [
    ['a.test', 200, 'a'],
    ['A.TEST:8080', 200, 'a'],
    ['www.a.test', 200, 'a'],
    ['cdn.a.test', 200, 'a'],
    ['b.test', 200, 'b'],
    ['x.img.b.test', 200, 'b'],
    ['c.b.test', 200, 'c'],
    ['x.deep.img.b.test', 200, 'c'],
    ['img.b.test', 404, ''],
    ['a.test.evil', 404, ''],
    ['nothing.test', 404, ''],
  ];
  for (const [host, status, body] of cases) {
    test(`Host ${host} -> ${status} ${body}`, async () => {
      const res = await request({ port, host });
      assert.equal(res.status, status);
      if (status === 200) assert.equal(res.body.toString(), body);
      else assert.match(res.body.toString(), /no virtual host/);
    });
  }
});
