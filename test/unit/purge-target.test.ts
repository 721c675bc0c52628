/**
 * Purge targets (policy/purge-target.ts): exact targets build the key the vhost's key rules build, globs keep the
 * query's case on a CaseSensitive OFF vhost, and Collective exact targets reach query variants only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigFromText } from '../../src/config/load.js';
import { guardedCommand, parseTargets, scopeMatcher } from '../../src/policy/purge-target.js';

const SERVER = '<Server><Cache><Storage><Disk>/tmp/flint-unit-cache</Disk></Storage></Cache></Server>';

function scopeOf(options: string, target: string): ReturnType<typeof parseTargets>[number] {
  const vhosts = `<Vhosts><Vhost Name="a.test"><Listen>127.0.0.1:8080</Listen><Origin><Address>127.0.0.1:9000</Address></Origin><Options>${options}</Options></Vhost></Vhosts>`;
  const config = loadConfigFromText('/tmp/flint-unit-conf', SERVER, vhosts, { cpuCount: 1 });
  const [parsed] = parseTargets(config, target);
  assert.ok(parsed !== undefined);
  return parsed;
}

function matches(options: string, target: string, primary: string): boolean {
  const parsed = scopeOf(options, target);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return scopeMatcher(parsed.scope)(primary);
}

test('CaseSensitive OFF: an exact target is lower-cased in its path, a glob too, and neither touches the query', () => {
  const off = '<CaseSensitive>OFF</CaseSensitive>';
  assert.ok(matches(off, 'a.test/IMG/A.PNG', 'a.test\n/img/a.png'));
  assert.ok(matches(off, 'a.test/Search?Q=Abc', 'a.test\n/search?Q=Abc'));
  assert.ok(matches(off, 'a.test/Search?Q=*', 'a.test\n/search?Q=Abc'));
  assert.ok(!matches(off, 'a.test/Search?q=*', 'a.test\n/search?Q=Abc'), 'query keys keep their case');
  assert.ok(!matches('', 'a.test/IMG/A.PNG', 'a.test\n/img/a.png'), 'CaseSensitive ON keeps the case');
});

test('ApplyQueryString Collective: an exact target without a query reaches its query variants, and only them', () => {
  const on = '<ApplyQueryString Collective="ON">ON</ApplyQueryString>';
  assert.ok(matches(on, 'a.test/q', 'a.test\n/q'));
  assert.ok(matches(on, 'a.test/q', 'a.test\n/q?x=1'));
  assert.ok(!matches(on, 'a.test/q', 'a.test\n/qq'));
  assert.ok(!matches(on, 'a.test/q?x=1', 'a.test\n/q?x=2'), 'a target with a query is exact');
  assert.ok(!matches('', 'a.test/q', 'a.test\n/q?x=1'), 'Collective OFF: only the URL itself');
});

/** Every glob here reaches the whole vhost (or every key below a directory): the root guards must stop each. */
const ROOT_GLOBS = [
  'a.test/*',
  'a.test/**',
  'a.test/***',
  'a.test/**/*',
  'a.test/*/*',
  'a.test/*/**',
  'a.test//*',
  'a.test/*/',
  'http://a.test/**',
  'HTTPS://A.TEST/**',
  '  a.test/**  ',
];

/** Globs that name literal text: patterns, never root (the guards leave them to Purge2Expire PATTERN). */
const PATTERN_GLOBS = ['a.test/img/*', 'a.test/*.jpg', 'a.test/*?*', 'a.test/**/x', 'a.test/ *', 'a.test/%2A*'];

test('a glob made only of / and * counts as a root purge: RootPurgeExpire and RootHardPurge stop each one', () => {
  const vhosts = `<Vhosts><Vhost Name="a.test"><Listen>127.0.0.1:8080</Listen><Origin><Address>127.0.0.1:9000</Address></Origin>
    <Options><RootPurgeExpire>OFF</RootPurgeExpire><RootHardPurge>OFF</RootHardPurge></Options></Vhost></Vhosts>`;
  const config = loadConfigFromText('/tmp/flint-unit-conf', SERVER, vhosts, { cpuCount: 1 });
  const vhost = config.vhosts[0];
  assert.ok(vhost !== undefined);
  for (const glob of ROOT_GLOBS) {
    const [parsed] = parseTargets(config, glob);
    assert.ok(parsed?.ok === true, glob);
    assert.equal(parsed.scope.kind, 'root', glob);
    for (const command of ['purge', 'expire', 'expireafter', 'hardpurge'] as const) {
      assert.ok('denied' in guardedCommand(vhost, parsed.scope, command), `${command} ${glob} must be denied`);
    }
  }
  for (const glob of PATTERN_GLOBS) {
    const [parsed] = parseTargets(config, glob);
    assert.ok(parsed?.ok === true, glob);
    assert.equal(parsed.scope.kind, 'pattern', glob);
    assert.deepEqual(guardedCommand(vhost, parsed.scope, 'hardpurge'), { command: 'hardpurge' }, glob);
  }
});

test('root globs still match what their glob says (the hot tier drops the same keys the index scan does)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a.test/**', 'a.test\n/index.html', true],
    ['a.test/*', 'a.test\n/', true],
    ['a.test/**/*', 'a.test\n/img/a.png', true],
    ['a.test/**/*', 'a.test\n/index.html', false],
    ['a.test/*/', 'a.test\n/img/', true],
    ['a.test/*/', 'a.test\n/img/a.png', false],
    ['a.test/**', 'b.test\n/index.html', false],
  ];
  for (const [glob, key, expected] of cases) assert.equal(matches('', glob, key), expected, `${glob} vs ${JSON.stringify(key)}`);
});
