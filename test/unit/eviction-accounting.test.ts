/**
 * Stored-bytes accounting against the block files, randomized (issue 23): 4,000 fills of a web-like size mix (inline
 * bodies, slots of every size class, multi-block bodies) through a real index and real block files under a quota,
 * with hits, purges and continuous eviction by the s3fifo policy as the primary runs it (cache/eviction.ts). Every
 * 500 fills and at the end: the index's usedBytes is exactly the sum of its objects' stored bytes and never above
 * the quota; no block is listed by two objects; every object's blocks read back with the checksums its record lists
 * (no live block was handed out again); the block files take no more than the quota; the cache holds at least
 * 90% of its quota once full; and fills rarely find no slot of their size (the slot reserve).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockFiles, blockChecksum, sizeClassFor, slotBytes, slotsPerBlocks } from '../../src/cache/blocks.js';
import { CacheIndex, storedBytes } from '../../src/cache/index.js';
import type { ObjectMeta } from '../../src/cache/index.js';
import { PolicyEviction, evictionPass } from '../../src/cache/eviction.js';
import { keyHash, objectKey } from '../../src/cache/key.js';
import { seeded } from '../helpers/prng.js';

const BLOCK = 64 * 1024;
const INLINE_MAX = 1024;
const QUOTA = 8 * 1024 * 1024;
const HIGH = 97;
const LOW = 95;

function meta(key: string, size: number, blockSize: number, blocks: number[], crcs: number[], inline: Buffer | null): ObjectMeta {
  const now = Date.now();
  return {
    key, status: 200, headers: [], size, etag: null, lastModifiedMs: null, requestTime: now, responseTime: now, dateMs: null, ageHeaderSec: 0,
    ttlSec: 600, staleWhileRevalidateSec: 0, staleIfErrorSec: 0, revalidate: 'normal', mustRevalidate: false, ttlSource: 'origin', extendedSec: 0,
    inline, blocks, blockSize, crcs, generation: 1,
  };
}

test('stored-bytes accounting matches the objects and the block files after 4,000 random fills, hits, purges and evictions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-accounting-'));
  const index = new CacheIndex(join(dir, 'index'));
  const files = new BlockFiles(join(dir, 'blocks'), BLOCK);
  const rnd = seeded(23);
  const eviction = new PolicyEviction(index, 's3fifo', QUOTA);
  const live = new Map<string, Buffer>();
  let now = Date.now();
  let refused = 0;
  let heldSum = 0;
  let heldSamples = 0;

  // The evictor's pass, as the primary runs it every 100 ms.
  const evict = (): void => {
    eviction.sync();
    evictionPass(index, eviction, QUOTA, BLOCK, HIGH, LOW, now);
    for (const [hex, hash] of live) if (index.getObject(hash) === undefined) live.delete(hex);
  };

  const check = async (): Promise<void> => {
    let sum = 0;
    const owners = new Map<number, string>();
    for (const { hex } of index.accessedSince(0)) {
      const m = index.getObject(Buffer.from(hex, 'hex'));
      assert.ok(m !== undefined, 'the recency order lists only stored objects');
      sum += storedBytes(m);
      for (const [i, id] of m.blocks.entries()) {
        assert.equal(owners.get(id), undefined, `block ${id} belongs to ${owners.get(id)} and ${m.key}`);
        owners.set(id, m.key);
        const length = Math.min(m.blockSize, m.size - i * m.blockSize);
        const into = Buffer.alloc(length);
        assert.equal(await files.readBlock(id, 0, length, into, 0), length);
        assert.equal(blockChecksum(into), m.crcs[i], `block ${i} of ${m.key} reads back as written`);
      }
    }
    assert.equal(index.usedBytes(), sum, 'usedBytes is the sum of the stored objects');
    assert.ok(sum <= QUOTA, `held ${sum} > quota ${QUOTA}`);
    let fileBytes = 0;
    for (const name of readdirSync(join(dir, 'blocks'))) fileBytes += statSync(join(dir, 'blocks', name)).size;
    assert.ok(fileBytes <= QUOTA, `block files take ${fileBytes} > quota ${QUOTA}`);
  };

  try {
    for (let n = 0; n < 4000; n++) {
      now += 5;
      // Sizes: half small (inline to 16 KiB), most of the rest up to a block, a few of several blocks.
      const r = rnd();
      const size = r < 0.2 ? 1 + Math.floor(rnd() * INLINE_MAX) : r < 0.6 ? INLINE_MAX + Math.floor(rnd() * 16 * 1024) : r < 0.95 ? Math.floor(rnd() * BLOCK) + 1 : BLOCK + Math.floor(rnd() * 3 * BLOCK);
      const key = objectKey(`example.com\n/o${n}`, '');
      const hash = keyHash(key);
      let stored: ObjectMeta;
      if (size <= INLINE_MAX) {
        stored = meta(key, size, BLOCK, [], [], Buffer.alloc(size, n & 0xff));
      } else {
        const cls = sizeClassFor(size, BLOCK, INLINE_MAX);
        const slot = slotBytes(BLOCK, cls);
        const count = Math.ceil(size / slot);
        const capacity = slotsPerBlocks(Math.floor(QUOTA / BLOCK), BLOCK, cls);
        const footprint = { limitBytes: QUOTA, slotBytes: slot };
        let ids = index.allocateBlocks(count, capacity, now, 1000, cls, footprint);
        if (ids === null) {
          evict();
          ids = index.allocateBlocks(count, capacity, now, 1000, cls, footprint);
        }
        if (ids === null) {
          refused++;
          continue;
        }
        const crcs: number[] = [];
        for (const [i, id] of ids.entries()) {
          const data = Buffer.alloc(Math.min(slot, size - i * slot), (n + i) & 0xff);
          data.writeUInt32BE(n, 0);
          await files.writeBlock(id, data);
          crcs.push(blockChecksum(data));
        }
        stored = meta(key, size, slot, ids, crcs, null);
      }
      assert.equal(await index.commit(hash, hash, [], stored, null, now), 'stored');
      live.set(hash.toString('hex'), hash);
      // Hits on a few objects stored lately, batched as workers do; now and then a purge.
      if (n % 10 === 0) {
        const recent = [...live.values()].slice(-50);
        const touched = recent.filter(() => rnd() < 0.3);
        await index.touchMany(new Map(touched.map((h) => [h.toString('hex'), now])), new Map(touched.map((h) => [h.toString('hex'), 1])));
      }
      if (rnd() < 0.02 && live.size > 0) {
        const victim = [...live.values()][Math.floor(rnd() * live.size)] as Buffer;
        index.remove(victim, now);
        live.delete(victim.toString('hex'));
      }
      if (n % 20 === 0) evict(); // the evictor's 100 ms pass
      if (n > 1000) {
        heldSum += index.usedBytes();
        heldSamples++;
      }
      if (n % 500 === 499) await check();
    }
    await check();
    const meanHeld = heldSum / heldSamples / QUOTA;
    assert.ok(meanHeld >= 0.9, `held ${(meanHeld * 100).toFixed(1)}% of the quota on average`);
    // A fill that finds no slot of its size class (the block files at the quota, none of the class released) is
    // not stored: the slot reserve keeps that rare (943 of 4,000 fills without it; cache/slot-reserve.ts).
    assert.ok(refused < 40, `${refused} fills found no room`);
  } finally {
    files.close();
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
