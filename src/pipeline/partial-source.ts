/**
 * @module pipeline/partial-source
 * The body of a range response on a partial object (per-block presence) whose missing blocks are fetched as the
 * response reaches them, a window of FETCH_WINDOW_BLOCKS blocks at a time with the next window fetched ahead, rather
 * than all before the first byte: a player that seeks into a cold 10 GiB file with `Range: bytes=N-` gets its first
 * bytes after one window, and a client that leaves stops the fetching within two windows. The response head was
 * built from one record of the object; a block is served only from a record of that same representation, so a
 * response never splices in bytes of another version (it is cut instead). Runs in workers.
 */
import { ABSENT_BLOCK, sameRepresentation } from '../cache/index.js';
import { FlintError } from '../errors.js';
import type { CacheStore, ObjectMeta, ObjectRef } from '../cache/store.js';
import { BlockSource } from './body-source.js';
import type { BodySource } from './body-source.js';
import type { RangeFillResult } from './range-fill.js';

/** Blocks fetched per window: as many as one request's blocks are fetched side by side (cache-flow fetchPieces). */
export const FETCH_WINDOW_BLOCKS = 4;

/** Fetches the given absent blocks (sorted indexes) of the object, `known` being its record. */
export type FetchBlocks = (blocks: readonly number[], known: ObjectMeta) => Promise<RangeFillResult>;

/** The absent blocks of window `window` the response needs, in `meta`. */
function absentInWindow(meta: ObjectMeta, window: number, needed: (index: number) => boolean): number[] {
  const absent: number[] = [];
  const end = Math.min(meta.blocks.length, (window + 1) * FETCH_WINDOW_BLOCKS);
  for (let i = window * FETCH_WINDOW_BLOCKS; i < end; i++) if (meta.blocks[i] === ABSENT_BLOCK && needed(i)) absent.push(i);
  return absent;
}

export class PartialSource implements BodySource {
  readonly #store: CacheStore;
  readonly #ref: ObjectRef;
  /** The record the response head was built from. */
  readonly #head: ObjectMeta;
  readonly #needed: (index: number) => boolean;
  readonly #fetch: FetchBlocks;
  /** Window fetches started by this response, by window number. */
  readonly #windows = new Map<number, Promise<RangeFillResult | null>>();
  #blocks: BlockSource | null = null;
  #blocksMeta: ObjectMeta | null = null;

  constructor(store: CacheStore, ref: ObjectRef, head: ObjectMeta, needed: (index: number) => boolean, fetch: FetchBlocks) {
    this.#store = store;
    this.#ref = ref;
    this.#head = head;
    this.#needed = needed;
    this.#fetch = fetch;
  }

  async read(pos: number, max: number): Promise<Buffer> {
    const index = Math.floor(pos / this.#head.blockSize);
    let fetched: RangeFillResult | null = null;
    for (let attempt = 0; ; attempt++) {
      if (this.#blocksMeta !== null && this.#blocksMeta.blocks[index] !== ABSENT_BLOCK) return (this.#blocks as BlockSource).read(pos, max);
      const meta = this.#store.get(this.#ref);
      if (meta === undefined || !sameRepresentation(meta, this.#head)) throw new Error('the partial object changed or was removed while it was being served');
      if (meta.blocks[index] !== ABSENT_BLOCK) {
        this.#blocks?.release();
        this.#blocks = new BlockSource(this.#store, meta);
        this.#blocksMeta = meta;
        continue;
      }
      // The origin's own error when its fetch failed: before the first body byte it is the client's 502/504.
      if (attempt > 0 && fetched?.kind === 'failed' && fetched.error instanceof FlintError) throw fetched.error;
      if (attempt > 0) throw new Error(`block ${index} is still missing after its fetch${fetched !== null && fetched.kind !== 'stored' ? ` (${fetched.kind})` : ''}`);
      const window = Math.floor(index / FETCH_WINDOW_BLOCKS);
      const current = this.#startWindow(window, meta);
      this.#startWindow(window + 1, meta);
      fetched = await current;
    }
  }

  /** Starts fetching window `window` unless this response did; resolves when it ended (null: nothing to fetch). */
  #startWindow(window: number, meta: ObjectMeta): Promise<RangeFillResult | null> {
    let running = this.#windows.get(window);
    if (running === undefined) {
      const absent = absentInWindow(meta, window, this.#needed);
      // Caught here: a read-ahead window's fetch is not awaited until the body reaches it (if ever).
      running = absent.length === 0 ? Promise.resolve(null) : this.#fetch(absent, meta).catch((error: unknown): RangeFillResult => ({ kind: 'failed', error: error as Error }));
      this.#windows.set(window, running);
    }
    return running;
  }

  release(): void {
    this.#blocks?.release();
    this.#blocks = null;
  }
}
