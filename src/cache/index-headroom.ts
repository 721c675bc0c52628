/**
 * @module cache/index-headroom
 * File-system blocks allocated ahead of the index file's last page, so that an index commit never meets a full file
 * system. lmdb 3.5.6 (the newest release) aborts the whole process when a page write fails with ENOSPC:
 * mdb_page_flush formats its error message with sprintf into a 100-byte malloc, printing I/O vector lengths it never
 * set, and overruns it (glibc then aborts: "corrupted size vs. prev_size", "free(): invalid pointer"). Seen as a
 * worker's SIGABRT when a fill filled a tmpfs under load (test/integration/cache-storage.test.ts), and reproduced
 * with a bare lmdb on a full tmpfs, which printed a garbage length of 761448280 into that buffer.
 *
 * Blocks allocated with `fallocate --keep-size` lie past the end of the file: the file's size, and so everything
 * LMDB sees, stays the same, and its later writes there need no new blocks (measured on a full 4 MiB tmpfs: 800 KiB
 * of index growth committed with the headroom, the first commit failed without). The primary tops the headroom up
 * whenever less than half of it is left (every eviction pass, 100 ms), and at start before any worker writes. When
 * the file system has no room even for that, the disk's reserve file (cache/disk-space.ts) gives its blocks to the
 * headroom. util-linux's `fallocate` does it: Node has no fallocate(2), and the call is rare (once per half a
 * headroom of index growth; reading LMDB's last page each pass costs ~6 µs). Runs in the primary.
 */
import { execFile, execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';

/** How long after a failed top-up the next is tried. */
const RETRY_MS = 1000;
/** fallocate's messages in English whatever the operator's locale: `failure` tells a full file system by its text. */
const FALLOCATE_ENV = { ...process.env, LC_ALL: 'C' };

/** What topping up found: done (or not needed), no room on the file system, or no fallocate for this file. */
export type HeadroomResult = 'ok' | 'no-space' | 'unsupported';

/** The index file and how far into it LMDB has written pages (CacheIndex.fileUse). */
export interface IndexFileUse {
  readonly path: string;
  readonly usedBytes: number;
}

export class IndexHeadroom {
  readonly #path: string;
  /** Bytes kept allocated past LMDB's last page. */
  readonly bytes: number;
  /** Where the file's allocated blocks end (its size, or past it once fallocate ran). */
  #allocatedTo: number;
  #busy = false;
  /** After a failed top-up, when to try again (a full file system is not asked ten times a second). */
  #retryAt = 0;

  constructor(path: string, bytes: number) {
    this.#path = path;
    this.bytes = bytes;
    // Blocks allocated past the end (by a previous run) count: st_blocks covers them, st_size does not.
    const st = statSync(path);
    this.#allocatedTo = Math.max(st.size, st.blocks * 512);
  }

  /** Bytes allocated past `usedBytes` (LMDB's last page). */
  ahead(usedBytes: number): number {
    return Math.max(0, this.#allocatedTo - usedBytes);
  }

  /** Whether less than half the headroom is left past `usedBytes`. */
  low(usedBytes: number): boolean {
    return this.ahead(usedBytes) < this.bytes / 2;
  }

  /** Tops the headroom up now, blocking (at start, before the workers open the index). */
  keepSync(usedBytes: number): HeadroomResult {
    if (!this.low(usedBytes)) return 'ok';
    try {
      execFileSync('fallocate', this.#args(usedBytes), { stdio: ['ignore', 'ignore', 'pipe'], env: FALLOCATE_ENV });
    } catch (error) {
      return failure(error);
    }
    this.#allocatedTo = Math.max(this.#allocatedTo, usedBytes + this.bytes);
    return 'ok';
  }

  /**
   * Tops the headroom up in the background when it runs low; `done` gets the outcome (not called when not needed).
   * After a failure the next try waits RETRY_MS, unless `now` (space was just freed for it).
   */
  keep(usedBytes: number, done: (result: HeadroomResult) => void, now = false): void {
    if (this.#busy || (!now && Date.now() < this.#retryAt) || !this.low(usedBytes)) return;
    this.#busy = true;
    execFile('fallocate', this.#args(usedBytes), { env: FALLOCATE_ENV }, (error) => {
      this.#busy = false;
      if (error === null) this.#allocatedTo = Math.max(this.#allocatedTo, usedBytes + this.bytes);
      else this.#retryAt = Date.now() + RETRY_MS;
      done(error === null ? 'ok' : failure(error));
    });
  }

  #args(usedBytes: number): string[] {
    return ['--keep-size', '--offset', String(usedBytes), '--length', String(this.bytes), this.#path];
  }
}

/** A failed fallocate: the file system full, or anything else (no such program, a file system without it). */
function failure(error: unknown): HeadroomResult {
  const e = error as { stderr?: unknown; message?: unknown };
  const text = `${String(e.stderr ?? '')} ${String(e.message ?? '')}`;
  return text.includes('No space left on device') ? 'no-space' : 'unsupported';
}
