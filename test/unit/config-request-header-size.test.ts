// Unit tests of <Host><MaxRequestHeaderSize> (issue 18): values as written, hostile and out-of-range values named
// with file and element, and the reload check that lists it as restart-only. Pure: no process is started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import { restartOnlyChanges } from '../../src/primary/reload.js';

const VHOSTS = '<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin></Vhost></Vhosts>';

function load(host: string): Config {
  return loadConfigFromText('/srv/flint/conf', `<Server><Host>${host}</Host></Server>`, VHOSTS, { cpuCount: 2 });
}

function problems(host: string): readonly string[] {
  try {
    load(host);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail(`accepted: ${host}`);
}

test('MaxRequestHeaderSize: default 32 KiB (a 16 KiB Cookie fits), sizes as written from 4K to 1M', () => {
  assert.equal(load('').server.maxRequestHeaderBytes, 32 * 1024);
  const cases: ReadonlyArray<readonly [string, number]> = [
    ['4K', 4096],
    ['4096', 4096],
    ['64k', 64 * 1024],
    ['1M', 1024 * 1024],
  ];
  for (const [text, bytes] of cases) assert.equal(load(`<MaxRequestHeaderSize>${text}</MaxRequestHeaderSize>`).server.maxRequestHeaderBytes, bytes, text);
});

test('MaxRequestHeaderSize: hostile and out-of-range values are errors naming the file and element', () => {
  const path = 'server.xml: Server/Host/MaxRequestHeaderSize';
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['4095', `${path}: "4095" is out of range (4K..1M)`],
    ['0', `${path}: "0" is out of range (4K..1M)`],
    ['2M', `${path}: "2M" is out of range (4K..1M)`],
    ['-1', `${path}: "-1" is not a valid size (bytes, or a whole number with K, M, G or T)`],
    ['32 KiB', `${path}: "32 KiB" is not a valid size (bytes, or a whole number with K, M, G or T)`],
    ['1e5', `${path}: "1e5" is not a valid size (bytes, or a whole number with K, M, G or T)`],
    ['99999999999999999999', `${path}: "99999999999999999999" is not a valid size (bytes, or a whole number with K, M, G or T)`],
    ['', `${path}: is empty`],
  ];
  for (const [text, problem] of cases) assert.deepEqual(problems(`<MaxRequestHeaderSize>${text}</MaxRequestHeaderSize>`), [problem], text);
});

test('MaxRequestHeaderSize is restart-only: a reload that changes it names it', () => {
  const a = load('<MaxRequestHeaderSize>8K</MaxRequestHeaderSize>');
  assert.deepEqual(restartOnlyChanges(a, load('<MaxRequestHeaderSize>8192</MaxRequestHeaderSize>')), []);
  assert.deepEqual(restartOnlyChanges(a, load('')), ['server.xml: Server/Host/MaxRequestHeaderSize']);
});
