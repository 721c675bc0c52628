/**
 * BlockMemory (cache/block-memory.ts): second-read admission, checksum and length checks, the byte budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockMemory } from '../../src/cache/block-memory.js';

const block = (fill: number, size = 4096): Buffer => Buffer.alloc(size, fill);

/** One read of a block get() did not answer, as CacheStore.readListed does it; true when the block was kept. */
function read(memory: BlockMemory, id: number, crc: number, data: Buffer): boolean {
  if (!memory.noteRead(id, crc, data.length)) return false;
  memory.keep(id, crc, data);
  return true;
}

test('a block is kept on its second read with the same checksum, not its first', () => {
  const memory = new BlockMemory(1 << 20);
  assert.equal(read(memory, 7, 111, block(1)), false, 'read once: only remembered');
  assert.equal(memory.get(7, 111, 4096), undefined);
  assert.equal(read(memory, 7, 222, block(2)), false, 'another checksum for the id starts over');
  assert.equal(read(memory, 7, 222, block(2)), true);
  assert.deepEqual(memory.get(7, 222, 4096), block(2));
  assert.equal(memory.size, 1);
  assert.equal(memory.bytes, 4096);
});

test('a held block is answered only for its own checksum and length', () => {
  const memory = new BlockMemory(1 << 20);
  read(memory, 3, 9, block(3));
  read(memory, 3, 9, block(3));
  assert.equal(memory.get(3, 10, 4096), undefined, 'the id was reused for other bytes');
  assert.equal(memory.get(3, 9, 2048), undefined, 'a different length');
  assert.ok(memory.get(3, 9, 4096) !== undefined);
  assert.deepEqual({ hits: memory.hits, misses: memory.misses }, { hits: 1, misses: 2 });
});

test('the byte budget holds: the least recently used blocks go first; a block over the budget is never kept', () => {
  const memory = new BlockMemory(3 * 4096);
  for (const id of [1, 2, 3]) {
    read(memory, id, id, block(id));
    read(memory, id, id, block(id));
  }
  assert.ok(memory.get(1, 1, 4096) !== undefined, 'block 1 is now the most recent');
  read(memory, 4, 4, block(4));
  read(memory, 4, 4, block(4));
  assert.equal(memory.bytes, 3 * 4096);
  assert.equal(memory.get(2, 2, 4096), undefined, 'block 2 was the least recently used');
  for (const id of [1, 3, 4]) assert.ok(memory.get(id, id, 4096) !== undefined, `block ${id} kept`);
  const small = new BlockMemory(4095);
  read(small, 1, 1, block(1));
  assert.equal(read(small, 1, 1, block(1)), false);
  const none = new BlockMemory(0);
  read(none, 1, 1, block(1));
  assert.equal(read(none, 1, 1, block(1)), false);
  assert.equal(none.get(1, 1, 4096), undefined);
  assert.equal(none.misses, 0, 'a disabled memory counts nothing');
});
