/**
 * @module ipc/channel
 * Typed send over node:cluster IPC in both directions; knows nothing of what messages mean. A send to a process
 * whose channel is closed is dropped (it is exiting, and the primary learns that from the 'exit' event).
 */
import type { Worker } from 'node:cluster';
import type { PrimaryMessage, WorkerMessage } from './messages.js';

/** Worker -> primary. */
export function sendToPrimary(message: WorkerMessage): void {
  if (process.send !== undefined && process.connected) process.send(message);
}

/** Primary -> one worker. */
export function sendToWorker(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message);
}
