/**
 * @module primary/worker-notices
 * Tells every running worker that a purge changed the index and waits until each acknowledged (it dropped the
 * matching hot-tier entries), so a purge call returns only once no worker can serve the old copy. A worker that
 * does not answer within NOTICE_TIMEOUT_MS (stuck, exiting) is not waited for longer; a restarted worker starts
 * with an empty hot tier anyway. Runs only in the primary.
 */
import { sendToWorker } from '../ipc/channel.js';
import type { PurgeScope } from '../policy/purge-target.js';
import type { Slot } from './supervisor.js';

const NOTICE_TIMEOUT_MS = 5000;

export class WorkerNotices {
  /** requestId -> called once per acknowledgement. */
  readonly #waiting = new Map<number, () => void>();
  #nextId = 1;

  /** Sends the scopes to every connected worker; resolves when all acknowledged (or after the timeout). */
  notify(slots: readonly Slot[], scopes: readonly PurgeScope[]): Promise<void> {
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
      const timer = setTimeout(done, NOTICE_TIMEOUT_MS);
      this.#waiting.set(requestId, () => {
        if (--left === 0) done();
      });
      for (const worker of workers) sendToWorker(worker, { type: 'cache-control', requestId, scopes });
    });
  }

  /** A `cache-control-done` from a worker. */
  acknowledge(requestId: number): void {
    this.#waiting.get(requestId)?.();
  }
}
