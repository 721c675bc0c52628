/**
 * The uWS loader refuses the slow fallback: a missing or corrupt native binary, or one that cannot be told to stop
 * stamping `uWebSockets: 20`, is a clear FLINT_ERR_UWS_NATIVE. The build is pinned exactly, with its lockfile
 * integrity (README "Known limits").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FlintError } from '../../src/errors.js';
import { loadNativeUws, UWS_BINARY } from '../../src/http/uws.js';

test('the native binary of this platform loads', () => {
  const uws = loadNativeUws();
  assert.equal(typeof uws.App, 'function');
  assert.match(UWS_BINARY, new RegExp(`uws_${process.platform}_${process.arch}_${process.versions.modules}\\.node$`));
});

test('a corrupt binary is refused with a clear message, never the fallback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-uws-'));
  const fake = join(dir, 'uws_fake.node');
  writeFileSync(fake, 'this is not an ELF shared object');
  try {
    assert.throws(
      () => loadNativeUws(fake),
      (error: unknown) =>
        error instanceof FlintError && error.code === 'FLINT_ERR_UWS_NATIVE' && /refusing to start with the slow pure-Node fallback/.test(error.message),
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a module without the native marker is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-uws-'));
  const fake = join(dir, 'fallback.cjs');
  writeFileSync(fake, 'module.exports = { App() {}, _cfg() {} };');
  try {
    assert.throws(() => loadNativeUws(fake), /not the native uWebSockets\.js module/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a native-looking module without _cfg (it could not drop the uWebSockets header) is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-uws-'));
  const fake = join(dir, 'nocfg.cjs');
  writeFileSync(fake, 'module.exports = { App() {}, LIBUS_LISTEN_EXCLUSIVE_PORT: 1 };');
  try {
    assert.throws(() => loadNativeUws(fake), /has no _cfg\(\).*uWebSockets: 20.*refusing to start/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('the build is pinned exactly (never a range or the latest tag) and the lockfile keeps its integrity', () => {
  const root = new URL('../../../', import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { dependencies: Record<string, string> };
  assert.equal(pkg.dependencies['uWebSockets.js'], 'npm:@based/uws@6.0.1');
  const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as { packages: Record<string, { name?: string; version?: string; integrity?: string }> };
  const locked = lock.packages['node_modules/uWebSockets.js'];
  assert.equal(locked?.name, '@based/uws');
  assert.equal(locked?.version, '6.0.1');
  assert.match(locked?.integrity ?? '', /^sha512-[A-Za-z0-9+/]{86}==$/);
  // The package's exports field hides package.json: it sits beside the main file, like the binary.
  const main = createRequire(import.meta.url).resolve('uWebSockets.js');
  const installed = JSON.parse(readFileSync(join(dirname(main), 'package.json'), 'utf8')) as { name: string; version: string };
  assert.deepEqual([installed.name, installed.version], ['@based/uws', '6.0.1'], 'node_modules holds the pinned build');
});
