/**
 * @module logs/log-file
 * Every log file a process writes, one asynchronous sonic-boom destination per path (via pino, the only importer of
 * the logging stack), and `reopenLogFiles()`, which SIGUSR1, SIGHUP and the rotator use to move writers onto a
 * new file at the same path. Runs in every process. Invariant: after `reopenLogFiles()` resolves, no record of this
 * process goes to the file that was at the path before (a write in flight finishes first, then the old fd closes).
 */
import pino from 'pino';

/** A file destination: sonic-boom, asynchronous (sync: false), opened in append mode. */
export type LogDestination = ReturnType<typeof pino.destination>;

/** How long a reopen may take before it is given up (a missing directory or a full disk keeps the old fd). */
const REOPEN_TIMEOUT_MS = 3000;

const files = new Map<string, LogDestination>();
let stdout: LogDestination | null = null;

/**
 * The destination of `path` (opened on first use, shared by every logger of this process), or stdout for null.
 * No minLength: sonic-boom would hold records until that many bytes with no timer. Writes stay async and coalesce
 * while one is in flight, which keeps logging off the request path.
 */
export function openLogFile(path: string | null): LogDestination {
  if (path === null) {
    stdout ??= pino.destination({ dest: 1, sync: false });
    return stdout;
  }
  let dest = files.get(path);
  if (dest === undefined) {
    dest = pino.destination({ dest: path, sync: false, mkdir: true });
    // An unwritable path (or a reopen that fails) must cost the records, not the process: without a listener the
    // 'error' event would be an uncaught exception. Reported once per failure on stderr, as the log itself is broken.
    dest.on('error', (error: Error) => process.stderr.write(`flint: log file ${path}: ${error.message}\n`));
    files.set(path, dest);
  }
  return dest;
}

/** Reopens every log file of this process at its path; resolves when each has its new fd (or gave up). */
export function reopenLogFiles(): Promise<void> {
  return Promise.all([...files.values()].map(reopenOne)).then(() => undefined);
}

function reopenOne(dest: LogDestination): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      dest.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, REOPEN_TIMEOUT_MS);
    timer.unref();
    dest.on('ready', done);
    try {
      dest.reopen();
    } catch {
      // Destroyed (the process is exiting): nothing left to move.
      done();
    }
  });
}

/** Synchronously flushes every destination; call right before process exit. */
export function flushLogFiles(): void {
  for (const dest of stdout === null ? files.values() : [stdout, ...files.values()]) {
    try {
      dest.flushSync();
    } catch {
      // A destination not yet open (sonic-boom opens async) has nothing buffered to lose.
    }
  }
}
