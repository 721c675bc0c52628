/**
 * @module bench/lib/processes
 * Every process the bench starts (origin, peers, Flint, wrk) is spawned here and tracked by pid until it exits.
 * Invariant: when the bench process ends (normal exit, error, Ctrl-C, SIGTERM) no tracked process or descendant
 * of one is left running; they are signalled by pid only, never by name. Runs in the bench process.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { descendantsOf } from './cpu.js';

/** A spawned process with the tail of its output, kept for failure messages. */
export interface Tracked {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Last ~8 KiB of stdout+stderr. */
  output(): string;
  /** Full stdout, when `captureStdout` was asked for (wrk). */
  stdout(): string;
  hasExited(): boolean;
}

const LIVE = new Map<number, Tracked>();
const OUTPUT_TAIL_BYTES = 8192;

/** Spawn `cmd args` without a shell (so the pid is the program's own) and track it. Throws if the spawn fails. */
export async function spawnTracked(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: SpawnOptions & { captureStdout?: boolean } = {},
): Promise<Tracked> {
  installExitHandlers();
  if (stopping) throw new Error(`${name}: not started, the bench is stopping`);
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  // A failed exec surfaces as an 'error' event with no pid; wait for spawn or error before tracking it.
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: spawn of ${cmd} gave no pid`);
  let tail = '';
  let full = '';
  let done = false;
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (opts.captureStdout === true) full += chunk.toString('utf8');
  });
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      LIVE.delete(pid);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const tracked: Tracked = {
    name,
    child,
    pid,
    exited,
    output: () => tail,
    stdout: () => full,
    hasExited: () => done,
  };
  LIVE.set(pid, tracked);
  return tracked;
}

/**
 * Stop one tracked process: SIGTERM to its pid, wait up to `graceMs`, then SIGKILL it and every descendant
 * that is still alive (nginx workers or Flint workers can outlive a killed master). Resolves once it has exited.
 */
export async function stopTracked(t: Tracked, graceMs = 15_000): Promise<void> {
  if (t.hasExited()) return;
  const family = descendantsOf(t.pid);
  signal(t.pid, 'SIGTERM');
  const timedOut = await Promise.race([t.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    console.warn(`  ${t.name} (pid ${t.pid}) did not exit ${graceMs} ms after SIGTERM; sending SIGKILL`);
    signal(t.pid, 'SIGKILL');
    await t.exited;
  }
  // Descendants are reaped by their own parent; make sure none survived an unclean stop.
  for (const pid of family) if (isAlive(pid)) signal(pid, 'SIGKILL');
}

/** Stop every process still tracked, in reverse start order. */
export async function stopAll(): Promise<void> {
  const all = [...LIVE.values()].reverse();
  for (const t of all) await stopTracked(t, 5_000);
}

/** `cmd args` as a copy-pasteable shell line (recorded with results): args with shell metacharacters get quotes. */
export function commandLine(cmd: string, args: readonly string[]): string {
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [cmd, ...args].map(quote).join(' ');
}

/** Sleep `ms` milliseconds (timer unref'd so it never keeps the bench alive by itself). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone, which is what we wanted.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let handlersInstalled = false;
/** Set once a signal asked the bench to stop: nothing new is spawned after that. */
let stopping = false;

/** On Ctrl-C/SIGTERM stop everything gracefully; on any exit SIGKILL whatever is left (sync, by pid). */
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const onSignal = (sig: NodeJS.Signals): void => {
    stopping = true;
    console.error(`\nbench: ${sig} received, stopping ${LIVE.size} process(es) it started`);
    void stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => {
    for (const t of LIVE.values()) {
      for (const pid of descendantsOf(t.pid)) signal(pid, 'SIGKILL');
      signal(t.pid, 'SIGKILL');
    }
  });
}
