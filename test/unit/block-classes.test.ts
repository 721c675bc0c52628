/**
 * Block size classes (cache/blocks.ts): which slot a body of a known size is stored in, and where a block id of
 * each class lives in the block files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOCKS_PER_FILE, BlockFiles, CLASS_SPAN, sizeClassFor, slotBytes } from '../../src/cache/blocks.js';

const K = 1024;
const M = 1024 * K;

test('a body is stored in the smallest slot that holds it, whole blocks above half a block', () => {
  const slot = (size: number, blockSize = M, inlineMax = 16 * K): number => slotBytes(blockSize, sizeClassFor(size, blockSize, inlineMax));
  assert.equal(slot(20 * K), 32 * K);
  assert.equal(slot(32 * K), 32 * K, 'an exact fit');
  assert.equal(slot(32 * K + 1), 64 * K);
  assert.equal(slot(300 * K), 512 * K);
  assert.equal(slot(512 * K), 512 * K, 'half a block is the largest class');
  assert.equal(slot(512 * K + 1), M, 'over half a block: whole blocks');
  assert.equal(slot(5 * M), M);
  assert.equal(sizeClassFor(-1, M, 16 * K), 0, 'unknown length: whole blocks');
  assert.equal(sizeClassFor(16 * K, M, 16 * K), 0, 'inline bodies need no block');
  assert.equal(slot(100, M, 0), 4 * K, 'never below one page');
  assert.equal(slot(40 * K, 64 * K), 64 * K, 'a 64 KiB block has no class for a 40 KiB body');
  assert.equal(slot(20 * K, 64 * K), 32 * K);
});

test('each class has its own files; class 0 keeps the names of caches written before classes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-blocks-'));
  try {
    const files = new BlockFiles(dir, 64 * K);
    const cls = sizeClassFor(20 * K, 64 * K, 0);
    const small = Buffer.alloc(20 * K, 1);
    const whole = Buffer.alloc(64 * K, 2);
    // The second file of each class: ids past BLOCKS_PER_FILE whole blocks, or 2^cls times as many slots.
    const wholeId = BLOCKS_PER_FILE + 3;
    const smallId = cls * CLASS_SPAN + BLOCKS_PER_FILE * 2 ** cls + 5;
    await files.writeBlock(wholeId, whole);
    await files.writeBlock(smallId, small);
    const into = Buffer.alloc(64 * K);
    assert.equal(await files.readBlock(smallId, 0, small.length, into, 0), small.length);
    assert.deepEqual(into.subarray(0, small.length), small);
    assert.equal(await files.readBlock(wholeId, 0, whole.length, into, 0), whole.length);
    assert.deepEqual(into, whole);
    files.close();
    assert.deepEqual(readdirSync(dir).sort(), ['blocks-1.dat', `blocks-c${cls}-1.dat`]);
    // Slot n of a class sits at n * slot size in its file.
    const raw = readFileSync(join(dir, `blocks-c${cls}-1.dat`));
    assert.equal(raw.length, 5 * slotBytes(64 * K, cls) + small.length);
    assert.deepEqual(raw.subarray(5 * slotBytes(64 * K, cls)), small);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
