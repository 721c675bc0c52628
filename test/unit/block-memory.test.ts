/**
 * BlockMemory (cache/block-memory.ts): second-read admission, checksum and length checks, the byte budget, and
 * that a kept block is a copy (the read buffer it came from is reused by the next read).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockMemory } from '../../src/cache/block-memory.js';

const block = (fill: number, size = 4096): Buffer => Buffer.alloc(size, fill);

test('a block is kept on its second offer with the same checksum, not its first', () => {
  const memory = new BlockMemory(1 << 20);
  memory.offer(7, 111, block(1));
  assert.equal(memory.get(7, 111, 4096), undefined, 'read once: only remembered');
  memory.offer(7, 222, block(2));
  assert.equal(memory.get(7, 222, 4096), undefined, 'another checksum for the id starts over');
  memory.offer(7, 222, block(2));
  assert.deepEqual(memory.get(7, 222, 4096), block(2));
  assert.equal(memory.size, 1);
  assert.equal(memory.bytes, 4096);
});

test('a held block is answered only for its own checksum and length', () => {
  const memory = new BlockMemory(1 << 20);
  memory.offer(3, 9, block(3));
  memory.offer(3, 9, block(3));
  assert.equal(memory.get(3, 10, 4096), undefined, 'the id was reused for other bytes');
  assert.equal(memory.get(3, 9, 2048), undefined, 'a different length');
  assert.ok(memory.get(3, 9, 4096) !== undefined);
  assert.deepEqual({ hits: memory.hits, misses: memory.misses }, { hits: 1, misses: 2 });
});

test('what is kept is a copy: the read buffer it came from can be overwritten', () => {
  const memory = new BlockMemory(1 << 20);
  const scratch = block(5);
  memory.offer(1, 5, scratch);
  memory.offer(1, 5, scratch);
  scratch.fill(0);
  assert.deepEqual(memory.get(1, 5, 4096), block(5));
});

test('the byte budget holds: the least recently used blocks go first; a block over the budget is never kept', () => {
  const memory = new BlockMemory(3 * 4096);
  for (const id of [1, 2, 3]) {
    memory.offer(id, id, block(id));
    memory.offer(id, id, block(id));
  }
  assert.ok(memory.get(1, 1, 4096) !== undefined, 'block 1 is now the most recent');
  memory.offer(4, 4, block(4));
  memory.offer(4, 4, block(4));
  assert.equal(memory.bytes, 3 * 4096);
  assert.equal(memory.get(2, 2, 4096), undefined, 'block 2 was the least recently used');
  for (const id of [1, 3, 4]) assert.ok(memory.get(id, id, 4096) !== undefined, `block ${id} kept`);
  const big = new BlockMemory(4095);
  big.offer(1, 1, block(1));
  big.offer(1, 1, block(1));
  assert.equal(big.size, 0);
  const none = new BlockMemory(0);
  none.offer(1, 1, block(1));
  none.offer(1, 1, block(1));
  assert.equal(none.get(1, 1, 4096), undefined);
  assert.equal(none.misses, 0, 'a disabled memory counts nothing');
});
