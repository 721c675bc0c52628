/**
 * @module transform/dims/limiter
 * Bounds DIMS work in one worker: at most `concurrency` conversions run at once (each holds one libuv pool thread
 * while sharp works, so hits, LMDB and file reads keep the rest of the pool), at most `queueLimit` wait, and a
 * request beyond that is refused at once (503 + Retry-After) instead of piling up. Each job has a deadline that
 * counts its time in the queue; a job past it is answered with a timeout, but its slot stays taken until sharp
 * really returns, so a slow image can never raise the number of conversions running. Runs in workers.
 */
import type { DimsLimits } from '../../config/types.js';

/** The job could not run: the queue was full, or its deadline passed (waiting or running). */
export class DimsBusyError extends Error {
  readonly kind: 'queue-full' | 'timeout';
  constructor(kind: 'queue-full' | 'timeout') {
    super(kind === 'queue-full' ? 'DIMS queue full' : 'DIMS time limit reached');
    this.kind = kind;
  }
}

interface Waiter {
  readonly start: () => void;
}

/** How many past conversions the mean duration (for Retry-After) is smoothed over, roughly. */
const EWMA_WEIGHT = 0.1;

export class DimsLimiter {
  #limits: DimsLimits;
  #running = 0;
  readonly #queue: Waiter[] = [];
  /** Smoothed ms per conversion (Retry-After). */
  #meanMs = 100;

  constructor(limits: DimsLimits) {
    this.#limits = limits;
  }

  /** Replaces the limits (a reload); running and queued jobs keep their place. */
  set limits(limits: DimsLimits) {
    this.#limits = limits;
  }

  /** Conversions running now (gauge). */
  get running(): number {
    return this.#running;
  }

  /** Conversions waiting now (gauge). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Seconds a refused client should wait: the queue drained at the mean conversion time, at least 1. */
  get retryAfterSec(): number {
    const waves = (this.#queue.length + this.#running) / this.#limits.concurrency;
    return Math.max(1, Math.min(60, Math.ceil((waves * this.#meanMs) / 1000)));
  }

  /**
   * Runs `job(deadline)` when a slot is free. Rejects with DimsBusyError('queue-full') at once when the queue is
   * full, with DimsBusyError('timeout') when the deadline (now + Timeout) passes first; else the job's own result.
   */
  run<T>(job: (deadline: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#limits.timeoutMs;
    if (this.#running < this.#limits.concurrency) return this.#start(job, deadline);
    if (this.#queue.length >= this.#limits.queueLimit) return Promise.reject(new DimsBusyError('queue-full'));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(timer);
          this.#start(job, deadline).then(resolve, reject);
        },
      };
      const timer = setTimeout(() => {
        const at = this.#queue.indexOf(waiter);
        if (at !== -1) this.#queue.splice(at, 1);
        reject(new DimsBusyError('timeout'));
      }, this.#limits.timeoutMs);
      this.#queue.push(waiter);
    });
  }

  #start<T>(job: (deadline: number) => Promise<T>, deadline: number): Promise<T> {
    this.#running++;
    const started = Date.now();
    const work = job(deadline).finally(() => {
      this.#running--;
      this.#meanMs += EWMA_WEIGHT * (Date.now() - started - this.#meanMs);
      this.#queue.shift()?.start();
    });
    const left = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DimsBusyError('timeout')), Math.max(0, left));
    });
    // The caller hears of the deadline at once; the slot is released only when the work itself settles.
    work.catch(() => undefined);
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }
}
