/**
 * @module pipeline/block-buffers
 * Block-sized buffers kept for reuse in this worker, per block (slot) size, up to POOL_BYTES in all: the read
 * scratch of body sources and the block buffers of fills. A buffer dropped instead lives outside the JS heap, and
 * V8 collects it only at a major GC, which a worker streaming large bodies rarely runs: filling a 1 GiB object
 * left ~650 MB of such dead buffers before the first one (glibc kept the pages after it, issue 19). A buffer given
 * back must not be referenced any more by anyone (PinnedBuffers keeps those readers still hold). Runs in workers.
 */

/** Most bytes kept in the pool (a few blocks per running fill and reader stream). */
const POOL_BYTES = 64 * 1024 * 1024;
const POOL = new Map<number, Buffer[]>();
let pooledBytes = 0;

/** A buffer of exactly `size` bytes (contents undefined): a pooled one when there is one. */
export function takeBlockBuffer(size: number): Buffer {
  const pooled = POOL.get(size)?.pop();
  if (pooled === undefined) return Buffer.allocUnsafeSlow(size);
  pooledBytes -= size;
  return pooled;
}

/** Gives `buffer` back for reuse (dropped when the pool is full); the caller must not use it afterwards. */
export function giveBlockBuffer(buffer: Buffer | null): void {
  if (buffer === null || pooledBytes + buffer.length > POOL_BYTES) return;
  let pool = POOL.get(buffer.length);
  if (pool === undefined) POOL.set(buffer.length, (pool = []));
  pool.push(buffer);
  pooledBytes += buffer.length;
}

/**
 * Readers' pins on block buffers, by the buffer's memory: a buffer retired while a reader still holds a slice of it
 * (a fill's block written and dropped from memory) goes back to the pool at its last unpin, not before.
 */
export class PinnedBuffers {
  readonly #pins = new Map<ArrayBufferLike, number>();
  /** Retired buffers still pinned. */
  readonly #retired = new Map<ArrayBufferLike, Buffer>();

  /**
   * Marks the buffer `slice` is a view of as in use by a reader until `unpin`: it is not reused meanwhile.
   * Returns the handle to unpin with.
   */
  pin(slice: Buffer): ArrayBufferLike {
    const memory = slice.buffer;
    this.#pins.set(memory, (this.#pins.get(memory) ?? 0) + 1);
    return memory;
  }

  unpin(memory: ArrayBufferLike): void {
    const count = (this.#pins.get(memory) ?? 1) - 1;
    if (count > 0) {
      this.#pins.set(memory, count);
      return;
    }
    this.#pins.delete(memory);
    const retired = this.#retired.get(memory);
    if (retired === undefined) return;
    this.#retired.delete(memory);
    giveBlockBuffer(retired);
  }

  /** Gives a whole block buffer back for reuse now, or at its last unpin while a reader holds it. */
  retire(buffer: Buffer): void {
    if (this.#pins.has(buffer.buffer)) this.#retired.set(buffer.buffer, buffer);
    else giveBlockBuffer(buffer);
  }
}
