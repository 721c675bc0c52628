/**
 * @module cache/index-check
 * The start-up check of each disk's LMDB index, before the primary or any worker maps it. A damaged index (pages
 * overwritten, a truncated file, a bad header) makes lmdb throw on the records it touches, or crash the process
 * that maps it (SIGSEGV, SIGBUS), so it is opened and read first in a child process (cache/index-check-child.ts),
 * bounded in time. A damaged index, or one a worker found damaged at run time (the DAMAGED_MARKER file,
 * CacheStore), is moved aside (index.damaged, the previous one replaced) and the disk starts cold: the block files
 * go too, since no record lists their blocks any more. Runs in the primary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file a worker writes into a disk's directory when an index read failed: the next start discards the index. */
export const DAMAGED_MARKER = 'index-damaged';

/** How long the child reads records; a larger index is checked only this far (the workers' read path covers the rest). */
const WALK_BUDGET_MS = 10_000;
/** The child is killed after this (a damaged page can make lmdb loop): counted as damage. */
const CHILD_TIMEOUT_MS = 60_000;

const CHILD = fileURLToPath(new URL('./index-check-child.js', import.meta.url));

export interface IndexVerdict {
  readonly damaged: boolean;
  /** Why it is damaged (the child's error, its signal, or the marker), '' when sound. */
  readonly reason: string;
  /** Records read, and whether that was all of them (false when the walk ran out of WALK_BUDGET_MS). */
  readonly records: number;
  readonly complete: boolean;
}

/** Checks the index of the disk at `diskPath` in a child process; a disk without an index is sound. */
export function checkIndex(diskPath: string): IndexVerdict {
  const dir = join(diskPath, 'index');
  if (existsSync(join(diskPath, DAMAGED_MARKER))) return { damaged: true, reason: 'a worker found it damaged during the last run', records: 0, complete: false };
  if (!existsSync(join(dir, 'index.lmdb'))) return { damaged: false, reason: '', records: 0, complete: true };
  const child = spawnSync(process.execPath, [CHILD, dir, String(WALK_BUDGET_MS)], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.error !== undefined) return { damaged: true, reason: `check failed: ${child.error.message}`, records: 0, complete: false };
  if (child.signal !== null) return { damaged: true, reason: `reading it killed the checking process (${child.signal})`, records: 0, complete: false };
  if (child.status !== 0) return { damaged: true, reason: child.stderr.trim().split('\n').slice(-3).join(' ') || `check exited with ${String(child.status)}`, records: 0, complete: false };
  try {
    const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as { records: number; complete: boolean };
    return { damaged: false, reason: '', records: result.records, complete: result.complete };
  } catch {
    return { damaged: true, reason: `unexpected check output: ${child.stdout.slice(0, 200)}`, records: 0, complete: false };
  }
}

/**
 * Moves a damaged index aside (to `index.damaged`, replacing an older one, for a post-mortem) and discards the
 * block files and the marker: the disk starts empty.
 */
export function discardIndex(diskPath: string): void {
  const aside = join(diskPath, 'index.damaged');
  rmSync(aside, { recursive: true, force: true });
  if (existsSync(join(diskPath, 'index'))) renameSync(join(diskPath, 'index'), aside);
  rmSync(join(diskPath, 'blocks'), { recursive: true, force: true });
  rmSync(join(diskPath, DAMAGED_MARKER), { force: true });
}
