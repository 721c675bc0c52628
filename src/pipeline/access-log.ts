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
  /** `path \n form \n format` -> the log; a reload that changes the form gets a new formatter on the same file. */
  readonly #byKey = new Map<string, AccessLog>();

  /** The access log of a vhost (opened on first use), or null when logging is off. */
  get(log: VhostLog): AccessLog | null {
    const path = log.accessPath;
    if (path === null) return null;
    const key = `${path}\n${log.accessForm}\n${log.accessFormat ?? ''}`;
    let access = this.#byKey.get(key);
    if (access === undefined) {
      access = { dest: openLogFile(path), format: accessFormatter(log.accessForm, log.accessFormat) };
      this.#byKey.set(key, access);
    }
    return access;
  }
}

/** Writes the access record of a finished transaction. `now` is performance.now() at the end. */
export function writeAccessRecord(log: AccessLog, ctx: RequestCtx, status: TransactionStatus, bytesSent: number, now: number): void {
  log.dest.write(`${log.format({ ctx, status, bytesSent, now, wallMs: Date.now() })}\n`);
}
