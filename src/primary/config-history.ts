/**
 * @module primary/config-history
 * Snapshots of every applied config (STON's config history): at start ('loaded'), after a reload that changed it
 * ('modified') and after a rollback ('restored'), the config's files are copied to `<dir>/<hash>/`: server.xml,
 * vhosts.xml and the rule files `svc/<vhost>/*.txt` present (config/load.ts listRuleFiles, the set the hash covers).
 * `<dir>/history.json` lists the snapshots (id, time, hash, type, size), oldest first, at most <ConfigHistory>.
 * Identical configs share a hash and its files. Also keeps the text of the running files for /conf/server.xml.
 * Invariant: every hash listed has its files on disk, and its directory has `svc/` (empty when the config had no
 * rule files). A directory without `svc/` was written before rule files were kept: restore refuses it unless its
 * XML files alone give its hash (else its rule files are unknown). Every file copied keeps the permission bits of
 * the file it copies (server.xml may hold the manager token: a 0600 source never becomes a 0644 snapshot), and a
 * file written back over the conf directory keeps the bits of the file it replaces. Runs only in the primary.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hashConfigText, listRuleFiles, ruleFilesByVhost } from '../config/load.js';
import type { RuleFileText } from '../config/load.js';
import type { Config } from '../config/types.js';

export type SnapshotType = 'loaded' | 'modified' | 'restored';

/** One snapshot, as /conf/history lists it (STON's fields). */
export interface Snapshot {
  readonly id: number;
  /** ISO time it was applied. */
  readonly time: string;
  readonly hash: string;
  readonly type: SnapshotType;
  /** Bytes of server.xml + vhosts.xml (the rule files are not counted, as before they were kept). */
  readonly size: number;
}

/** The files of one config: the two XML files and the rule files present. */
interface ConfigFiles {
  readonly server: string;
  readonly vhosts: string;
  readonly rules: readonly RuleFileText[];
  /** Permission bits of each file as read, by path relative to its directory (`server.xml`, `svc/a/ttl.txt`). */
  readonly modes: ReadonlyMap<string, number>;
}

/** Permission bits of a file, or null when it does not exist. */
function modeOf(path: string): number | null {
  try {
    return statSync(path).mode & 0o7777;
  } catch {
    return null;
  }
}

/** Reads a config's files from `dir` (a conf directory or a snapshot directory); null if one cannot be read. */
function readConfigFiles(dir: string): ConfigFiles | null {
  const problems: string[] = [];
  try {
    const server = readFileSync(join(dir, 'server.xml'), 'utf8');
    const vhosts = readFileSync(join(dir, 'vhosts.xml'), 'utf8');
    const rules = listRuleFiles(dir, problems);
    const modes = new Map<string, number>();
    for (const file of ['server.xml', 'vhosts.xml', ...rules.map((r) => r.path)]) modes.set(file, modeOf(join(dir, file)) ?? 0o600);
    return problems.length === 0 ? { server, vhosts, rules, modes } : null;
  } catch {
    return null;
  }
}

const hashFiles = (files: ConfigFiles): string => hashConfigText(files.server, files.vhosts, ruleFilesByVhost(files.rules));

/**
 * Writes a file whole or not at all (a reload reading it half-written would fail). With `mode`, the file gets
 * exactly those permission bits: it is written as a new owner-only file, then chmod'ed (past the umask, and so that
 * a read-only source mode such as 0400 does not stop the write) before it takes the real name.
 */
function writeAtomic(path: string, text: string, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp`;
  rmSync(temp, { force: true });
  if (mode === undefined) {
    writeFileSync(temp, text);
  } else {
    writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
    chmodSync(temp, mode);
  }
  renameSync(temp, path);
}

/**
 * Makes `dir` hold exactly `files`: writes them, and removes rule files of `dir` not among them. Each file gets the
 * bits it was read with, or (`keepTargetModes`, writing over a conf directory) those of the file it replaces.
 */
function writeConfigFiles(dir: string, files: ConfigFiles, keepTargetModes: boolean): void {
  const keep = new Set(files.rules.map((r) => r.path));
  for (const stale of listRuleFiles(dir, [])) if (!keep.has(stale.path)) rmSync(join(dir, stale.path), { force: true });
  const write = (file: string, text: string): void => {
    const target = join(dir, file);
    const mode = (keepTargetModes ? modeOf(target) : null) ?? files.modes.get(file) ?? 0o600;
    writeAtomic(target, text, mode);
  };
  for (const rule of files.rules) write(rule.path, rule.text);
  write('server.xml', files.server);
  write('vhosts.xml', files.vhosts);
}

/** The directory of the snapshots of `config` (<ConfigHistory Dir>, else history/ in the conf directory). */
export function historyDir(config: Config): string {
  return config.server.configHistory.dir ?? join(config.confDir, 'history');
}

export class ConfigHistory {
  #running: { server: string; vhosts: string } | null = null;
  #snapshots: Snapshot[] = [];
  #dir = '';
  #keep = 0;

  /** The history of `config`'s directory (read from history.json if it exists). */
  constructor(config: Config) {
    this.#configure(config);
    const listPath = join(this.#dir, 'history.json');
    try {
      if (existsSync(listPath)) this.#snapshots = JSON.parse(readFileSync(listPath, 'utf8')) as Snapshot[];
    } catch {
      this.#snapshots = [];
    }
  }

  #configure(config: Config): void {
    this.#dir = historyDir(config);
    this.#keep = config.server.configHistory.keep;
  }

  /**
   * Records `config` as applied: reads its files and keeps them if they still hash to `config.hash` (else they
   * changed on disk after loading; the running text is then unknown). Returns the snapshot, or null.
   */
  record(config: Config, type: SnapshotType): Snapshot | null {
    this.#configure(config);
    const files = readConfigFiles(config.confDir);
    if (files === null || hashFiles(files) !== config.hash) return null;
    const { server, vhosts } = files;
    this.#running = { server, vhosts };
    const last = this.#snapshots[this.#snapshots.length - 1];
    if (this.#keep === 0 || (type === 'modified' && last?.hash === config.hash)) return null;
    const snapshotDir = join(this.#dir, config.hash);
    // Rewritten whole: a directory left by an older Flint (XML only) gains the rule files and svc/.
    writeConfigFiles(snapshotDir, files, false);
    mkdirSync(join(snapshotDir, 'svc'), { recursive: true });
    const snapshot: Snapshot = {
      id: (last?.id ?? 0) + 1,
      time: new Date().toISOString(),
      hash: config.hash,
      type,
      size: Buffer.byteLength(server) + Buffer.byteLength(vhosts),
    };
    this.#snapshots.push(snapshot);
    const dropped = this.#snapshots.splice(0, Math.max(0, this.#snapshots.length - this.#keep));
    for (const old of dropped) {
      if (!this.#snapshots.some((s) => s.hash === old.hash)) rmSync(join(this.#dir, old.hash), { recursive: true, force: true });
    }
    writeAtomic(join(this.#dir, 'history.json'), `${JSON.stringify(this.#snapshots, null, 2)}\n`);
    return snapshot;
  }

  /** The text of a running file, or null when unknown. */
  runningText(file: 'server.xml' | 'vhosts.xml'): string | null {
    if (this.#running === null) return null;
    return file === 'server.xml' ? this.#running.server : this.#running.vhosts;
  }

  list(): readonly Snapshot[] {
    return this.#snapshots;
  }

  /** The snapshot with this hash (or a unique hash prefix of 7+ characters) or id, newest first. */
  find(hashOrId: string): Snapshot | undefined {
    const byNewest = [...this.#snapshots].reverse();
    if (/^\d+$/.test(hashOrId) && hashOrId.length < 7) return byNewest.find((s) => s.id === Number(hashOrId));
    const matches = byNewest.filter((s) => s.hash.startsWith(hashOrId.toLowerCase()));
    return new Set(matches.map((m) => m.hash)).size === 1 && hashOrId.length >= 7 ? matches[0] : undefined;
  }

  /** A snapshot's files (server.xml, vhosts.xml, svc rule files) by relative path; null when unknown or gone from disk. */
  snapshotFiles(hashOrId: string): ReadonlyMap<string, string> | null {
    const snapshot = this.find(hashOrId);
    const files = snapshot === undefined ? null : readConfigFiles(join(this.#dir, snapshot.hash));
    if (files === null) return null;
    return new Map([['server.xml', files.server], ['vhosts.xml', files.vhosts], ...files.rules.map((r): [string, string] => [r.path, r.text])]);
  }

  /**
   * Writes a config the fleet pushed (fleet/config-bucket.ts) into the conf directory: its vhosts.xml and exactly its
   * rule files; server.xml stays this node's. Returns a function that puts the previous files back (for a reload
   * that fails), or an error when the conf directory's files cannot be read. The caller validated the files.
   */
  writePushed(confDir: string, vhosts: string, rules: readonly { readonly path: string; readonly text: string }[]): { ok: true; undo: () => void } | { ok: false; error: string } {
    const previous = readConfigFiles(confDir);
    if (previous === null) return { ok: false, error: `${confDir}: the running config files cannot be read; nothing was written` };
    const pushedRules: RuleFileText[] = rules.map((r) => {
      const [, dir = '', file = ''] = r.path.split('/');
      return { path: r.path, vhost: dir.toLowerCase(), file, text: r.text };
    });
    writeConfigFiles(confDir, { server: previous.server, vhosts, rules: pushedRules, modes: previous.modes }, true);
    return { ok: true, undo: () => writeConfigFiles(confDir, previous, true) };
  }

  /**
   * Writes a snapshot's files into the conf directory, exactly its set: rule files the snapshot does not have are
   * removed. Returns a function that puts the previous files back (for a restore whose reload fails), or an error
   * when the snapshot's files are missing or it predates rule-file snapshots and had some (then nothing is written).
   * A snapshot is not otherwise checked against its hash: if its files no longer validate, the reload says why.
   */
  writeBack(snapshot: Snapshot, confDir: string): { ok: true; undo: () => void } | { ok: false; error: string } {
    const snapshotDir = join(this.#dir, snapshot.hash);
    const stored = readConfigFiles(snapshotDir);
    if (stored === null) return { ok: false, error: `snapshot ${snapshot.hash}: its files are missing on disk; nothing was restored` };
    if (!existsSync(join(snapshotDir, 'svc')) && hashFiles(stored) !== snapshot.hash) {
      return { ok: false, error: `snapshot ${snapshot.hash} was taken before rule files (svc/*/*.txt) were kept and its config had some; nothing was restored` };
    }
    const previous = readConfigFiles(confDir);
    writeConfigFiles(confDir, stored, true);
    return {
      ok: true,
      undo: () => {
        if (previous !== null) writeConfigFiles(confDir, previous, true);
      },
    };
  }
}
