/**
 * @module cache/disk-space
 * What a disk may hold and the headroom its index needs. A disk without a Quota gets one derived at start:
 * DEFAULT_QUOTA_PERCENT of the space Flint can use on its file system (its own files plus the free space), so the
 * evictor counts Flint's own bytes against a limit it can reach by evicting (comparing the file system's usage
 * instead evicted everything while other files, or block files that never shrink, kept it full). And LMDB needs free
 * pages to delete anything: on a full file system an eviction or a hard purge failed with ENOSPC, so the primary
 * keeps a reserve file it deletes when the index's headroom (cache/index-headroom.ts) needs its blocks, or when an
 * index write still hits ENOSPC (then retries), and writes again once there is room. Runs in the primary.
 */
import { existsSync, lstatSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Share (percent) of the usable space a disk without Quota gets. */
export const DEFAULT_QUOTA_PERCENT = 90;

/** The reserve file's name in a disk's directory. */
export const RESERVE_FILE = 'index-reserve';

/** Reserve size: this share of the file system, within [RESERVE_MIN, RESERVE_MAX] (LMDB needs a few pages per delete). */
const RESERVE_PERCENT = 2;
const RESERVE_MIN = 256 * 1024;
const RESERVE_MAX = 8 * 1024 * 1024;

export interface DerivedQuota {
  readonly quotaBytes: number;
  /** The file system's size, the bytes Flint's files take on it, and its free space (for unprivileged users). */
  readonly fsBytes: number;
  readonly ownBytes: number;
  readonly availableBytes: number;
}

/** Bytes on disk of the files under `dir` (allocated blocks: sparse block files count what they hold). */
function bytesUnder(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const path = join(dir, name);
    const st = lstatSync(path);
    total += st.isDirectory() ? bytesUnder(path) : st.blocks * 512;
  }
  return total;
}

/** The quota of a disk without one: DEFAULT_QUOTA_PERCENT of (Flint's own bytes + free space), less the reserve. */
export function deriveQuota(diskPath: string): DerivedQuota {
  const fs = statfsSync(diskPath);
  const fsBytes = fs.blocks * fs.bsize;
  const availableBytes = fs.bavail * fs.bsize;
  // A damaged index kept aside (cache/index-check.ts) is not space the cache can use: it stays until removed.
  const ownBytes = bytesUnder(diskPath) - bytesUnder(join(diskPath, 'index.damaged'));
  const usable = Math.min(fsBytes, ownBytes + availableBytes);
  // At least 1: a quota of 0 would read as no quota at all.
  const quotaBytes = Math.max(1, Math.floor((usable * DEFAULT_QUOTA_PERCENT) / 100) - reserveBytes(fsBytes));
  return { quotaBytes, fsBytes, ownBytes, availableBytes };
}

function reserveBytes(fsBytes: number): number {
  return Math.min(RESERVE_MAX, Math.max(RESERVE_MIN, Math.floor((fsBytes * RESERVE_PERCENT) / 100)));
}

/** Below this many free bytes, an EIO from an index write is taken for a full file system (see isNoSpace). */
const FULL_BELOW_BYTES = 1024 * 1024;

/**
 * Whether an error is the file system being full (lmdb reports errno 28 as a number). LMDB turns a short write
 * into EIO (mdb_page_flush: a write that stored fewer bytes than asked), which is what a commit meets when the file
 * system fills in the middle of it (measured on tmpfs); so with `dir` given, an EIO counts too while that file
 * system has less than FULL_BELOW_BYTES free. A real I/O error on a disk with room stays an error.
 */
export function isNoSpace(error: unknown, dir?: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  if (e?.code === 'ENOSPC' || e?.code === 28 || message.includes('No space left on device')) return true;
  if (dir === undefined || !(e?.code === 'EIO' || e?.code === 5 || message.includes('Input/output error'))) return false;
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize < FULL_BELOW_BYTES;
  } catch {
    return false;
  }
}

/** The reserve file of one disk (see the module doc). */
export class DiskReserve {
  readonly #path: string;
  readonly #diskPath: string;
  readonly bytes: number;

  constructor(diskPath: string) {
    this.#diskPath = diskPath;
    this.#path = join(diskPath, RESERVE_FILE);
    const fs = statfsSync(diskPath);
    this.bytes = reserveBytes(fs.blocks * fs.bsize);
  }

  /** Writes the reserve when it is missing and the file system has room for it and as much again; true when present. */
  ensure(): boolean {
    if (existsSync(this.#path)) return true;
    const fs = statfsSync(this.#diskPath);
    if (fs.bavail * fs.bsize < 2 * this.bytes) return false;
    try {
      // Written, not sparse: the point is to hold real blocks.
      writeFileSync(this.#path, Buffer.alloc(this.bytes));
      return true;
    } catch {
      rmSync(this.#path, { force: true });
      return false;
    }
  }

  /** Deletes the reserve so an index write can get pages; false when there was none to delete. */
  release(): boolean {
    if (!existsSync(this.#path)) return false;
    rmSync(this.#path, { force: true });
    return true;
  }
}
