/**
 * @module transform/dims/converter
 * The worker's side of its DIMS converter process (converter-process.ts): started on the first conversion under
 * Linux's SCHED_IDLE policy (through `chrt --idle 0` when the machine has chrt and allows it; else only reniced to
 * CONVERTER_NICE), sized with a libuv pool of its own, and restarted after it dies. A job past its deadline by
 * KILL_GRACE_MS (sharp's own timeout is cooperative and a decoder can ignore it) kills the process: the job fails
 * with a timeout, the others with it fail as 'failed', and the next job starts a new converter. Runs in workers.
 */
import { execFile, spawn } from 'node:child_process';
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
 * Niceness of the converter (0 = the worker's, 19 = lowest), set in every case. Measured: at the worker's own
 * priority, 8 AVIF conversions on a 2-core machine pushed the p99 of 1 KiB hits from 9 ms to 280 ms.
 */
const CONVERTER_NICE = 10;

/**
 * Why SCHED_IDLE on top of nice: nice only lowers a thread's share of the CPU; a niced converter thread that holds
 * a core when a hit wakes the worker may still run on for the rest of its time slice (Linux's EEVDF scheduler
 * protects the running task's slice), so with converter threads on every core a hit could wait a slice. A
 * SCHED_IDLE thread is preempted at once by any normal task's wakeup and only takes CPU the rest of the machine
 * leaves (measured: bench/dims-hits.ts, bench/README.md "DIMS beside hits"). `chrt` is util-linux; the probe runs
 * once per worker, off the event loop, before its first converter starts.
 */
const IDLE_LAUNCHER: readonly string[] = ['chrt', '--idle', '0'];

/** Whether `chrt --idle 0` works here (present, and the kernel lets this process take SCHED_IDLE). */
function probeIdleLauncher(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(IDLE_LAUNCHER[0] as string, [...IDLE_LAUNCHER.slice(1), 'true'], { timeout: 5000 }, (error) => resolve(error === null));
  });
}

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
  /** Whether converters start under SCHED_IDLE (probed once, on the first conversion). */
  #idle: Promise<boolean> | null = null;
  #closed = false;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  /** `poolThreads`: the converter's libuv pool (conversions it may run at once, plus one for its own I/O). */
  constructor(log: Logger, poolThreads: number) {
    this.#log = log;
    this.#poolThreads = poolThreads;
  }

  /** Runs `chain` over `source` in the converter process; rejects with DimsError. */
  async run(source: Buffer, chain: DimsChain, format: OutputFormat | null, ctx: RunContext): Promise<DimsResult> {
    this.#idle ??= probeIdleLauncher().then((works) => {
      if (!works) this.#log.warn({ event: 'dims.converter_idle_unavailable' }, 'chrt --idle is not available: the DIMS converter runs reniced only');
      return works;
    });
    const idle = await this.#idle;
    if (this.#closed) throw new DimsError('failed', 'the converter is closed');
    const child = this.#start(idle);
    const id = this.#nextId++;
    return new Promise<DimsResult>((resolve, reject) => {
      const timer = setTimeout(() => this.#kill(child, id), Math.max(0, ctx.deadline - Date.now()) + KILL_GRACE_MS);
      timer.unref();
      this.#pending.set(id, { resolve, reject, timer });
      // The source goes down the converter's stdin as it is (the pipe writes from this buffer); only the job's
      // description goes over IPC. Serialised into the IPC message, each source was copied into a new buffer of
      // twice its size, garbage the worker's GC had to collect between hits: over 150 conversions of a 300 KB JPEG,
      // 4-6 scavenges and 2-4 mark-compacts in the worker before, 0-3 and 0-2 since (--trace-gc, loaded machine).
      const job: ConvertJob = { id, sourceBytes: source.length, chain, format, ctx };
      child.send(job, (error) => {
        if (error !== null) this.#settle(id, new DimsError('failed', `converter unreachable: ${error.message}`));
      });
      child.stdin?.write(source);
    });
  }

  /** Stops the converter (worker shutdown). */
  close(): void {
    this.#closed = true;
    this.#child?.kill('SIGKILL');
    this.#child = null;
  }

  #start(idle: boolean): ChildProcess {
    if (this.#child !== null && this.#child.exitCode === null && this.#child.connected) return this.#child;
    // chrt execs node in the same process (same pid, the IPC descriptor and environment kept), so every thread
    // the converter ever starts inherits SCHED_IDLE.
    const argv = idle ? [...IDLE_LAUNCHER, process.execPath, ENTRY] : [process.execPath, ENTRY];
    const child = spawn(argv[0] as string, argv.slice(1), {
      serialization: 'advanced',
      stdio: ['pipe', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, UV_THREADPOOL_SIZE: String(this.#poolThreads) },
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
    // A converter that died leaves its stdin broken (EPIPE): its jobs fail through the 'exit' handler above.
    child.stdin?.on('error', () => undefined);
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
