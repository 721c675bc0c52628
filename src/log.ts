/**
 * @module log
 * The process (info) logger of every process: pino, JSON lines, to stdout or `<Host><Log><Info>`. Destinations are
 * asynchronous (logs/log-file.ts) so logging never blocks the event loop; `flushLogs()` drains them before a
 * process exits and `reopenLogs()` moves them to a new file at the same path (SIGUSR1, rotation). Access and
 * origin logs are written by src/pipeline/access-log.ts and src/logs/origin-log.ts through the same files.
 */
import pino from 'pino';
import type { Logger } from 'pino';
import type { LogLevel } from './config/types.js';
import { flushLogFiles, openLogFile, reopenLogFiles } from './logs/log-file.js';

export type { Logger };

/** Process (info) logger; `bindings` are added to every line, e.g. `{ role: 'worker', worker: 0 }`. */
export function createProcessLogger(level: LogLevel, path: string | null, bindings: Record<string, unknown>): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }, openLogFile(path));
}

/** Reopens every log file of this process (process, access and origin logs); resolves when all moved. */
export function reopenLogs(): Promise<void> {
  return reopenLogFiles();
}

/** Synchronously flush every log destination; call right before process exit. */
export function flushLogs(): void {
  flushLogFiles();
}
