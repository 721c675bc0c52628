/**
 * Derived variants (transform/derived.ts) on a real store (LMDB index and block files): a variant is made once and
 * then read, concurrent requests share one make, a changed or purged original makes it stale, a hardpurge of the URL
 * range removes it with the original, and a declined or failing transform stores nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CacheStore } from '../../src/cache/store.js';
import type { ObjectMeta, ObjectRef } from '../../src/cache/store.js';
import { HotTier } from '../../src/pipeline/hot-tier.js';
import { DerivedVariants } from '../../src/transform/derived.js';
import type { Transform, TransformOutput } from '../../src/transform/derived.js';

const BLOCK = 64 * 1024;

async function withStore(run: (store: CacheStore, derived: DerivedVariants) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flint-derived-'));
  const store = new CacheStore({ path: dir, quotaBytes: 0 }, { disks: [], blockSizeBytes: BLOCK, inlineMaxBytes: 1024, evictionPolicy: 'lru', highWaterPercent: 90, lowWaterPercent: 70 });
  try {
    await run(store, new DerivedVariants(store, new HotTier(1 << 20, 1 << 20), pino({ level: 'silent' })));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Stores `body` as the original object of `/a` (blocks when larger than inline). */
async function storeOriginal(store: CacheStore, body: Buffer, etag: string): Promise<{ ref: ObjectRef; meta: ObjectMeta }> {
  const ref = store.ref('v.test', '/a', '', []);
  const now = Date.now();
  const blocks: number[] = [];
  const crcs: number[] = [];
  let inline: Uint8Array | null = null;
  if (body.length <= store.inlineMaxBytes) inline = body;
  else {
    for (let pos = 0; pos < body.length; pos += BLOCK) {
      const id = store.allocateBlock(now) as number;
      blocks.push(id);
      crcs.push(await store.writeBlock(id, body.subarray(pos, Math.min(body.length, pos + BLOCK))));
    }
  }
  const meta: ObjectMeta = {
    key: ref.key, status: 200, headers: ['content-type', 'text/plain', 'etag', etag], size: body.length, etag, lastModifiedMs: null, requestTime: now,
    responseTime: now, dateMs: null, ageHeaderSec: 0, ttlSec: 60, staleWhileRevalidateSec: 0, staleIfErrorSec: 0, revalidate: 'normal',
    mustRevalidate: false, ttlSource: 'origin', extendedSec: 0, inline, blocks, blockSize: BLOCK, crcs, generation: 1, complete: true,
  };
  await store.index.commit(ref.hash, ref.primaryHash, [], meta, null, now);
  return { ref, meta: store.get(ref) as ObjectMeta };
}

/** A transform that reverses the body, counting its runs; `gate` holds it until released. */
function reverser(tag = 'rev'): Transform & { runs: number; gate: Promise<void> | null } {
  const transform = {
    tag,
    runs: 0,
    gate: null as Promise<void> | null,
    async run(body: Buffer): Promise<TransformOutput> {
      transform.runs++;
      if (transform.gate !== null) await transform.gate;
      return { body: Buffer.from(body).reverse(), headers: ['content-type', 'text/plain', 'x-derived', tag], etag: null };
    },
  };
  return transform;
}

for (const size of [100, 200_000]) {
  test(`a derived variant of a ${size}-byte original is made once, then read back (inline and block bodies)`, async () => {
    await withStore(async (store, derived) => {
      const body = Buffer.alloc(size, 'abcdefgh');
      body.write('start', 0);
      const { ref, meta } = await storeOriginal(store, body, '"v1"');
      const transform = reverser();
      const first = await derived.obtain(ref, meta, transform);
      assert.equal(first.kind, 'ready');
      assert.equal(first.kind === 'ready' && first.made, true);
      assert.equal(transform.runs, 1);
      const second = await derived.obtain(ref, meta, transform);
      assert.equal(second.kind === 'ready' && second.made, false);
      assert.equal(transform.runs, 1);
      const found = derived.lookup(ref, meta, 'rev');
      assert.ok(found !== undefined);
      assert.equal(found.meta.key, `${ref.key}~rev`);
      assert.deepEqual(found.meta.headers, ['content-type', 'text/plain', 'x-derived', 'rev']);
      const source = derived.source(found.meta, null);
      const read: Buffer[] = [];
      for (let pos = 0; pos < found.meta.size; ) {
        const chunk = Buffer.from(await source.read(pos, found.meta.size - pos));
        read.push(chunk);
        pos += chunk.length;
      }
      source.release();
      assert.deepEqual(Buffer.concat(read), Buffer.from(body).reverse());
      // The original's own lookup is untouched: a derived key is never a response's key.
      assert.equal(store.get(ref)?.key, ref.key);
    });
  });
}

test('concurrent requests for a new variant share one make', async () => {
  await withStore(async (store, derived) => {
    const { ref, meta } = await storeOriginal(store, Buffer.alloc(5000, 'x'), '"v1"');
    const transform = reverser();
    let release = (): void => {};
    transform.gate = new Promise((resolve) => (release = resolve));
    const all = Array.from({ length: 10 }, () => derived.obtain(ref, meta, transform));
    setTimeout(release, 20);
    const outcomes = await Promise.all(all);
    assert.ok(outcomes.every((o) => o.kind === 'ready'));
    assert.equal(transform.runs, 1);
  });
});

test('a changed original makes its variant stale; a purged variant is not served', async () => {
  await withStore(async (store, derived) => {
    const v1 = await storeOriginal(store, Buffer.alloc(5000, 'x'), '"v1"');
    const transform = reverser();
    await derived.obtain(v1.ref, v1.meta, transform);
    const v2 = await storeOriginal(store, Buffer.alloc(5000, 'y'), '"v2"');
    assert.equal(derived.lookup(v2.ref, v2.meta, 'rev'), undefined, 'stale after the original changed');
    const remade = await derived.obtain(v2.ref, v2.meta, transform);
    assert.equal(transform.runs, 2);
    assert.equal(remade.kind === 'ready' && remade.meta.size, 5000);
    // A soft purge of the URL range marks the variant purged: not served, made again.
    const dref = derived.ref(v2.ref, 'rev') as ObjectRef;
    await store.index.applyControl([dref.hash], 'purge', Date.now(), 0, () => 0);
    assert.equal(derived.lookup(v2.ref, v2.meta, 'rev'), undefined);
  });
});

test('a hardpurge of the URL range removes the derived variants with the original', async () => {
  await withStore(async (store, derived) => {
    const { ref, meta } = await storeOriginal(store, Buffer.alloc(5000, 'x'), '"v1"');
    await derived.obtain(ref, meta, reverser('a'));
    await derived.obtain(ref, meta, reverser('b'));
    const keys = store.index.scanKeys(`${ref.primary}\0`, `${ref.primary}\u0001`, null, 100).map((k) => k.key);
    assert.deepEqual(keys.sort(), [ref.key, `${ref.key}~a`, `${ref.key}~b`]);
    assert.equal(store.index.removePrimary(ref.primary, Date.now()), 3);
    assert.equal(derived.lookup(ref, meta, 'a'), undefined);
  });
});

test('a declined or failing transform stores nothing and releases its lease', async () => {
  await withStore(async (store, derived) => {
    const { ref, meta } = await storeOriginal(store, Buffer.alloc(5000, 'x'), '"v1"');
    const declined = await derived.obtain(ref, meta, { tag: 'no', run: () => Promise.resolve(null) });
    assert.equal(declined.kind, 'declined');
    const failed = await derived.obtain(ref, meta, { tag: 'bad', run: () => Promise.reject(new Error('corrupt input')) });
    assert.equal(failed.kind, 'failed');
    const dref = derived.ref(ref, 'bad') as ObjectRef;
    assert.equal(store.index.getFill(dref.hash), undefined);
    assert.equal(store.get(dref), undefined);
  });
});
