/**
 * @module pipeline/media-reader
 * The RangeReader the media builders read the original through (issue 22): byte ranges of a cached object, whole
 * or partial. Present blocks are read from the block files (checksummed, pipeline/body-source.ts); absent ones are
 * fetched from the origin by block-aligned Range requests and merged into the partial object first
 * (pipeline/partial-hit.ts fetchMissing: once across workers), so a 2 GiB MP4's moov costs the moov's blocks, not the
 * file. Every read checks the record is still the representation the response was built from (a purge or a new
 * version never mixes into it: MediaSourceChanged). Reads are serialised: the block scratch buffer is shared.
 * Runs in workers.
 */
import { ABSENT_BLOCK, sameRepresentation } from '../cache/index.js';
import type { CacheStore, ObjectMeta, ObjectRef } from '../cache/store.js';
import { MediaFormatError } from '../media/types.js';
import type { RangeReader } from '../media/types.js';
import { BlockSource } from './body-source.js';
import type { FetchBlocks } from './partial-source.js';

/** The original changed, was purged or removed while it was read: the request is looked up again. */
export class MediaSourceChanged extends Error {
  override readonly name = 'MediaSourceChanged';
}

/** Blocks a streaming read (readSome) makes present at once ahead of its position, within its part. */
const READ_AHEAD_BLOCKS = 4;

export class CachedRangeReader {
  readonly #store: CacheStore;
  readonly #ref: ObjectRef;
  /** The record the response is built from. */
  readonly #head: ObjectMeta;
  readonly #fetch: FetchBlocks;
  /** The latest record of the same representation (more blocks present). */
  #meta: ObjectMeta;
  #blocks: BlockSource | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  /** Bytes of the original read through this reader (for the access log and tests). */
  bytesRead = 0;

  constructor(store: CacheStore, ref: ObjectRef, head: ObjectMeta, fetch: FetchBlocks) {
    this.#store = store;
    this.#ref = ref;
    this.#head = head;
    this.#meta = head;
    this.#fetch = fetch;
  }

  get size(): number {
    return this.#head.size;
  }

  /** The builders' view: `length` bytes at `offset`, a buffer of their own. */
  readonly read: RangeReader = (offset, length) => this.#serial(() => this.#readCopy(offset, length));

  /**
   * Up to `max` bytes at `pos` (at least one), valid until the next call; blocks up to `aheadEnd` (exclusive byte
   * offset, the end of the part being streamed) are made present a window at a time.
   */
  readSome(pos: number, max: number, aheadEnd: number): Promise<Buffer> {
    return this.#serial(async () => {
      this.#check(pos, 1);
      const bs = this.#head.blockSize;
      const last = Math.min(Math.ceil(aheadEnd / bs), Math.floor(pos / bs) + READ_AHEAD_BLOCKS) * bs;
      await this.#ensure(pos, Math.max(1, Math.min(aheadEnd, last, this.#head.size) - pos));
      const chunk = await this.#source().read(pos, max);
      this.bytesRead += chunk.length;
      return chunk;
    });
  }

  release(): void {
    this.#blocks?.release();
    this.#blocks = null;
  }

  #serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #check(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.#head.size) {
      // A file whose index points past its end: a format error (the original is served as it is), not a 5xx.
      throw new MediaFormatError(`read of ${length} bytes at ${offset} is outside the ${this.#head.size}-byte original`);
    }
  }

  async #readCopy(offset: number, length: number): Promise<Buffer> {
    this.#check(offset, length);
    const inline = this.#head.inline;
    if (inline !== null) {
      this.bytesRead += length;
      return Buffer.from(inline.subarray(offset, offset + length));
    }
    if (length === 0) return Buffer.alloc(0);
    await this.#ensure(offset, length);
    const out = Buffer.allocUnsafe(length);
    let pos = offset;
    const source = this.#source();
    while (pos < offset + length) {
      const chunk = await source.read(pos, offset + length - pos);
      if (chunk.length === 0) throw new Error(`the original ended at ${pos} while reading to ${offset + length}`);
      chunk.copy(out, pos - offset);
      pos += chunk.length;
    }
    this.bytesRead += length;
    return out;
  }

  #source(): BlockSource {
    this.#blocks ??= new BlockSource(this.#store, this.#meta);
    return this.#blocks;
  }

  /** Makes the blocks of [offset, offset + length) present in the record read from. */
  async #ensure(offset: number, length: number): Promise<void> {
    if (this.#head.inline !== null || this.#meta.complete !== false) return;
    const bs = this.#head.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + length - 1) / bs);
    const absentIn = (meta: ObjectMeta): number[] => {
      const absent: number[] = [];
      for (let i = first; i <= last; i++) if (meta.blocks[i] === ABSENT_BLOCK) absent.push(i);
      return absent;
    };
    if (absentIn(this.#meta).length === 0) return;
    let meta = this.#current();
    let absent = absentIn(meta);
    if (absent.length > 0) {
      const result = await this.#fetch(absent, meta);
      if (result.kind === 'failed') throw result.error;
      if (result.kind !== 'stored') throw new MediaSourceChanged(`the original could not be read by ranges (${result.kind})`);
      meta = this.#current();
      absent = absentIn(meta);
      if (absent.length > 0) throw new MediaSourceChanged(`blocks ${absent.join(',')} of the original are still missing after their fetch`);
    }
    this.#use(meta);
  }

  /** The index's record, when it is still the same representation as the head. */
  #current(): ObjectMeta {
    const meta = this.#store.get(this.#ref);
    if (meta === undefined || !sameRepresentation(meta, this.#head)) throw new MediaSourceChanged('the original changed or was removed while it was read');
    return meta;
  }

  #use(meta: ObjectMeta): void {
    if (meta === this.#meta) return;
    this.#blocks?.release();
    this.#blocks = null;
    this.#meta = meta;
  }
}
