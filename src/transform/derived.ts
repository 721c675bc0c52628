/**
 * @module transform/derived
 * Derived variants: a cached object made from another cached object (a gzip/br copy of a text, a resized image),
 * stored as an object of its own under the original's key plus a tag (`primary \0 variant ~ tag`, never a key a
 * response can have: variant keys are '' or end in '\n'). Because it sits in the original's key range, a purge,
 * expire or hardpurge of the original's URL (which works on `primary \0 ...`) reaches every derived variant, and
 * the fileinfo inspector lists them. Invariants:
 *   - made once across all workers: the derived key has its own fill lease (CacheIndex.acquireLease*), taken by the
 *     first request; the others (any worker) wait for its commit and then read it; one in-flight make per key per
 *     worker (#making);
 *   - never made again while valid: a stored derived object records the identity of the original's bytes
 *     (`derivedFrom`: size, validators and body checksums); it is served only while that matches the original the
 *     caller holds (fresh: the caller checks the original's freshness) and it is not purged. A changed original
 *     (new bytes, new ETag) makes it stale at once, a purge of the URL too;
 *   - the transform runs off the event loop (zlib's async API, sharp's libuv pool): the event loop only copies.
 * Hits on a derived object are ordinary hits: the caller serves its meta (CacheFlow.serveDerived: conditional,
 * Range on the derived bytes, HEAD, the original's Age) and may keep it in the hot tier (warm; HotTier.lookupKey /
 * peek by the derived key). Runs in workers.
 *
 * Interface for transform owners (compression, DIMS):
 *   const flow = ...;                                     // the CacheFlow of the ORIGINAL's disk (Edge picks by
 *                                                         // primary key: a derived copy lives beside its original)
 *   const derived = flow.derived;                         // DerivedVariants, one per disk store
 *   derived.ref(originalRef, tag)                         // the derived ObjectRef (key `original key~tag`), or null
 *   derived.lookup(originalRef, originalMeta, tag)        // sync: { ref, meta } of a valid stored copy, or undefined
 *   await derived.obtain(originalRef, originalMeta, transform, originalBody?)
 *     // 'ready' { ref, meta, body (Buffer when just made, else null), made }; 'declined' (transform returned
 *     // null: serve the original, nothing stored); 'failed' { error } (transform or storage error: serve the
 *     // original, log once per object)
 *   flow.serveDerived(ctx, writer, originalMeta, derivedMeta, body, cacheResult[, cacheStatusText])
 *   derived.warm(ref, meta, body)                         // into the hot tier; derived.source(meta, body) reads it
 *   DerivedVariants.valid(derivedMeta, originalMeta)      // same check for a copy found elsewhere (hot tier)
 *   readBody(store, meta)                                 // a stored complete object's whole body
 * `transform.run(body, originalMeta)` must not block the event loop; it returns the derived body, its stored
 * headers (no Content-Length) and its ETag. `originalMeta` must be a complete (`complete !== false`) object.
 */
import { randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { sizeClassFor, slotBytes } from '../cache/blocks.js';
import { MAX_OBJECT_KEY_BYTES } from '../cache/index.js';
import { keyHash } from '../cache/key.js';
import { isProcessAlive } from '../cache/store.js';
import type { CacheStore, FillRecord, ObjectMeta, ObjectRef } from '../cache/store.js';
import type { Logger } from '../log.js';
import { BlockSource, InlineSource } from '../pipeline/body-source.js';
import type { BodySource } from '../pipeline/body-source.js';
import type { HotTier } from '../pipeline/hot-tier.js';

/** What a transform produces from the original's body. */
export interface TransformOutput {
  readonly body: Buffer;
  /** The derived response's headers as stored (no framing fields: Content-Length comes from the body size). */
  readonly headers: readonly string[];
  /** Its validator (also in `headers`), or null. */
  readonly etag: string | null;
}

/** One kind of derived variant. */
export interface Transform {
  /** Names the variant inside the original's key (`br`, `gzip`, `dims:resize/200x150`); no NUL. */
  readonly tag: string;
  /**
   * Builds the derived response from the original's whole body, off the event loop. Null declines (the caller
   * serves the original; nothing is stored); a rejection is a failure (logged by the caller, original served).
   */
  run(body: Buffer, original: ObjectMeta): Promise<TransformOutput | null>;
}

export type DerivedOutcome =
  | { readonly kind: 'ready'; readonly ref: ObjectRef; readonly meta: ObjectMeta; readonly body: Buffer | null; readonly made: boolean }
  | { readonly kind: 'declined' }
  | { readonly kind: 'failed'; readonly error: Error };

/** How often a request waiting for another worker's make looks at its lease. */
const WAIT_POLL_MS = 5;
/** How long a make may hold its lease (a transform has its own time limit well below this). */
const DERIVED_LEASE_MS = 30_000;

/** The identity of an original's bytes, per meta object (metas are immutable; hot entries keep theirs). */
const SOURCE_TOKENS = new WeakMap<ObjectMeta, string>();

/** What `derivedFrom` must equal for a derived copy of `original` to be valid. */
export function sourceToken(original: ObjectMeta): string {
  let token = SOURCE_TOKENS.get(original);
  if (token === undefined) {
    const body = original.inline !== null ? String(original.inlineCrc ?? crc32(original.inline)) : original.crcs.join('.');
    token = `${original.size}|${original.etag ?? ''}|${original.lastModifiedMs ?? ''}|${body}`;
    SOURCE_TOKENS.set(original, token);
  }
  return token;
}

export class DerivedVariants {
  readonly #store: CacheStore;
  readonly #hot: HotTier;
  readonly #log: Logger;
  /** Makes (or waits) running in this worker, by derived object hash hex. */
  readonly #making = new Map<string, Promise<DerivedOutcome>>();

  constructor(store: CacheStore, hot: HotTier, log: Logger) {
    this.#store = store;
    this.#hot = hot;
    this.#log = log;
  }

  /** The reference of `original`'s variant `tag`, or null when its key would not fit the index. */
  ref(original: ObjectRef, tag: string): ObjectRef | null {
    const key = `${original.key}~${tag}`;
    if (key.length > MAX_OBJECT_KEY_BYTES / 3 && Buffer.byteLength(key) > MAX_OBJECT_KEY_BYTES) return null;
    const hash = keyHash(key);
    return { primary: original.primary, primaryHash: original.primaryHash, vary: original.vary, key, hash, hex: hash.toString('hex') };
  }

  /** Whether a stored derived object is a valid copy of `original` (same bytes, not purged, complete). */
  static valid(derived: ObjectMeta, original: ObjectMeta): boolean {
    return derived.purged !== true && derived.complete !== false && derived.derivedFrom === sourceToken(original);
  }

  /** A valid stored copy of `original`'s variant `tag`, without waiting (one index read); else undefined. */
  lookup(original: ObjectRef, originalMeta: ObjectMeta, tag: string): { ref: ObjectRef; meta: ObjectMeta } | undefined {
    const ref = this.ref(original, tag);
    if (ref === null) return undefined;
    const meta = this.#store.get(ref);
    return meta !== undefined && DerivedVariants.valid(meta, originalMeta) ? { ref, meta } : undefined;
  }

  /**
   * The variant: stored and valid, or made now (once across all workers: others wait for the maker's commit).
   * `originalBody`: the original's bytes when the caller holds them (hot tier), else they are read from the store.
   */
  obtain(original: ObjectRef, originalMeta: ObjectMeta, transform: Transform, originalBody: Buffer | null = null): Promise<DerivedOutcome> {
    const ref = this.ref(original, transform.tag);
    if (ref === null) return Promise.resolve({ kind: 'declined' });
    const running = this.#making.get(ref.hex);
    if (running !== undefined) return running;
    const making = this.#obtain(ref, originalMeta, transform, originalBody).finally(() => this.#making.delete(ref.hex));
    this.#making.set(ref.hex, making);
    return making;
  }

  async #obtain(ref: ObjectRef, originalMeta: ObjectMeta, transform: Transform, originalBody: Buffer | null): Promise<DerivedOutcome> {
    const store = this.#store;
    // Twice at most: once a maker in another worker finished (or died), the copy is read or made here.
    for (let attempt = 0; attempt < 2; attempt++) {
      const stored = store.get(ref);
      if (stored !== undefined && DerivedVariants.valid(stored, originalMeta)) return { kind: 'ready', ref, meta: stored, body: null, made: false };
      const id = randomUUID();
      const now = Date.now();
      const record: FillRecord = { id, pid: process.pid, until: now + DERIVED_LEASE_MS, state: 'filling', status: 0, headers: null, timing: null, size: -1, blockSize: store.blockSize, blocks: [], crcs: [], key: ref.key };
      let lease;
      try {
        lease = await store.acquireLeaseBatched(ref, record, now);
      } catch (error) {
        return { kind: 'failed', error: error as Error };
      }
      if (lease.acquired) {
        // A maker elsewhere may have committed between the read above and this lease (its commit freed the lease).
        const committed = store.get(ref);
        if (committed !== undefined && DerivedVariants.valid(committed, originalMeta)) {
          store.index.releaseLease(ref.hash, record.id, Date.now());
          return { kind: 'ready', ref, meta: committed, body: null, made: false };
        }
        return this.#make(ref, originalMeta, transform, originalBody, record);
      }
      await this.#waitFor(ref, lease.record.id);
    }
    const stored = store.get(ref);
    return stored !== undefined && DerivedVariants.valid(stored, originalMeta) ? { kind: 'ready', ref, meta: stored, body: null, made: false } : { kind: 'declined' };
  }

  /** Waits until the lease `id` on `ref` ended (committed, failed, or its owner died). */
  async #waitFor(ref: ObjectRef, id: string): Promise<void> {
    const deadline = Date.now() + DERIVED_LEASE_MS;
    for (;;) {
      const record = this.#store.index.getFill(ref.hash);
      if (record === undefined || record.id !== id || record.until < Date.now() || !isProcessAlive(record.pid) || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    }
  }

  /** Holding the lease: read the original, transform, write the body and commit (which releases the lease). */
  async #make(ref: ObjectRef, originalMeta: ObjectMeta, transform: Transform, originalBody: Buffer | null, record: FillRecord): Promise<DerivedOutcome> {
    const store = this.#store;
    const written: number[] = [];
    let listed = false;
    try {
      const body = originalBody ?? (await readBody(store, originalMeta));
      const output = await transform.run(body, originalMeta);
      if (output === null) {
        store.index.releaseLease(ref.hash, record.id, Date.now());
        return { kind: 'declined' };
      }
      const size = output.body.length;
      let inline: Uint8Array | null = null;
      let blockSize = store.blockSize;
      const crcs: number[] = [];
      if (size <= store.inlineMaxBytes) inline = output.body;
      else {
        const sizeClass = sizeClassFor(size, store.blockSize, store.inlineMaxBytes);
        blockSize = slotBytes(store.blockSize, sizeClass);
        for (let pos = 0; pos < size; pos += blockSize) {
          const id = await store.allocateBlockBatched(Date.now(), sizeClass);
          if (id === null) throw new Error('the cache quota is used up');
          written.push(id);
          crcs.push(await store.writeBlock(id, output.body.subarray(pos, Math.min(size, pos + blockSize))));
        }
        // Listed in the lease record: a maker that dies here leaves them to the lease's next owner to release.
        listed = await store.index.updateFillBatched(ref.hash, { ...record, blocks: written, crcs, blockSize });
        if (!listed) throw new Error('the lease of the derived variant was taken over');
      }
      const meta = derivedMeta(originalMeta, ref.key, output, { size, inline, blocks: written, crcs, blockSize });
      const outcome = await store.index.commit(ref.hash, ref.primaryHash, ref.vary, meta, { hash: ref.hash, id: record.id }, Date.now());
      if (outcome !== 'stored') this.#log.debug({ event: 'transform.derived_not_stored', key: ref.key, outcome }, 'a purge reached the derived variant while it was made');
      return { kind: 'ready', ref, meta, body: output.body, made: true };
    } catch (error) {
      try {
        // Blocks the record lists go back with the lease; any written after (none, as written) or before listing here.
        store.index.releaseLease(ref.hash, record.id, Date.now());
        if (!listed && written.length > 0) store.releaseUnlisted(written);
      } catch (releaseError) {
        store.markDegraded((releaseError as Error).message);
      }
      return { kind: 'failed', error: error as Error };
    }
  }

  /** Puts a derived object whose body is in memory into the hot tier (the next hits read no index and no block). */
  warm(ref: ObjectRef, meta: ObjectMeta, body: Buffer): void {
    if (this.#hot.admits(body.length)) this.#hot.put(ref.primary, ref.vary, ref.hex, meta, body, Date.now());
  }

  /** A source for a derived object's body (in memory when `body` is given). */
  source(meta: ObjectMeta, body: Buffer | null): BodySource {
    if (body !== null) return new InlineSource(body);
    return meta.inline !== null ? new InlineSource(meta.inline) : new BlockSource(this.#store, meta);
  }
}

/**
 * The derived object's record: the original's timing and freshness (a derived copy lives as long as its original;
 * callers judge freshness on the original), the transform's headers, validator and body. Written field by field: the
 * original's `purged`, `inlineCrc` and `derivedFrom` must not carry over.
 */
function derivedMeta(original: ObjectMeta, key: string, output: TransformOutput, body: Pick<ObjectMeta, 'size' | 'inline' | 'blocks' | 'crcs' | 'blockSize'>): ObjectMeta {
  return {
    key,
    status: original.status,
    headers: output.headers,
    size: body.size,
    etag: output.etag,
    lastModifiedMs: original.lastModifiedMs,
    requestTime: original.requestTime,
    responseTime: original.responseTime,
    dateMs: original.dateMs,
    ageHeaderSec: original.ageHeaderSec,
    ttlSec: original.ttlSec,
    staleWhileRevalidateSec: original.staleWhileRevalidateSec,
    staleIfErrorSec: original.staleIfErrorSec,
    revalidate: original.revalidate,
    mustRevalidate: original.mustRevalidate,
    ttlSource: original.ttlSource,
    extendedSec: original.extendedSec,
    inline: body.inline,
    blocks: body.blocks,
    blockSize: body.blockSize,
    complete: true,
    crcs: body.crcs,
    generation: 1,
    derivedFrom: sourceToken(original),
  };
}

/** The whole body of a stored complete object. */
export async function readBody(store: CacheStore, meta: ObjectMeta): Promise<Buffer> {
  if (meta.inline !== null) return Buffer.from(meta.inline.buffer, meta.inline.byteOffset, meta.inline.length);
  const source = new BlockSource(store, meta);
  try {
    const body = Buffer.allocUnsafe(meta.size);
    for (let pos = 0; pos < meta.size; ) {
      const chunk = await source.read(pos, meta.size - pos);
      if (chunk.length === 0) throw new Error('stored body shorter than its size');
      chunk.copy(body, pos);
      pos += chunk.length;
    }
    return body;
  } finally {
    source.release();
  }
}
