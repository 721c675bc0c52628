/**
 * @module bench/targets/target
 * The one interface every bench target implements (origin, nginx, Flint, later Varnish): a started server with a
 * root pid whose process tree is the server's CPU figure, a loopback base URL, its exact config files and a stop
 * that ends it by pid and removes its temp dir. Invariant: after stop() resolves, nothing the target started runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running server under test. */
export interface RunningTarget {
  /** Result row name, e.g. 'nginx-pass-2w'. */
  readonly name: string;
  /** Worker processes serving requests. */
  readonly workers: number;
  /** Root pid; it and all its descendants are "the server" for CPU accounting. */
  readonly pid: number;
  /** 'http://127.0.0.1:PORT', no trailing slash. */
  readonly baseUrl: string;
  /** Exact config files, by file name, as written for this run. */
  readonly configs: Readonly<Record<string, string>>;
  /** SIGTERM by pid, SIGKILL after a grace period, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Temp dirs not yet removed; whatever is left when the bench exits (Ctrl-C mid-run) is removed then. */
const TEMP_DIRS = new Set<string>();
let exitHookInstalled = false;

/** A fresh temp dir for one target, e.g. /tmp/flint-bench-nginx-pass-XXXXXX. */
export function makeTempDir(name: string): string {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => [...TEMP_DIRS].forEach(removeTempDir));
  }
  const dir = mkdtempSync(join(tmpdir(), `flint-bench-${name}-`));
  TEMP_DIRS.add(dir);
  return dir;
}

/** Remove a target's temp dir (never throws: a leftover temp dir must not fail a run). */
export function removeTempDir(dir: string): void {
  TEMP_DIRS.delete(dir);
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    console.warn(`  could not remove ${dir}: ${(err as Error).message}`);
  }
}
