/**
 * Issue 20 edge policy through a real Flint (primary + 1 worker) and scripted origins that count requests:
 * `<SignedUrl>` (valid, expired, tampered, other key, rotated key, IP-bound, outside Path, one cached copy for
 * every signed link, parameters never at the origin), `flint sign-url`, `<Cors>` (preflight allowed and refused
 * at the edge, Allow-Origin added per request to one cached copy, a copy per Origin when the origin varies on it,
 * the origin's own Allow-Origin replaced by the edge's), `<ErrorPage>` for a dead origin, and config
 * errors for the new settings.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlintProcess, MAIN, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { isHit, reply, seenFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';

const KEY = 'first-secret';
const OLD_KEY = 'previous-secret';
const CACHED = { 'cache-control': 'max-age=3600', 'content-type': 'text/plain' };
const PAGE = '<html><body>we will be right back</body></html>\n';

/** The token of the contract, computed here independently of Flint's code. */
function token(key: string, message: string): string {
  return createHmac('sha256', key).update(message).digest('base64url');
}

const now = (): number => Math.floor(Date.now() / 1000);

function signed(path: string, key = KEY, expires = now() + 600, extra = '', ip: string | null = null): string {
  const message = ip === null ? `${expires}:${path}` : `${expires}:${ip}:${path}`;
  return `${path}?${extra}expires=${expires}&token=${token(key, message)}`;
}

describe('edge policy: signed URLs, CORS, error pages', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = (path: string, host = 'sign.test', headers: Record<string, string> = {}, localAddress?: string, method = 'GET'): Promise<TestResponse> =>
    request({ port, host, path, headers, localAddress, method });

  before(async () => {
    origin = await TestOrigin.start((req, res) => {
      const path = (req.url ?? '/').split('?')[0] as string;
      // An origin with CORS of its own: it varies on Origin and answers with its own Access-Control-* headers.
      if (path.startsWith('/own-cors/')) reply(res, 200, { ...CACHED, vary: 'Origin', 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' }, `for ${String(req.headers.origin)}`);
      else reply(res, 200, CACHED, `body of ${path}`);
    });
    const dead = await freePort();
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => {
      writeFileSync(join(dir, 'sorry.html'), PAGE);
      return {
        server: serverXml({ managerPort, dir }),
        vhosts: vhostXml([
          {
            name: 'sign.test',
            port,
            origin: origin.address,
            extra: `<Options><SignedUrl Status="Active" Param="token" ExpiresParam="expires"><Key>${KEY}</Key><Key>${OLD_KEY}</Key><Path>/private/*</Path></SignedUrl></Options>`,
          },
          {
            name: 'bound.test',
            port,
            origin: origin.address,
            extra: `<Options><SignedUrl Status="Active" BindClientIp="ON"><Key>${KEY}</Key><Path>/private/*</Path></SignedUrl></Options>`,
          },
          {
            name: 'cors.test',
            port,
            origin: origin.address,
            extra: '<Options><Cors AllowOrigin="https://app.example.com https://admin.example.com" MaxAge="600">ON</Cors></Options>',
          },
          { name: 'dead.test', port, origin: `127.0.0.1:${dead}`, extra: `<Options><ErrorPage ResCode="502,503,504">${join(dir, 'sorry.html')}</ErrorPage></Options>` },
        ]),
      };
    });
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('a valid signed link is served; the parameters never reach the origin', async () => {
    const res = await get(signed('/private/a.txt'));
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'body of /private/a.txt');
    const seen = seenFor(origin, '/private/a.txt');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.url, '/private/a.txt', 'token and expires are cut from the origin request');
  });

  test('two different signed links to one object share one cached copy (one origin request); other query keys stay', async () => {
    const first = await get(signed('/private/shared.txt', KEY, now() + 300, 'v=1&'));
    const second = await get(signed('/private/shared.txt', OLD_KEY, now() + 900, 'v=1&'));
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.ok(isHit(second), `the second link is a hit: ${String(second.headers['cache-status'])}`);
    const seen = seenFor(origin, '/private/shared.txt');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.url, '/private/shared.txt?v=1');
  });

  test('missing, expired, tampered, wrong-key and malformed links are refused with 403 and nothing fetched', async () => {
    const good = signed('/private/x.txt');
    const tok = good.slice(good.indexOf('token=') + 6);
    const flipped = `${tok[0] === 'A' ? 'B' : 'A'}${tok.slice(1)}`;
    const cases: Array<[string, string]> = [
      ['no parameters', '/private/x.txt'],
      ['token only', `/private/x.txt?token=${tok}`],
      ['expired', signed('/private/x.txt', KEY, now() - 5)],
      ['tampered token', good.replace(tok, flipped)],
      ['path changed', good.replace('/private/x.txt', '/private/y.txt')],
      ['expiry pushed out', good.replace(/expires=\d+/, `expires=${now() + 99999}`)],
      ['another key', signed('/private/x.txt', 'not-a-listed-key')],
      ['token twice', `${good}&token=${tok}`],
      ['expires not digits', good.replace(/expires=\d+/, 'expires=1e99')],
      ['padded token', `${good}=`],
    ];
    for (const [label, path] of cases) {
      const res = await get(path);
      assert.equal(res.status, 403, `${label}: ${path}`);
      assert.doesNotMatch(res.body.toString(), /secret/);
    }
    assert.equal(seenFor(origin, '/private/x.txt').length + seenFor(origin, '/private/y.txt').length, 0, 'nothing reached the origin');
  });

  test('an encoded path is signed and checked in its normal form: /%70rivate/ cannot escape /private/*', async () => {
    const unsigned = await get('/%70rivate/z.txt');
    assert.equal(unsigned.status, 403);
    const viaEscape = await get(signed('/private/z.txt').replace('/private/', '/%70rivate/'));
    assert.equal(viaEscape.status, 200, 'the signature over the normal form verifies the escaped spelling too');
  });

  test('paths outside <Path> are unaffected, query included', async () => {
    const res = await get('/public/p.txt?token=zzz&expires=1');
    assert.equal(res.status, 200);
    assert.equal(seenFor(origin, '/public/p.txt')[0]?.url, '/public/p.txt?token=zzz&expires=1');
  });

  test('BindClientIp: a link signed for 127.0.0.1 works from 127.0.0.1 only', async () => {
    const path = signed('/private/b.txt', KEY, now() + 600, '', '127.0.0.1');
    const mine = await get(path, 'bound.test', {}, '127.0.0.1');
    assert.equal(mine.status, 200);
    const other = await get(path, 'bound.test', {}, '127.0.0.2');
    assert.equal(other.status, 403);
    const unbound = await get(signed('/private/b.txt'), 'bound.test', {}, '127.0.0.1');
    assert.equal(unbound.status, 403, 'a link signed without the address does not verify on a bound vhost');
    assert.equal(seenFor(origin, '/private/b.txt').length, 1);
  });

  test('flint sign-url prints a link that verifies', async () => {
    const out = spawnSync(process.execPath, [MAIN, 'sign-url', 'http://sign.test/private/cli.txt?v=2', '--expires', '3600', '--conf', flint.confDir], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const url = new URL(out.stdout.trim());
    assert.equal(url.host, 'sign.test');
    const expires = Number(url.searchParams.get('expires'));
    assert.ok(Math.abs(expires - (now() + 3600)) <= 5);
    const res = await get(`${url.pathname}${url.search}`);
    assert.equal(res.status, 200);
    assert.equal(seenFor(origin, '/private/cli.txt')[0]?.url, '/private/cli.txt?v=2');
    const bad = spawnSync(process.execPath, [MAIN, 'sign-url', 'http://cors.test/x', '--expires', '60', '--conf', flint.confDir], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /no <SignedUrl/);
  });

  test('CORS preflight: an allowed origin gets 204 at the edge, another 403; neither reaches the origin', async () => {
    const allowed = await get('/api/data', 'cors.test', { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-token' }, undefined, 'OPTIONS');
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.match(String(allowed.headers['access-control-allow-methods']), /GET/);
    assert.equal(allowed.headers['access-control-allow-headers'], 'x-token');
    assert.equal(allowed.headers['access-control-max-age'], '600');
    assert.match(String(allowed.headers.vary), /Origin/);
    const refused = await get('/api/data', 'cors.test', { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' }, undefined, 'OPTIONS');
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    const badMethod = await get('/api/data', 'cors.test', { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' }, undefined, 'OPTIONS');
    assert.equal(badMethod.status, 403);
    assert.equal(seenFor(origin, '/api/data').length, 0);
  });

  test('CORS actual requests: Allow-Origin per request from one cached copy, for two origins, one origin request', async () => {
    const app = await get('/img/logo.txt', 'cors.test', { origin: 'https://app.example.com' });
    const admin = await get('/img/logo.txt', 'cors.test', { origin: 'https://admin.example.com' });
    const evil = await get('/img/logo.txt', 'cors.test', { origin: 'https://evil.example.com' });
    const none = await get('/img/logo.txt', 'cors.test');
    for (const res of [app, admin, evil, none]) assert.equal(res.status, 200);
    assert.equal(app.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(admin.headers['access-control-allow-origin'], 'https://admin.example.com');
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
    assert.equal(none.headers['access-control-allow-origin'], undefined);
    assert.ok(isHit(admin) && isHit(evil) && isHit(none));
    assert.match(String(admin.headers.vary), /Origin/);
    assert.equal(seenFor(origin, '/img/logo.txt').length, 1, 'one cached copy for every Origin');
    // A vhost without <Cors> is untouched.
    const plain = await get('/img/logo.txt', 'sign.test', { origin: 'https://app.example.com' });
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
    assert.equal(plain.headers.vary, undefined);
  });

  test('CORS over an origin that varies on Origin: a copy per Origin, and only the edge\'s Access-Control-* headers', async () => {
    const fieldLines = (res: TestResponse, name: string): number => res.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length;
    for (const round of [1, 2]) {
      const app = await get('/own-cors/a.txt', 'cors.test', { origin: 'https://app.example.com' });
      const admin = await get('/own-cors/a.txt', 'cors.test', { origin: 'https://admin.example.com' });
      const evil = await get('/own-cors/a.txt', 'cors.test', { origin: 'https://evil.example.com' });
      assert.equal(app.body.toString(), 'for https://app.example.com', `round ${round}: each Origin gets its own copy`);
      assert.equal(admin.body.toString(), 'for https://admin.example.com');
      if (round === 2) assert.ok(isHit(app) && isHit(admin) && isHit(evil), 'the second round is served from the cache');
      assert.equal(app.headers['access-control-allow-origin'], 'https://app.example.com', 'the edge answers for the allowed Origin, once');
      assert.equal(fieldLines(app, 'access-control-allow-origin'), 1);
      assert.equal(admin.headers['access-control-allow-origin'], 'https://admin.example.com');
      assert.equal(evil.headers['access-control-allow-origin'], undefined, 'the origin\'s "*" never reaches an Origin the edge refuses');
      assert.equal(evil.headers['access-control-allow-credentials'], undefined);
    }
    assert.equal(seenFor(origin, '/own-cors/a.txt').length, 3, 'one origin request per Origin: the origin varies on it');
  });

  test('a dead origin gets the vhost\'s error page with the right status and type', async () => {
    const res = await get('/anything', 'dead.test');
    // 502 (connect refused), or 503 once the member is marked down: both are in ResCode.
    assert.ok(res.status === 502 || res.status === 503, String(res.status));
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.body.toString(), PAGE);
    const plain = await get('/private/q', 'sign.test');
    assert.equal(plain.headers['content-type'], 'text/plain; charset=utf-8', 'other vhosts keep the plain text');
  });
});

describe('edge policy config errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-edge-conf-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function check(options: string): { status: number | null; out: string } {
    const conf = join(dir, `conf-${Math.random().toString(36).slice(2)}`);
    mkdirSync(conf);
    writeFileSync(join(conf, 'server.xml'), serverXml({ managerPort: 10999, dir }));
    writeFileSync(join(conf, 'vhosts.xml'), vhostXml([{ name: 'a.test', port: 18080, origin: '127.0.0.1:9', extra: `<Options>${options}</Options>` }]));
    const r = spawnSync(process.execPath, [MAIN, 'check-config', '--conf', conf], { encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  const cases: Array<[string, string, RegExp]> = [
    ['bad Status', '<SignedUrl Status="Maybe"><Key>k1</Key></SignedUrl>', /SignedUrl@Status: "Maybe" is not one of Active, Inactive/],
    ['empty Key', '<SignedUrl Status="Active"><Key></Key></SignedUrl>', /SignedUrl\/Key: is empty/],
    ['no Key', '<SignedUrl Status="Active"><Path>/p/*</Path></SignedUrl>', /SignedUrl\/Key: missing/],
    ['key with a space (not echoed)', '<SignedUrl Status="Active"><Key>my secret</Key></SignedUrl>', /SignedUrl\/Key: the token must be visible ASCII/],
    ['same Param twice', '<SignedUrl Status="Active" Param="t" ExpiresParam="t"><Key>k1</Key></SignedUrl>', /ExpiresParam: "t" is also Param/],
    ['bad Param', '<SignedUrl Status="Active" Param="a&amp;b"><Key>k1</Key></SignedUrl>', /SignedUrl@Param: "a&b" is not a query parameter name/],
    ['bad Path', '<SignedUrl Status="Active"><Key>k1</Key><Path>/a?b</Path></SignedUrl>', /SignedUrl\/Path: .*query string/],
    ['bad MaxAge', '<Cors AllowOrigin="https://a.example" MaxAge="-1">ON</Cors>', /Cors@MaxAge: "-1" is out of range/],
    ['MaxAge not a number', '<Cors AllowOrigin="https://a.example" MaxAge="ten">ON</Cors>', /Cors@MaxAge: "ten" is not a whole number/],
    ['origin with a path', '<Cors AllowOrigin="https://a.example/x">ON</Cors>', /Cors@AllowOrigin: "https:\/\/a.example\/x" is not an origin/],
    ['bad method', '<Cors AllowMethods="GET, G*T">ON</Cors>', /Cors@AllowMethods: "G\*T" is not an HTTP method/],
    ['missing error page file', '<ErrorPage ResCode="502">/nonexistent/dir/sorry.html</ErrorPage>', /Options\/ErrorPage: "\/nonexistent\/dir\/sorry.html" cannot be read \(ENOENT\)/],
    ['unknown page type', '<ErrorPage ResCode="502">/etc/hostname.bin</ErrorPage>', /ErrorPage: ".*hostname.bin": unknown page type/],
    ['bad ResCode', '<ErrorPage ResCode="5xx">/x.html</ErrorPage>', /ErrorPage@ResCode: "5xx" is not a list of HTTP status codes/],
  ];
  for (const [label, options, expected] of cases) {
    test(`${label} is a config error naming the element`, () => {
      const r = check(options);
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, /vhosts\.xml: Vhosts\/Vhost\[Name=a\.test\]\/Options\//);
      assert.match(r.out, expected);
      assert.doesNotMatch(r.out, /my secret/);
    });
  }

  test('an error page over 64 KiB is refused; a valid set passes', () => {
    const big = join(dir, 'big.html');
    writeFileSync(big, 'x'.repeat(64 * 1024 + 1));
    const tooBig = check(`<ErrorPage ResCode="502">${big}</ErrorPage>`);
    assert.equal(tooBig.status, 1);
    assert.match(tooBig.out, /is 65537 bytes; an error page may have 65536 at most/);
    const page = join(dir, 'ok.html');
    writeFileSync(page, PAGE);
    const good = check(`<SignedUrl Status="Active"><Key>k1</Key><Key>k2</Key><Path>/p/*</Path></SignedUrl><Cors AllowOrigin="*">ON</Cors><ErrorPage ResCode="0">${page}</ErrorPage>`);
    assert.equal(good.status, 0, good.out);
  });
});
