/**
 * @module logs/reopen-notices
 * Asks every running worker to reopen its log files and waits until each answered `logs-reopened`, so the rotator
 * compresses a rolled file only when no worker appends to it any more. A worker that does not answer within
 * REOPEN_TIMEOUT_MS (stuck, exiting) is not waited for longer; a restarted worker opens the new files anyway.
 * Runs only in the primary.
 */
import { sendToWorker } from '../ipc/channel.js';
import type { Slot } from '../primary/supervisor.js';

const REOPEN_TIMEOUT_MS = 5000;

export class ReopenNotices {
  /** requestId -> called once per answer. */
  readonly #waiting = new Map<number, () => void>();
  #nextId = 1;

  /** Sends `logs-reopen` to every connected worker; resolves when all answered (or after the timeout). */
  notify(slots: readonly Slot[]): Promise<void> {
    const workers = slots.flatMap((slot) => (slot.worker !== null && slot.worker.isConnected() ? [slot.worker] : []));
    if (workers.length === 0) return Promise.resolve();
    const requestId = this.#nextId++;
    return new Promise<void>((resolve) => {
      let left = workers.length;
      const done = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(requestId);
        resolve();
      };
      const timer = setTimeout(done, REOPEN_TIMEOUT_MS);
      this.#waiting.set(requestId, () => {
        if (--left === 0) done();
      });
      for (const worker of workers) sendToWorker(worker, { type: 'logs-reopen', requestId });
    });
  }

  /** A `logs-reopened` from a worker. */
  acknowledge(requestId: number): void {
    this.#waiting.get(requestId)?.();
  }
}
