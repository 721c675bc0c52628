/**
 * @module transform/dims/converter
 * The worker's side of its DIMS converter process (converter-process.ts): started on the first conversion, reniced
 * (CONVERTER_NICE) so image work yields the CPU to the worker's hits, sized with a libuv pool of its own, and
 * restarted after it dies. A job past its deadline by KILL_GRACE_MS (sharp's own timeout is cooperative and a
 * decoder can ignore it) kills the process: the job fails with a timeout, the others with it fail as 'failed', and
 * the next job starts a new converter. Runs in workers.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../log.js';
import type { ConvertJob, ConvertReply } from './converter-process.js';
import { DimsError } from './failure.js';
import type { DimsResult, RunContext } from './run.js';
import type { DimsChain, OutputFormat } from './url.js';

const ENTRY = fileURLToPath(new URL('./converter-process.js', import.meta.url));

/**
 * Niceness of the converter (0 = the worker's, 19 = lowest). Measured: at the worker's own priority, 8 AVIF
 * conversions on a 2-core machine pushed the p99 of 1 KiB hits from 9 ms to 280 ms (test/integration/dims.test.ts).
 */
const CONVERTER_NICE = 10;
/** How long past its deadline a job may run before the converter is killed. */
const KILL_GRACE_MS = 2000;

interface Pending {
  readonly resolve: (result: DimsResult) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class DimsConverter {
  readonly #log: Logger;
  readonly #poolThreads: number;
  #child: ChildProcess | null = null;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  /** `poolThreads`: the converter's libuv pool (conversions it may run at once, plus one for its own I/O). */
  constructor(log: Logger, poolThreads: number) {
    this.#log = log;
    this.#poolThreads = poolThreads;
  }

  /** Runs `chain` over `source` in the converter process; rejects with DimsError. */
  run(source: Buffer, chain: DimsChain, format: OutputFormat | null, ctx: RunContext): Promise<DimsResult> {
    const child = this.#start();
    const id = this.#nextId++;
    return new Promise<DimsResult>((resolve, reject) => {
      const timer = setTimeout(() => this.#kill(child, id), Math.max(0, ctx.deadline - Date.now()) + KILL_GRACE_MS);
      timer.unref();
      this.#pending.set(id, { resolve, reject, timer });
      const job: ConvertJob = { id, source, chain, format, ctx };
      child.send(job, (error) => {
        if (error !== null) this.#settle(id, new DimsError('failed', `converter unreachable: ${error.message}`));
      });
    });
  }

  /** Stops the converter (worker shutdown). */
  close(): void {
    this.#child?.kill('SIGKILL');
    this.#child = null;
  }

  #start(): ChildProcess {
    if (this.#child !== null && this.#child.exitCode === null && this.#child.connected) return this.#child;
    const child = fork(ENTRY, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, UV_THREADPOOL_SIZE: String(this.#poolThreads) },
      execArgv: [],
    });
    try {
      // Never raise it above the worker's own (a worker already at nice 15 keeps its converter there).
      if (child.pid !== undefined && getPriority() < CONVERTER_NICE) setPriority(child.pid, CONVERTER_NICE);
    } catch (error) {
      this.#log.warn({ event: 'dims.converter_nice_failed', err: (error as Error).message }, 'could not lower the DIMS converter priority');
    }
    child.on('message', (reply: ConvertReply) => {
      if (reply.ok) {
        const r = reply.result;
        // IPC may hand the bytes back as a plain Uint8Array: wrap them without a copy.
        const bytes = r.body as Uint8Array;
        const body = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
        this.#settle(reply.id, null, { ...r, body });
      } else this.#settle(reply.id, new DimsError(reply.reason, reply.message));
    });
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = null;
      if (this.#pending.size > 0) this.#log.warn({ event: 'dims.converter_exit', code, signal, jobs: this.#pending.size }, 'DIMS converter exited with jobs under way');
      for (const id of [...this.#pending.keys()]) this.#settle(id, new DimsError('failed', `converter exited (${signal ?? code})`));
    });
    child.on('error', (error) => this.#log.warn({ event: 'dims.converter_error', err: error.message }, 'DIMS converter error'));
    this.#child = child;
    return child;
  }

  /** A job overran its deadline by KILL_GRACE_MS: it fails with a timeout and the converter is replaced. */
  #kill(child: ChildProcess, id: number): void {
    this.#settle(id, new DimsError('timeout', 'conversion killed past its time limit'));
    this.#log.warn({ event: 'dims.converter_killed' }, 'DIMS conversion ran past its time limit: converter restarted');
    if (this.#child === child) this.#child = null;
    child.kill('SIGKILL');
  }

  #settle(id: number, error: Error | null, result?: DimsResult): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (error !== null) pending.reject(error);
    else pending.resolve(result as DimsResult);
  }
}
