/** The uWS loader refuses the slow fallback: a missing or corrupt native binary is a clear FLINT_ERR_UWS_NATIVE. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
