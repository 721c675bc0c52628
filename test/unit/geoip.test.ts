// Unit tests of GeoIP country conditions (policy/geoip.ts, `$GEO[..]` in policy/edge-rules/parse.ts, conditions.ts)
// and their config loading, against a real .mmdb built by test/helpers/mmdb-writer.ts and read by the maxmind
// package: table-driven hostile `$GEO` values, STON's `$IP[KR]`, lookups for IPv4, IPv6 and non-addresses, acl and
// header rules by country, and config errors for a missing, unreadable, corrupt or absent database.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import type { RequestHead } from '../../src/http/request.js';
import { aclRulesFromText } from '../../src/policy/edge-rules/acl-parse.js';
import { AccessPolicy } from '../../src/policy/edge-rules/acl.js';
import { HeaderPolicy, NO_EDITS } from '../../src/policy/edge-rules/headers.js';
import { GeoIp, openGeoIpFile } from '../../src/policy/geoip.js';
import { ServiceAccess } from '../../src/policy/service-access.js';
import { buildMmdb } from '../helpers/mmdb-writer.js';
import { geoIpFor } from '../../src/pipeline/geoip-load.js';
import type { Logger } from '../../src/log.js';

const dir = mkdtempSync(path.join(tmpdir(), 'flint-geoip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const NETWORKS = [
  { cidr: '127.0.0.0/8', country: 'JP' },
  { cidr: '127.0.0.2/32', country: 'KR' },
  { cidr: '127.0.0.3/32', country: 'US' },
  { cidr: '::1/128', country: 'DE' },
  { cidr: '2001:db8::/32', country: 'FR' },
];
const DB = path.join(dir, 'country.mmdb');
writeFileSync(DB, buildMmdb(NETWORKS));

const disk = '<Cache><Storage><Disk>/tmp/flint-unit-cache</Disk></Storage></Cache>';
const serverWith = (geo: string | null): string => `<Server><Host>${geo === null ? '' : `<ServiceAccess GeoIP="${geo}"/>`}</Host>${disk}</Server>`;

function load(options: string, geo: string | null = DB): Config {
  const vhosts = `<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Options>${options}</Options></Vhost></Vhosts>`;
  return loadConfigFromText('/srv/flint/conf', serverWith(geo), vhosts, { cpuCount: 1 });
}

function problemsOf(options: string, geo: string | null = DB): string[] {
  try {
    load(options, geo);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

const head = (ip: string, path = '/x'): RequestHead => ({ method: 'GET', path, query: '', headers: [], host: 'a.com', clientIp: ip });
const acl = (lines: string): string => `<AccessControl>ON</AccessControl><MatchingList Target="acl"><![CDATA[\n${lines}\n]]></MatchingList>`;

test('$GEO values: hostile inputs are problems naming the line, never rules', () => {
  const cases: Array<[string, RegExp]> = [
    ['$GEO[], deny', /names no country/],
    ['$GEO[ZZ], deny', /"ZZ" is not an ISO 3166-1 alpha-2/],
    ['$GEO[UK], deny', /"UK" is not an ISO 3166-1 alpha-2/],
    ['$GEO[KOR], deny', /"KOR" is not an ISO 3166-1 alpha-2/],
    ['$GEO[K], deny', /"K" is not/],
    ['$GEO[KR|], deny', /"" is not/],
    ['$GEO[KR|JP|X1], deny', /"X1" is not/],
    ['$GEO[KR;JP], deny', /"KR;JP" is not/],
    ['$GEO[KR] & $GEO[JP], deny', /appears twice/],
    ['$GEO[US] & $IP[KR], deny', /appear together/],
    ['$GEO[KR\' OR 1=1], deny', /is not an ISO 3166-1/],
    ['$GEO[${jndi:x}], deny', /'\[' inside brackets|is not a condition|not an ISO/],
    ['$GEO[KR], deny, 99', /not a denial status/],
    ['$GEO[KR], bogus', /not an acl action/],
  ];
  for (const [line, expected] of cases) {
    const parsed = aclRulesFromText('acl.txt', line);
    assert.equal(parsed.rules.length, 0, line);
    assert.match(parsed.problems[0] ?? '', /^acl\.txt: line 1: /, line);
    assert.match(parsed.problems[0] ?? '', expected, line);
  }
  const ok = aclRulesFromText('acl.txt', '$geo[kr|jp|KR], deny\n$IP[us], allow\n$GEO[KR] & $IP[127.0.0.0/8] & $URL[/a/*], deny, 451');
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.rules.map((r) => r.conditions), [
    [{ kind: 'geo', countries: ['KR', 'JP'] }],
    [{ kind: 'geo', countries: ['US'] }],
    [{ kind: 'geo', countries: ['KR'] }, { kind: 'ip', range: '127.0.0.0/8' }, { kind: 'url', glob: '/a/*' }],
  ]);
});

test('GeoIp: countries of IPv4 and IPv6 clients; unknown, private and non-addresses have none', () => {
  const opened = openGeoIpFile(DB);
  assert.ok(opened.ok);
  const geo = opened.geo;
  const cases: Array<[string, string | null]> = [
    ['127.0.0.2', 'KR'],
    ['127.0.0.3', 'US'],
    ['127.0.0.9', 'JP'],
    ['127.0.0.2', 'KR'],
    ['::1', 'DE'],
    ['2001:db8:1::5', 'FR'],
    ['2001:db9::1', null],
    ['8.8.8.8', null],
    ['', null],
    ['not-an-address', null],
  ];
  for (const [ip, country] of cases) assert.equal(geo.country(ip), country, ip);
  assert.throws(() => new GeoIp(Buffer.from('not a database')));
});

test('acl and header rules by country: first match, several codes, STON $IP[KR], combined with $IP', () => {
  const config = load(
    `${acl('$GEO[KR], deny, 451\n$IP[US] & $URL[/private/*], deny\n$GEO[DE|FR], redirect, https://eu.example/#URL')}` +
      '<MatchingList Target="headers">$GEO[JP], $RES[X-Country: JP], set</MatchingList>',
  );
  const vhost = config.vhosts[0];
  assert.ok(vhost !== undefined && config.server.serviceAccess.geoIp !== null);
  const opened = openGeoIpFile(config.server.serviceAccess.geoIp.file);
  assert.ok(opened.ok);
  const p = new AccessPolicy(vhost, opened.geo);
  assert.deepEqual(p.verdict(head('127.0.0.2'), '/x'), { kind: 'deny', status: 451 });
  assert.equal(p.verdict(head('127.0.0.3'), '/x'), null);
  assert.deepEqual(p.verdict(head('127.0.0.3', '/private/a'), '/private/a'), { kind: 'deny', status: 403 });
  assert.deepEqual(p.verdict(head('::1', '/y'), '/y'), { kind: 'redirect', location: 'https://eu.example//y' });
  assert.equal(p.verdict(head('127.0.0.4'), '/x'), null, 'JP: no acl rule');
  assert.equal(p.verdict(head('8.8.8.8'), '/x'), null, 'no country: no country rule holds');
  const h = new HeaderPolicy(vhost, opened.geo);
  const input = (ip: string): { head: RequestHead; path: string; cacheResult: string } => ({ head: head(ip), path: '/x', cacheResult: 'TCP_HIT' });
  assert.equal(h.hitEdits(input('127.0.0.5'), 200), null, 'a $GEO rule holds: edits per request');
  assert.equal(h.hitEdits(input('127.0.0.2'), 200), NO_EDITS, 'no rule holds: the plain head');
  assert.throws(() => new AccessPolicy(vhost), /needs a GeoIP database/);
});

test('config: a missing, unreadable or corrupt database, or $GEO without one, is an error naming it', () => {
  const rules = acl('$GEO[KR], deny');
  const missing = problemsOf(rules, path.join(dir, 'nope.mmdb'));
  assert.equal(missing.length, 1, missing.join('\n'));
  assert.match(missing[0] as string, /^server\.xml: Server\/Host\/ServiceAccess@GeoIP: ".*nope\.mmdb" cannot be read \(ENOENT\)/);
  const corrupt = path.join(dir, 'corrupt.mmdb');
  writeFileSync(corrupt, Buffer.concat([Buffer.from('garbage'), Buffer.alloc(4096)]));
  assert.match(problemsOf(rules, corrupt)[0] as string, /ServiceAccess@GeoIP: ".*corrupt\.mmdb" is not a MaxMind database/);
  const truncated = path.join(dir, 'truncated.mmdb');
  writeFileSync(truncated, buildMmdb(NETWORKS).subarray(0, 40));
  assert.match(problemsOf(rules, truncated)[0] as string, /truncated\.mmdb" is not a MaxMind database/);
  assert.match(problemsOf(rules, dir)[0] as string, /cannot be read \(EISDIR\)/);
  if (process.getuid?.() !== 0) {
    const locked = path.join(dir, 'locked.mmdb');
    writeFileSync(locked, buildMmdb(NETWORKS));
    chmodSync(locked, 0o000);
    assert.match(problemsOf(rules, locked)[0] as string, /locked\.mmdb" cannot be read \(EACCES\)/);
  }
  const without = problemsOf(rules, null);
  assert.equal(without.length, 1);
  assert.match(without[0] as string, /line 1: a country condition \(\$GEO\[\.\.\] or \$IP\[country\]\) needs a GeoIP database: set <ServiceAccess GeoIP=/);
  assert.match(problemsOf('<MatchingList Target="headers">$IP[KR], $RES[X-A: 1], set</MatchingList>', null)[0] as string, /needs a GeoIP database/);
  // A database without rules is fine; its digest is part of the config hash (a replaced file is a change on SIGHUP).
  const before = load('').hash;
  writeFileSync(DB, buildMmdb([...NETWORKS, { cidr: '10.0.0.0/8', country: 'GB' }]));
  assert.notEqual(load('').hash, before);
  writeFileSync(DB, buildMmdb(NETWORKS));
});

test('worker copy: kept while file and digest stay; reopened when they change; kept (and logged) when the new file cannot be opened', () => {
  const logged: unknown[] = [];
  const log = { error: (fields: unknown) => logged.push(fields) } as unknown as Logger;
  const file = path.join(dir, 'worker.mmdb');
  writeFileSync(file, buildMmdb(NETWORKS));
  const first = load('', file);
  const gone = { ...first, server: { ...first.server, serviceAccess: { ...first.server.serviceAccess, geoIp: { file: path.join(dir, 'gone.mmdb'), sha1: 'x' } } } };
  assert.throws(() => geoIpFor(gone, log), /GeoIP database: .*gone\.mmdb" cannot be read/, 'no database yet: a worker cannot run $GEO rules');
  const geo = geoIpFor(first, log);
  assert.ok(geo !== null);
  assert.equal(geo.country('127.0.0.2'), 'KR');
  assert.equal(geoIpFor(first, log), geo, 'same file and digest: the loaded copy, nothing read');
  writeFileSync(file, buildMmdb([{ cidr: '127.0.0.2/32', country: 'US' }]));
  const second = load('', file);
  const reopened = geoIpFor(second, log);
  assert.notEqual(reopened, geo);
  assert.equal(reopened?.country('127.0.0.2'), 'US');
  writeFileSync(file, 'corrupt after validation');
  const third = { ...second, server: { ...second.server, serviceAccess: { ...second.server.serviceAccess, geoIp: { file, sha1: 'changed' } } } };
  assert.equal(geoIpFor(third, log), reopened, 'the database loaded before stays in use');
  assert.equal(logged.length, 1);
  assert.equal(geoIpFor(load('', null), log), null);
});

test('<ServiceAccess> country entries (STON <Deny>KR</Deny>): refused on every vhost, Allow wins, need the database', () => {
  const server = (entries: string, geo: string | null = DB): string =>
    `<Server><Host><ServiceAccess Default="Allow"${geo === null ? '' : ` GeoIP="${geo}"`}>${entries}</ServiceAccess></Host>${disk}</Server>`;
  const vhosts = '<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin></Vhost></Vhosts>';
  const config = loadConfigFromText('/srv/flint/conf', server('<Deny>kr</Deny><Deny>DE</Deny><Deny>10.0.0.0/8</Deny><Allow>127.0.0.0/30</Allow>'), vhosts, { cpuCount: 1 });
  assert.deepEqual(config.server.serviceAccess.deny, ['KR', 'DE', '10.0.0.0/8']);
  const opened = openGeoIpFile(DB);
  assert.ok(opened.ok);
  const sa = new ServiceAccess(config.server.serviceAccess, opened.geo);
  assert.equal(sa.open, false);
  assert.equal(sa.admits({ clientIp: '127.0.0.2' }), true, 'KR but in an <Allow> range: Allow wins');
  assert.equal(sa.admits({ clientIp: '127.0.0.4' }), true, 'JP');
  assert.equal(sa.admits({ clientIp: '::1' }), false, 'DE');
  assert.equal(sa.admits({ clientIp: '10.1.2.3' }), false, 'an address entry in the same list');
  assert.equal(new ServiceAccess({ defaultAction: 'deny', allow: ['US'], deny: [], geoIp: null }, opened.geo).admits({ clientIp: '127.0.0.3' }), true);
  assert.equal(new ServiceAccess({ defaultAction: 'deny', allow: ['US'], deny: [], geoIp: null }, opened.geo).admits({ clientIp: '127.0.0.2' }), false);
  assert.throws(() => new ServiceAccess(config.server.serviceAccess), /need a GeoIP database/);
  const problems = (entries: string, geo: string | null = DB): string[] => {
    try {
      loadConfigFromText('/srv/flint/conf', server(entries, geo), vhosts, { cpuCount: 1 });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return [...error.problems];
    }
    assert.fail('expected a ConfigError');
  };
  assert.match(problems('<Deny>ZZ</Deny>')[0] as string, /^server\.xml: Server\/Host\/ServiceAccess\/Deny: "ZZ" is neither an IP address or CIDR range nor an ISO 3166-1 alpha-2 country code/);
  assert.match(problems('<Deny>KOR</Deny>')[0] as string, /"KOR" is not an IP address or CIDR range/);
  assert.match(problems('<Deny>KR</Deny>', null)[0] as string, /^server\.xml: Server\/Host\/ServiceAccess: "KR": country entries need a GeoIP database/);
});
