/**
 * @module cache/index-writer
 * The write transactions of the shared object index (cache/index.ts): a synchronous transaction that survives a
 * full file system once (onNoSpace) and forgets the record structures a failed one may have saved, and the
 * per-event-loop-turn batch the leases, commits and touches of concurrent requests share. One per CacheIndex, in
 * every process that writes the index (the workers and the primary).
 */
import type { RootDatabase } from 'lmdb';
import { isNoSpace } from './disk-space.js';

export class IndexWriter {
  readonly #root: RootDatabase;
  /** The disk directory the index file lives in (a full file system is told from a broken one there). */
  readonly #dir: string;
  /** The databases that keep shared record structures (`objects`, `fills`; see STRUCTURES_KEY). */
  readonly #structured: readonly object[];
  /** Write steps queued for this event-loop turn's transaction (see inTurnBatch). */
  #batch: BatchedStep[] = [];
  /**
   * Called when a write transaction failed because the file system is full; returning true (space was freed: the
   * primary's reserve file, cache/disk-space.ts) retries it once. LMDB needs new pages even to delete.
   */
  onNoSpace: (() => boolean) | null = null;
  /**
   * Runs inside each batched transaction after its steps (CacheIndex writes the usage its commits added up once
   * per batch, not once per commit). A throw fails the whole batch.
   */
  onBatchEnd: (() => void) | null = null;

  constructor(root: RootDatabase, dir: string, structured: readonly object[]) {
    this.#root = root;
    this.#dir = dir;
    this.#structured = structured;
  }

  /**
   * A synchronous write transaction. If it fails, the record structures it may have added (saved inside it) are
   * gone from the index, so this process forgets its own and reloads them on its next write: otherwise it would go
   * on writing records that name a structure nobody can read.
   */
  transact<T>(fn: () => T): T {
    try {
      return this.#root.transactionSync(fn);
    } catch (error) {
      if (!this.spaceFreed(error)) return this.transactionFailed(error);
    }
    try {
      return this.#root.transactionSync(fn);
    } catch (error) {
      return this.transactionFailed(error);
    }
  }

  /** After a failed write: whether it failed for want of space and onNoSpace freed some (then it is retried). */
  spaceFreed(error: unknown): boolean {
    if (!isNoSpace(error, this.#dir) || this.onNoSpace?.() !== true) return false;
    this.#forgetStructures();
    return true;
  }

  /** transact's failure path, also taken by the asynchronous transaction of applyControl; rethrows `error`. */
  transactionFailed(error: unknown): never {
    this.#forgetStructures();
    throw error;
  }

  #forgetStructures(): void {
    for (const db of this.#structured) (db as unknown as { encoder?: { clearSharedData?: () => void } }).encoder?.clearSharedData?.();
  }

  /**
   * Runs `step` in the write transaction shared by every step queued in this event-loop turn: one synchronous
   * transaction at setImmediate, then each promise settles (after the commit, so nobody acts on an uncommitted
   * write). A step that throws rejects its own promise only; like a callback of lmdb's own batches, whatever it
   * wrote before throwing stays in the batch. Measured on the `miss` bench (leases and commits of 1 KiB misses):
   * a synchronous transaction per lease cost ~13% of a worker's CPU, lmdb's asynchronous batches (a write
   * thread that calls back into the event loop for each batch, a thread-safe function and async work created per
   * batch, and a synchronous transaction interrupts them) still ~20%; one synchronous batch per turn needs no
   * thread hand-off at all.
   */
  inTurnBatch<T>(step: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#batch.push({ step, resolve: resolve as (value: unknown) => void, reject });
      if (this.#batch.length === 1) setImmediate(() => this.runBatch());
    });
  }

  /** Commits the steps queued so far (at setImmediate, and at close: a commit at shutdown). */
  runBatch(): void {
    const steps = this.#batch;
    this.#batch = [];
    if (steps.length === 0) return;
    const results: unknown[] = [];
    const failed: boolean[] = [];
    try {
      this.transact(() => {
        // Empty again when the transaction is retried (onNoSpace).
        results.length = 0;
        failed.length = 0;
        for (const { step } of steps) {
          try {
            results.push(step());
            failed.push(false);
          } catch (error) {
            results.push(error);
            failed.push(true);
          }
        }
        this.onBatchEnd?.();
      });
    } catch (error) {
      for (const { reject } of steps) reject(error);
      return;
    }
    steps.forEach(({ resolve, reject }, i) => (failed[i] === true ? reject(results[i]) : resolve(results[i])));
  }
}

/** A write step waiting for its turn's batch (see IndexWriter.inTurnBatch). */
interface BatchedStep {
  readonly step: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}
