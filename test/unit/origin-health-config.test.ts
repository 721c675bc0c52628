// Unit tests of the origin health settings: <Exclusion>, <Recovery Cycle Uri ResCode Log> (inherited attribute by
// attribute from <VHostDefault>) and repeated <Origin><HealthChecker>; every bad value is rejected naming the file and
// the element path (exact strings).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

const load = (serverXml: string, vhostsXml: string): Config => loadConfigFromText('/srv/flint/conf', serverXml, vhostsXml, { cpuCount: 1 });

function problemsOf(serverXml: string, vhostsXml: string): readonly string[] {
  try {
    load(serverXml, vhostsXml);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the config was accepted');
}

const vhost = (origin: string): string => `<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1:8080</Address>${origin}</Origin></Vhost></Vhosts>`;

test('defaults: Exclusion 3 (All OFF: the last member stays in; no status counts), Recovery 5 every 10 s of / accepting any answer, no health checker', () => {
  const v = load('<Server/>', vhost('')).vhosts[0];
  assert.ok(v !== undefined);
  assert.equal(v.originOptions.exclusion, 3);
  assert.equal(v.originOptions.exclusionAll, false);
  assert.deepEqual(v.originOptions.exclusionResCodes, []);
  assert.deepEqual(v.originOptions.recovery, { count: 5, cycleMs: 10_000, uri: '/', resCodes: [0], log: true });
  assert.deepEqual(v.healthCheckers, []);
});

test('Recovery attributes inherit one by one from VHostDefault; a vhost overrides only what it sets', () => {
  const server =
    '<Server><VHostDefault><OriginOptions><Exclusion All="ON" ResCode="503, 502,503">7</Exclusion><Recovery Cycle="2" Uri="/ping" ResCode="200, 204">4</Recovery></OriginOptions></VHostDefault></Server>';
  const vhosts =
    '<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><OriginOptions><Recovery Cycle="0.5">2</Recovery></OriginOptions></Vhost>' +
    '<Vhost Name="b.com"><Origin><Address>10.0.0.2</Address></Origin><OriginOptions><Exclusion ResCode="off">2</Exclusion></OriginOptions></Vhost></Vhosts>';
  const loaded = load(server, vhosts);
  const options = loaded.vhosts[0]?.originOptions;
  assert.equal(options?.exclusion, 7);
  assert.equal(options?.exclusionAll, true);
  assert.deepEqual(options?.exclusionResCodes, [503, 502]);
  assert.deepEqual(loaded.vhosts[1]?.originOptions.exclusionResCodes, [], 'OFF (any case) = none');
  assert.equal(loaded.vhosts[1]?.originOptions.exclusionAll, true, 'All inherits on its own');
  assert.deepEqual(options?.recovery, { count: 2, cycleMs: 500, uri: '/ping', resCodes: [200, 204], log: true });
});

test('several HealthCheckers, each with its own attributes; a URL target is kept as written', () => {
  const v = load(
    '<Server/>',
    vhost('<HealthChecker ResCode="200, 404" Timeout="3" Cycle="5" Exclusion="5" Recovery="20" Log="OFF">/alive.html</HealthChecker><HealthChecker>http://check.example.com:8080/status?x=1</HealthChecker>'),
  ).vhosts[0];
  assert.deepEqual(v?.healthCheckers, [
    { target: '/alive.html', resCodes: [200, 404], timeoutMs: 3000, cycleMs: 5000, exclusion: 5, recovery: 20, log: false },
    { target: 'http://check.example.com:8080/status?x=1', resCodes: [0], timeoutMs: 10_000, cycleMs: 10_000, exclusion: 3, recovery: 5, log: true },
  ]);
});

test('bad HealthChecker settings are rejected, each naming vhosts.xml and the element path', () => {
  const where = 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Origin/HealthChecker';
  assert.deepEqual(problemsOf('<Server/>', vhost('<HealthChecker Timeout="soon">/alive</HealthChecker>')), [`${where}@Timeout: "soon" is not a number of seconds`]);
  assert.deepEqual(problemsOf('<Server/>', vhost('<HealthChecker ResCode="200, 700">/alive</HealthChecker>')), [
    `${where}@ResCode: "200, 700" is not a list of HTTP status codes (100..599, comma-separated; 0 = any)`,
  ]);
  assert.deepEqual(problemsOf('<Server/>', vhost('<HealthChecker Exclusion="0">/alive</HealthChecker>')), [`${where}@Exclusion: "0" is out of range (1..1000)`]);
  assert.deepEqual(problemsOf('<Server/>', vhost('<HealthChecker>alive.html</HealthChecker>')), [`${where}: "alive.html" is not a path starting with / or an http:// URL`]);
  assert.deepEqual(problemsOf('<Server/>', vhost('<HealthChecker>https://a.com/alive</HealthChecker>')), [
    `${where}: "https://a.com/alive" is not an http:// URL (only http probes are supported)`,
  ]);
  assert.deepEqual(problemsOf('<Server/>', vhost('<HealthChecker></HealthChecker>')), [`${where}: is empty`]);
  const unknown = problemsOf('<Server/>', vhost('<HealthChecker HealthyHeader="X-Up">/alive</HealthChecker>'));
  assert.equal(unknown.length, 1);
  assert.match(unknown[0] ?? '', /^vhosts\.xml: Vhosts\/Vhost\[Name=a\.com\]\/Origin\/HealthChecker@HealthyHeader: unknown attribute; /);
});

test('bad Exclusion and Recovery values are rejected with their element path', () => {
  const problems = problemsOf(
    '<Server><VHostDefault><OriginOptions><Exclusion All="maybe" ResCode="5xx">-1</Exclusion><Recovery Cycle="0" Uri="ping" ResCode="abc">x</Recovery></OriginOptions></VHostDefault></Server>',
    vhost(''),
  );
  assert.deepEqual(problems, [
    'server.xml: Server/VHostDefault/OriginOptions/Exclusion: "-1" is out of range (0..1000)',
    'server.xml: Server/VHostDefault/OriginOptions/Exclusion@All: "maybe" is not a valid boolean (ON or OFF)',
    'server.xml: Server/VHostDefault/OriginOptions/Exclusion@ResCode: "5xx" is not OFF or a list of HTTP status codes (100..599, comma-separated)',
    'server.xml: Server/VHostDefault/OriginOptions/Recovery: "x" is not a whole number',
    'server.xml: Server/VHostDefault/OriginOptions/Recovery@Cycle: "0" is out of range (0.05..3600)',
    'server.xml: Server/VHostDefault/OriginOptions/Recovery@Uri: "ping" is not a path starting with / or an http:// URL',
    'server.xml: Server/VHostDefault/OriginOptions/Recovery@ResCode: "abc" is not a list of HTTP status codes (100..599, comma-separated; 0 = any)',
  ]);
});
