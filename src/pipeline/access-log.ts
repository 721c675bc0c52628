/**
 * @module pipeline/access-log
 * One access record per transaction, written when it completes or is aborted, in the vhost's `<Access Form>`
 * (logs/access-format.ts). Files are opened once per distinct path and shared by vhosts (logs/log-file.ts: async
 * writes, reopened on SIGUSR1 and rotation). Runs in workers.
 */
import type { VhostLog } from '../config/types.js';
import type { LogDestination } from '../logs/log-file.js';
import { openLogFile } from '../logs/log-file.js';
import type { LineFormatter } from '../logs/access-format.js';
import { accessFormatter } from '../logs/access-format.js';
import type { RequestCtx, TransactionStatus } from './context.js';

/** Where one vhost's records go and how they are written. */
export interface AccessLog {
  readonly dest: LogDestination;
  readonly format: LineFormatter;
}

export class AccessLogs {
  /**
   * Per vhost `<Log>` object (configs are frozen; a reload brings new objects and the old ones are collected), so
   * the lookup per request is one WeakMap get with no key to build. Files are shared by path (openLogFile).
   */
  readonly #byLog = new WeakMap<VhostLog, AccessLog>();

  /** The access log of a vhost (opened on first use), or null when logging is off. */
  get(log: VhostLog): AccessLog | null {
    if (log.accessPath === null) return null;
    let access = this.#byLog.get(log);
    if (access === undefined) {
      access = { dest: openLogFile(log.accessPath), format: accessFormatter(log.accessForm, log.accessFormat) };
      this.#byLog.set(log, access);
    }
    return access;
  }
}

/** Writes the access record of a finished transaction. `now` is performance.now() at the end. */
export function writeAccessRecord(log: AccessLog, ctx: RequestCtx, status: TransactionStatus, bytesSent: number, now: number): void {
  log.dest.write(`${log.format({ ctx, status, bytesSent, now, wallMs: Date.now() })}\n`);
}
