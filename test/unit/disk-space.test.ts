/**
 * isNoSpace: which index write errors the primary treats as a full file system (then it releases the index reserve
 * and retries). LMDB reports a short write as EIO, so an EIO counts only where the file system really is full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNoSpace } from '../../src/cache/disk-space.js';
import { mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';

const eio = Object.assign(new Error('Input/output error'), { code: 5 });

test('ENOSPC in every form lmdb and node give it is no space; other errors are not', () => {
  const cases: Array<[unknown, boolean]> = [
    [Object.assign(new Error('x'), { code: 'ENOSPC' }), true],
    [Object.assign(new Error('x'), { code: 28 }), true],
    [new Error('MDB: No space left on device'), true],
    [Object.assign(new Error('x'), { code: 'EACCES' }), false],
    [new Error('MDB_CORRUPTED: Located page was wrong type'), false],
    [null, false],
    [undefined, false],
    ['ENOSPC', false],
    [eio, false], // no directory to look at: an I/O error stays an error
  ];
  for (const [error, expected] of cases) assert.equal(isNoSpace(error), expected, String((error as Error | null)?.message ?? error));
});

test('an EIO counts as no space only on a file system that is full', (t) => {
  const roomy = mkdtempSync(join(tmpdir(), 'flint-space-'));
  try {
    assert.equal(isNoSpace(eio, roomy), false, 'a disk with room: a real I/O error');
    assert.equal(isNoSpace(eio, join(roomy, 'missing')), false, 'statfs fails: not taken for a full disk');
  } finally {
    rmSync(roomy, { recursive: true });
  }
  const mount = mountTmpfs('1m');
  if (mount === null) {
    t.skip('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
    return;
  }
  try {
    const fd = openSync(join(mount, 'filler'), 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(64 * 1024, 1));
    } catch {
      // ENOSPC: full
    } finally {
      closeSync(fd);
    }
    assert.equal(isNoSpace(eio, mount), true, 'a full file system: the short write was for want of space');
    assert.equal(isNoSpace(Object.assign(new Error('x'), { code: 'EACCES' }), mount), false);
  } finally {
    unmountTmpfs(mount);
  }
});
