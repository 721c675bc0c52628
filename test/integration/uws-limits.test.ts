/**
 * Records today's behaviour of the uWS 20.30 build for requests it cannot parse (README "Known limits"). These
 * tests pin what happens now, so that a change of uWS build shows up as a failure to look at: an official
 * release answers 431/505 instead of closing the connection.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { rawExchange } from '../helpers/http.js';

describe('known limits of the uWS build', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  before(async () => {
    origin = await TestOrigin.start((_req, res) => res.end('ok'));
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }),
      vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address }], 'example.com'),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('control: a normal split request is answered', async () => {
    const r = await rawExchange(port, ['GET / HTTP/1.1\r\nHost: example.com\r\n', 'X-A: 1\r\n\r\n']);
    assert.match(r.received, /^HTTP\/1\.1 200/);
  });

  test('request header bytes above 0x7f: UTF-8 reaches the origin unchanged, other bytes as U+FFFD', async () => {
    // uWS.js hands header values to JavaScript as strings decoded from UTF-8 (src/http/request.ts asBytes).
    const seenFor = async (value: Buffer): Promise<Buffer> => {
      const request = Buffer.concat([Buffer.from('GET /label HTTP/1.1\r\nHost: example.com\r\nX-Label: '), value, Buffer.from('\r\n\r\n')]);
      const r = await rawExchange(port, [request], 0, 500);
      assert.match(r.received, /^HTTP\/1\.1 200/);
      // node:http decodes header bytes as latin1: back to the bytes the origin received.
      return Buffer.from(String(origin.seen.filter((s) => s.url === '/label').at(-1)?.headers['x-label']), 'latin1');
    };
    const utf8 = Buffer.from('caf\u00e9e', 'utf8');
    assert.deepEqual(await seenFor(utf8), utf8, 'UTF-8 bytes pass unchanged');
    assert.deepEqual(await seenFor(Buffer.from('caf\u00e9e', 'latin1')), Buffer.from('caf\ufffde', 'utf8'), 'a lone 0xe9 (not UTF-8)');
  });

  test('headers over ~4 KiB arriving in two reads: connection closed, no response', async () => {
    const cookie = `Cookie: ${'c'.repeat(6 * 1024)}\r\n`;
    const r = await rawExchange(port, ['GET / HTTP/1.1\r\nHost: example.com\r\n', `${cookie}\r\n`]);
    assert.equal(r.received, '');
    assert.ok(r.closedByServer);
  });

  test('more than ~48 request headers, and HTTP/1.0: no response, closed at the ~10 s idle timeout', async () => {
    const many = Array.from({ length: 60 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const started = Date.now();
    const [tooMany, http10] = await Promise.all([
      rawExchange(port, [`GET / HTTP/1.1\r\nHost: example.com\r\n${many}\r\n`], 50, 14_000),
      rawExchange(port, ['GET / HTTP/1.0\r\nHost: example.com\r\n\r\n'], 50, 14_000),
    ]);
    for (const r of [tooMany, http10]) {
      assert.equal(r.received, '');
      assert.ok(r.closedByServer, 'closed by the server, not by our 14 s give-up');
    }
    assert.ok(Date.now() - started > 5000, 'held open until the idle timeout, not closed at once');
  });
});
