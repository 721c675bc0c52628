/**
 * Edge policy through a real Flint (primary + 1 worker) in front of a scripted origin that counts requests: the
 * ACL of svc/<vhost>/acl.txt and of an inline <MatchingList Target="acl"> (every condition kind allowing and
 * refusing, first-match order, IPv6 CIDR from a ::1 client, redirect, Default Deny), clients on several loopback
 * addresses, <ServiceAccess> refusing an address on every vhost, a denied request never reaching the origin, a
 * broken acl line on SIGHUP keeping the old policy, and check-config on unknown svc files and bad lines.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlintProcess, MAIN, serverXml, vhostXml } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { accessRecordsFor, reply, seenFor, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';

const ACL = 'acl.test';
const DENY = 'deny.test';
const HDR = 'hdr.test';
/** Header rules a hot hit can pre-encode (constant values, no request condition) beside one per-client rule. */
const FIXED = 'fixed.test';
const FIXED_RULES = `<Options><MatchingList Target="headers"><![CDATA[
$URL[/*], $RES[X-Frame-Options: DENY], set
$URL[/*], $RES[Server], unset
$URL[/f/*] & $IP[127.0.0.2], $RES[X-Inside: yes], set
$URL[/*], $RES[X-Tag: a], put, 200
]]></MatchingList></Options>`;

const HEADERS_TXT = `# STON headers.txt
$URL[/*], $RES[X-Frame-Options: DENY], set
$URL[/api/*], $REQ[X-From-Edge: 1], set
$URL[/api/*], $REQ[X-Edge-Node: #HOSTNAME], set
$URL[/*], $RES[Server], unset
$URL[/*], $REQ[X-Client: #CLIENTIP via #PROTOCOL], set
$URL[/*], $REQ[X-Secret], unset
$URL[/*], $RES[X-Result: #CACHEHIT], set
$URL[/*], $RES[X-Echo: $REQ.x-trace], set
$URL[/*], $RES[X-Missing: yes], set, 4xx
$URL[/ip/*] & $IP[127.0.0.2], $RES[X-Inside: #CLIENTIP], set
`;

const ACL_TXT = `# STON acl.txt
$IP[127.0.0.3], allow
$IP[127.0.0.0/29] & $URL[/admin/*], deny, 401
$IP[127.0.0.2], deny
$HEADER[referer: *evil.test*], deny
$METHOD[DELETE|PUT], deny, 405
$URL[/old/*], redirect, https://#HOST/new#URL
$IP[::1/128] & $URL[/v6only/*], deny, 451
`;

const VHOSTS = (port: number, origin: string): string =>
  vhostXml([
    { name: ACL, port, origin, extra: `<Listen>[::1]:${port}</Listen><Options><AccessControl>ON</AccessControl></Options>` },
    { name: HDR, port, origin },
    {
      name: DENY,
      port,
      origin,
      extra: `<Options>
        <AccessControl Default="Deny" DenialCode="404">ON</AccessControl>
        <MatchingList Target="acl"><![CDATA[
          $IP[127.0.0.5], allow
        ]]></MatchingList>
      </Options>`,
    },
  ]);

const SERVICE_ACCESS = '<ServiceAccess Default="Allow"><Deny>127.0.0.6</Deny></ServiceAccess>';

/** One request over IPv6 loopback (the shared helper connects to 127.0.0.1). */
function requestV6(port: number, host: string, path: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '::1', port, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Writes `text` on a connection from `localAddress` and reads until the server closes (or 2 s pass). */
function rawFrom(localAddress: string, port: number, text: string): Promise<{ received: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received, closedByServer: false });
    }, 2000);
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ received, closedByServer: true });
    });
    socket.on('error', reject);
    socket.write(text);
  });
}

describe('edge policy: ACL and ServiceAccess', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (host: string, path: string, extra: { from?: string; method?: string; headers?: Record<string, string> } = {}): Promise<TestResponse> =>
    request({ port, host, path, method: extra.method ?? 'GET', headers: extra.headers ?? {}, localAddress: extra.from ?? '127.0.0.1' });
  const ok = (): Route => (req, res) => reply(res, 200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, `${req.url}`);

  before(async () => {
    origin = await startRoutedOrigin(routes);
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => {
      mkdirSync(join(dir, 'conf', 'svc', ACL), { recursive: true });
      writeFileSync(join(dir, 'conf', 'svc', ACL, 'acl.txt'), ACL_TXT);
      mkdirSync(join(dir, 'conf', 'svc', HDR), { recursive: true });
      writeFileSync(join(dir, 'conf', 'svc', HDR, 'headers.txt'), HEADERS_TXT);
      const server = serverXml({ managerPort, dir }).replace('</Manager></Host>', `</Manager>${SERVICE_ACCESS}</Host>`);
      return { server, vhosts: VHOSTS(port, origin.address) };
    });
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('every acl condition allows and refuses; a refused request never reaches the origin', async () => {
    for (const p of ['/a', '/admin/x', '/d', '/h', '/m', '/v6only/a']) routes[p] = ok();
    assert.equal((await get(ACL, '/a')).status, 200);

    // $IP: 127.0.0.2 is denied with DenialCode (403); nothing is fetched for it.
    const denied = await get(ACL, '/d', { from: '127.0.0.2' });
    assert.equal(denied.status, 403);
    assert.match(denied.body.toString(), /^403 Forbidden: access denied/);
    assert.equal(seenFor(origin, '/d').length, 0, 'a denied request never reaches the origin');
    const [record] = await accessRecordsFor(flint, ACL, '/d', 1);
    assert.equal(record?.cacheResult, 'TCP_DENIED');
    assert.equal(record?.status, 403);
    assert.equal(record?.clientIp, '127.0.0.2');
    assert.equal((await get(ACL, '/d')).status, 200, 'another address is served');
    assert.equal(seenFor(origin, '/d').length, 1);
    // ... and a cached object is refused too (the ACL runs before the cache lookup).
    assert.equal((await get(ACL, '/d', { from: '127.0.0.2' })).status, 403);

    // First match wins: 127.0.0.3 is allowed by line 1 before line 2 would deny /admin/* to 127.0.0.0/29.
    assert.equal((await get(ACL, '/admin/x', { from: '127.0.0.3' })).status, 200);
    assert.equal((await get(ACL, '/admin/x', { from: '127.0.0.4' })).status, 401, '$IP & $URL with its own code');
    assert.equal((await get(ACL, '/ADMIN/x', { from: '127.0.0.4' })).status, 401, 'RuleCaseSensitive OFF: case cannot dodge a rule');
    for (const dodge of ['/%61dmin/x', '//admin/x', '/x/../admin/x', '/admin/./x', '/%2e%2e/admin/x', '/%2E%2E/%41DMIN/x', '/admin%2Fx', '/x%2F..%2Fadmin/x', '/admin%5cx']) {
      assert.equal((await get(ACL, dodge, { from: '127.0.0.4' })).status, 401, `${dodge}: matched on the normalised path`);
    }
    assert.equal((await get(ACL, '/admin/x', { from: '127.0.0.9' })).status, 200, 'outside the /29');

    // $HEADER: referer hotlink protection, case-insensitive value.
    assert.equal((await get(ACL, '/h', { headers: { referer: 'https://WWW.Evil.test/page' } })).status, 403);
    assert.equal((await get(ACL, '/h', { headers: { referer: 'https://good.test/page' } })).status, 200);
    assert.equal(seenFor(origin, '/h').length, 1);

    // $METHOD.
    assert.equal((await get(ACL, '/m', { method: 'DELETE' })).status, 405);
    assert.equal((await get(ACL, '/m', { method: 'PUT' })).status, 405);
    assert.equal(seenFor(origin, '/m').length, 0);

    // redirect with STON's #HOST and #URL.
    const moved = await get(ACL, '/old/p?q=1');
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, 'https://acl.test/new/old/p?q=1');

    // IPv6 CIDR from a ::1 client.
    assert.equal((await requestV6(port, ACL, '/v6only/a')).status, 451);
    const [v6record] = await accessRecordsFor(flint, ACL, '/v6only/a', 1);
    assert.equal(v6record?.clientIp, '::1', 'an IPv6 peer is logged in its RFC 5952 form, as on the TLS front end');
    assert.equal((await get(ACL, '/v6only/a')).status, 200, 'the IPv4 client is not in ::1/128');
    assert.equal(seenFor(origin, '/v6only/a').length, 1);
  });

  test('Default Deny with an inline list inside <Options>: only the listed address is served', async () => {
    routes['/x'] = ok();
    assert.equal((await get(DENY, '/x')).status, 404, 'DenialCode');
    assert.equal(seenFor(origin, '/x').length, 0);
    assert.equal((await get(DENY, '/x', { from: '127.0.0.5' })).status, 200);
    assert.equal(seenFor(origin, '/x').length, 1);
  });

  test('<ServiceAccess> refuses an address on every vhost and closes', async () => {
    routes['/s'] = ok();
    for (const host of [ACL, DENY, 'unknown.test']) {
      const res = await get(host, '/s', { from: '127.0.0.6' });
      assert.equal(res.status, 403, host);
    }
    const raw = await rawFrom('127.0.0.6', port, `GET /s HTTP/1.1\r\nHost: ${ACL}\r\n\r\n`);
    assert.match(raw.received, /^HTTP\/1\.1 403 /);
    assert.ok(raw.closedByServer, 'the connection is closed');
    assert.equal(seenFor(origin, '/s').length, 0);
    assert.equal((await get(ACL, '/s', { from: '127.0.0.7' })).status, 200);
  });

  test('a broken acl line on SIGHUP keeps the old policy; a good reload replaces it', async () => {
    routes['/r'] = ok();
    const file = join(flint.confDir, 'svc', ACL, 'acl.txt');
    const hashBefore = (await flint.stats()).configHash;
    writeFileSync(file, ACL_TXT.replace('$IP[127.0.0.2], deny', '$IP[127.0.0.2], allow\n$IP[127.0.0.0/99], deny'));
    flint.signal('SIGHUP');
    const failed = await flint.waitForLog((l) => l.event === 'config.reload_failed' && JSON.stringify(l).includes('svc/acl.test/acl.txt: line 5'));
    assert.match(JSON.stringify(failed), /"127\.0\.0\.0\/99\\?" is not an IP address/);
    assert.equal((await flint.stats()).configHash, hashBefore, 'the running config is kept');
    assert.equal((await get(ACL, '/r', { from: '127.0.0.2' })).status, 403, 'the old policy still denies');

    writeFileSync(file, ACL_TXT.replace('$IP[127.0.0.2], deny', '$IP[127.0.0.2], allow'));
    flint.signal('SIGHUP');
    await waitFor('the reloaded acl', async () => ((await get(ACL, '/r', { from: '127.0.0.2' })).status === 200 ? true : undefined));
    assert.equal(seenFor(origin, '/r').length, 1);
  });
});

describe('edge policy: header rules', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  const get = (path: string, headers: Record<string, string> = {}): Promise<TestResponse> => request({ port, host: HDR, path, headers });

  before(async () => {
    origin = await startRoutedOrigin(routes);
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => {
      mkdirSync(join(dir, 'conf', 'svc', HDR), { recursive: true });
      writeFileSync(join(dir, 'conf', 'svc', HDR, 'headers.txt'), HEADERS_TXT);
      return {
        server: serverXml({ managerPort, dir }),
        vhosts: vhostXml([
          { name: HDR, port, origin: origin.address },
          { name: FIXED, port, origin: origin.address, extra: FIXED_RULES },
        ]),
      };
    });
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('$REQ and $RES set/unset both directions, variables, status condition; hits (hot tier too) are rewritten', async () => {
    const page: Route = (req, res) => reply(res, 200, { 'cache-control': 'max-age=300', 'content-type': 'text/plain', server: 'origin-srv', 'x-origin': 'a' }, `${req.url}`);
    routes['/h1'] = page;
    routes['/api/x'] = page;
    routes['/missing'] = (_req, res) => reply(res, 404, { 'content-type': 'text/plain' }, 'no');

    const miss = await get('/h1', { 'x-secret': 'hunter2', 'x-trace': 't-1' });
    assert.equal(miss.status, 200);
    assert.equal(miss.headers['x-frame-options'], 'DENY');
    assert.equal(miss.headers.server, undefined, '$RES unset');
    assert.equal(miss.headers['x-origin'], 'a');
    assert.equal(miss.headers['x-result'], 'TCP_MISS');
    assert.equal(miss.headers['x-echo'], 't-1', '$REQ.<header> in a response value');
    assert.equal(miss.headers['x-missing'], undefined, 'status condition 4xx');
    const seen = seenFor(origin, '/h1')[0];
    assert.equal(seen?.headers['x-client'], '127.0.0.1 via http');
    assert.equal(seen?.headers['x-secret'], undefined, '$REQ unset');
    assert.equal(seen?.headers['x-from-edge'], undefined, 'the /api/* rule does not match /h1');

    for (let i = 0; i < 3; i++) {
      const hit = await get('/h1', { 'x-trace': `t-${i}` });
      assert.equal(hit.headers['x-result'], 'TCP_HIT');
      assert.equal(hit.headers['x-frame-options'], 'DENY');
      assert.equal(hit.headers.server, undefined);
      assert.equal(hit.headers['x-echo'], `t-${i}`, 'per request, never a stale pre-encoded head');
    }
    assert.equal(seenFor(origin, '/h1').length, 1);

    await get('/api/x');
    assert.equal(seenFor(origin, '/api/x')[0]?.headers['x-from-edge'], '1');
    assert.equal(seenFor(origin, '/api/x')[0]?.headers['x-edge-node'], hostname(), '#HOSTNAME: the machine\'s name');
    const missing = await get('/missing');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['x-missing'], 'yes');
  });

  test('a $RES rule for one client only: hot hits of other clients keep the plain head, never the rewritten one', async () => {
    routes['/ip/a'] = (req, res) => reply(res, 200, { 'cache-control': 'max-age=300', 'content-type': 'text/plain' }, `${req.url}`);
    await get('/ip/a');
    for (let i = 0; i < 3; i++) {
      const plain = await request({ port, host: HDR, path: '/ip/a', localAddress: '127.0.0.1' });
      assert.equal(plain.headers['x-result'], 'TCP_HIT');
      assert.equal(plain.headers['x-inside'], undefined);
      const inside = await request({ port, host: HDR, path: '/ip/a', localAddress: '127.0.0.2' });
      assert.equal(inside.headers['x-inside'], '127.0.0.2');
    }
    assert.equal(seenFor(origin, '/ip/a').length, 1);
  });

  test('constant $RES rules in the hot head, a per-client rule beside them: each client gets exactly its rules', async () => {
    routes['/f/a'] = (req, res) => reply(res, 200, { 'cache-control': 'max-age=300', 'content-type': 'text/plain', server: 'origin-srv' }, `${req.url}`);
    const first = await request({ port, host: FIXED, path: '/f/a' });
    assert.equal(first.headers['x-frame-options'], 'DENY');
    for (let i = 0; i < 3; i++) {
      for (const from of ['127.0.0.1', '127.0.0.2', '127.0.0.1']) {
        const res = await request({ port, host: FIXED, path: '/f/a', localAddress: from });
        assert.equal(res.status, 200);
        assert.match(String(res.headers['cache-status']), /hit/, 'a hit');
        assert.equal(res.headers['x-frame-options'], 'DENY', from);
        assert.equal(res.headers.server, undefined, `${from}: Server unset`);
        assert.equal(res.headers['x-tag'], 'a', `${from}: put once, not once per hit`);
        assert.equal(res.headers['x-inside'], from === '127.0.0.2' ? 'yes' : undefined, `${from}: the per-client rule`);
      }
    }
    assert.equal(seenFor(origin, '/f/a').length, 1);
  });

  test('the stored object is unchanged by $RES rules: a reloaded rule shows on the next hit without a purge', async () => {
    routes['/h2'] = (req, res) => reply(res, 200, { 'cache-control': 'max-age=300', 'content-type': 'text/plain', server: 'origin-srv' }, `${req.url}`);
    await get('/h2');
    assert.equal((await get('/h2')).headers['x-result'], 'TCP_HIT');
    writeFileSync(join(flint.confDir, 'svc', HDR, 'headers.txt'), '$URL[/*], $RES[X-Frame-Options: SAMEORIGIN], set\n$URL[/*], $RES[X-New: yes], put\n');
    flint.signal('SIGHUP');
    const after = await waitFor('the reloaded header rules', async () => {
      const res = await get('/h2');
      return res.headers['x-new'] === 'yes' ? res : undefined;
    });
    assert.equal(after.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(after.headers.server, 'origin-srv', 'the stored Server header was kept; only delivery removed it');
    assert.equal(after.headers['x-result'], undefined);
    assert.equal(seenFor(origin, '/h2').length, 1, 'no refetch: the object was not purged');
  });
});

describe('check-config on edge policy files', () => {
  const run = (confDir: string): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [MAIN, 'check-config', '--conf', confDir], { encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const confWith = (files: Record<string, string>, options = '<AccessControl>ON</AccessControl>'): string => {
    const dir = mkdtempSync(join(tmpdir(), 'flint-acl-check-'));
    const conf = join(dir, 'conf');
    mkdirSync(join(conf, 'svc', ACL), { recursive: true });
    writeFileSync(join(conf, 'server.xml'), serverXml({ managerPort: 10040, dir }));
    writeFileSync(join(conf, 'vhosts.xml'), vhostXml([{ name: ACL, port: 8080, origin: '127.0.0.1:9000', extra: `<Options>${options}</Options>` }]));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(conf, 'svc', ACL, name), text);
    return dir;
  };

  test('a valid acl.txt is summarised per vhost; an unknown svc file and a bad line are errors naming file and line', () => {
    const good = confWith({ 'acl.txt': ACL_TXT, 'ttl.txt': '*.jpg, 60\n' });
    const bad = confWith({ 'acl.txt': '$IP[10.0.0.1], deny\n$URL[/a], deny, 200\n', 'expires.txt': '$URL[/a], 1d\n' });
    const off = confWith({ 'acl.txt': '$IP[10.0.0.1], deny\n' }, '');
    try {
      const ok = run(join(good, 'conf'));
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /vhost acl\.test: ttl 1, bypass 0, querystring 0, acl 7, headers 0 \(AccessControl ON, Default allow, DenialCode 403\)/);
      const r = run(join(bad, 'conf'));
      assert.equal(r.status, 1);
      assert.match(r.stderr, /svc\/acl\.test\/acl\.txt: line 2: "200" is not a denial status/);
      assert.match(r.stderr, /svc\/acl\.test\/expires\.txt: Flint does not understand this rule file/);
      const o = run(join(off, 'conf'));
      assert.equal(o.status, 1);
      assert.match(o.stderr, /1 acl rules but <AccessControl> is not ON/);
    } finally {
      for (const d of [good, bad, off]) rmSync(d, { recursive: true });
    }
  });
});
