// Unit tests of config problems: each kind of mistake gives one ConfigError problem naming the file, the element
// path and what is wrong (exact strings), all problems are reported together, and nothing is half-loaded.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { loadConfig, loadConfigFromText } from '../../src/config/load.js';

const GOOD_VHOST = '<Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin></Vhost>';

/** The problems of a config that must not load. */
function problemsOf(serverXml: string, vhostsXml: string): readonly string[] {
  try {
    loadConfigFromText('/srv/flint/conf', serverXml, vhostsXml, { cpuCount: 2 });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'FLINT_ERR_CONFIG');
    assert.equal(err.message, err.problems.join('\n'));
    return err.problems;
  }
  assert.fail('the config was accepted');
}

/** Problems of a server.xml body (inside <Server>) next to a valid vhosts.xml. */
const serverProblems = (inner: string): readonly string[] => problemsOf(`<Server>${inner}</Server>`, `<Vhosts>${GOOD_VHOST}</Vhosts>`);
/** Problems of a vhosts.xml body (inside <Vhosts>) next to an empty server.xml. */
const vhostsProblems = (inner: string): readonly string[] => problemsOf('<Server/>', `<Vhosts>${inner}</Vhosts>`);
/** Problems of one vhost `foo.com` with `inner` as its body. */
const vhostProblems = (inner: string): readonly string[] => vhostsProblems(`<Vhost Name="foo.com">${inner}</Vhost>`);
const ORIGIN = '<Origin><Address>10.0.0.1</Address></Origin>';

test('malformed XML names the file, line and column', () => {
  const problems = problemsOf('<Server>\n  <Cache>\n    <Workers>2</Workers>\n  </Cach>\n</Server>', `<Vhosts>${GOOD_VHOST}</Vhosts>`);
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /^server\.xml: line 4, column \d+: malformed XML: .*'Cache'.*'Cach'/);
});

test('malformed XML in both files: both are reported', () => {
  const problems = problemsOf('<Server><Host></Server>', '\n\n<Vhosts><Vhost Name="a.com></Vhosts>');
  assert.equal(problems.length, 2);
  assert.match(problems[0] ?? '', /^server\.xml: line 1, column \d+: malformed XML: /);
  assert.match(problems[1] ?? '', /^vhosts\.xml: line 3, column \d+: malformed XML: /);
});

test('an empty file and a wrong root element are problems', () => {
  assert.deepEqual(problemsOf('', `<Vhosts>${GOOD_VHOST}</Vhosts>`), ['server.xml: the file is empty']);
  assert.deepEqual(problemsOf('<Vhosts/>', `<Vhosts>${GOOD_VHOST}</Vhosts>`), [
    'server.xml: found root element <Vhosts>; expected exactly one root element <Server>',
  ]);
  assert.deepEqual(problemsOf('<Server/><Server/>', `<Vhosts>${GOOD_VHOST}</Vhosts>`), [
    'server.xml: found 2 root elements <Server>; expected exactly one',
  ]);
  assert.deepEqual(problemsOf('<Server/><Cache/>', `<Vhosts>${GOOD_VHOST}</Vhosts>`), [
    'server.xml: found root element <Server>, <Cache>; expected exactly one root element <Server>',
  ]);
});

test('a missing file is a ConfigError naming its path', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flint-config-'));
  try {
    writeFileSync(path.join(dir, 'server.xml'), '<Server/>');
    assert.throws(
      () => loadConfig(dir),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        (err.problems[0] ?? '').startsWith(`${path.join(dir, 'vhosts.xml')}: cannot read: ENOENT`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad host:port in <Origin><Address> (the issue example)', () => {
  assert.deepEqual(vhostProblems('<Origin><Address>foo:99999</Address></Origin>'), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Origin/Address: "foo:99999" is not a valid host:port',
  ]);
  for (const bad of ['http://foo', 'foo:', 'foo:0', '[::1', '[10.0.0.1]:80', '1.2.3.999', 'a b', 'foo/x?y=1', '-foo.com']) {
    assert.deepEqual(
      vhostProblems(`<Origin><Address>${bad}</Address></Origin>`),
      [`vhosts.xml: Vhosts/Vhost[Name=foo.com]/Origin/Address: ${JSON.stringify(bad)} is not a valid host:port`],
      bad,
    );
  }
});

test('bad ports in <Listen> and <Manager Port>', () => {
  assert.deepEqual(vhostProblems(`${ORIGIN}<Listen>*:99999</Listen>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Listen: "*:99999" is not a valid listen address: the port must be 1..65535',
  ]);
  assert.deepEqual(serverProblems('<Host><Manager Port="0"/></Host>'), ['server.xml: Server/Host/Manager@Port: "0" is out of range (1..65535)']);
  assert.deepEqual(serverProblems('<Host><Manager Port="http"/></Host>'), ['server.xml: Server/Host/Manager@Port: "http" is not a whole number']);
});

test('bad <Listen> forms', () => {
  for (const bad of ['8080', 'localhost:80', '::1:80', '[::1]', '[foo]:80', '1.2.3:80', '*:']) {
    assert.deepEqual(
      vhostProblems(`${ORIGIN}<Listen>${bad}</Listen>`),
      [`vhosts.xml: Vhosts/Vhost[Name=foo.com]/Listen: ${JSON.stringify(bad)} is not a valid listen address (*:port, ipv4:port or [ipv6]:port)`],
      bad,
    );
  }
  assert.deepEqual(vhostProblems(`${ORIGIN}<Listen>*:80</Listen><Listen>0.0.0.0:80</Listen>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Listen: "0.0.0.0:80" is listed twice',
  ]);
});

test('a bad <Listen> in <VHostDefault> is reported once, in server.xml', () => {
  assert.deepEqual(problemsOf('<Server><VHostDefault><Listen>*:0</Listen></VHostDefault></Server>', `<Vhosts>${GOOD_VHOST}${GOOD_VHOST.replace('a.com', 'b.com')}</Vhosts>`), [
    'server.xml: Server/VHostDefault/Listen: "*:0" is not a valid listen address: the port must be 1..65535',
  ]);
});

test('duplicate vhost names (case-insensitive)', () => {
  assert.deepEqual(vhostsProblems(`${GOOD_VHOST}<Vhost Name="A.com">${ORIGIN}</Vhost>`), [
    'vhosts.xml: Vhosts/Vhost[Name=A.com]@Name: "a.com" is already the Name of another vhost (Vhost #1)',
  ]);
});

test('an alias or name claimed by two vhosts', () => {
  const vhosts = `<Vhost Name="a.com"><Alias>*.shared.com</Alias>${ORIGIN}</Vhost>
    <Vhost Name="b.com"><Alias>*.Shared.com</Alias><Alias>a.com</Alias><Alias>b.com</Alias>${ORIGIN}</Vhost>`;
  assert.deepEqual(vhostsProblems(vhosts), [
    'vhosts.xml: Vhosts/Vhost[Name=b.com]/Alias: "*.shared.com" is already claimed by vhost a.com',
    'vhosts.xml: Vhosts/Vhost[Name=b.com]/Alias: "a.com" is already claimed by vhost a.com',
  ]);
});

test('bad names and aliases', () => {
  assert.deepEqual(vhostsProblems(`<Vhost Name="*.a.com">${ORIGIN}</Vhost>`), [
    'vhosts.xml: Vhosts/Vhost[Name=*.a.com]@Name: "*.a.com" is not a valid host name',
  ]);
  assert.deepEqual(vhostProblems(`${ORIGIN}<Alias>a.*.com</Alias><Alias>**.b.com</Alias>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Alias: "a.*.com" is not a valid alias (a host name, or *. and a host name)',
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Alias: "**.b.com" is not a valid alias (a host name, or *. and a host name)',
  ]);
  assert.deepEqual(vhostsProblems(`${GOOD_VHOST}<Vhost>${ORIGIN}</Vhost>`), ['vhosts.xml: Vhosts/Vhost[2]@Name: missing; it is required']);
});

test('<Default> must name an existing vhost', () => {
  assert.deepEqual(vhostsProblems(`${GOOD_VHOST}<Default>nope.com</Default>`), [
    'vhosts.xml: Vhosts/Default: "nope.com" is not the Name of any vhost (vhosts: a.com)',
  ]);
});

test('a vhost without <Origin>, and a vhosts.xml without vhosts', () => {
  assert.deepEqual(vhostProblems(''), ['vhosts.xml: Vhosts/Vhost[Name=foo.com]/Origin/Address: missing; at least one is required']);
  assert.deepEqual(vhostProblems('<Origin></Origin>'), ['vhosts.xml: Vhosts/Vhost[Name=foo.com]/Origin/Address: missing; at least one is required']);
  assert.deepEqual(vhostsProblems(''), ['vhosts.xml: Vhosts/Vhost: missing; at least one vhost is required']);
});

test('unknown elements and attributes, with the closest known name', () => {
  assert.deepEqual(serverProblems('<Cache><Wrokers>2</Wrokers></Cache>'), ['server.xml: Server/Cache/Wrokers: unknown element; did you mean <Workers>?']);
  assert.deepEqual(serverProblems('<Cache><workers>2</workers></Cache>'), ['server.xml: Server/Cache/workers: unknown element; did you mean <Workers>?']);
  assert.deepEqual(vhostProblems(`${ORIGIN}<Alais>b.com</Alais>`), ['vhosts.xml: Vhosts/Vhost[Name=foo.com]/Alais: unknown element; did you mean <Alias>?']);
  assert.deepEqual(vhostProblems(`${ORIGIN}<OriginOptions><ConectTimeout>1</ConectTimeout></OriginOptions>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/OriginOptions/ConectTimeout: unknown element; did you mean <ConnectTimeout>?',
  ]);
  assert.deepEqual(serverProblems('<Host><Manager Prot="1"/></Host>'), ['server.xml: Server/Host/Manager@Prot: unknown attribute; did you mean Port?']);
  assert.deepEqual(serverProblems('<Cache><Memory>1G</Memory></Cache>'), [
    'server.xml: Server/Cache/Memory: unknown element; expected one of <Workers>, <CpuAffinity>, <ParallelGc>, <ShutdownTimeout>, <Storage>, <BlockSize>, ' +
      '<ContentMemoryRatio>, <HotObjectMaxSize>, <ConfigHistory>, <Dims>',
  ]);
  assert.deepEqual(vhostsProblems(`<Vhost Name="a.com" Status="Active">${ORIGIN}</Vhost>`), [
    'vhosts.xml: Vhosts/Vhost[Name=a.com]@Status: unknown attribute; expected one of Name',
  ]);
  assert.deepEqual(serverProblems('<Cache><Workers Max="2">2</Workers></Cache>'), [
    'server.xml: Server/Cache/Workers@Max: unknown attribute; <Workers> takes no attributes',
  ]);
  assert.deepEqual(serverProblems('<Cache><Workers><Count>2</Count></Workers></Cache>'), [
    'server.xml: Server/Cache/Workers/Count: unknown element; <Workers> takes no child elements',
    'server.xml: Server/Cache/Workers: is empty',
  ]);
});

test('elements written as attributes and the other way round', () => {
  assert.deepEqual(serverProblems('<Host><Manager><Port>1</Port></Manager></Host>'), [
    'server.xml: Server/Host/Manager/Port: unknown element; Port is an attribute here: <Manager Port="...">',
  ]);
  assert.deepEqual(serverProblems('<Cache Workers="2"/>'), [
    'server.xml: Server/Cache@Workers: unknown attribute; Workers is an element here: write <Workers>...</Workers> inside <Cache>',
  ]);
});

test('text where only elements belong, and repeated single elements', () => {
  assert.deepEqual(serverProblems('<Cache>4</Cache>'), ['server.xml: Server/Cache: unexpected text "4"; <Cache> holds only elements']);
  assert.deepEqual(serverProblems('<Cache><Workers>1</Workers><Workers>2</Workers><Workers>3</Workers></Cache>'), [
    'server.xml: Server/Cache/Workers: appears 3 times; only one is allowed',
  ]);
});

test('VHostDefault only takes the inheritable settings', () => {
  assert.deepEqual(serverProblems('<VHostDefault><Alias>x.com</Alias></VHostDefault>'), [
    'server.xml: Server/VHostDefault/Alias: unknown element; expected one of <Listen>, <Https>, <RedirectHttpToHttps>, <OriginOptions>, <Options>, <TrafficCap>, <RateLimit>, <Log>, <Media>',
  ]);
});

test('bad enum values list the allowed ones', () => {
  assert.deepEqual(vhostProblems(`${ORIGIN}<OriginOptions><BalanceMode>Random</BalanceMode></OriginOptions>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/OriginOptions/BalanceMode: "Random" is not one of RoundRobin, Hash, Session',
  ]);
  assert.deepEqual(serverProblems('<Host><Log Level="verbose"/></Host>'), [
    'server.xml: Server/Host/Log@Level: "verbose" is not one of fatal, error, warn, info, debug, trace',
  ]);
});

test('bad storage and hot-tier settings: percents out of range, sizes over the maximum', () => {
  assert.deepEqual(
    serverProblems(`<Cache><Storage><InlineMaxSize>2M</InlineMaxSize><HighWater>101</HighWater><LowWater>-1</LowWater></Storage>
      <ContentMemoryRatio>5%</ContentMemoryRatio><HotObjectMaxSize>17M</HotObjectMaxSize></Cache>`),
    [
      'server.xml: Server/Cache/Storage/InlineMaxSize: "2M" is out of range (0..1M)',
      'server.xml: Server/Cache/Storage/HighWater: "101" is out of range (1..100)',
      'server.xml: Server/Cache/Storage/LowWater: "-1" is out of range (0..99)',
      'server.xml: Server/Cache/ContentMemoryRatio: "5%" is not a whole number',
      'server.xml: Server/Cache/HotObjectMaxSize: "17M" is out of range (0..16M)',
    ],
  );
  // <Eviction Policy>: only the listed names (any case, as every enum), no padding, lists or paths.
  for (const bad of ['arc', 'lru2', 's3fifo,lru', 'sieve;lru', 'w-tinylfu', '../lru']) {
    assert.deepEqual(
      serverProblems(`<Cache><Storage><Eviction Policy="${bad}"/></Storage></Cache>`),
      [`server.xml: Server/Cache/Storage/Eviction@Policy: "${bad}" is not one of lru, s3fifo, sieve, wtinylfu`],
      bad,
    );
  }
  assert.deepEqual(serverProblems('<Cache><Storage><HighWater>0</HighWater><LowWater>100</LowWater></Storage><ContentMemoryRatio>81</ContentMemoryRatio></Cache>'), [
    'server.xml: Server/Cache/Storage/HighWater: "0" is out of range (1..100)',
    'server.xml: Server/Cache/Storage/LowWater: "100" is out of range (0..99)',
    'server.xml: Server/Cache/ContentMemoryRatio: "81" is out of range (0..80)',
  ]);
});

test('<LowWater> must be below <HighWater>; the problem names both, and defaults count', () => {
  assert.deepEqual(serverProblems('<Cache><Storage><HighWater>80</HighWater><LowWater>80</LowWater></Storage></Cache>'), [
    'server.xml: Server/Cache/Storage/LowWater: 80 must be below Server/Cache/Storage/HighWater, which is 80',
  ]);
  assert.deepEqual(serverProblems('<Cache><Storage><LowWater>98</LowWater></Storage></Cache>'), [
    'server.xml: Server/Cache/Storage/LowWater: 98 must be below Server/Cache/Storage/HighWater, which is 97 (the default)',
  ]);
  assert.deepEqual(serverProblems('<Cache><Storage><HighWater>50</HighWater></Storage></Cache>'), [
    'server.xml: Server/Cache/Storage/LowWater: 95 (the default) must be below Server/Cache/Storage/HighWater, which is 50',
  ]);
  // A rejected value is reported once, not compared again through its default.
  assert.deepEqual(serverProblems('<Cache><Storage><HighWater>60%</HighWater></Storage></Cache>'), [
    'server.xml: Server/Cache/Storage/HighWater: "60%" is not a whole number',
  ]);
});

test('bad <Options><TTL> values name the element or attribute, in VHostDefault and per vhost', () => {
  assert.deepEqual(
    vhostProblems(`${ORIGIN}<Options><TTL><Res2xx Ratio="1001" Max="1.5">1800s</Res2xx><NoCache>-5</NoCache><Res3xx>0.5</Res3xx>
      <Res4xx>2147483649</Res4xx><HeuristicPercent>101</HeuristicPercent><ConnectTimeout/></TTL></Options>`),
    [
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/Res2xx: "1800s" is not a whole number of seconds',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/Res2xx@Ratio: "1001" is out of range (0..1000)',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/Res2xx@Max: "1.5" is not a whole number of seconds',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/NoCache: "-5" is not a whole number of seconds',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/Res3xx: "0.5" is not a whole number of seconds',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/Res4xx: "2147483649" is out of range (0..2147483648)',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/HeuristicPercent: "101" is out of range (0..100)',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/ConnectTimeout: is empty',
    ],
  );
  assert.deepEqual(serverProblems('<VHostDefault><Options><Caching>maybe</Caching><TTL><Res5xx>1m</Res5xx></TTL><AgeHeader>0</AgeHeader></Options></VHostDefault>'), [
    'server.xml: Server/VHostDefault/Options/Caching: "maybe" is not a valid boolean (ON or OFF)',
    'server.xml: Server/VHostDefault/Options/TTL/Res5xx: "1m" is not a whole number of seconds',
    'server.xml: Server/VHostDefault/Options/AgeHeader: "0" is not a valid boolean (ON or OFF)',
  ]);
});

test('a bad <TTL Priority> lists the allowed values (STON\'s ordered list is not one of them)', () => {
  assert.deepEqual(vhostProblems(`${ORIGIN}<Options><TTL Priority="cc_nostore, cc_nocache, custom"/></Options>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL@Priority: "cc_nostore, cc_nocache, custom" is not one of origin, config',
  ]);
  assert.deepEqual(serverProblems('<VHostDefault><Options><TTL Priority="header"/></Options></VHostDefault>'), [
    'server.xml: Server/VHostDefault/Options/TTL@Priority: "header" is not one of origin, config',
  ]);
});

test('unknown children and attributes of <TTL>, with the closest known name', () => {
  assert.deepEqual(vhostProblems(`${ORIGIN}<Options><TTL><NoCahce>5</NoCahce></TTL></Options>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/NoCahce: unknown element; did you mean <NoCache>?',
  ]);
  assert.deepEqual(serverProblems('<VHostDefault><Options><TTL><Res4XX>5</Res4XX></TTL></Options></VHostDefault>'), [
    'server.xml: Server/VHostDefault/Options/TTL/Res4XX: unknown element; did you mean <Res4xx>?',
  ]);
  // STON settings Flint does not take are errors, not silently ignored.
  assert.deepEqual(vhostProblems(`${ORIGIN}<Options><TTL Base="response"><NoStore>5</NoStore></TTL></Options>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL@Base: unknown attribute; expected one of Priority',
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/NoStore: unknown element; expected one of <Res2xx>, <NoCache>, <Res3xx>, <Res4xx>, <Res5xx>, ' +
      '<HeuristicPercent>, <HeuristicMax>, <ConnectTimeout>',
  ]);
  assert.deepEqual(vhostProblems(`${ORIGIN}<Options><TTL><Res2xx Ratoi="20">1800</Res2xx></TTL><TTL/></Options>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL/Res2xx@Ratoi: unknown attribute; did you mean Ratio?',
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL: appears 2 times; only one is allowed',
  ]);
  assert.deepEqual(vhostProblems(`${ORIGIN}<Options><TTL>300</TTL><TTLExtensionBy4xx>OFF</TTLExtensionBy4xx></Options>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTL: unexpected text "300"; <TTL> holds only elements',
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TTLExtensionBy4xx: unknown element; did you mean <TTLExtensionBy5xx>?',
  ]);
});

test('bad sizes', () => {
  assert.deepEqual(serverProblems('<Cache><Storage><Disk Quota="10X">/d</Disk></Storage></Cache>'), [
    'server.xml: Server/Cache/Storage/Disk@Quota: "10X" is not a valid size (bytes, or a whole number with K, M, G or T)',
  ]);
  assert.deepEqual(serverProblems('<Cache><Storage><Disk Quota="512K">/d</Disk></Storage></Cache>'), [
    'server.xml: Server/Cache/Storage/Disk@Quota: 524288 bytes is less than one block (BlockSize 1048576): use 0 for no quota, or at least 1048576',
  ]);
  assert.deepEqual(serverProblems('<Cache><BlockSize>1.5M</BlockSize></Cache>'), [
    'server.xml: Server/Cache/BlockSize: "1.5M" is not a valid size (bytes, or a whole number with K, M, G or T)',
  ]);
  assert.deepEqual(serverProblems('<Cache><BlockSize>32K</BlockSize></Cache>'), ['server.xml: Server/Cache/BlockSize: "32K" is out of range (64K..64M)']);
  assert.deepEqual(serverProblems('<Cache><BlockSize>128M</BlockSize></Cache>'), ['server.xml: Server/Cache/BlockSize: "128M" is out of range (64K..64M)']);
  assert.deepEqual(serverProblems('<Cache><BlockSize>96K</BlockSize></Cache>'), ['server.xml: Server/Cache/BlockSize: "96K" is not a power of two']);
});

test('bad booleans, seconds, numbers and empty values', () => {
  assert.deepEqual(serverProblems('<Cache><CpuAffinity>yes</CpuAffinity></Cache>'), [
    'server.xml: Server/Cache/CpuAffinity: "yes" is not a valid boolean (ON or OFF)',
  ]);
  assert.deepEqual(vhostProblems(`${ORIGIN}<OriginOptions><ConnectTimeout>3s</ConnectTimeout><ReceiveTimeout>0</ReceiveTimeout></OriginOptions>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/OriginOptions/ConnectTimeout: "3s" is not a number of seconds',
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/OriginOptions/ReceiveTimeout: "0" is out of range (0.001..3600)',
  ]);
  assert.deepEqual(serverProblems('<Cache><Workers>257</Workers></Cache>'), ['server.xml: Server/Cache/Workers: "257" is out of range (0..256)']);
  assert.deepEqual(serverProblems('<Cache><Workers>-1</Workers></Cache>'), ['server.xml: Server/Cache/Workers: "-1" is out of range (0..256)']);
  assert.deepEqual(serverProblems('<Cache><Workers/></Cache>'), ['server.xml: Server/Cache/Workers: is empty']);
});

test('bad <Manager> settings; the token is never echoed', () => {
  assert.deepEqual(serverProblems('<Host><Manager Listen="localhost" Token="has space"><Allow>10.0.0.0/33</Allow><Allow>::1/129</Allow><Allow>host</Allow></Manager></Host>'), [
    'server.xml: Server/Host/Manager@Listen: "localhost" is not an IP address',
    'server.xml: Server/Host/Manager/Allow: "10.0.0.0/33" is not an IP address or CIDR range',
    'server.xml: Server/Host/Manager/Allow: "::1/129" is not an IP address or CIDR range',
    'server.xml: Server/Host/Manager/Allow: "host" is not an IP address or CIDR range',
    'server.xml: Server/Host/Manager@Token: the token must be visible ASCII characters without spaces',
  ]);
});

test('the management port must not collide with a vhost <Listen>', () => {
  assert.deepEqual(problemsOf('<Server/>', `<Vhosts><Vhost Name="a.com"><Listen>*:10040</Listen>${ORIGIN}</Vhost></Vhosts>`), [
    'server.xml: Server/Host/Manager@Port: port 10040 is also a <Listen> port of vhost a.com (0.0.0.0:10040)',
  ]);
  // A different address on the same port does not collide.
  assert.doesNotThrow(() =>
    loadConfigFromText('/srv/flint/conf', '<Server/>', `<Vhosts><Vhost Name="a.com"><Listen>10.1.2.3:10040</Listen>${ORIGIN}</Vhost></Vhosts>`, { cpuCount: 1 }),
  );
});

test('ON/OFF where a path is required', () => {
  assert.deepEqual(serverProblems('<Host><Log><Info>ON</Info></Log></Host><Cache><Storage><Disk>off</Disk></Storage></Cache>'), [
    'server.xml: Server/Host/Log/Info: "ON" is not accepted here; give a file or directory path',
    'server.xml: Server/Cache/Storage/Disk: "off" is not accepted here; give a file or directory path',
  ]);
});

test('a duplicate <Disk> path is a problem', () => {
  assert.deepEqual(serverProblems('<Cache><Storage><Disk>var/cache</Disk><Disk>/srv/flint/var/cache/</Disk></Storage></Cache>'), [
    'server.xml: Server/Cache/Storage/Disk: "/srv/flint/var/cache/" is listed twice (/srv/flint/var/cache)',
  ]);
});

test('every problem in both files is reported at once, in document order per file', () => {
  const server = `<Server>
    <Host><Manager Port="70000"/></Host>
    <Cache><Wrokers>2</Wrokers><BlockSize>1Q</BlockSize></Cache>
    <VHostDefault><Options><ViaHeader>maybe</ViaHeader></Options></VHostDefault>
  </Server>`;
  const vhosts = `<Vhosts>
    <Vhost Name="foo.com"><Origin><Address>foo:99999</Address></Origin></Vhost>
    <Vhost Name="FOO.com"><Alias>*.foo.com</Alias></Vhost>
    <Default>bar.com</Default>
  </Vhosts>`;
  assert.deepEqual(problemsOf(server, vhosts), [
    'server.xml: Server/Cache/Wrokers: unknown element; did you mean <Workers>?',
    'server.xml: Server/Host/Manager@Port: "70000" is out of range (1..65535)',
    'server.xml: Server/Cache/BlockSize: "1Q" is not a valid size (bytes, or a whole number with K, M, G or T)',
    'server.xml: Server/VHostDefault/Options/ViaHeader: "maybe" is not a valid boolean (ON or OFF)',
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Origin/Address: "foo:99999" is not a valid host:port',
    'vhosts.xml: Vhosts/Vhost[Name=FOO.com]/Origin/Address: missing; at least one is required',
    'vhosts.xml: Vhosts/Vhost[Name=FOO.com]@Name: "foo.com" is already the Name of another vhost (Vhost #1)',
    'vhosts.xml: Vhosts/Default: "bar.com" is not the Name of any vhost (vhosts: foo.com)',
  ]);
});

test('<Admission> takes 1..100 requests and a whole number of seconds as its Window', () => {
  assert.deepEqual(vhostProblems(`${ORIGIN}<Options><Admission Window="0">0</Admission></Options>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/Admission: "0" is out of range (1..100)',
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/Admission@Window: "0" is out of range (1..86400)',
  ]);
  assert.deepEqual(
    vhostProblems(`${ORIGIN}<Options><Admission Window="1.5">2</Admission></Options>`).map((p) => p.split(':').slice(0, 2).join(':')),
    ['vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/Admission@Window'],
  );
});

test('cache semantics settings (issue 19): bad values name the element and the choices', () => {
  assert.deepEqual(
    vhostProblems(
      `${ORIGIN}<Options><SetCookie>keep</SetCookie><CookieRequest>never</CookieRequest><TargetedCacheControl>CDN Cache-Control</TargetedCacheControl>` +
        '<UnsafeInvalidation>maybe</UnsafeInvalidation><ViolateMustRevalidate>yes</ViolateMustRevalidate><RuleCaseSensitive>1</RuleCaseSensitive></Options>',
    ),
    [
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/ViolateMustRevalidate: "yes" is not a valid boolean (ON or OFF)',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/SetCookie: "keep" is not one of pass, strip',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/CookieRequest: "never" is not one of explicit, any',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TargetedCacheControl: "CDN Cache-Control" is not OFF or a comma-separated list of header field names',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/UnsafeInvalidation: "maybe" is not a valid boolean (ON or OFF)',
      'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/RuleCaseSensitive: "1" is not a valid boolean (ON or OFF)',
    ],
  );
  assert.deepEqual(vhostProblems(`${ORIGIN}<Options><TargetedCacheControl>CDN-Cache-Control, Cache-Control</TargetedCacheControl></Options>`), [
    'vhosts.xml: Vhosts/Vhost[Name=foo.com]/Options/TargetedCacheControl: "cache-control" cannot be a targeted field: targeted fields are never forwarded to clients',
  ]);
  const ok = loadConfigFromText('/srv/flint/conf', '<Server/>', `<Vhosts><Vhost Name="a.com">${ORIGIN}<Options><TargetedCacheControl>OFF</TargetedCacheControl><SetCookie>STRIP</SetCookie></Options></Vhost></Vhosts>`, { cpuCount: 2 });
  assert.deepEqual(ok.vhosts[0]?.options.targetedCacheControl, []);
  assert.equal(ok.vhosts[0]?.options.setCookie, 'strip');
});

test('<CacheTag>: field names, no field a client needs, Max and MaxLength in range', () => {
  const problems = (options: string): readonly string[] => vhostProblems(`${ORIGIN}<Options>${options}</Options>`);
  const table: Array<[string, string]> = [
    ['<CacheTag>Surrogate Key</CacheTag>', '"Surrogate Key" is not OFF or a comma-separated list of header field names'],
    ['<CacheTag>Surrogate-Key, ETag</CacheTag>', '"etag" cannot carry cache tags: tag fields are removed before clients'],
    ['<CacheTag Max="0">Surrogate-Key</CacheTag>', '"0" is out of range (1..1024)'],
    ['<CacheTag MaxLength="4096">Surrogate-Key</CacheTag>', '"4096" is out of range (1..1024)'],
    ['<CacheTag Strip="maybe">Surrogate-Key</CacheTag>', '"maybe" is not a valid boolean (ON or OFF)'],
  ];
  for (const [xml, error] of table) {
    const found = problems(xml);
    assert.equal(found.length, 1, xml);
    assert.match(found[0] as string, /Options\/CacheTag/, xml);
    assert.ok((found[0] as string).endsWith(error), `${xml}: ${found[0]}`);
  }
  const ok = loadConfigFromText('/srv/flint/conf', '<Server/>', `<Vhosts><Vhost Name="a.com">${ORIGIN}<Options><CacheTag Strip="OFF" Max="3">X-Tags</CacheTag></Options></Vhost></Vhosts>`, { cpuCount: 2 });
  assert.deepEqual(ok.vhosts[0]?.options.cacheTag, { fields: ['x-tags'], strip: false, max: 3, maxLength: 128 });
  const off = loadConfigFromText('/srv/flint/conf', '<Server/>', `<Vhosts><Vhost Name="a.com">${ORIGIN}<Options><CacheTag>OFF</CacheTag></Options></Vhost></Vhosts>`, { cpuCount: 2 });
  assert.deepEqual(off.vhosts[0]?.options.cacheTag.fields, []);
});
