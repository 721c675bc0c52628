/**
 * HTTPS to origins (issue 18 §5), with real TLS: a CA and an origin certificate (SAN origin.test and 127.0.0.1)
 * made by openssl at test time, a node:https origin on 127.0.0.1, a real Flint. Covers: `<CA>` trusted -> miss then
 * hit with identical bytes, and the SNI the origin saw (`<Host>` name; none for a bare IP address); no `<CA>` -> the
 * origin is refused, the client gets a 502 carrying no internals, the log names the certificate error, and health
 * counts it; `<TlsVerify>OFF` serves and warns at start; a HealthChecker over HTTPS marks the member down and up; a recovery
 * probe over HTTPS re-admits an excluded member.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FlintProcess, serverXml, sleep } from '../helpers/flint.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import { makeCerts } from '../helpers/origin-certs.js';
import type { TestCerts } from '../helpers/origin-certs.js';

interface Seen {
  readonly url: string;
  readonly host: string;
  /** The SNI name of the TLS connection; false (or null) when the client sent none. */
  readonly servername: string | false | null;
}

describe('HTTPS origins', () => {
  let certs: TestCerts;
  let origin: Server;
  let originPort: number;
  let port: number;
  let flint: FlintProcess;
  let alive = true;
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  /** The Host of the first request on each origin connection, in connection order. */
  const firstHosts: string[] = [];
  const counted = new WeakSet<Socket>();
  const body = (url: string): Buffer => Buffer.from(`body of ${url} `.repeat(200));

  before(async () => {
    certs = makeCerts('Flint Test Origin CA', ['origin.test'], ['127.0.0.1']);
    origin = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
      const url = req.url ?? '';
      seen.push({ url, host: req.headers.host ?? '', servername: (req.socket as TLSSocket).servername });
      if (!counted.has(req.socket)) {
        counted.add(req.socket);
        firstHosts.push(req.headers.host ?? '');
      }
      if (url === '/broken') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('broken');
        return;
      }
      if (url === '/alive') {
        res.writeHead(alive ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(alive ? 'ok' : 'down');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=600' });
      res.end(body(url));
    });
    origin.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    originPort = (origin.address() as AddressInfo).port;
    port = await freePort();
    const address = `127.0.0.1:${originPort}`;
    const vhost = (name: string, origin: string, extra = ''): string =>
      `<Vhost Name="${name}"><Listen>127.0.0.1:${port}</Listen>${origin}${extra}</Vhost>`;
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 1 }),
      vhosts: `<Vhosts>
        ${vhost('ca.test', `<Origin Protocol="HTTPS"><Address>${address}</Address><CA>${certs.caFile}</CA></Origin>`, '<OriginOptions><Host>origin.test</Host></OriginOptions>')}
        ${vhost('ip.test', `<Origin Protocol="HTTPS"><Address>${address}</Address><CA>${certs.caFile}</CA></Origin>`, '<Alias>*.ip.test</Alias>')}
        ${vhost('noca.test', `<Origin Protocol="HTTPS"><Address>${address}</Address></Origin>`, '<OriginOptions><Host>origin.test</Host><Exclusion All="ON">2</Exclusion><Recovery Cycle="60">1</Recovery></OriginOptions>')}
        ${vhost('noverify.test', `<Origin Protocol="HTTPS"><Address>${address}</Address><TlsVerify>OFF</TlsVerify></Origin>`)}
        ${vhost('check.test', `<Origin Protocol="HTTPS"><Address>${address}</Address><CA>${certs.caFile}</CA><HealthChecker ResCode="200" Timeout="1" Cycle="0.2" Exclusion="2" Recovery="2">/alive</HealthChecker></Origin>`, '<OriginOptions><Host>origin.test</Host></OriginOptions>')}
        ${vhost('rec.test', `<Origin Protocol="HTTPS"><Address>${address}</Address><CA>${certs.caFile}</CA></Origin>`, '<OriginOptions><Exclusion All="ON" ResCode="500">1</Exclusion><Recovery Cycle="0.2" Uri="/alive" ResCode="200">1</Recovery></OriginOptions><Options><Caching>OFF</Caching></Options>')}
        ${vhost('plain.test', `<Origin><Address>${address}</Address></Origin>`)}
      </Vhosts>`,
    }));
  });

  after(async () => {
    await flint?.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (origin === undefined ? resolve() : origin.close(() => resolve())));
    certs?.remove();
  });

  const get = (host: string, path: string): ReturnType<typeof request> => request({ port, host, path });
  const state = async (vhost: string): Promise<string | undefined> => {
    const doc = (await flint.admin<{ result: Array<{ Members: Array<{ Member: string; State: string }> }> }>(`/monitoring/origin?vhost=${vhost}`)).body;
    return doc.result[0]?.Members.find((m) => m.Member === `127.0.0.1:${originPort}`)?.State;
  };
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await sleep(50);
    }
    assert.fail(`timed out waiting for ${what}`);
  };

  test('with <CA>: miss then hit, identical bytes; SNI is the <Host> name, and none for a bare IP address', async () => {
    const first = await get('ca.test', '/a.bin');
    assert.equal(first.status, 200, first.body.toString());
    assert.deepEqual(first.body, body('/a.bin'));
    const second = await get('ca.test', '/a.bin');
    assert.equal(second.status, 200);
    assert.deepEqual(second.body, first.body);
    assert.match(String(second.headers['cache-status']), /hit/);
    const atOrigin = seen.filter((s) => s.url === '/a.bin');
    assert.equal(atOrigin.length, 1, 'the second request was a hit');
    assert.deepEqual(atOrigin[0], { url: '/a.bin', host: 'origin.test', servername: 'origin.test' });

    // No <Host>: the vhost's Name goes to the origin as Host; SNI and the name check never come from the client:
    // the address is an IP, so no SNI, and the certificate must carry 127.0.0.1.
    const byIp = await get('ip.test', '/b.bin');
    assert.equal(byIp.status, 200, byIp.body.toString());
    assert.deepEqual(seen.find((s) => s.url === '/b.bin'), { url: '/b.bin', host: 'ip.test', servername: false });
    // Other client Host names of the vhost reuse that keep-alive connection (undici would reconnect whenever the
    // SNI it derives from each request's Host changed).
    for (const [i, host] of ['a.ip.test', 'b.ip.test', 'ip.test'].entries()) assert.equal((await get(host, `/b${i}.bin`)).status, 200);
    assert.deepEqual(
      firstHosts.filter((h) => h.endsWith('ip.test')),
      ['ip.test'],
      'one connection for every Host of ip.test',
    );
  });

  test('without <CA>: refused, 503 with no internals, the certificate error logged, health counts it', async () => {
    const res = await get('noca.test', '/c.bin');
    const text = res.body.toString();
    // The connect failure of the vhost's only member: the router's "no member could be reached" answer (as for a
    // refused connection), in the generic words every client error body uses (pipeline/fail.ts).
    assert.equal(res.status, 503, text);
    assert.equal(text, '503 Service Unavailable: no origin available\n');
    for (const internal of [/127\.0\.0\.1/, String(originPort), /CERT|SIGN|SSL|TLS|UNABLE/i]) assert.doesNotMatch(text, new RegExp(internal), text);
    assert.ok(!seen.some((s) => s.url === '/c.bin'), 'no request reached the origin');
    const line = await flint.waitForLog((l) => l.event === 'origin.tls_failed');
    assert.equal(line.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(line.servername, 'origin.test');
    // A certificate the cache cannot trust is a failing origin: the second failure (Exclusion 2, All ON so that the
    // only member may go) excludes it.
    assert.equal(await state('noca.test'), 'Active');
    await get('noca.test', '/d.bin');
    await until('noca.test member excluded', async () => (await state('noca.test')) === 'Inactive');
    assert.equal(await state('ca.test'), 'Active', 'other vhosts of the same address are not affected');
  });

  test('<TlsVerify>OFF serves and was logged as a warning at start', async () => {
    const warning = flint.logs.find((l) => l.event === 'origin.tls_verify_off');
    assert.ok(warning !== undefined, 'warning logged at start');
    assert.equal(warning.vhost, 'noverify.test');
    assert.equal(warning.level, 40);
    assert.equal(flint.logs.filter((l) => l.event === 'origin.tls_verify_off').length, 1, 'only the unverified vhost');
    const res = await get('noverify.test', '/e.bin');
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(res.body, body('/e.bin'));
  });

  test('a HealthChecker speaks HTTPS: it marks the member down and up again', async () => {
    await until('check.test probes over TLS', async () => seen.some((s) => s.url === '/alive' && s.servername === 'origin.test'));
    assert.equal(await state('check.test'), 'Active');
    alive = false;
    await until('check.test down', async () => (await state('check.test')) === 'Inactive');
    alive = true;
    await until('check.test up', async () => (await state('check.test')) === 'Active');
  });

  test('recovery probes speak HTTPS too: an excluded member is re-admitted by a probe over TLS', async () => {
    const res = await get('rec.test', '/broken');
    assert.equal(res.status, 500);
    await until('rec.test excluded', async () => (await state('rec.test')) === 'Inactive');
    // No <Host>: the probe's Host is the vhost name and the address is an IP, so no SNI (the IP SAN is checked).
    await until('rec.test re-admitted', async () => (await state('rec.test')) === 'Active');
    assert.ok(seen.some((s) => s.url === '/alive' && s.host === 'rec.test' && s.servername === false), 'a recovery probe reached the origin over TLS');
  });

  test('a vhost without Protocol stays plain HTTP: it cannot talk to the TLS origin', async () => {
    const res = await get('plain.test', '/f.bin');
    assert.ok(res.status >= 500, `status ${res.status}`);
  });
});
