/**
 * @module primary/supervisor
 * Forks one worker per configured slot, pins worker i to CPU i (taskset -a, all threads), restarts a worker that
 * dies at once -- with exponential backoff while a slot crash-loops -- and stops them all gracefully. Never serves
 * HTTP. Runs only in the primary. Invariant: at most one live worker per slot index. Start-only settings that uWS
 * reads from its environment when it loads are fixed at construction, so a restarted worker matches its siblings.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/types.js';
import { sendToWorker } from '../ipc/channel.js';
import type { PrimaryMessage, WorkerMessage } from '../ipc/messages.js';
import { isWorkerMessage } from '../ipc/messages.js';
import type { Logger } from '../log.js';

/** A worker that lived shorter than this counts as crash-looping. */
const CRASH_LOOP_WINDOW_MS = 10_000;
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 30_000;
/** After the drain timeout, how long a worker gets to exit before SIGKILL. */
const KILL_GRACE_MS = 3_000;

const WORKER_ENTRY = fileURLToPath(new URL('../../workers/edge.js', import.meta.url));

/**
 * Node options of every worker: the primary's own, plus --single-threaded-gc unless `<ParallelGc>` is ON. A worker
 * runs one per core; V8's GC helper threads can only borrow CPU from the workers (or, pinned with CpuAffinity, from
 * their own worker), and under load a scavenge waiting for an unscheduled helper stalled the worker: scavenge pauses
 * of 0.6-10 ms (median) and 10-22 ms (max) per run, against 0.25-0.4 ms and under 1 ms single-threaded, at the same
 * CPU per request (bench/README.md, 'Tails').
 */
export function workerExecArgv(parallelGc: boolean): string[] {
  const argv = [...process.execArgv];
  if (!parallelGc && !argv.includes('--single-threaded-gc')) argv.push('--single-threaded-gc');
  return argv;
}

export interface Slot {
  readonly index: number;
  worker: Worker | null;
  /** True once the current worker reported `listening`. */
  ready: boolean;
  startedAt: number;
  restarts: number;
  /** Consecutive short-lived exits, for backoff. */
  quickExits: number;
  restartTimer: NodeJS.Timeout | null;
}

export interface SupervisorEvents {
  onMessage(slot: Slot, message: WorkerMessage): void;
  /** A worker exited; `planned` is true during shutdown. */
  onExit(slot: Slot, pid: number, code: number | null, signal: string | null, planned: boolean): void;
}

export class Supervisor {
  readonly #slots: Slot[] = [];
  readonly #log: Logger;
  readonly #events: SupervisorEvents;
  #config: Config;
  /** Environment of every worker, from the config Flint started with (reload.ts lists these as restart-only). */
  readonly #workerEnv: Readonly<Record<string, string>>;
  #stopping = false;
  #pinWarned = false;

  constructor(config: Config, log: Logger, events: SupervisorEvents) {
    this.#config = config;
    this.#log = log;
    this.#events = events;
    // uWS reads its header-size limit once, when its binary loads (spikes.md item 8); past it the client gets 431.
    this.#workerEnv = { UWS_HTTP_MAX_HEADERS_SIZE: String(config.server.maxRequestHeaderBytes) };
    cluster.setupPrimary({ exec: WORKER_ENTRY, silent: false, execArgv: workerExecArgv(config.server.parallelGc) });
  }

  get slots(): readonly Slot[] {
    return this.#slots;
  }

  /** The config new and restarted workers get. */
  set config(config: Config) {
    this.#config = config;
  }

  start(): void {
    for (let index = 0; index < this.#config.server.workers; index++) {
      const slot: Slot = { index, worker: null, ready: false, startedAt: 0, restarts: 0, quickExits: 0, restartTimer: null };
      this.#slots.push(slot);
      this.#fork(slot);
    }
  }

  #fork(slot: Slot): void {
    slot.restartTimer = null;
    slot.ready = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ ...this.#workerEnv, FLINT_WORKER_INDEX: String(slot.index) });
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === 'hello') sendToWorker(worker, { type: 'config', config: this.#config });
      else if (message.type === 'listening') slot.ready = true;
      this.#events.onMessage(slot, message);
    });
    worker.on('online', () => this.#pin(slot, worker));
    // An IPC send racing the worker's death (EPIPE, channel closed) is reported as 'error'; unhandled, it would take
    // the primary down with it. The 'exit' that follows restarts the worker.
    worker.on('error', (error) => this.#log.warn({ event: 'worker.ipc_error', worker: slot.index, err: error.message }, 'IPC with a worker failed'));
    worker.on('exit', (code, signal) => this.#exited(slot, worker, code, signal));
  }

  #pin(slot: Slot, worker: Worker): void {
    const pid = worker.process.pid;
    if (!this.#config.server.cpuAffinity || pid === undefined) return;
    const cpu = slot.index % availableParallelism();
    execFile('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], (error) => {
      if (error === null) {
        this.#log.info({ event: 'worker.pinned', worker: slot.index, pid, cpu }, 'worker pinned to cpu');
      } else if (!this.#pinWarned) {
        this.#pinWarned = true;
        this.#log.warn({ event: 'worker.pin_failed', err: error.message }, 'cannot pin workers to CPUs (taskset missing or not permitted); running unpinned');
      }
    });
  }

  #exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.ready = false;
    const pid = worker.process.pid ?? 0;
    this.#events.onExit(slot, pid, code, signal, this.#stopping);
    if (this.#stopping) return;
    const lived = Date.now() - slot.startedAt;
    slot.quickExits = lived < CRASH_LOOP_WINDOW_MS ? slot.quickExits + 1 : 0;
    // First exit: replace at once; a slot that keeps dying young backs off exponentially.
    const delay = slot.quickExits <= 1 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (slot.quickExits - 2));
    slot.restarts++;
    this.#log.error({ event: 'worker.exit', worker: slot.index, pid, code, signal, restartInMs: delay }, 'worker died; restarting');
    slot.restartTimer = setTimeout(() => this.#fork(slot), delay);
  }

  /** Sends a message to every live worker. */
  broadcast(message: PrimaryMessage): void {
    for (const slot of this.#slots) if (slot.worker !== null) sendToWorker(slot.worker, message);
  }

  /** Sends `message` to every live worker but the one in `except`. */
  broadcastExcept(except: Slot, message: PrimaryMessage): void {
    for (const slot of this.#slots) if (slot !== except && slot.worker !== null) sendToWorker(slot.worker, message);
  }

  /** Asks every worker to drain within `timeoutMs` and exit; SIGKILLs stragglers after a grace period. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      const worker = slot.worker;
      if (worker === null) continue;
      exits.push(
        new Promise((resolve) => {
          if (worker.isDead()) return resolve();
          const kill = setTimeout(() => worker.process.kill('SIGKILL'), timeoutMs + KILL_GRACE_MS);
          worker.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
        }),
      );
      sendToWorker(worker, { type: 'shutdown', timeoutMs });
    }
    await Promise.all(exits);
  }
}
