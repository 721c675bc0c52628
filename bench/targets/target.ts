/**
 * @module bench/targets/target
 * The one interface every bench target implements (origin, nginx, Flint, later Varnish): a started server with a
 * root pid whose process tree is the server's CPU figure, a loopback base URL, its exact config files and a stop
 * that ends it by pid and removes its temp dir. Invariant: after stop() resolves, nothing the target started runs.
 */
import { accessSync, constants, mkdtempSync, rmSync, statfsSync } from 'node:fs';
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
  /** Flint only: the manager's GET /stats URL (totals.cacheResults, totals.originRequests), kept with results. */
  readonly statsUrl?: string;
  /** Exact config files, by file name, as written for this run. */
  readonly configs: Readonly<Record<string, string>>;
  /**
   * Cache targets: the bytes the cache holds now, by the product's own accounting against its size cap (nginx: the
   * allocated size of its cache files, what max_size is checked against; Varnish: SMA.s0.g_bytes; Flint: the
   * disks' usedBytes in /stats). Sampled during `zipf`, where every product has the same cap.
   */
  storedBytes?(): Promise<number>;
  /** SIGTERM by pid, SIGKILL after a grace period, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Temp dirs not yet removed; whatever is left when the bench exits (Ctrl-C mid-run) is removed then. */
const TEMP_DIRS = new Set<string>();
let exitHookInstalled = false;

/** A fresh temp dir for one target under `root` (default the OS temp dir), e.g. /tmp/flint-bench-nginx-pass-XXXXXX. */
export function makeTempDir(name: string, root: string = tmpdir()): string {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => [...TEMP_DIRS].forEach(removeTempDir));
  }
  const dir = mkdtempSync(join(root, `flint-bench-${name}-`));
  TEMP_DIRS.add(dir);
  return dir;
}

const TMPFS_MAGIC = 0x01021994;

/**
 * Where the cache scenarios put the caches of Flint and nginx: /dev/shm when it is a writable tmpfs, else the OS
 * temp dir. Memory-backed, like Varnish's malloc storage, because on this VM's ext4 (mounted with `discard`) creating
 * a file cost nginx 0.35-0.55 ms per openat/mkdir and a whole miss 1.4-1.7 ms of kernel CPU, varying 10x over one
 * session as other work deleted files; on tmpfs the same miss cost 0.08 ms (bench/README.md "Cache storage").
 */
export function defaultCacheRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    if (statfsSync('/dev/shm').type === TMPFS_MAGIC) return '/dev/shm';
  } catch {
    // no /dev/shm here
  }
  return tmpdir();
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
