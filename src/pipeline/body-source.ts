/**
 * @module pipeline/body-source
 * Where the bytes of a cached body come from, behind one `read(pos, max)`: inline bytes, committed blocks (read
 * whole and checksum-verified the first time this worker reads them, so a torn or reused block is never served;
 * a torn block drops its object so the next request refetches it), a fill in this worker (memory or
 * blocks), or a fill in another worker (its LMDB fill record, polled). A read resolves with at least one byte, or
 * rejects. Block reads use a per-read-stream scratch buffer taken from the worker's pool (block-buffers.ts). Runs
 * in workers.
 */
import { CorruptBlockError, isProcessAlive } from '../cache/store.js';
import type { CacheStore, FillRecord, ObjectMeta, ObjectRef } from '../cache/store.js';
import { keyHash } from '../cache/key.js';
import type { Fill } from './fill.js';
import { giveBlockBuffer, takeBlockBuffer } from './block-buffers.js';

export interface BodySource {
  /**
   * Up to `max` bytes at body offset `pos`: at least 1, or none when `pos` is the end of the body (how a body of
   * unknown length ends). The buffer is valid until the next read.
   */
  read(pos: number, max: number): Promise<Buffer>;
  /** Returns pooled memory; the source must not be used after. */
  release(): void;
}

/**
 * The fill a follower in another worker streamed from ended without its object (its origin failed, a hardpurge
 * dropped it, its owner died): the cause is in that worker's log, not a read of this one.
 */
export class FollowedFillError extends Error {}

/** What a read at the end of the body resolves with. */
const END_OF_BODY = Buffer.alloc(0);

export class InlineSource implements BodySource {
  readonly #body: Buffer;

  constructor(body: Uint8Array) {
    this.#body = Buffer.from(body.buffer, body.byteOffset, body.length);
  }

  read(pos: number, max: number): Promise<Buffer> {
    return Promise.resolve(this.#body.subarray(pos, pos + max));
  }

  /** Bytes [start, end) synchronously: in-memory bodies skip the async delivery loop. */
  bytes(start: number, end: number): Buffer {
    return this.#body.subarray(start, end);
  }

  release(): void {}
}

/** Reads committed blocks, keeping the last verified block for sequential slices. */
export class BlockSource implements BodySource {
  readonly #store: CacheStore;
  readonly #meta: Pick<ObjectMeta, 'key' | 'size' | 'blockSize' | 'blocks' | 'crcs'>;
  #hash: Buffer | null = null;
  #scratch: Buffer | null = null;
  #cachedIndex = -1;
  #cached: Buffer | null = null;

  constructor(store: CacheStore, meta: Pick<ObjectMeta, 'key' | 'size' | 'blockSize' | 'blocks' | 'crcs'>) {
    this.#store = store;
    this.#meta = meta;
  }

  async read(pos: number, max: number): Promise<Buffer> {
    const { blockSize, size } = this.#meta;
    if (pos >= size) return END_OF_BODY;
    const index = Math.floor(pos / blockSize);
    if (index !== this.#cachedIndex) {
      const id = this.#meta.blocks[index];
      const crc = this.#meta.crcs[index];
      if (id === undefined || crc === undefined) throw new Error(`block ${index} of the object is missing`);
      this.#scratch ??= takeBlockBuffer(blockSize);
      const hash = (this.#hash ??= keyHash(this.#meta.key));
      const stillOwned = (): boolean => {
        const current = this.#store.index.getObject(hash);
        return current !== undefined && current.key === this.#meta.key && current.blocks[index] === id && current.crcs[index] === crc;
      };
      try {
        this.#cached = await this.#store.readListed(id, Math.min(blockSize, size - index * blockSize), crc, this.#scratch, stillOwned);
      } catch (error) {
        // A torn block: the object is dropped (if the index still lists this block) so the next request refetches it.
        if (error instanceof CorruptBlockError && stillOwned()) this.#store.index.remove(hash, Date.now());
        throw error;
      }
      this.#cachedIndex = index;
    }
    const within = pos - index * blockSize;
    return (this.#cached as Buffer).subarray(within, within + max);
  }

  release(): void {
    giveBlockBuffer(this.#scratch);
    this.#scratch = null;
  }
}

/** Tail-reads a fill running in this worker. */
export class LocalFillSource implements BodySource {
  readonly #fill: Fill;
  readonly #store: CacheStore;
  /** Once the fill is complete, its object's blocks are read like any stored object's. */
  #blocks: BlockSource | null = null;
  #scratch: Buffer | null = null;
  #cachedIndex = -1;
  #cached: Buffer | null = null;
  /** While the fill runs it holds its blocks (nothing can free them): this worker's own writes need no re-check. */
  readonly #whileFilling = (): boolean => this.#fill.state === 'streaming';
  /** The fill's block buffer the last read returned a slice of: pinned until the next read (Fill.pin). */
  #pinned: ArrayBufferLike | null = null;

  constructor(fill: Fill, store: CacheStore) {
    this.#fill = fill;
    this.#store = store;
  }

  async read(pos: number, max: number): Promise<Buffer> {
    const fill = this.#fill;
    // The slice the previous read returned is no longer in use (BodySource contract): its buffer may be reused.
    this.#unpin();
    for (;;) {
      if (fill.state === 'failed') throw fill.error ?? new Error('fill failed');
      if (fill.state === 'uncacheable') throw new Error('the object turned out not storable while being followed');
      const memory = fill.memorySlice(pos);
      if (memory !== null && memory.length > 0) {
        this.#pinned = fill.pin(memory);
        return memory.subarray(0, max);
      }
      if (memory === null) {
        if (fill.state === 'complete' && fill.meta !== null) {
          this.#blocks ??= new BlockSource(this.#store, fill.meta);
          return this.#blocks.read(pos, max);
        }
        const index = Math.floor(pos / fill.blockSize);
        if (fill.isDropped(index)) throw new Error(`fell more than a few blocks behind a fill that cannot store (block ${index})`);
        const block = fill.diskBlock(index);
        if (block !== null) {
          if (index !== this.#cachedIndex) {
            this.#scratch ??= takeBlockBuffer(fill.blockSize);
            const length = Math.min(fill.blockSize, fill.received - index * fill.blockSize);
            this.#cached = await this.#store.readListed(block.id, length, block.crc, this.#scratch, this.#whileFilling);
            this.#cachedIndex = index;
          }
          const within = pos - index * fill.blockSize;
          return (this.#cached as Buffer).subarray(within, within + max);
        }
      }
      if (fill.ended && pos >= fill.received) {
        if (fill.state === 'complete') return END_OF_BODY;
        throw new Error(`fill ended at ${fill.received} bytes, before ${pos}`);
      }
      await new Promise<void>((resolve) => {
        const unsubscribe = fill.subscribe(() => {
          unsubscribe();
          resolve();
        });
      });
    }
  }

  #unpin(): void {
    if (this.#pinned === null) return;
    this.#fill.unpin(this.#pinned);
    this.#pinned = null;
  }

  release(): void {
    this.#unpin();
    this.#blocks?.release();
    giveBlockBuffer(this.#scratch);
    this.#scratch = null;
  }
}

/** How often a follower in another worker polls the fill record. */
const REMOTE_POLL_MS = 5;

/**
 * Follows a fill owned by another worker: full blocks become readable as the record lists them; when the fill
 * completes, the committed object is read. Rejects when the owner died or gave up (the caller decides).
 */
export class RemoteFillSource implements BodySource {
  readonly #store: CacheStore;
  readonly #ref: ObjectRef;
  readonly #fillId: string;
  readonly #takeOver: () => BodySource | null;
  #blocks: BlockSource | null = null;
  /** The source that replaced a fill whose owner died. */
  #successor: BodySource | null = null;
  #scratch: Buffer | null = null;
  #cachedIndex = -1;
  #cached: Buffer | null = null;
  /** When the followed fill's origin request went out (from its record), to recognise the object it committed. */
  #requestTime: number | null = null;
  /** The followed fill's owner (from its record): only a dead owner's fill is restarted. */
  #ownerPid: number | null = null;

  /** `takeOver` is called when the owner dies: it returns a source for the restarted fill, or null to give up. */
  constructor(store: CacheStore, ref: ObjectRef, fillId: string, takeOver: () => BodySource | null) {
    this.#store = store;
    this.#ref = ref;
    this.#fillId = fillId;
    this.#takeOver = takeOver;
  }

  async read(pos: number, max: number): Promise<Buffer> {
    for (;;) {
      if (this.#successor !== null) return this.#successor.read(pos, max);
      if (this.#blocks !== null) return this.#blocks.read(pos, max);
      const record: FillRecord | undefined = this.#store.index.getFill(this.#ref.hash);
      if (record === undefined || record.id !== this.#fillId) {
        const meta = this.#store.get(this.#ref);
        // Only the object this fill committed continues its body: a hardpurge may have dropped it, and a later fill
        // (after a purge) may have stored another version whose bytes must not be spliced in at `pos`.
        if (meta !== undefined && meta.size >= pos && (this.#requestTime === null || meta.requestTime === this.#requestTime)) {
          if (meta.inline !== null) return new InlineSource(meta.inline).read(pos, max);
          this.#blocks = new BlockSource(this.#store, meta);
          continue;
        }
        // Our fill was replaced by another (its owner died and a follower restarted it): join the new one. A live
        // owner's fill ended instead (a hardpurge dropped its object), and the fill now running is a later fetch,
        // maybe of another version: never continue this body from it.
        if (record !== undefined && (this.#ownerPid === null || !isProcessAlive(this.#ownerPid))) {
          this.#successor = this.#takeOver();
          if (this.#successor !== null) continue;
        }
        throw new FollowedFillError('the fill this request followed was abandoned');
      }
      if (record.until < Date.now() || !isProcessAlive(record.pid)) {
        // The owner died (SIGKILL, crash): restart the fill and continue from `pos` on it.
        this.#successor = this.#takeOver();
        if (this.#successor === null) throw new FollowedFillError('the fill this request followed stopped (owner gone)');
        continue;
      }
      this.#ownerPid = record.pid;
      if (record.timing !== null) this.#requestTime = record.timing.requestTime;
      if (record.size >= 0 && pos >= record.size) return END_OF_BODY;
      const index = Math.floor(pos / record.blockSize);
      if (index === this.#cachedIndex) return this.#sliceCached(pos, record.blockSize, max);
      const id = record.blocks[index];
      const crc = record.crcs[index];
      if (id !== undefined && crc !== undefined) {
        this.#scratch ??= takeBlockBuffer(record.blockSize);
        // The fill's record listing the block vouches for it as the index does for a stored object.
        const listed = (): boolean => {
          const current = this.#store.index.getFill(this.#ref.hash);
          return current !== undefined && current.id === this.#fillId && current.blocks[index] === id && current.crcs[index] === crc;
        };
        // Every listed block is whole except the body's last, listed only once the size is known.
        const length = record.size >= 0 ? Math.min(record.blockSize, record.size - index * record.blockSize) : record.blockSize;
        this.#cached = await this.#store.readListed(id, length, crc, this.#scratch, listed);
        this.#cachedIndex = index;
        return this.#sliceCached(pos, record.blockSize, max);
      }
      await new Promise((resolve) => setTimeout(resolve, REMOTE_POLL_MS));
    }
  }

  #sliceCached(pos: number, blockSize: number, max: number): Buffer {
    const within = pos - this.#cachedIndex * blockSize;
    return (this.#cached as Buffer).subarray(within, within + max);
  }

  release(): void {
    this.#successor?.release();
    this.#blocks?.release();
    giveBlockBuffer(this.#scratch);
    this.#scratch = null;
  }
}
