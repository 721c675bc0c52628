/**
 * @module bench/lib/environment
 * What a result was measured on: the commit, the machine (cores, CPU model, kernel, memory, load before the run)
 * and the version of every program involved. Also finds the external tools (wrk, nginx, varnishd) on PATH so a
 * missing one becomes a skip line, not a crash. (h2load comes from nghttp2-client, openssl makes the TLS scenarios'
 * certificates.) Runs in the bench process.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';

/** The repository root (bench/lib/ compiles to dist/bench/lib/, three levels down from the root). */
export const REPO_ROOT = new URL('../../../', import.meta.url).pathname.replace(/\/$/, '');

/** External programs the bench may use, with the apt package that provides each. */
export const TOOLS = {
  wrk: { bin: 'wrk', apt: 'wrk' },
  nginx: { bin: 'nginx', apt: 'nginx' },
  varnish: { bin: 'varnishd', apt: 'varnish' },
  h2load: { bin: 'h2load', apt: 'nghttp2-client' },
} as const;
export type ToolName = keyof typeof TOOLS;

/** Absolute path of `bin` on PATH (plus the sbin dirs nginx/varnishd live in), or null. */
export function findOnPath(bin: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const p = join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** The skip line printed for a missing tool. */
export function missingToolLine(tool: ToolName, what: string): string {
  return `skip ${what}: ${TOOLS[tool].bin} is not installed (apt-get install ${tool === 'h2load' ? TOOLS.h2load.apt : 'nginx varnish wrk'})`;
}

/** `git rev-parse --short HEAD`, or 'uncommitted' in a repo without commits (or without git). */
export function shortCommit(): string {
  try {
    return git(['rev-parse', '--short', 'HEAD']).trim();
  } catch {
    return 'uncommitted';
  }
}

/** True when tracked files differ from HEAD (or there is no HEAD): the figures are then not of that commit alone. */
export function worktreeDirty(): boolean {
  try {
    git(['rev-parse', 'HEAD']);
    return git(['status', '--porcelain', '--untracked-files=no']).trim() !== '';
  } catch {
    return true;
  }
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** The machine a result was measured on. */
export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly memGiB: number;
  /** 1-minute load average just before the bench started: a busy machine makes every figure suspect. */
  readonly loadavg1: number;
}

export function machineInfo(): MachineInfo {
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    kernel: release(),
    memGiB: Math.round(totalmem() / 1024 ** 3),
    loadavg1: loadavg()[0] ?? 0,
  };
}

/**
 * Versions of everything involved; a tool that is not installed is reported as null. `flint` is the build the Flint
 * targets run: its entry point and its checkout (this one, or another's with `--flint-dist`), whose commit and
 * node_modules (uWS) are reported.
 */
export function versions(flint: { main: string; root: string } = { main: join(REPO_ROOT, 'dist/src/main.js'), root: REPO_ROOT }): Record<string, string | null> {
  let flintCommit: string | null = null;
  try {
    flintCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: flint.root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return {
    node: process.version,
    flint: readJsonVersion(join(flint.root, 'package.json')),
    flintMain: flint.main,
    flintCommit,
    // `node dist/bench/run.js` does not rebuild: this says which build of Flint was measured.
    flintBuiltAt: mtimeIso(flint.main),
    // Flint's own uWS (the origin and floors always use this checkout's).
    uWebSockets: readJsonVersion(join(flint.root, 'node_modules/uWebSockets.js/package.json')),
    undici: readJsonVersion(join(REPO_ROOT, 'node_modules/undici/package.json')),
    wrk: toolVersion('wrk', ['-v'], /^wrk (\S+)/m),
    nginx: toolVersion('nginx', ['-v'], /nginx\/(\S+)/),
    varnish: toolVersion('varnishd', ['-V'], /varnish-(\S+)/),
    h2load: toolVersion('h2load', ['--version'], /nghttp2\/(\S+)/),
    openssl: toolVersion('openssl', ['version'], /OpenSSL (\S+)/),
  };
}

function mtimeIso(path: string): string | null {
  try {
    return statSync(path).mtime.toISOString();
  } catch {
    return null;
  }
}

function readJsonVersion(path: string): string | null {
  try {
    const v = (JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** Run `bin args` and pick the version out of stdout+stderr (wrk -v exits 1, nginx -v prints to stderr). */
function toolVersion(bin: string, args: string[], re: RegExp): string | null {
  const path = findOnPath(bin);
  if (path === null) return null;
  const r = spawnSync(path, args, { encoding: 'utf8', timeout: 5_000 });
  const m = re.exec(`${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  return m?.[1] ?? 'unknown';
}
