/**
 * URL rewriting and GeoIP through a real Flint (primary + 1 worker) in front of scripted origins that count
 * requests: a <URLRewrite> that sends one vhost's URLs to another vhost (served by that vhost's origin and cache,
 * the access log showing both URLs), a rewrite whose result is no URL (400, logged, nothing fetched), <Sub> path
 * routing, `$GEO` acl and header rules and a `<ServiceAccess>` country entry for clients on loopback addresses
 * the test-built .mmdb places in different countries, a broken rewrite rule and a corrupt database on SIGHUP keeping the running config, and a replaced
 * database taking effect on SIGHUP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { accessRecordsFor, reply, seenFor, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';
import { buildMmdb } from '../helpers/mmdb-writer.js';

const WWW = 'www.test';
const IMG = 'img.test';
const SPORTS = 'sports.test';
const BASEBALL = 'baseball.test';
const GEO = 'geo.test';

const REWRITES = `
  <URLRewrite AccessLog="Replace">
    <Pattern>^www\\.test/img/(.*)</Pattern>
    <Replace>img.test/#1</Replace>
  </URLRewrite>
  <URLRewrite>
    <Pattern><![CDATA[^www\\.test/bad/(.*)]]></Pattern>
    <Replace>#1</Replace>
  </URLRewrite>`;

const NETWORKS = [
  { cidr: '127.0.0.0/8', country: 'JP' },
  { cidr: '127.0.0.2/32', country: 'KR' },
  { cidr: '127.0.0.3/32', country: 'US' },
  { cidr: '127.0.0.4/32', country: 'BR' },
  { cidr: '::1/128', country: 'DE' },
];

describe('edge policy: URL rewriting, Sub paths and GeoIP', () => {
  const wwwRoutes: Record<string, Route> = {};
  const imgRoutes: Record<string, Route> = {};
  const baseballRoutes: Record<string, Route> = {};
  let www: TestOrigin;
  let img: TestOrigin;
  let baseball: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  let vhostsText = '';
  let dbFile = '';

  const get = (host: string, path: string, from = '127.0.0.1'): Promise<TestResponse> => request({ port, host, path, localAddress: from });
  const ok = (tag: string): Route => (req, res) => reply(res, 200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, `${tag} ${req.url}`);

  before(async () => {
    www = await startRoutedOrigin(wwwRoutes);
    img = await startRoutedOrigin(imgRoutes);
    baseball = await startRoutedOrigin(baseballRoutes);
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => {
      dbFile = join(dir, 'country.mmdb');
      writeFileSync(dbFile, buildMmdb(NETWORKS));
      const server = serverXml({ managerPort, dir }).replace('</Manager></Host>', `</Manager><ServiceAccess GeoIP="${dbFile}"><Deny>BR</Deny></ServiceAccess></Host>`);
      vhostsText = vhostXml([
        { name: WWW, port, origin: www.address },
        { name: IMG, port, origin: img.address },
        { name: SPORTS, port, origin: www.address, extra: '<Sub Status="Active"><Path Vhost="baseball.test">/baseball/</Path></Sub>' },
        { name: BASEBALL, port, origin: baseball.address },
        {
          name: GEO,
          port,
          origin: www.address,
          extra: `<Options><AccessControl>ON</AccessControl>
            <MatchingList Target="acl"><![CDATA[
              $GEO[KR], deny, 451
            ]]></MatchingList>
            <MatchingList Target="headers"><![CDATA[
              $GEO[US|DE], $RES[X-Country: outside-asia], set
            ]]></MatchingList></Options>`,
        },
      ]).replace('</Vhosts>', `${REWRITES}\n</Vhosts>`);
      return { server, vhosts: vhostsText };
    });
  });

  after(async () => {
    await flint?.stop();
    await www?.close();
    await img?.close();
    await baseball?.close();
  });

  test('a rewrite to another vhost is served by that vhost and its origin; the access log shows both URLs', async () => {
    imgRoutes['/logo.png'] = ok('img');
    wwwRoutes['/plain'] = ok('www');
    const first = await get(WWW, '/img/logo.png?v=2');
    assert.equal(first.status, 200);
    assert.equal(first.body.toString(), 'img /logo.png?v=2');
    assert.equal(seenFor(img, '/logo.png').length, 1, 'the other vhost\'s origin');
    assert.equal(seenFor(img, '/logo.png')[0]?.headers.host, IMG, 'sent as the rewritten vhost');
    assert.equal(www.seen.length, 0, 'the named vhost\'s origin is never asked');
    const [record] = await accessRecordsFor(flint, IMG, '/logo.png?v=2', 1);
    assert.equal(record?.originalUrl, 'www.test/img/logo.png?v=2');
    assert.equal(record?.cacheResult, 'TCP_MISS');
    // The rewritten URL is the cache key: the same object from the rewritten vhost directly, one origin request.
    assert.equal((await get(IMG, '/logo.png?v=2')).status, 200);
    assert.equal((await get(WWW, '/img/logo.png?v=2')).status, 200);
    assert.equal(seenFor(img, '/logo.png').length, 1);
    const direct = (await accessRecordsFor(flint, IMG, '/logo.png?v=2', 3)).map((r) => r.originalUrl ?? null);
    assert.deepEqual(direct, ['www.test/img/logo.png?v=2', null, 'www.test/img/logo.png?v=2']);
    // A URL no rule matches goes on unchanged.
    assert.equal((await get(WWW, '/plain')).body.toString(), 'www /plain');
    const [plain] = await accessRecordsFor(flint, WWW, '/plain', 1);
    assert.equal(plain?.originalUrl, undefined);
  });

  test('a rewrite whose result is no URL is refused with 400, logged with both sides, nothing fetched', async () => {
    const res = await get(WWW, '/bad/x');
    assert.equal(res.status, 400);
    assert.match(res.body.toString(), /^400 Bad Request: the request URL cannot be rewritten/);
    assert.doesNotMatch(res.body.toString(), /www\.test|bad\/x/, 'nothing of the rule or URL in the body');
    const [record] = await accessRecordsFor(flint, WWW, '/bad/x', 1);
    assert.equal(record?.status, 400);
    assert.equal(record?.error, 'FLINT_ERR_CLIENT_REWRITE');
    assert.match(String(record?.errorDetail), /does not start with a host name.*www\.test\/bad\/x/);
    assert.equal(seenFor(www, '/x').length + seenFor(www, '/bad/x').length, 0);
  });

  test('<Sub> hands a path to another vhost (its origin, its log); other paths stay', async () => {
    baseballRoutes['/baseball/rank.html'] = ok('baseball');
    wwwRoutes['/football/rank.html'] = ok('sports');
    const sub = await get(SPORTS, '/baseball/rank.html');
    assert.equal(sub.body.toString(), 'baseball /baseball/rank.html', 'the URL is not changed');
    assert.equal(seenFor(baseball, '/baseball/rank.html')[0]?.headers.host, BASEBALL);
    await accessRecordsFor(flint, BASEBALL, '/baseball/rank.html', 1);
    assert.equal((await get(SPORTS, '/football/rank.html')).body.toString(), 'sports /football/rank.html');
    assert.equal(seenFor(www, '/football/rank.html')[0]?.headers.host, SPORTS);
  });

  test('$GEO rules: one loopback country denied, others served; header rules by country', async () => {
    wwwRoutes['/g'] = ok('geo');
    const kr = await get(GEO, '/g', '127.0.0.2');
    assert.equal(kr.status, 451);
    assert.equal(seenFor(www, '/g').length, 0, 'a denied country never reaches the origin');
    const us = await get(GEO, '/g', '127.0.0.3');
    assert.equal(us.status, 200);
    assert.equal(us.headers['x-country'], 'outside-asia');
    const jp = await get(GEO, '/g', '127.0.0.1');
    assert.equal(jp.status, 200);
    assert.equal(jp.headers['x-country'], undefined);
    assert.equal((await get(GEO, '/g', '127.0.0.2')).status, 451, 'a cached object is refused too');
    assert.equal(seenFor(www, '/g').length, 1);
    // <ServiceAccess><Deny>BR</Deny> (STON's country entry): refused on every vhost, before routing.
    for (const host of [GEO, WWW, 'unknown.test']) assert.equal((await get(host, '/g', '127.0.0.4')).status, 403, host);
    assert.equal(seenFor(www, '/g').length, 1);
  });

  test('SIGHUP: a broken rewrite or a corrupt database keeps the running config; a replaced database applies', async () => {
    wwwRoutes['/r'] = ok('www');
    imgRoutes['/r'] = ok('img');
    const vhostsFile = join(flint.confDir, 'vhosts.xml');
    const hashBefore = (await flint.stats()).configHash;
    writeFileSync(vhostsFile, vhostsText.replace('^www\\.test/img/(.*)', '^www\\.test/img/((.*)').replace('<Replace>img.test/#1</Replace>', '<Replace>img.test/#1</Replace>'));
    flint.signal('SIGHUP');
    const failed = await flint.waitForLog((l) => l.event === 'config.reload_failed' && JSON.stringify(l).includes('URLRewrite[1]/Pattern'));
    assert.match(JSON.stringify(failed), /vhosts\.xml: Vhosts\/URLRewrite\[1\]\/Pattern: .*not a valid regular expression/);
    assert.equal((await flint.stats()).configHash, hashBefore, 'the running config is kept');
    assert.equal((await get(WWW, '/img/r')).body.toString(), 'img /r', 'the old rewrite still applies');
    writeFileSync(vhostsFile, vhostsText);

    writeFileSync(dbFile, Buffer.from('this is not a MaxMind database'));
    flint.signal('SIGHUP');
    const corrupt = await flint.waitForLog((l) => l.event === 'config.reload_failed' && JSON.stringify(l).includes('ServiceAccess@GeoIP'));
    assert.match(JSON.stringify(corrupt), /country\.mmdb\\?" is not a MaxMind database/);
    assert.equal((await get(GEO, '/r', '127.0.0.2')).status, 451, 'the loaded database still answers');

    writeFileSync(dbFile, buildMmdb([...NETWORKS, { cidr: '127.0.0.2/32', country: 'US' }]));
    flint.signal('SIGHUP');
    const served = await waitFor('the replaced database', async () => {
      const res = await get(GEO, '/r', '127.0.0.2');
      return res.status === 200 ? res : undefined;
    });
    assert.equal(served.headers['x-country'], 'outside-asia');
    assert.notEqual((await flint.stats()).configHash, hashBefore, 'a replaced database is a config change');
    assert.ok(readFileSync(vhostsFile, 'utf8').includes('URLRewrite'));
  });
});
