/**
 * Small real file systems for the disk-full tests: a tmpfs of a given size mounted on a fresh temp dir (needs root
 * with CAP_SYS_ADMIN, as CI has; callers skip with a reason when `mountTmpfs` returns null).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounts a tmpfs of `size` (mount's syntax: `3m`, `20m`); null when mounting is not allowed here. */
export function mountTmpfs(size: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'flint-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmdirSync(dir);
    return null;
  }
}

/** Unmounts a dir from `mountTmpfs` and removes it. */
export function unmountTmpfs(dir: string): void {
  execFileSync('umount', [dir]);
  rmdirSync(dir);
}
