/**
 * HTTPS termination with SNI and HTTP/2 (issue 18 §3, §4): a real Flint with two vhosts sharing one Https Listen
 * (certificates made at test time with openssl), a real origin, curl and openssl s_client as clients. The TLS
 * engine (node:http2 with allowHTTP1) feeds the same pipeline as uWS: hits, ranges, 304s, HEAD, purge, Cache-Status
 * and one cached object shared with plain HTTP.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FlintProcess, serverXml } from '../helpers/flint.js';
import { request } from '../helpers/http.js';
import type { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import type { Route } from '../helpers/cache.js';
import { patternBody, reply, startRoutedOrigin } from '../helpers/cache.js';
import { curl, h2Request, h2Session, makeCert, peerAltNames, peerCommonName, sClientSubject } from '../helpers/tls.js';

const SIZE = 3000;

/** A cacheable object whose body is fixed per path; answers If-None-Match itself only when asked (Flint should not need it). */
function object(seed: number): Route {
  return (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', etag: `"o${seed}"`, 'content-type': 'application/octet-stream' }, patternBody(SIZE, seed));
}

describe('HTTPS with SNI and HTTP/2', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'flint-https-certs-'));
  const certA = makeCert(certDir, 'a', ['a.test']);
  const certB = makeCert(certDir, 'b', ['b.test', '*.b.test']);
  const routes: Record<string, Route> = {};
  for (let i = 0; i < 120; i++) routes[`/o/${i}`] = object(i);
  const BIG = 8 * 1024 * 1024;
  routes['/big'] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', 'content-type': 'application/octet-stream' }, patternBody(BIG, 42));
  // A head, `sent` body bytes of a 256 KiB object, then the origin resets the connection.
  const failing = (sent: number): Route => (req, res) => {
    res.sendDate = false;
    res.writeHead(200, { 'cache-control': 'max-age=600', 'content-length': String(256 * 1024) });
    res.flushHeaders();
    if (sent > 0) res.write(patternBody(sent, 9));
    setTimeout(() => req.socket.resetAndDestroy(), 100);
  };
  routes['/reset-early'] = failing(0);
  routes['/reset-late'] = failing(100 * 1024);
  // No Content-Length (chunked): only a stream reset can tell the client the body is short.
  routes['/reset-chunked'] = (req, res) => {
    res.sendDate = false;
    res.writeHead(200, { 'cache-control': 'max-age=600' });
    res.write(patternBody(100 * 1024, 9));
    setTimeout(() => req.socket.resetAndDestroy(), 100);
  };
  // Echoes a request body back (uncached): request bodies stream through the TLS writer.
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
    // Flint reads <Cert>/<Key> from these paths; the reload test rewrites them in place.
    copyFileSync(certA.cert, join(certDir, 'live-a.crt'));
    copyFileSync(certA.key, join(certDir, 'live-a.key'));
    const vhost = (name: string, cert: string, key: string, extra: string): string => `<Vhost Name="${name}">${name === 'b.test' ? '<Alias>*.b.test</Alias>' : ''}
      <Listen>127.0.0.1:${plainPort}</Listen>
      <Https Listen="127.0.0.1:${tlsPort}"><Cert>${cert}</Cert><Key>${key}</Key>${name === 'b.test' ? '<Hsts IncludeSubDomains="ON">600</Hsts>' : ''}</Https>
      <Origin><Address>${origin.address}</Address></Origin>${extra}</Vhost>`;
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 1 }),
      vhosts: `<Vhosts>
        ${vhost('a.test', join(certDir, 'live-a.crt'), join(certDir, 'live-a.key'), '')}
        ${vhost('b.test', certB.cert, certB.key, '<RedirectHttpToHttps ResCode="308"/>')}
        <Default>a.test</Default></Vhosts>`,
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('curl --http1.1 and --http2: a miss then a hit with identical bytes, Cache-Status, no uWebSockets header', async () => {
    for (const [flag, version, path] of [['--http1.1', 'HTTP/1.1', '/o/1'], ['--http2', 'HTTP/2', '/o/2']] as const) {
      const first = await curl(tlsPort, 'a.test', path, [flag]);
      const second = await curl(tlsPort, 'a.test', path, [flag]);
      assert.equal(first.httpVersion, version);
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.match(first.headers['cache-status'] ?? '', /^flint; fwd=miss/);
      assert.match(second.headers['cache-status'] ?? '', /^flint; hit/);
      assert.deepEqual(second.body, patternBody(SIZE, path === '/o/1' ? 1 : 2));
      assert.deepEqual(first.body, second.body);
      assert.equal(second.headers['content-length'], String(SIZE));
      for (const r of [first, second]) assert.equal(Object.keys(r.headers).filter((h) => h.startsWith('uwebsockets')).length, 0);
    }
  });

  test('a 20 KiB Cookie passes over TLS HTTP/1.1 and HTTP/2 (<MaxRequestHeaderSize>, default 32K)', async () => {
    const cookie = `c=${'x'.repeat(20 * 1024)}`;
    // Cached first: the test origin (node:http) has the 16 KiB limit itself.
    assert.equal((await curl(tlsPort, 'a.test', '/o/9', ['--http2'])).status, 200);
    for (const flag of ['--http1.1', '--http2']) {
      const res = await curl(tlsPort, 'a.test', '/o/9', [flag, '-H', `cookie: ${cookie}`]);
      assert.equal(res.status, 200, flag);
    }
  });

  test('HTTP/1.0 over TLS is served (a client that offers no ALPN, as 1.0 clients predate it)', async () => {
    const res = await curl(tlsPort, 'a.test', '/o/3', ['--http1.0', '--no-alpn']);
    // Node answers a 1.0 request with its own version in the status line (RFC 9110 §6.2 allows it) and closes.
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, patternBody(SIZE, 3));
  });

  test('SNI picks the vhost certificate (Name and wildcard Alias); unknown or no SNI gets the Default vhost one', async () => {
    assert.match(sClientSubject(tlsPort, 'a.test'), /CN ?= ?a\.test/);
    assert.match(sClientSubject(tlsPort, 'b.test'), /CN ?= ?b\.test/);
    assert.match(sClientSubject(tlsPort, 'www.b.test'), /CN ?= ?b\.test/);
    assert.match(sClientSubject(tlsPort, 'unknown.example'), /CN ?= ?a\.test/);
    assert.match(sClientSubject(tlsPort, undefined), /CN ?= ?a\.test/);
    assert.equal(await peerCommonName(tlsPort, 'B.TEST'), 'b.test');
  });

  test('100 concurrent streams on one HTTP/2 connection all get their own bytes', async () => {
    const session = h2Session(tlsPort, 'a.test');
    try {
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => h2Request(session, `/o/${i + 10}`, { host: 'a.test' })));
      results.forEach((r, i) => {
        assert.equal(r.status, 200, `stream ${i}`);
        assert.deepEqual(r.body, patternBody(SIZE, i + 10), `stream ${i}`);
      });
      // Again, now from the cache, all at once on the same connection.
      const again = await Promise.all(Array.from({ length: 100 }, (_, i) => h2Request(session, `/o/${i + 10}`)));
      again.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.match(String(r.headers['cache-status']), /^flint; hit/);
        assert.deepEqual(r.body, patternBody(SIZE, i + 10));
      });
    } finally {
      session.close();
    }
  });

  test('ranges, multipart ranges, 304 and HEAD over HTTP/2', async () => {
    const session = h2Session(tlsPort, 'a.test');
    try {
      const full = await h2Request(session, '/o/4');
      assert.equal(full.status, 200);
      const body = patternBody(SIZE, 4);
      const range = await h2Request(session, '/o/4', { range: 'bytes=100-199' });
      assert.equal(range.status, 206);
      assert.equal(range.headers['content-range'], `bytes 100-199/${SIZE}`);
      assert.deepEqual(range.body, body.subarray(100, 200));
      const multi = await h2Request(session, '/o/4', { range: 'bytes=0-9,2000-2009' });
      assert.equal(multi.status, 206);
      assert.match(String(multi.headers['content-type']), /^multipart\/byteranges; boundary=/);
      assert.ok(multi.body.includes(body.subarray(2000, 2010)));
      assert.equal(Number(multi.headers['content-length']), multi.body.length);
      const notModified = await h2Request(session, '/o/4', { 'if-none-match': '"o4"' });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.body.length, 0);
      assert.equal(notModified.headers.etag, '"o4"');
      const head = await h2Request(session, '/o/4', {}, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(SIZE));
      assert.equal(head.body.length, 0);
    } finally {
      session.close();
    }
  });

  test('an 8 MiB body over HTTP/2 (flow control and write backpressure), and a client that resets its stream mid-body', async () => {
    const session = h2Session(tlsPort, 'a.test');
    try {
      const miss = await h2Request(session, '/big');
      assert.equal(miss.status, 200);
      assert.ok(miss.body.equals(patternBody(BIG, 42)), 'miss bytes');
      const hit = await h2Request(session, '/big');
      assert.match(String(hit.headers['cache-status']), /^flint; hit/);
      assert.ok(hit.body.equals(patternBody(BIG, 42)), 'hit bytes');
      // Reset after the first bytes: Flint sees the abort, logs it, and the connection serves the next stream.
      await new Promise<void>((resolve, reject) => {
        const stream = session.request({ ':path': '/big?abort', ':method': 'GET' });
        stream.once('data', () => {
          stream.close(8 /* CANCEL */);
          resolve();
        });
        stream.once('error', reject);
        stream.end();
      });
      let record: Record<string, unknown> | undefined;
      for (let i = 0; i < 100 && record === undefined; i++) {
        record = flint.accessLog().find((r) => r.url === '/big?abort');
        if (record === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(record?.transactionStatus, 'aborted');
      assert.equal((await h2Request(session, '/o/0')).status, 200);
    } finally {
      session.close();
    }
  });

  test('HTTP/2 Host checks: :authority routes; a Host that differs from it, or a bad :authority, is refused', async () => {
    const session = h2Session(tlsPort, 'a.test');
    try {
      const byAuthority = await h2Request(session, '/o/0', { ':authority': `b.test:${tlsPort}` });
      assert.equal(byAuthority.status, 200);
      assert.equal(byAuthority.headers['strict-transport-security'], 'max-age=600; includeSubDomains', 'served by b.test');
      const same = await h2Request(session, '/o/0', { ':authority': 'b.test', host: 'B.TEST' });
      assert.equal(same.status, 200);
      const differs = await h2Request(session, '/o/0', { ':authority': 'a.test', host: 'b.test' });
      assert.equal(differs.status, 400);
      const bad = await h2Request(session, '/o/0', { ':authority': 'a.test@evil' });
      assert.equal(bad.status, 400);
    } finally {
      session.close();
    }
  });

  test('over HTTP/2, an origin reset before the first body byte is a whole 502; after it, the stream is reset (with or without a length)', async () => {
    const session = h2Session(tlsPort, 'a.test');
    try {
      const early = await h2Request(session, '/reset-early');
      assert.equal(early.status, 502, 'the held head was dropped for the error');
      await assert.rejects(h2Request(session, '/reset-late'), /RST_STREAM|stream error|NGHTTP2_INTERNAL_ERROR/i, 'a short body is signalled by a stream reset');
      // Without a length, a clean END_STREAM would pass the truncated body off as complete.
      await assert.rejects(h2Request(session, '/reset-chunked'), /NGHTTP2_INTERNAL_ERROR/, 'a body of unknown length cut short is reset, never ended');
      assert.equal((await h2Request(session, '/o/0')).status, 200, 'the connection stays usable');
    } finally {
      session.close();
    }
  });

  test('request bodies over HTTP/2 (also after Expect: 100-continue) and HTTP/1.1 over TLS reach the origin whole', async () => {
    const body = patternBody(300_000, 7);
    const session = h2Session(tlsPort, 'a.test');
    try {
      const res = await h2Request(session, '/echo', { 'content-length': String(body.length) }, 'POST', body);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, body);
    } finally {
      session.close();
    }
    // Expect: 100-continue over HTTP/2: the client holds its body until the interim 100 arrives.
    const session2 = h2Session(tlsPort, 'a.test');
    try {
      const stream = session2.request({ ':method': 'POST', ':path': '/echo', expect: '100-continue', 'content-length': '5' });
      const continued = await Promise.race([new Promise<boolean>((resolve) => stream.once('continue', () => resolve(true))), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000))]);
      assert.ok(continued, '100 Continue received');
      const chunks: Buffer[] = [];
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => chunks.push(c));
      await new Promise<void>((resolve, reject) => {
        stream.on('end', () => resolve());
        stream.on('error', reject);
        stream.end('hello');
      });
      assert.equal(status, 200);
      assert.equal(Buffer.concat(chunks).toString(), 'hello');
    } finally {
      session2.close();
    }
    const file = join(certDir, 'post.bin');
    writeFileSync(file, body);
    const h1 = await curl(tlsPort, 'a.test', '/echo', ['--http1.1', '--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream']);
    assert.equal(h1.status, 200);
    assert.deepEqual(h1.body, body);
  });

  test('HTTP and HTTPS share one cached object; purge over HTTPS works', async () => {
    const tls = await curl(tlsPort, 'a.test', '/o/5', ['--http2']);
    assert.match(tls.headers['cache-status'] ?? '', /^flint; fwd=miss/);
    const plain = await request({ port: plainPort, path: '/o/5', host: 'a.test' });
    assert.match(String(plain.headers['cache-status']), /^flint; hit/);
    const fetched = origin.seen.filter((s) => s.url === '/o/5').length;
    assert.equal(fetched, 1);
    const session = h2Session(tlsPort, 'a.test');
    try {
      const purge = await h2Request(session, '/o/5', {}, 'PURGE');
      assert.equal(purge.status, 200, purge.body.toString());
      // The purged object is no longer a hit: the next request goes to the origin (fwd=stale when the purge expired it).
      const after = await h2Request(session, '/o/5');
      assert.match(String(after.headers['cache-status']), /^flint; fwd=(miss|stale)/);
    } finally {
      session.close();
    }
    assert.equal(origin.seen.filter((s) => s.url === '/o/5').length, 2);
  });

  test('RedirectHttpToHttps on plain HTTP, HSTS over TLS (only on the vhost that sets it)', async () => {
    const plain = await request({ port: plainPort, path: '/o/6?x=1', host: 'b.test' });
    assert.equal(plain.status, 308);
    assert.equal(plain.headers.location, `https://b.test:${tlsPort}/o/6?x=1`);
    const notRedirected = await request({ port: plainPort, path: '/o/6', host: 'a.test' });
    assert.equal(notRedirected.status, 200);
    const b = await curl(tlsPort, 'b.test', '/o/6', ['--http2']);
    assert.equal(b.status, 200);
    assert.equal(b.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
    const a = await curl(tlsPort, 'a.test', '/o/6', ['--http2']);
    assert.equal(a.headers['strict-transport-security'], undefined);
  });

  test('the access log records ALPN, TLS protocol and cipher', async () => {
    await curl(tlsPort, 'a.test', '/o/7?log', ['--http2', '--tlsv1.3']);
    let record: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && record === undefined; i++) {
      record = flint.accessLog().find((r) => r.url === '/o/7?log');
      if (record === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(record?.alpn, 'h2', JSON.stringify(flint.accessLog().slice(-3)));
    assert.equal(record?.tlsProtocol, 'TLSv1.3');
    assert.match(String(record?.tlsCipher), /^TLS_/);
  });

  test('SIGHUP swaps the certificate for new handshakes; an open HTTP/2 connection keeps working; a broken one keeps the old', async () => {
    const session = h2Session(tlsPort, 'a.test');
    try {
      assert.equal((await h2Request(session, '/o/8')).status, 200);
      const newCert = makeCert(certDir, 'a2', ['a.test', 'renewed.a.test']);
      copyFileSync(newCert.cert, join(certDir, 'live-a.crt'));
      copyFileSync(newCert.key, join(certDir, 'live-a.key'));
      const reloads = flint.logs.filter((l) => l.event === 'config.reloaded').length;
      flint.signal('SIGHUP');
      await flint.waitForLog(() => flint.logs.filter((l) => l.event === 'config.reloaded').length > reloads);
      // The worker applies the config a moment after the primary logs it.
      let san = '';
      for (let i = 0; i < 100 && !san.includes('renewed'); i++) {
        san = await peerAltNames(tlsPort, 'a.test');
        if (!san.includes('renewed')) await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(san, /renewed\.a\.test/);
      const again = await h2Request(session, '/o/8');
      assert.equal(again.status, 200, 'the connection opened before the reload still works');
      assert.deepEqual(again.body, patternBody(SIZE, 8));

      writeFileSync(join(certDir, 'live-a.crt'), 'broken\n');
      const failures = flint.logs.filter((l) => l.event === 'config.reload_failed').length;
      flint.signal('SIGHUP');
      await flint.waitForLog(() => flint.logs.filter((l) => l.event === 'config.reload_failed').length > failures);
      const failed = flint.logs.filter((l) => l.event === 'config.reload_failed').at(-1);
      assert.match(JSON.stringify(failed), /Https\/Cert: .*live-a\.crt is not a PEM certificate/);
      assert.match(await peerAltNames(tlsPort, 'a.test'), /renewed\.a\.test/);
      assert.equal((await h2Request(session, '/o/8')).status, 200);
    } finally {
      session.close();
    }
  });
});

describe('HTTPS certificate expiry warning and a graceful stop', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'flint-https-soon-'));
  const soon = makeCert(certDir, 'soon', ['soon.test'], 7);
  let origin: TestOrigin;
  let flint: FlintProcess;
  let tlsPort: number;

  before(async () => {
    origin = await startRoutedOrigin({
      '/slow': (_req, res) => {
        setTimeout(() => reply(res, 200, { 'cache-control': 'no-store' }, patternBody(SIZE, 99)), 700);
      },
    });
    tlsPort = await freePort();
    const plainPort = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 1 }),
      vhosts: `<Vhosts><Vhost Name="soon.test"><Listen>127.0.0.1:${plainPort}</Listen>
        <Https Listen="127.0.0.1:${tlsPort}"><Cert>${soon.cert}</Cert><Key>${soon.key}</Key></Https>
        <Origin><Address>${origin.address}</Address></Origin></Vhost></Vhosts>`,
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('a certificate expiring within 14 days is a logged warning and a /stats field', async () => {
    const warning = await flint.waitForLog((l) => l.event === 'tls.cert_expiring');
    assert.equal(warning.cert, soon.cert);
    assert.ok(Number(warning.daysLeft) >= 5 && Number(warning.daysLeft) <= 7);
    const stats = (await flint.admin<{ tls: { expiringSoon: number; certificates: Array<{ vhosts: string[]; expiringSoon: boolean }> } }>('/stats')).body;
    assert.equal(stats.tls.expiringSoon, 1);
    assert.deepEqual(stats.tls.certificates[0]?.vhosts, ['soon.test']);
  });

  test('SIGTERM sends GOAWAY to an open HTTP/2 connection and lets its running stream finish', async () => {
    const session = h2Session(tlsPort, 'soon.test');
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    const slow = h2Request(session, '/slow');
    await new Promise((r) => setTimeout(r, 200));
    flint.signal('SIGTERM');
    await goaway;
    const res = await slow;
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, patternBody(SIZE, 99));
    session.close();
    assert.equal(await flint.exited, 0);
  });
});
