/**
 * @module log
 * The only importer of pino (runs in every process). Process logs go to stdout or a file; access logs are separate
 * pino instances writing one JSON line per transaction. All destinations are asynchronous (sonic-boom, sync:false)
 * so logging never blocks the event loop; `flushLogs()` drains them before a process exits.
 */
import pino from 'pino';
import type { Logger } from 'pino';
import type { LogLevel } from './config/types.js';

export type { Logger };

const destinations = new Set<pino.DestinationStream & { flushSync?: () => void; end?: () => void }>();

function destinationFor(path: string | null): pino.DestinationStream {
  // No minLength: sonic-boom would hold records until that many bytes with no timer. Writes stay async and
  // coalesce while one is in flight, which is what keeps logging off the hot path.
  const dest = pino.destination({ dest: path ?? 1, sync: false, mkdir: path !== null });
  destinations.add(dest);
  return dest;
}

/** Process (info) logger; `bindings` are added to every line, e.g. `{ role: 'worker', worker: 0 }`. */
export function createProcessLogger(level: LogLevel, path: string | null, bindings: Record<string, unknown>): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }, destinationFor(path));
}

/**
 * Access logger: one JSON object per line starting `{"type":"access","time":...}`. The level slot carries the
 * record type (pino writes a malformed `{,` when the level formatter returns nothing).
 */
export function createAccessLogger(path: string): Logger {
  return pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: () => ({ type: 'access' }) } }, destinationFor(path));
}

/** Synchronously flush every log destination; call right before process exit. */
export function flushLogs(): void {
  for (const dest of destinations) {
    try {
      dest.flushSync?.();
    } catch {
      // A destination not yet open (sonic-boom opens async) has nothing buffered to lose.
    }
  }
}
