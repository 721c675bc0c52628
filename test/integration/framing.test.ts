// Strict HTTP/1.1 framing and Host handling at the edge (issue 19, RFC 9112): every hostile request, sent over a raw
// socket, gets a 4xx/5xx answer and a closed connection at once, and the origin never sees it or a request smuggled
// behind it; the origin's Host is the vhost's whatever Host the client sent, so a Host-dependent answer (a redirect)
// cannot poison the cache; a declared body over <MaxRequestBodySize> gets 413 before the origin; client error
// bodies carry no origin address or library code; <ServerHeader>OFF drops Server and X-Powered-By.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FlintProcess, serverXml, sleep } from '../helpers/flint.js';
import { rawExchange, request } from '../helpers/http.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { assertRefusedAtOnce, hostileRequests } from '../helpers/hostile.js';

const H = 'Host: site.test\r\n';
const HOSTILE = hostileRequests('site.test');

describe('strict request framing (raw sockets)', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  before(async () => {
    origin = await TestOrigin.start((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
        res.end('ok\n');
      });
    });
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }),
      vhosts: `<Vhosts><Vhost Name="site.test"><Listen>127.0.0.1:${port}</Listen><Origin><Address>${origin.address}</Address></Origin></Vhost></Vhosts>`,
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  for (const hostile of HOSTILE) {
    test(`${hostile.name}: ${hostile.low}..${hostile.high}, closed at once, nothing reaches the origin`, async () => {
      const seenBefore = origin.seen.length;
      await assertRefusedAtOnce(port, hostile);
      assert.equal(origin.seen.length, seenBefore, `the origin saw nothing: ${JSON.stringify(origin.seen.slice(seenBefore))}`);
    });
  }

  test('clean requests still work: GET, POST with Content-Length, identical repeated Content-Lengths', async () => {
    const get = await rawExchange(port, [`GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`], 0, 3000);
    assert.match(get.received, /^HTTP\/1\.1 200 /);
    const post = await rawExchange(port, [`POST /p HTTP/1.1\r\n${H}Content-Length: 5\r\nConnection: close\r\n\r\nhello`], 0, 3000);
    assert.match(post.received, /^HTTP\/1\.1 200 /);
    const twice = await rawExchange(port, [`POST /p2 HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`], 0, 3000);
    assert.match(twice.received, /^HTTP\/1\.1 200 /);
    const seen = origin.seen.find((s) => s.url === '/p2');
    assert.equal(seen?.headers['content-length'], '5');
  });

  test('no hostile input ever reached the origin, nor a smuggled /victim', () => {
    assert.deepEqual(
      origin.seen.map((s) => s.url).filter((u) => u !== '/' && u !== '/p' && u !== '/p2'),
      [],
    );
  });
});

describe('Host: the origin gets the vhost name, the cache cannot be poisoned through Host', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  before(async () => {
    // An origin that builds absolute redirects from Host, the way many frameworks do.
    origin = await TestOrigin.start((req, res) => {
      const path = req.url ?? '/';
      if (path.startsWith('/login')) {
        res.writeHead(302, { location: `http://${req.headers.host ?? ''}/welcome`, 'cache-control': 'public, max-age=300' });
        res.end();
      } else if (path === '/down') {
        res.writeHead(200, { server: 'Apache/2.4.1 (Unix)', 'x-powered-by': 'PHP/5.1', 'cache-control': 'public, max-age=300' });
        res.end('hello');
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=300' });
        res.end(`host ${req.headers.host ?? ''}`);
      }
    });
    port = await freePort();
    const deadPort = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir }),
      vhosts: `<Vhosts>
  <Vhost Name="site.test"><Alias>*.site.test</Alias><Listen>127.0.0.1:${port}</Listen><Origin><Address>${origin.address}</Address></Origin>
    <Options><ServerHeader>OFF</ServerHeader><MaxRequestBodySize>1K</MaxRequestBodySize></Options></Vhost>
  <Vhost Name="dead.test"><Listen>127.0.0.1:${port}</Listen><Origin><Address>127.0.0.1:${deadPort}</Address></Origin>
    <OriginOptions><ConnectTimeout>1</ConnectTimeout><Retry>0</Retry><Exclusion>0</Exclusion></OriginOptions></Vhost>
  <Default>site.test</Default>
</Vhosts>`,
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('a redirect filled through Host: attacker.example (Default vhost) names the vhost, for the attacker and for everyone', async () => {
    const poisoned = await request({ port, host: 'attacker.example', path: '/login?next=1' });
    assert.equal(poisoned.status, 302);
    assert.equal(poisoned.headers.location, 'http://site.test/welcome');
    const clean = await request({ port, host: 'site.test', path: '/login?next=1' });
    assert.equal(clean.headers.location, 'http://site.test/welcome');
    assert.equal(origin.seen.filter((s) => s.url === '/login?next=1').length, 1, 'one fill, served to both');
  });

  const variants: Array<[string, number]> = [
    ['SITE.TEST', 200],
    ['site.test.', 200],
    ['site.test:1337', 200],
    ['evil.site.test', 200],
    ['Evil.Site.Test.:80', 200],
    ['site.test/evil?x', 400],
    ['site.test:99999', 400],
  ];
  for (const [host, status] of variants) {
    test(`Host ${host} -> ${status}, and the origin is sent Host: site.test`, async () => {
      const path = `/v/${encodeURIComponent(host)}`;
      const res = await request({ port, host, path });
      assert.equal(res.status, status);
      if (status === 200) {
        assert.equal(res.body.toString(), 'host site.test');
        assert.equal(origin.seen.find((s) => s.url === path)?.headers.host, 'site.test');
      } else {
        assert.equal(origin.seen.find((s) => s.url === path), undefined);
      }
    });
  }

  test('a declared body over <MaxRequestBodySize> gets 413 and a closed connection before the origin hears of it', async () => {
    const result = await rawExchange(port, [`POST /upload HTTP/1.1\r\n${H}Content-Length: 2000\r\n\r\n`, 'x'.repeat(2000)], 50, 3000);
    assert.match(result.received, /^HTTP\/1\.1 413 /);
    assert.ok(result.closedByServer);
    assert.equal(origin.seen.find((s) => s.url === '/upload'), undefined);
    const small = await request({ port, host: 'site.test', path: '/upload-small', method: 'POST', body: 'x'.repeat(1024) });
    assert.equal(small.status, 200);
  });

  test('<ServerHeader>OFF: no Server or X-Powered-By from the origin, on the fill and on the hit', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await request({ port, host: 'site.test', path: '/down' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-powered-by'], undefined, `x-powered-by, request ${i}`);
      assert.notEqual(res.headers.server, 'Apache/2.4.1 (Unix)', `server, request ${i}`);
    }
  });

  test('an unreachable origin: the client body says what failed in general terms, the log says where and why', async () => {
    for (const method of ['GET', 'POST']) {
      const res = await request({ port, host: 'dead.test', path: `/x-${method}`, method, body: method === 'POST' ? 'a' : undefined });
      // 503 once the failed connect is remembered for the member (origin/health-view.ts).
      const body = res.body.toString();
      if (res.status === 502) assert.equal(body, '502 Bad Gateway: origin unreachable\n');
      else assert.equal(body, '503 Service Unavailable: no origin available\n');
      assert.doesNotMatch(body, /127\.0\.0\.1|UND_ERR|ECONN|FLINT_ERR/);
    }
    await sleep(200);
    const record = flint.accessLog().find((r) => r.url === '/x-GET');
    assert.match(String(record?.error), /^FLINT_ERR_ORIGIN_(CONNECT|DOWN)$/);
    assert.match(String(record?.errorDetail), /127\.0\.0\.1/);
  });
});
