/**
 * `<Https Engine="uws">` (tls/uws-listener.ts): HTTPS served by uWS's SSLApp, HTTP/1.1 only, through the same
 * pipeline as plain HTTP. A real Flint (2 workers: each binds its own listen socket) with two vhosts sharing one
 * Https Listen, certificates made at test time with openssl, a real origin, curl, openssl s_client and node:tls
 * as clients. What the engine cannot do (h2, HTTP/1.0, TLS log fields) is checked as documented.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { FlintProcess, serverXml } from '../helpers/flint.js';
import { request } from '../helpers/http.js';
import type { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import type { Route } from '../helpers/cache.js';
import { patternBody, reply, startRoutedOrigin } from '../helpers/cache.js';
import { curl, makeCert, peerAltNames, peerCommonName, sClientSubject } from '../helpers/tls.js';

const SIZE = 3000;

function object(seed: number): Route {
  return (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', etag: `"o${seed}"`, 'content-type': 'application/octet-stream' }, patternBody(SIZE, seed));
}

/** A keep-alive TLS connection sending raw HTTP/1.1 requests one at a time (a connection opened before a reload). */
class RawTls {
  readonly #socket: TLSSocket;
  #buffer = '';
  #waiter: (() => void) | null = null;

  private constructor(socket: TLSSocket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#waiter?.();
    });
    socket.on('close', () => this.#waiter?.());
  }

  static open(port: number, servername: string | undefined): Promise<RawTls> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) }, () => resolve(new RawTls(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a GET and reads one response with a Content-Length body: [status, body]. */
  async get(host: string, path: string): Promise<[number, string]> {
    this.#buffer = '';
    this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    for (let i = 0; i < 200; i++) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end !== -1) {
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(this.#buffer.slice(0, end))?.[1] ?? '0');
        if (this.#buffer.length >= end + 4 + length) return [Number(this.#buffer.slice(9, 12)), this.#buffer.slice(end + 4, end + 4 + length)];
      }
      if (this.#socket.destroyed) break;
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return [0, ''];
  }

  close(): void {
    this.#socket.end();
  }
}

describe('HTTPS on uWS SSLApp (<Https Engine="uws">)', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'flint-https-uws-certs-'));
  const certA = makeCert(certDir, 'a', ['a.test']);
  const certB = makeCert(certDir, 'b', ['b.test', '*.b.test']);
  const routes: Record<string, Route> = {};
  for (let i = 0; i < 20; i++) routes[`/o/${i}`] = object(i);
  routes['/echo'] = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => reply(res, 200, { 'cache-control': 'no-store' }, Buffer.concat(chunks)));
  };
  let origin: TestOrigin;
  let flint: FlintProcess;
  let plainPort: number;
  let tlsPort: number;

  before(async () => {
    origin = await startRoutedOrigin(routes);
    plainPort = await freePort();
    tlsPort = await freePort();
    // The reload test rewrites these in place: live-a is the Default vhost's (the no-SNI certificate), live-b a named one.
    for (const [from, to] of [[certA, 'live-a'], [certB, 'live-b']] as const) {
      copyFileSync(from.cert, join(certDir, `${to}.crt`));
      copyFileSync(from.key, join(certDir, `${to}.key`));
    }
    const vhost = (name: string, live: string, extra: string): string => `<Vhost Name="${name}">${name === 'b.test' ? '<Alias>*.b.test</Alias>' : ''}
      <Listen>127.0.0.1:${plainPort}</Listen>
      <Https Listen="127.0.0.1:${tlsPort}" Engine="uws"><Cert>${join(certDir, `${live}.crt`)}</Cert><Key>${join(certDir, `${live}.key`)}</Key>${name === 'b.test' ? '<Hsts>600</Hsts>' : ''}</Https>
      <Origin><Address>${origin.address}</Address></Origin>${extra}</Vhost>`;
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 2 }).replace('</Manager></Host>', '</Manager><ServiceAccess Default="Allow"><Deny>127.0.0.6</Deny></ServiceAccess></Host>'),
      vhosts: `<Vhosts>
        ${vhost('a.test', 'live-a', '')}
        ${vhost('b.test', 'live-b', '<RedirectHttpToHttps ResCode="301"/>')}
        <Default>a.test</Default></Vhosts>`,
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('curl --http1.1: a miss then a hit with identical bytes; a client offering h2 gets HTTP/1.1 (no ALPN); no uWebSockets header', async () => {
    const first = await curl(tlsPort, 'a.test', '/o/1', ['--http1.1']);
    const second = await curl(tlsPort, 'a.test', '/o/1', ['--http1.1']);
    assert.equal(first.status, 200);
    assert.match(first.headers['cache-status'] ?? '', /^flint; fwd=miss/);
    assert.match(second.headers['cache-status'] ?? '', /^flint; hit/);
    assert.deepEqual(second.body, patternBody(SIZE, 1));
    assert.deepEqual(first.body, second.body);
    const h2 = await curl(tlsPort, 'a.test', '/o/1', ['--http2']);
    assert.equal(h2.httpVersion, 'HTTP/1.1');
    assert.equal(h2.status, 200);
    assert.deepEqual(h2.body, patternBody(SIZE, 1));
    for (const r of [first, second, h2]) assert.equal(Object.keys(r.headers).filter((h) => h.startsWith('uwebsockets')).length, 0);
  });

  test('SNI picks the vhost certificate (Name, wildcard Alias, any case); unknown or no SNI gets the Default vhost one', async () => {
    assert.match(sClientSubject(tlsPort, 'a.test'), /CN ?= ?a\.test/);
    assert.match(sClientSubject(tlsPort, 'b.test'), /CN ?= ?b\.test/);
    assert.match(sClientSubject(tlsPort, 'www.b.test'), /CN ?= ?b\.test/);
    assert.match(sClientSubject(tlsPort, 'unknown.example'), /CN ?= ?a\.test/);
    assert.match(sClientSubject(tlsPort, undefined), /CN ?= ?a\.test/);
    assert.equal(await peerCommonName(tlsPort, 'B.TEST'), 'b.test');
    // Requests go through on every kind of handshake (uWS routes per server name: each needs the handler).
    for (const servername of ['a.test', 'b.test', 'www.b.test', 'unknown.example', undefined]) {
      const conn = await RawTls.open(tlsPort, servername);
      try {
        assert.deepEqual(await conn.get('a.test', '/o/2'), [200, patternBody(SIZE, 2).toString('latin1')], String(servername));
      } finally {
        conn.close();
      }
    }
  });

  test('the <MaxRequestHeaderSize> limit (32K default): a 20 KiB Cookie passes, 40 KiB gets 431', async () => {
    assert.equal((await curl(tlsPort, 'a.test', '/o/9', ['--http1.1'])).status, 200);
    const ok = await curl(tlsPort, 'a.test', '/o/9', ['--http1.1', '-H', `cookie: c=${'x'.repeat(20 * 1024)}`]);
    assert.equal(ok.status, 200);
    const big = await curl(tlsPort, 'a.test', '/o/9', ['--http1.1', '-H', `cookie: c=${'x'.repeat(40 * 1024)}`]);
    assert.equal(big.status, 431);
  });

  test('HTTP/1.0 gets 505 on this engine (README "Known limits")', async () => {
    const res = await curl(tlsPort, 'a.test', '/o/3', ['--http1.0', '--no-alpn']);
    assert.equal(res.status, 505);
  });

  test('request bodies reach the origin whole', async () => {
    const body = patternBody(300_000, 7);
    const file = join(certDir, 'post.bin');
    writeFileSync(file, body);
    const res = await curl(tlsPort, 'a.test', '/echo', ['--http1.1', '--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream']);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, body);
  });

  test('HTTP and HTTPS share one cached object; PURGE over HTTPS works', async () => {
    const tls = await curl(tlsPort, 'a.test', '/o/5', ['--http1.1']);
    assert.match(tls.headers['cache-status'] ?? '', /^flint; fwd=miss/);
    const plain = await request({ port: plainPort, path: '/o/5', host: 'a.test' });
    assert.match(String(plain.headers['cache-status']), /^flint; hit/);
    const purge = await curl(tlsPort, 'a.test', '/o/5', ['--http1.1', '-X', 'PURGE']);
    assert.equal(purge.status, 200, purge.body.toString());
    const again = await curl(tlsPort, 'a.test', '/o/5', ['--http1.1']);
    assert.match(again.headers['cache-status'] ?? '', /^flint; fwd=(miss|stale)/);
    assert.equal(origin.seen.filter((s) => s.url === '/o/5').length, 2);
  });

  test('RedirectHttpToHttps on plain HTTP, HSTS over TLS only, and no redirect loop over TLS', async () => {
    const plain = await request({ port: plainPort, path: '/o/6?x=1', host: 'b.test' });
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, `https://b.test:${tlsPort}/o/6?x=1`);
    assert.equal(plain.headers['strict-transport-security'], undefined);
    const b = await curl(tlsPort, 'b.test', '/o/6?x=1', ['--http1.1']);
    assert.equal(b.status, 200);
    assert.equal(b.headers['strict-transport-security'], 'max-age=600');
    const a = await curl(tlsPort, 'a.test', '/o/6', ['--http1.1']);
    assert.equal(a.headers['strict-transport-security'], undefined);
  });

  test('<ServiceAccess> refuses a denied address over TLS too', async () => {
    const denied = await curl(tlsPort, 'a.test', '/o/4', ['--http1.1', '--interface', '127.0.0.6']);
    assert.equal(denied.status, 403);
    assert.equal(origin.seen.filter((s) => s.url === '/o/4').length, 0);
    assert.equal((await curl(tlsPort, 'a.test', '/o/4', ['--http1.1', '--interface', '127.0.0.7'])).status, 200);
  });

  test('the access log marks the request as TLS HTTP/1.1; protocol and cipher are "-" on this engine', async () => {
    await curl(tlsPort, 'a.test', '/o/7?log', ['--http1.1']);
    let record: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && record === undefined; i++) {
      record = flint.accessLog().find((r) => r.url === '/o/7?log');
      if (record === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(record?.alpn, 'http/1.1', JSON.stringify(flint.accessLog().slice(-3)));
    assert.equal(record?.tlsProtocol, '-');
    assert.equal(record?.tlsCipher, '-');
    assert.equal(record?.clientIp ?? '127.0.0.1', '127.0.0.1');
  });

  test('SIGHUP: new handshakes see the new certificates (named and no-SNI); open connections keep working; a broken one keeps the old', async () => {
    const named = await RawTls.open(tlsPort, 'b.test');
    const unnamed = await RawTls.open(tlsPort, undefined);
    try {
      assert.equal((await named.get('b.test', '/o/8'))[0], 200);
      assert.equal((await unnamed.get('a.test', '/o/8'))[0], 200);
      const newA = makeCert(certDir, 'a2', ['a.test', 'renewed.a.test']);
      const newB = makeCert(certDir, 'b2', ['b.test', '*.b.test', 'renewed.b.test']);
      copyFileSync(newA.cert, join(certDir, 'live-a.crt'));
      copyFileSync(newA.key, join(certDir, 'live-a.key'));
      copyFileSync(newB.cert, join(certDir, 'live-b.crt'));
      copyFileSync(newB.key, join(certDir, 'live-b.key'));
      const reloads = flint.logs.filter((l) => l.event === 'config.reloaded').length;
      flint.signal('SIGHUP');
      await flint.waitForLog(() => flint.logs.filter((l) => l.event === 'config.reloaded').length > reloads);
      // Both workers' sockets must serve the new certificates: ask several times (the kernel spreads connections).
      const renewed = async (servername: string, expect: RegExp): Promise<void> => {
        let ok = 0;
        for (let i = 0; i < 200 && ok < 12; i++) {
          if (expect.test(await peerAltNames(tlsPort, servername))) ok++;
          else {
            ok = 0;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        assert.equal(ok, 12, `${servername}: 12 handshakes in a row see the renewed certificate`);
      };
      await renewed('a.test', /renewed\.a\.test/);
      await renewed('unknown.example', /renewed\.a\.test/);
      await renewed('b.test', /renewed\.b\.test/);
      await renewed('www.b.test', /renewed\.b\.test/);
      assert.equal(await peerCommonName(tlsPort, undefined), 'a.test');
      assert.deepEqual(await named.get('b.test', '/o/8'), [200, patternBody(SIZE, 8).toString('latin1')], 'the SNI connection opened before the reload still works');
      assert.deepEqual(await unnamed.get('a.test', '/o/8'), [200, patternBody(SIZE, 8).toString('latin1')], 'the no-SNI connection opened before the reload still works');

      writeFileSync(join(certDir, 'live-b.crt'), 'broken\n');
      const failures = flint.logs.filter((l) => l.event === 'config.reload_failed').length;
      flint.signal('SIGHUP');
      await flint.waitForLog(() => flint.logs.filter((l) => l.event === 'config.reload_failed').length > failures);
      assert.match(await peerAltNames(tlsPort, 'b.test'), /renewed\.b\.test/);
      assert.equal((await named.get('b.test', '/o/8'))[0], 200);
    } finally {
      named.close();
      unnamed.close();
    }
    // The PEM files handed to uWS are gone: nothing of the keys stays in the temporary directory.
    assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith('flint-tls-')), []);
  });
});
