/**
 * @module pipeline/fill-writes
 * A fill's block writes (pipeline/fill.ts): queued in order, at most WRITE_CONCURRENCY at once, with backpressure on
 * the origin read when WRITE_QUEUE_BLOCKS are waiting, lifted once half of them are done. Runs in workers.
 */

/** Block writes a fill may have queued before it pauses the origin read (8 MiB with 1 MiB blocks). */
const WRITE_QUEUE_BLOCKS = 8;

/** Block writes a fill runs side by side (libuv runs four file operations at once by default). */
const WRITE_CONCURRENCY = 4;

export interface BlockWriter {
  /** Writes block `index` (settles when done, whatever the outcome: failures are the writer's to handle). */
  write(index: number, data: Buffer): Promise<void>;
  /** The queue is full: pause the origin read if it may be; returns whether it was paused. */
  pauseOrigin(): boolean;
  /** Half the queue is written again after a pause: resume the origin read if it may be. */
  resumeOrigin(): void;
}

export class BlockWriteQueue {
  readonly #writer: BlockWriter;
  /** Blocks waiting for a write slot, in order. */
  readonly #waiting: Array<{ readonly index: number; readonly data: Buffer }> = [];
  #writing = 0;
  /** Writes queued and not finished (waiting or writing). */
  #queued = 0;
  /** The origin read is paused until the disk catches up. */
  #paused = false;
  /** Called when the last queued write finished (see idle). */
  #onIdle: (() => void) | null = null;

  constructor(writer: BlockWriter) {
    this.#writer = writer;
  }

  push(index: number, data: Buffer): void {
    this.#queued++;
    // The origin is faster than the disk: without this, the blocks waiting for it would pile up in memory.
    if (this.#queued >= WRITE_QUEUE_BLOCKS && !this.#paused) this.#paused = this.#writer.pauseOrigin();
    this.#waiting.push({ index, data });
    this.#start();
  }

  /** Resolves once every queued write finished. */
  idle(): Promise<void> {
    if (this.#queued === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#onIdle;
      this.#onIdle = () => {
        previous?.();
        resolve();
      };
    });
  }

  /**
   * Starts queued writes while fewer than WRITE_CONCURRENCY run: side by side, their block allocations share one
   * index transaction and the file writes overlap (one at a time, a 1 GiB fill ran at half its origin's speed).
   */
  #start(): void {
    while (this.#writing < WRITE_CONCURRENCY && this.#waiting.length > 0) {
      const { index, data } = this.#waiting.shift() as { index: number; data: Buffer };
      this.#writing++;
      void this.#writer.write(index, data).finally(() => this.#written());
    }
  }

  /** A write finished: start the next, and resume the origin once the queue is half empty. */
  #written(): void {
    this.#writing--;
    this.#queued--;
    this.#start();
    if (this.#paused && this.#queued <= WRITE_QUEUE_BLOCKS / 2) {
      this.#paused = false;
      this.#writer.resumeOrigin();
    }
    if (this.#queued === 0) {
      const done = this.#onIdle;
      this.#onIdle = null;
      done?.();
    }
  }
}
