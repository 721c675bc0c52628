/**
 * @module primary/config-history
 * Snapshots of every applied config (STON's config history): at start ('loaded'), after a reload that changed it
 * ('modified') and after a rollback ('restored'), server.xml and vhosts.xml are copied to `<dir>/<hash>/`, and
 * `<dir>/history.json` lists the snapshots (id, time, hash, type, size), oldest first, at most <ConfigHistory>.
 * Identical configs share a hash and its files. Also keeps the text of the running files for /conf/server.xml.
 * Invariant: every hash listed has both files on disk. Runs only in the primary.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/types.js';

export type SnapshotType = 'loaded' | 'modified' | 'restored';

/** One snapshot, as /conf/history lists it (STON's fields). */
export interface Snapshot {
  readonly id: number;
  /** ISO time it was applied. */
  readonly time: string;
  readonly hash: string;
  readonly type: SnapshotType;
  /** Bytes of server.xml + vhosts.xml. */
  readonly size: number;
}

const FILES = ['server.xml', 'vhosts.xml'] as const;

/** The hash config/load.ts gives a pair of files. */
function configHash(server: string, vhosts: string): string {
  return createHash('sha1').update(server).update('\0').update(vhosts).digest('hex');
}

/** Writes a file whole or not at all (a reload reading it half-written would fail). */
function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
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
    this.#dir = config.server.configHistory.dir ?? join(config.confDir, 'history');
    this.#keep = config.server.configHistory.keep;
  }

  /**
   * Records `config` as applied: reads its files and keeps them if they still hash to `config.hash` (else they
   * changed on disk after loading; the running text is then unknown). Returns the snapshot, or null.
   */
  record(config: Config, type: SnapshotType): Snapshot | null {
    this.#configure(config);
    let server: string;
    let vhosts: string;
    try {
      server = readFileSync(join(config.confDir, 'server.xml'), 'utf8');
      vhosts = readFileSync(join(config.confDir, 'vhosts.xml'), 'utf8');
    } catch {
      return null;
    }
    if (configHash(server, vhosts) !== config.hash) return null;
    this.#running = { server, vhosts };
    const last = this.#snapshots[this.#snapshots.length - 1];
    if (this.#keep === 0 || (type === 'modified' && last?.hash === config.hash)) return null;
    const snapshotDir = join(this.#dir, config.hash);
    mkdirSync(snapshotDir, { recursive: true });
    writeAtomic(join(snapshotDir, 'server.xml'), server);
    writeAtomic(join(snapshotDir, 'vhosts.xml'), vhosts);
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
  runningText(file: (typeof FILES)[number]): string | null {
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

  /**
   * Writes a snapshot's files into the conf directory; returns a function that puts the previous files back (for a
   * restore whose reload fails).
   */
  writeBack(snapshot: Snapshot, confDir: string): () => void {
    const previous = FILES.map((file) => {
      const path = join(confDir, file);
      return { path, text: existsSync(path) ? readFileSync(path, 'utf8') : null };
    });
    for (const file of FILES) writeAtomic(join(confDir, file), readFileSync(join(this.#dir, snapshot.hash, file), 'utf8'));
    return () => {
      for (const { path, text } of previous) if (text !== null) writeAtomic(path, text);
    };
  }
}
