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

test('a body is stored in the smallest slot that holds it: halves and three quarters, whole blocks above 3/4', () => {
  const slot = (size: number, blockSize = M, inlineMax = 1 * K): number => slotBytes(blockSize, sizeClassFor(size, blockSize, inlineMax));
  assert.equal(slot(20 * K), 24 * K, 'a 3/4 slot');
  assert.equal(slot(24 * K + 1), 32 * K, 'the next power of two');
  assert.equal(slot(32 * K), 32 * K, 'an exact fit');
  assert.equal(slot(32 * K + 1), 48 * K);
  assert.equal(slot(300 * K), 384 * K);
  assert.equal(slot(512 * K), 512 * K);
  assert.equal(slot(600 * K), 768 * K, '3/4 of a block is the largest class');
  assert.equal(slot(768 * K + 1), M, 'over 3/4 of a block: whole blocks');
  assert.equal(slot(5 * M), M);
  assert.equal(sizeClassFor(-1, M, 1 * K), 0, 'unknown length: whole blocks');
  assert.equal(sizeClassFor(16 * K, M, 16 * K), 0, 'inline bodies need no block');
  assert.equal(slot(100, M, 0), 4 * K, 'never below one page');
  assert.equal(slot(5 * K, M, 0), 8 * K, 'no 6 KiB slot: slots are whole pages');
  assert.equal(slot(40 * K, 64 * K), 48 * K);
  assert.equal(slot(49 * K, 64 * K), 64 * K, 'a 64 KiB block has no class between 48 KiB and the block');
  assert.equal(slot(20 * K, 64 * K), 24 * K);
  // Every class a 64 MiB block (the largest BlockSize) uses fits the 32 classes a uint32 id can carry.
  for (let size = 4 * K; size <= 48 * M; size += 4 * K) assert.ok(sizeClassFor(size, 64 * M, 0) < 32);
});

test('each class has its own files; class 0 keeps the names of caches written before classes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-blocks-'));
  try {
    const files = new BlockFiles(dir, 64 * K);
    const half = sizeClassFor(16 * K, 64 * K, 0);
    const threeQuarter = sizeClassFor(20 * K, 64 * K, 0);
    assert.deepEqual([slotBytes(64 * K, half), slotBytes(64 * K, threeQuarter)], [16 * K, 24 * K]);
    const bodies = new Map([
      // The second file of each class: ids past BLOCKS_PER_FILE (1024) whole blocks, 4096 slots of 16 KiB, or
      // 2730 slots of 24 KiB (a file of 1024 whole blocks holds 2730.67 of them).
      [BLOCKS_PER_FILE + 3, Buffer.alloc(64 * K, 2)],
      [half * CLASS_SPAN + 4096 + 5, Buffer.alloc(16 * K, 1)],
      [threeQuarter * CLASS_SPAN + 2730 + 5, Buffer.alloc(20 * K, 3)],
    ]);
    for (const [id, body] of bodies) await files.writeBlock(id, body);
    for (const [id, body] of bodies) {
      const into = Buffer.alloc(64 * K);
      assert.equal(await files.readBlock(id, 0, body.length, into, 0), body.length);
      assert.deepEqual(into.subarray(0, body.length), body);
    }
    files.close();
    assert.deepEqual(readdirSync(dir).sort(), ['blocks-1.dat', `blocks-c${half}-1.dat`, `blocks-c${threeQuarter}-1.dat`].sort());
    // Slot n of a class sits at n * slot size in its file.
    const layouts: ReadonlyArray<{ cls: number; slot: number; size: number; fill: number }> = [
      { cls: half, slot: 16 * K, size: 16 * K, fill: 1 },
      { cls: threeQuarter, slot: 24 * K, size: 20 * K, fill: 3 },
    ];
    for (const { cls, slot, size, fill } of layouts) {
      const raw = readFileSync(join(dir, `blocks-c${cls}-1.dat`));
      assert.equal(raw.length, 5 * slot + size);
      assert.ok(raw.subarray(5 * slot).every((byte) => byte === fill));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
