/** `flint check-config` exit codes and messages, like `nginx -t`; and `flint start` refusing a bad config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN, serverXml, vhostXml } from '../helpers/flint.js';

const SHIPPED_CONF = fileURLToPath(new URL('../../../conf', import.meta.url));

function confDir(server: string, vhosts: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'flint-check-'));
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf', 'server.xml'), server);
  writeFileSync(join(dir, 'conf', 'vhosts.xml'), vhosts);
  return dir;
}

function flint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the shipped conf/ is valid', () => {
  const r = flint('check-config', '--conf', SHIPPED_CONF);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /valid/);
});

test('a valid temp conf exits 0, with --conf or a positional dir', () => {
  const dir = confDir(serverXml({ managerPort: 10040, dir: '/tmp/flint-x' }), vhostXml([{ name: 'a.test', port: 8080, origin: '127.0.0.1:9000' }]));
  try {
    assert.equal(flint('check-config', '--conf', join(dir, 'conf')).status, 0);
    assert.equal(flint('check-config', join(dir, 'conf')).status, 0);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('an invalid conf exits 1 naming file, element and problem', () => {
  const dir = confDir(serverXml({ managerPort: 10040, dir: '/tmp/flint-x' }), vhostXml([{ name: 'foo.com', port: 8080, origin: 'foo:99999' }]));
  try {
    const r = flint('check-config', '--conf', join(dir, 'conf'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /vhosts\.xml: Vhosts\/Vhost\[Name=foo\.com\]\/Origin\/Address: "foo:99999" is not a valid host:port/);
    const start = flint('start', '--conf', join(dir, 'conf'));
    assert.equal(start.status, 1);
    assert.match(start.stderr, /foo:99999/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a missing conf dir exits 1; an unknown command exits 2', () => {
  const r = flint('check-config', '--conf', '/nonexistent/flint/conf');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /server\.xml/);
  assert.equal(flint('frobnicate').status, 2);
});
