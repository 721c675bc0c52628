// Unit tests of config/load + config/validate on valid input: the issue's minimal pair, the shipped conf/, defaults,
// VHostDefault inheritance, path resolution, value formats and the deep freeze. Pure: no process is started.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, loadConfigFromText } from '../../src/config/load.js';
import type { Config, MemoryConfig, TtlPolicy, Vhost, VhostOptions } from '../../src/config/types.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const MINIMAL_SERVER = `<Server>
  <Host><Manager Port="10040"><Allow>127.0.0.1</Allow></Manager></Host>
  <Cache>
    <Workers>2</Workers>
    <Storage><Disk>/var/cache/flint</Disk></Storage>
  </Cache>
  <VHostDefault><Log><Access>/var/log/flint/access.log</Access></Log></VHostDefault>
</Server>`;

const MINIMAL_VHOSTS = `<Vhosts>
  <Vhost Name="example.com">
    <Alias>*.example.com</Alias>
    <Listen>*:8080</Listen>
    <Origin><Address>127.0.0.1:9000</Address></Origin>
  </Vhost>
  <Default>example.com</Default>
</Vhosts>`;

/** `<Options><TTL>` when nothing sets it: the schema defaults, which keep RFC 9111 behaviour. */
const DEFAULT_TTL: TtlPolicy = {
  res2xxSec: 0,
  res2xxRatioPercent: 0,
  res2xxMaxSec: 86_400,
  noCacheSec: 0,
  res3xxSec: 0,
  res4xxSec: 0,
  res5xxSec: 0,
  priority: 'origin',
  heuristicPercent: 10,
  heuristicMaxSec: 86_400,
  errorExtensionSec: 3,
};

/** `<Options>` when nothing sets it. */
/** <Log Type Unit Retention Compression> defaults (STON's): daily files, 10 kept, not gzipped. */
const DEFAULT_ROTATION = { type: 'time', unit: { minutes: 1440, bytes: 100 * 1024 * 1024 }, retention: 10, compression: false } as const;

const DEFAULT_OPTIONS: VhostOptions = {
  accessControl: { enabled: false, defaultAction: 'allow', denialCode: 403 },
  viaHeader: true,
  serverHeader: true,
  maxRequestBodyBytes: 0,
  caching: true,
  admission: { minUses: 1, windowSec: 600 },
  compression: { enabled: false, methods: ['br', 'gzip'], gzipLevel: 6, brotliQuality: 5, sourceSize: { minBytes: 1024, maxBytes: 4096 * 1024 } },
  ttl: DEFAULT_TTL,
  ttlExtensionBy5xx: true,
  ttlExtensionByFail: true,
  refreshExpired: true,
  ageHeader: true,
  violateMustRevalidate: false,
  setCookie: 'pass',
  cookieRequest: 'explicit',
  targetedCacheControl: ['flint-cdn-cache-control', 'cdn-cache-control'],
  cacheTag: { fields: ['surrogate-key', 'cache-tag'], strip: true, max: 64, maxLength: 128 },
  unsafeInvalidation: true,
  bypassPostRequest: true,
  bypassGetRequest: false,
  bypassNoCacheRequest: false,
  caseSensitive: true,
  ruleCaseSensitive: false,
  applyQueryString: true,
  queryCollective: false,
  queryStringKeep: null,
  queryStringDrop: null,
  varyHeaders: null,
  purge2Expire: 'NONE',
  rootPurgeExpire: 'ON',
  rootHardPurge: true,
  ifRange: { enabled: true, purge: false },
};

/** `<Cache>` hot-tier settings when nothing sets them. */
const DEFAULT_MEMORY: MemoryConfig = { contentMemoryPercent: 5, hotObjectMaxBytes: 1024 * 1024 };

/** A vhosts.xml with one vhost `a.com` whose body is `inner` (an origin is added when `inner` has none). */
function oneVhost(inner = ''): string {
  const origin = inner.includes('<Origin>') ? '' : '<Origin><Address>10.0.0.1</Address></Origin>';
  return `<Vhosts><Vhost Name="a.com">${origin}${inner}</Vhost></Vhosts>`;
}

function load(serverXml: string, vhostsXml: string, cpuCount = 4, confDir = '/srv/flint/conf'): Config {
  return loadConfigFromText(confDir, serverXml, vhostsXml, { cpuCount });
}

function firstVhost(config: Config): Vhost {
  const vhost = config.vhosts[0];
  assert.ok(vhost !== undefined, 'expected at least one vhost');
  return vhost;
}

test('the minimal pair from the issue validates to the expected Config', () => {
  const config = load(MINIMAL_SERVER, MINIMAL_VHOSTS, 8, '/etc/flint/conf');
  const expected: Config = {
    confDir: '/etc/flint/conf',
    hash: createHash('sha1').update(`${MINIMAL_SERVER}\0${MINIMAL_VHOSTS}`).digest('hex'),
    server: {
      manager: { port: 10040, host: '127.0.0.1', allow: ['127.0.0.1'], token: null, serverNames: [], allowRoles: ['Admin'], httpMethod: true },
      serviceAccess: { defaultAction: 'allow', allow: [], deny: [], geoIp: null },
      workers: 2,
      cpuAffinity: true,
      parallelGc: false,
      shutdownTimeoutMs: 30_000,
      maxRequestHeaderBytes: 32 * 1024,
      http2: { maxConcurrentStreams: 100, initialWindowSize: 1024 * 1024, idleTimeoutMs: 120_000 },
      clientLimits: { maxSockets: 80_000, reopenPercent: 75, headerTimeoutMs: 10_000 },
      storage: {
        disks: [{ path: '/var/cache/flint', quotaBytes: 0 }],
        blockSizeBytes: 1024 * 1024,
        inlineMaxBytes: 1024,
        evictionPolicy: 's3fifo',
        highWaterPercent: 97,
        lowWaterPercent: 95,
      },
      memory: DEFAULT_MEMORY,
      log: { level: 'info', infoPath: null, infoRotation: DEFAULT_ROTATION },
      configHistory: { keep: 30, dir: null },
      cluster: null,
      dims: { concurrency: 2, queueLimit: 32, timeoutMs: 10_000 },
    },
    vhosts: [
      {
        name: 'example.com',
        aliases: ['*.example.com'],
        listen: [{ host: '0.0.0.0', port: 8080 }],
        https: null,
        redirectHttpToHttps: null,
        origins: [{ text: '127.0.0.1:9000', host: '127.0.0.1', port: 9000, pathPrefix: '' }],
        standbyOrigins: [],
        originOptions: {
          connectTimeoutMs: 3000,
          receiveTimeoutMs: 10_000,
          reuseTimeoutMs: 60_000,
          maxConnections: 128,
          balanceMode: 'RoundRobin',
          hostHeader: null,
          userAgent: null,
          xffClientIpOnly: false,
          exclusion: 3,
          exclusionAll: false,
          exclusionResCodes: [],
          recovery: { count: 5, cycleMs: 10_000, uri: '/', resCodes: [0], log: true },
          retries: 65535,
          dnsRefreshMs: 10_000,
          hashIgnoreSuffixes: [],
          originAffinity: true,
          tls: null,
        },
        healthCheckers: [],
        options: DEFAULT_OPTIONS,
        log: { accessPath: '/var/log/flint/access.log', accessForm: 'json', accessFormat: null, accessRotation: DEFAULT_ROTATION, originPath: null, originRotation: DEFAULT_ROTATION, imagePath: null },
        rules: { ttl: [], bypass: [], queryString: [], acl: [], headers: [], compression: [], throttling: [] },
        clientLimits: { trafficCapMbps: 0, sessionCapMbps: 0, rateLimit: { perSec: 0, burst: 0 } },
        link: null,
        signedUrl: null,
        cors: null,
        errorPages: [],
        sub: [],
        dims: null,
        media: {
          upfrontMp4: false,
          upfrontM4a: false,
          trimming: { mp4: false, m4a: false, mp3: false, startParam: 'start', endParam: 'end', multiParam: 'trimming', allTracks: false, maxRatioPercent: 50 },
          mp4Hls: null,
          mp3Hls: null,
        },
        throttling: null,
      },
    ],
    defaultVhost: 'example.com',
    urlRewrites: [],
  };
  assert.deepEqual(config, expected);
});

test('the shipped conf/ loads from disk with the documented defaults', () => {
  const config = loadConfig(path.join(REPO_ROOT, 'conf'), { cpuCount: 3 });
  assert.equal(config.confDir, path.join(REPO_ROOT, 'conf'));
  assert.equal(config.server.workers, 3, '<Workers>0 resolves to the CPU count');
  assert.equal(config.server.manager.port, 10040);
  assert.equal(config.server.manager.host, '127.0.0.1');
  assert.deepEqual(config.server.manager.allow, ['127.0.0.1', '::1']);
  assert.deepEqual(config.server.storage.disks, [{ path: path.join(REPO_ROOT, 'var/cache'), quotaBytes: 0 }]);
  assert.equal(config.server.storage.blockSizeBytes, 1024 * 1024);
  assert.equal(config.defaultVhost, null, 'no catch-all: a made-up Host gets 404');
  const vhost = firstVhost(config);
  assert.equal(vhost.name, 'example.com');
  assert.deepEqual(vhost.aliases, ['*.example.com', '127.0.0.1', 'localhost']);
  assert.ok(vhost.rules.queryString.every((r) => r.mode === 'apply'), 'no shipped rule leaves query parameters out of the key');
  assert.deepEqual(vhost.listen, [{ host: '0.0.0.0', port: 8080 }]);
  assert.deepEqual(vhost.origins, [{ text: '127.0.0.1:9000', host: '127.0.0.1', port: 9000, pathPrefix: '' }]);
  assert.equal(vhost.log.accessPath, path.join(REPO_ROOT, 'var/log/access.log'));
  assert.match(config.hash, /^[0-9a-f]{40}$/);
});

test('the shipped conf/ sets every value to the same default an empty config gets', () => {
  const shipped = loadConfig(path.join(REPO_ROOT, 'conf'), { cpuCount: 3 });
  const bare = loadConfigFromText(path.join(REPO_ROOT, 'conf'), '<Server/>', oneVhost(), { cpuCount: 3 });
  assert.deepEqual(shipped.server, bare.server);
  // The shipped vhost carries example rules; rules have no defaults to compare.
  const { name: _n, aliases: _a, listen: _l, origins: _o, healthCheckers: checkers, rules: _r, ...shippedRest } = firstVhost(shipped);
  const { name: _n2, aliases: _a2, listen: _l2, origins: _o2, healthCheckers: _h2, rules: _r2, ...bareRest } = firstVhost(bare);
  assert.deepEqual(shippedRest, bareRest);
  // The shipped example <HealthChecker> writes out every attribute at its default.
  assert.deepEqual(checkers, [{ target: '/', resCodes: [0], timeoutMs: 10_000, cycleMs: 10_000, exclusion: 3, recovery: 5, log: true }]);
});

test('defaults: an almost empty config gets every schema default', () => {
  const config = load('<Server></Server>', oneVhost(), 6);
  assert.deepEqual(config.server, {
    manager: { port: 10040, host: '127.0.0.1', allow: ['127.0.0.1', '::1'], token: null, serverNames: [], allowRoles: ['Admin', 'Admin'], httpMethod: true },
    serviceAccess: { defaultAction: 'allow', allow: [], deny: [], geoIp: null },
    workers: 6,
    cpuAffinity: true,
    parallelGc: false,
    shutdownTimeoutMs: 30_000,
    maxRequestHeaderBytes: 32 * 1024,
    http2: { maxConcurrentStreams: 100, initialWindowSize: 1024 * 1024, idleTimeoutMs: 120_000 },
    clientLimits: { maxSockets: 80_000, reopenPercent: 75, headerTimeoutMs: 10_000 },
    storage: {
      disks: [{ path: '/srv/flint/var/cache', quotaBytes: 0 }],
      blockSizeBytes: 1048576,
      inlineMaxBytes: 1024,
      evictionPolicy: 's3fifo',
      highWaterPercent: 97,
      lowWaterPercent: 95,
    },
    memory: { contentMemoryPercent: 5, hotObjectMaxBytes: 1048576 },
    log: { level: 'info', infoPath: null, infoRotation: DEFAULT_ROTATION },
    configHistory: { keep: 30, dir: null },
    cluster: null,
    dims: { concurrency: 2, queueLimit: 32, timeoutMs: 10_000 },
  });
  const vhost = firstVhost(config);
  assert.deepEqual(vhost.aliases, []);
  assert.deepEqual(vhost.listen, [{ host: '0.0.0.0', port: 80 }]);
  assert.deepEqual(vhost.origins, [{ text: '10.0.0.1', host: '10.0.0.1', port: 80, pathPrefix: '' }]);
  assert.deepEqual(vhost.options, DEFAULT_OPTIONS);
  assert.equal(vhost.originOptions.balanceMode, 'RoundRobin');
  assert.equal(vhost.log.accessPath, '/srv/flint/var/log/access.log');
  assert.equal(config.defaultVhost, null);
});

test('vhosts inherit <VHostDefault> and override it element by element', () => {
  const server = `<Server><VHostDefault>
    <Listen>*:81</Listen>
    <Options><ViaHeader>OFF</ViaHeader><MaxRequestBodySize>1M</MaxRequestBodySize></Options>
    <OriginOptions><ConnectTimeout>5</ConnectTimeout><ReceiveTimeout>20</ReceiveTimeout><Host>origin.internal</Host>
      <BalanceMode>Hash</BalanceMode></OriginOptions>
    <Log><Access>OFF</Access></Log>
  </VHostDefault></Server>`;
  const vhosts = `<Vhosts>
    <Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin>
      <Listen>[::]:8080</Listen>
      <Options><ViaHeader>ON</ViaHeader></Options>
      <OriginOptions><ConnectTimeout>0.5</ConnectTimeout><Host>*</Host></OriginOptions>
      <Log><Access>/abs/a.log</Access></Log>
    </Vhost>
    <Vhost Name="b.com"><Origin><Address>10.0.0.2</Address></Origin></Vhost>
  </Vhosts>`;
  const [a, b] = load(server, vhosts).vhosts;
  assert.ok(a !== undefined && b !== undefined);
  // a overrides some elements and inherits the rest.
  assert.deepEqual(a.listen, [{ host: '::', port: 8080 }]);
  assert.equal(a.options.viaHeader, true);
  assert.equal(a.options.maxRequestBodyBytes, 1024 * 1024);
  assert.equal(a.originOptions.connectTimeoutMs, 500);
  assert.equal(a.originOptions.receiveTimeoutMs, 20_000);
  assert.equal(a.originOptions.hostHeader, null, '* in the vhost overrides the inherited Host');
  assert.equal(a.originOptions.balanceMode, 'Hash');
  assert.equal(a.log.accessPath, '/abs/a.log');
  // b inherits everything; untouched settings keep the schema defaults.
  assert.deepEqual(b.listen, [{ host: '0.0.0.0', port: 81 }]);
  assert.equal(b.options.viaHeader, false);
  assert.equal(b.originOptions.connectTimeoutMs, 5000);
  assert.equal(b.originOptions.hostHeader, 'origin.internal');
  assert.equal(b.originOptions.reuseTimeoutMs, 60_000);
  assert.equal(b.log.accessPath, null, '<Access>OFF</Access> turns the access log off');
});

test('<Cache> storage and hot-tier settings are read as written', () => {
  const server = `<Server><Cache>
    <Storage><Disk>/d</Disk><InlineMaxSize>0</InlineMaxSize><HighWater>100</HighWater><LowWater>99</LowWater><Eviction Policy="sieve"/></Storage>
    <ContentMemoryRatio>80</ContentMemoryRatio><HotObjectMaxSize>16M</HotObjectMaxSize>
  </Cache></Server>`;
  const { storage, memory } = load(server, oneVhost()).server;
  assert.deepEqual(storage, { disks: [{ path: '/d', quotaBytes: 0 }], blockSizeBytes: 1024 * 1024, inlineMaxBytes: 0, evictionPolicy: 'sieve', highWaterPercent: 100, lowWaterPercent: 99 });
  assert.deepEqual(memory, { contentMemoryPercent: 80, hotObjectMaxBytes: 16 * 1024 ** 2 });
  const other = load('<Server><Cache><Storage><InlineMaxSize>1M</InlineMaxSize><HighWater>1</HighWater><LowWater>0</LowWater></Storage>' +
    '<ContentMemoryRatio>0</ContentMemoryRatio><HotObjectMaxSize>0</HotObjectMaxSize></Cache></Server>', oneVhost()).server;
  assert.deepEqual([other.storage.inlineMaxBytes, other.storage.highWaterPercent, other.storage.lowWaterPercent], [1024 * 1024, 1, 0]);
  assert.deepEqual(other.memory, { contentMemoryPercent: 0, hotObjectMaxBytes: 0 });
  // Only one of the two written: it is compared with the other's default.
  assert.equal(load('<Server><Cache><Storage><LowWater>89</LowWater></Storage></Cache></Server>', oneVhost()).server.storage.lowWaterPercent, 89);
  assert.equal(load('<Server><Cache><Storage><HighWater>96</HighWater></Storage></Cache></Server>', oneVhost()).server.storage.highWaterPercent, 96);
});

test('<Options> cache policy: VHostDefault overrides the schema, a vhost overrides VHostDefault, <TTL> child by child', () => {
  const server = `<Server><VHostDefault><Options>
    <Caching>OFF</Caching><RefreshExpired>OFF</RefreshExpired>
    <TTL Priority="config"><Res2xx Ratio="20">1800</Res2xx><NoCache>5</NoCache><Res4xx>30</Res4xx><HeuristicPercent>0</HeuristicPercent></TTL>
  </Options></VHostDefault></Server>`;
  const vhosts = `<Vhosts>
    <Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin>
      <Options><Caching>ON</Caching><AgeHeader>OFF</AgeHeader><TTL><Res4xx>10</Res4xx></TTL></Options>
    </Vhost>
    <Vhost Name="b.com"><Origin><Address>10.0.0.2</Address></Origin>
      <Options><TTL Priority="origin"><Res2xx Max="600">60</Res2xx><ConnectTimeout>30</ConnectTimeout></TTL>
        <TTLExtensionBy5xx>OFF</TTLExtensionBy5xx><TTLExtensionByFail>OFF</TTLExtensionByFail></Options>
    </Vhost>
    <Vhost Name="c.com"><Origin><Address>10.0.0.3</Address></Origin><Options><ViaHeader>OFF</ViaHeader></Options></Vhost>
  </Vhosts>`;
  const [a, b, c] = load(server, vhosts).vhosts;
  assert.ok(a !== undefined && b !== undefined && c !== undefined);
  const fromDefault: TtlPolicy = { ...DEFAULT_TTL, priority: 'config', res2xxSec: 1800, res2xxRatioPercent: 20, noCacheSec: 5, res4xxSec: 30, heuristicPercent: 0 };
  // a: sets only <Res4xx> inside <TTL>; every other child and attribute comes from VHostDefault (or the schema).
  assert.deepEqual(a.options, { ...DEFAULT_OPTIONS, caching: true, refreshExpired: false, ageHeader: false, ttl: { ...fromDefault, res4xxSec: 10 } });
  // b: an attribute of <Res2xx> and the element's text override separately; Ratio stays VHostDefault's.
  assert.deepEqual(b.options, {
    ...DEFAULT_OPTIONS,
    caching: false,
    refreshExpired: false,
    ttlExtensionBy5xx: false,
    ttlExtensionByFail: false,
    ttl: { ...fromDefault, priority: 'origin', res2xxSec: 60, res2xxMaxSec: 600, errorExtensionSec: 30 },
  });
  // c: no <TTL> at all inherits the whole of VHostDefault's.
  assert.deepEqual(c.options, { ...DEFAULT_OPTIONS, viaHeader: false, caching: false, refreshExpired: false, ttl: fromDefault });
});

test('<TTL> values: whole seconds up to 2^31 (RFC 9111 delta-seconds), percents, Priority in any case', () => {
  const ttl = (inner: string, attrs = ''): TtlPolicy => firstVhost(load('<Server/>', oneVhost(`<Options><TTL${attrs}>${inner}</TTL></Options>`))).options.ttl;
  assert.deepEqual(ttl('<Res3xx>2147483648</Res3xx><Res5xx>007</Res5xx><HeuristicMax>0</HeuristicMax><ConnectTimeout>0</ConnectTimeout>', ' Priority="CONFIG"'), {
    ...DEFAULT_TTL,
    priority: 'config',
    res3xxSec: 2 ** 31,
    res5xxSec: 7,
    heuristicMaxSec: 0,
    errorExtensionSec: 0,
  });
  assert.deepEqual(ttl('<Res2xx Ratio="1000" Max="0"> 5 </Res2xx><HeuristicPercent>100</HeuristicPercent>'), {
    ...DEFAULT_TTL,
    res2xxSec: 5,
    res2xxRatioPercent: 1000,
    res2xxMaxSec: 0,
    heuristicPercent: 100,
  });
  // An empty <TTL/> (or one with only the attribute) changes nothing else.
  assert.deepEqual(ttl(''), DEFAULT_TTL);
});

test('relative paths resolve against the parent of the conf directory; absolute ones stay', () => {
  const server = `<Server>
    <Host><Log Level="debug"><Info>var/log/flint.log</Info></Log></Host>
    <Cache><Storage><Disk Quota="10G">var/cache</Disk><Disk>/mnt/ssd2/../ssd3/cache/</Disk></Storage></Cache>
    <VHostDefault><Log><Access>logs/access.log</Access></Log></VHostDefault>
  </Server>`;
  const config = load(server, oneVhost(), 1, '/opt/flint/conf/');
  assert.equal(config.confDir, '/opt/flint/conf');
  assert.deepEqual(config.server.storage.disks, [
    { path: '/opt/flint/var/cache', quotaBytes: 10 * 1024 ** 3 },
    { path: '/mnt/ssd3/cache', quotaBytes: 0 },
  ]);
  assert.equal(config.server.log.infoPath, '/opt/flint/var/log/flint.log');
  assert.equal(config.server.log.level, 'debug');
  assert.equal(firstVhost(config).log.accessPath, '/opt/flint/logs/access.log');
  // <Access>ON</Access> (STON habit) means the default file.
  const on = load('<Server/>', oneVhost('<Log><Access>on</Access></Log>'));
  assert.equal(firstVhost(on).log.accessPath, '/srv/flint/var/log/access.log');
});

test('loadConfig resolves a relative confDir and reads both files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flint-config-'));
  try {
    mkdirSync(path.join(dir, 'conf'));
    writeFileSync(path.join(dir, 'conf', 'server.xml'), MINIMAL_SERVER.replace('/var/cache/flint', 'var/cache'));
    writeFileSync(path.join(dir, 'conf', 'vhosts.xml'), MINIMAL_VHOSTS);
    const config = loadConfig(path.relative(process.cwd(), path.join(dir, 'conf')), { cpuCount: 1 });
    assert.equal(config.confDir, path.join(dir, 'conf'));
    assert.deepEqual(config.server.storage.disks, [{ path: path.join(dir, 'var/cache'), quotaBytes: 0 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the hash changes with either file and tells the two files apart', () => {
  const base = load(MINIMAL_SERVER, MINIMAL_VHOSTS).hash;
  assert.equal(load(MINIMAL_SERVER, MINIMAL_VHOSTS).hash, base);
  assert.notEqual(load(`${MINIMAL_SERVER}\n`, MINIMAL_VHOSTS).hash, base);
  assert.notEqual(load(MINIMAL_SERVER, `${MINIMAL_VHOSTS}\n`).hash, base);
  assert.notEqual(load(`${MINIMAL_SERVER}\n`, MINIMAL_VHOSTS).hash, load(MINIMAL_SERVER, `\n${MINIMAL_VHOSTS}`).hash);
});

test('<Workers>: 0 or absent = CPU count (capped at 256), otherwise as written', () => {
  const workers = (xml: string, cpus: number): number => load(`<Server><Cache>${xml}</Cache></Server>`, oneVhost(), cpus).server.workers;
  assert.equal(workers('', 7), 7);
  assert.equal(workers('<Workers>0</Workers>', 2), 2);
  assert.equal(workers('<Workers>0</Workers>', 512), 256);
  assert.equal(workers('<Workers>3</Workers>', 2), 3);
  assert.equal(workers('<Workers>256</Workers>', 2), 256);
});

test('value formats: sizes, seconds, booleans and enums', () => {
  const server = `<Server>
    <Host><Log Level="WARN"/></Host>
    <Cache><CpuAffinity>false</CpuAffinity><ParallelGc>on</ParallelGc><ShutdownTimeout>0.25</ShutdownTimeout><BlockSize>64k</BlockSize>
      <Storage><Disk Quota="1T">/a</Disk><Disk Quota="65536">/b</Disk><Disk Quota="3m">/c</Disk></Storage></Cache>
    <VHostDefault><Options><ServerHeader>off</ServerHeader><MaxRequestBodySize>2G</MaxRequestBodySize></Options>
      <OriginOptions><XFFClientIPOnly>True</XFFClientIPOnly><BalanceMode>session</BalanceMode><ReuseTimeout>.5</ReuseTimeout>
      <UserAgent>Flint/1.0 (+https://example.com)</UserAgent><MaxConnections>16</MaxConnections></OriginOptions></VHostDefault>
  </Server>`;
  const config = load(server, oneVhost());
  assert.equal(config.server.log.level, 'warn');
  assert.equal(config.server.cpuAffinity, false);
  assert.equal(config.server.parallelGc, true);
  assert.equal(config.server.shutdownTimeoutMs, 250);
  assert.equal(config.server.storage.blockSizeBytes, 65536);
  assert.deepEqual(config.server.storage.disks.map((d) => d.quotaBytes), [1024 ** 4, 65536, 3 * 1024 ** 2]);
  const vhost = firstVhost(config);
  assert.equal(vhost.options.serverHeader, false);
  assert.equal(vhost.options.maxRequestBodyBytes, 2 * 1024 ** 3);
  assert.equal(vhost.originOptions.xffClientIpOnly, true);
  assert.equal(vhost.originOptions.balanceMode, 'Session');
  assert.equal(vhost.originOptions.reuseTimeoutMs, 500);
  assert.equal(vhost.originOptions.userAgent, 'Flint/1.0 (+https://example.com)');
  assert.equal(vhost.originOptions.maxConnections, 16);
});

test('<Listen> accepts every documented form', () => {
  const listen = ['*:8080', '0.0.0.0:8081', '127.0.0.1:8082', '[::1]:8083', '[::]:65535'];
  const config = load('<Server/>', oneVhost(listen.map((l) => `<Listen>${l}</Listen>`).join('')));
  assert.deepEqual(firstVhost(config).listen, [
    { host: '0.0.0.0', port: 8080 },
    { host: '0.0.0.0', port: 8081 },
    { host: '127.0.0.1', port: 8082 },
    { host: '::1', port: 8083 },
    { host: '::', port: 65535 },
  ]);
});

test('two vhosts may share a listen address', () => {
  const vhosts = `<Vhosts>
    <Vhost Name="a.com"><Listen>*:8080</Listen><Origin><Address>10.0.0.1</Address></Origin></Vhost>
    <Vhost Name="b.com"><Listen>*:8080</Listen><Origin><Address>10.0.0.2</Address></Origin></Vhost>
  </Vhosts>`;
  const config = load('<Server/>', vhosts);
  assert.deepEqual(config.vhosts.map((v) => v.listen), [[{ host: '0.0.0.0', port: 8080 }], [{ host: '0.0.0.0', port: 8080 }]]);
});

test('<Origin><Address> forms: host, host:port, [ipv6], path prefixes', () => {
  const addresses = [
    'example.com',
    'Origin.Example.COM:8080',
    '10.0.0.5:81/static/',
    '[::1]:9000/a/b',
    '[2001:db8::1]',
    'origin/prefix',
    'origin:80/',
  ];
  const config = load('<Server/>', oneVhost(`<Origin>${addresses.map((a) => `<Address>${a}</Address>`).join('')}</Origin>`));
  assert.deepEqual(firstVhost(config).origins, [
    { text: 'example.com', host: 'example.com', port: 80, pathPrefix: '' },
    { text: 'Origin.Example.COM:8080', host: 'origin.example.com', port: 8080, pathPrefix: '' },
    { text: '10.0.0.5:81/static/', host: '10.0.0.5', port: 81, pathPrefix: '/static' },
    { text: '[::1]:9000/a/b', host: '::1', port: 9000, pathPrefix: '/a/b' },
    { text: '[2001:db8::1]', host: '2001:db8::1', port: 80, pathPrefix: '' },
    { text: 'origin/prefix', host: 'origin', port: 80, pathPrefix: '/prefix' },
    { text: 'origin:80/', host: 'origin', port: 80, pathPrefix: '' },
  ]);
});

test('names and aliases are lower-cased; <Default> matches any case', () => {
  const vhosts = `<Vhosts><Vhost Name="WWW.Example.com"><Alias>*.Example.COM</Alias><Alias>Example.com</Alias>
    <Origin><Address>10.0.0.1</Address></Origin></Vhost><Default>www.EXAMPLE.com</Default></Vhosts>`;
  const config = load('<Server/>', vhosts);
  const vhost = firstVhost(config);
  assert.equal(vhost.name, 'www.example.com');
  assert.deepEqual(vhost.aliases, ['*.example.com', 'example.com']);
  assert.equal(config.defaultVhost, 'www.example.com');
});

test('<Manager>: Listen, Token, and Allow addresses and CIDR ranges', () => {
  const server = `<Server><Host><Manager Port="9090" Listen="*" Token="s3cr3t-T0ken">
    <Allow>10.0.0.0/8</Allow><Allow>fd00::/8</Allow><Allow>192.168.1.7</Allow><Allow>::1</Allow>
    <ServerName>Cache1.Example.com</ServerName><ServerName>flint.internal</ServerName>
  </Manager></Host></Server>`;
  const { manager } = load(server, oneVhost()).server;
  assert.deepEqual(manager, {
    port: 9090,
    host: '0.0.0.0',
    allow: ['10.0.0.0/8', 'fd00::/8', '192.168.1.7', '::1'],
    token: 's3cr3t-T0ken',
    serverNames: ['cache1.example.com', 'flint.internal'],
    allowRoles: ['Admin', 'Admin', 'Admin', 'Admin'],
    httpMethod: true,
  });
  assert.equal(load('<Server><Host><Manager Listen="::1"/></Host></Server>', oneVhost()).server.manager.host, '::1');
});

test('<Manager Role> and <Allow Role>: each entry gets its own role or the Manager default; HttpMethod', () => {
  const server = `<Server><Host><Manager Role="User" HttpMethod="OFF">
    <Allow>10.0.0.0/8</Allow><Allow Role="admin">127.0.0.1</Allow><Allow Role="Looker">::1</Allow>
  </Manager></Host></Server>`;
  const { manager } = load(server, oneVhost()).server;
  assert.deepEqual(manager.allow, ['10.0.0.0/8', '127.0.0.1', '::1']);
  assert.deepEqual(manager.allowRoles, ['User', 'Admin', 'Looker']);
  assert.equal(manager.httpMethod, false);
  assert.throws(() => load('<Server><Host><Manager><Allow Role="Boss">::1</Allow></Manager></Host></Server>', oneVhost()), /Allow@Role: "Boss" is not one of Admin, User, Looker/);
});

test('the result is deep-frozen: assignments throw in strict mode', () => {
  const config = load(MINIMAL_SERVER, MINIMAL_VHOSTS);
  const vhost = firstVhost(config);
  assert.throws(() => {
    (config as unknown as { hash: string }).hash = 'x';
  }, TypeError);
  assert.throws(() => {
    (config.server as unknown as { workers: number }).workers = 99;
  }, TypeError);
  assert.throws(() => {
    (config.server.manager.allow as string[]).push('0.0.0.0/0');
  }, TypeError);
  assert.throws(() => {
    (vhost.originOptions as unknown as { connectTimeoutMs: number }).connectTimeoutMs = 1;
  }, TypeError);
  assert.throws(() => {
    (vhost.origins[0] as unknown as { port: number }).port = 1;
  }, TypeError);
  assert.throws(() => {
    (config.vhosts as Vhost[]).length = 0;
  }, TypeError);
  assert.equal(config.server.workers, 2);
});

test('the Config is plain JSON data (it crosses the IPC channel)', () => {
  const config = load(MINIMAL_SERVER, MINIMAL_VHOSTS);
  assert.deepEqual(JSON.parse(JSON.stringify(config)), config);
});
