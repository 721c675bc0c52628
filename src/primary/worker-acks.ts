/**
 * @module primary/worker-acks
 * Sends one message to every running worker and waits until each acknowledged it (by the request id the message
 * carries), so the caller goes on only once every worker acted: a purge returns once no worker can serve the old
 * copy (`cache-control` -> `cache-control-done`), the log rotator compresses a rolled file once no worker appends
 * to it (`logs-reopen` -> `logs-reopened`). A worker that does not answer within ACK_TIMEOUT_MS (stuck, exiting)
 * is not waited for longer; a restarted worker starts with an empty hot tier and opens the current log files
 * anyway. Runs only in the primary.
 */
import { sendToWorker } from '../ipc/channel.js';
import type { PrimaryMessage } from '../ipc/messages.js';
import type { Slot } from './supervisor.js';

const ACK_TIMEOUT_MS = 5000;

export class WorkerAcks {
  /** requestId -> called once per acknowledgement. */
  readonly #waiting = new Map<number, () => void>();
  #nextId = 1;

  /** Sends `message(requestId)` to every connected worker; resolves when all acknowledged (or after the timeout). */
  notify(slots: readonly Slot[], message: (requestId: number) => PrimaryMessage): Promise<void> {
    const workers = slots.flatMap((slot) => (slot.worker !== null && slot.worker.isConnected() ? [slot.worker] : []));
    if (workers.length === 0) return Promise.resolve();
    const requestId = this.#nextId++;
    const sent = message(requestId);
    return new Promise<void>((resolve) => {
      let left = workers.length;
      const done = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(requestId);
        resolve();
      };
      const timer = setTimeout(done, ACK_TIMEOUT_MS);
      this.#waiting.set(requestId, () => {
        if (--left === 0) done();
      });
      for (const worker of workers) sendToWorker(worker, sent);
    });
  }

  /** A worker's acknowledgement of `requestId`. */
  acknowledge(requestId: number): void {
    this.#waiting.get(requestId)?.();
  }
}
