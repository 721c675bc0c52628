/**
 * @module logs/rotation
 * The primary rolls every log file (process, access, origin: STON `<Log Type Unit Retention Compression>`), as nginx's
 * master does with logrotate: rename the file to `<file>.YYYYMMDD-HHMMSS`, write the W3C header into a fresh file
 * at the path, have every process reopen (workers answer `logs-reopened`), and only then gzip the rolled file and
 * delete the oldest beyond Retention. Since no worker renames or creates files, two workers appending to one file
 * can neither lose a record (until it reopened, a worker appends to the rolled file, which is compressed only after)
 * nor duplicate one. Runs only in the primary; every file operation is asynchronous (gzip runs on libuv's pool).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Config, LogRotation } from '../config/types.js';
import type { Logger } from '../log.js';
import { STON_ACCESS_FIELDS, w3cHeader } from './access-format.js';
import { ORIGIN_LOG_FIELDS } from './origin-log.js';

/** How often sizes and time boundaries are checked: a size limit may be passed by about one second of records. */
const CHECK_INTERVAL_MS = 1000;
/** A rolled file's suffix: `.20261206-190203`, `-N` when that second was taken, `.gz` once compressed. */
const ROLLED_SUFFIX = /^\.\d{8}-\d{6}(?:-\d+)?(?:\.gz)?$/;

/** One file the primary manages; several vhosts writing one path share it (the first vhost's settings apply). */
export interface ManagedLog {
  readonly path: string;
  readonly rotation: LogRotation;
  /** The W3C header a new file starts with (ston access form, origin log); null for JSON and `%` formats. */
  readonly header: string | null;
}

/** The process, access and origin log files of a config, one entry per path. */
export function managedLogs(config: Config): ManagedLog[] {
  const byPath = new Map<string, ManagedLog>();
  const info = config.server.log;
  if (info.infoPath !== null) byPath.set(info.infoPath, { path: info.infoPath, rotation: info.infoRotation, header: null });
  for (const vhost of config.vhosts) {
    const log = vhost.log;
    if (log.accessPath !== null && !byPath.has(log.accessPath)) {
      byPath.set(log.accessPath, { path: log.accessPath, rotation: log.accessRotation, header: log.accessForm === 'ston' ? w3cHeader(STON_ACCESS_FIELDS) : null });
    }
    if (log.originPath !== null && !byPath.has(log.originPath)) {
      byPath.set(log.originPath, { path: log.originPath, rotation: log.originRotation, header: w3cHeader(ORIGIN_LOG_FIELDS) });
    }
  }
  return [...byPath.values()];
}

export class LogRotator {
  readonly #log: Logger;
  /** Moves every process (this one and the workers) to the files now at the paths; resolves when all have. */
  readonly #reopenAll: () => Promise<void>;
  #logs: ManagedLog[] = [];
  /** path -> the time period (ms since the epoch / Unit) its current file belongs to. */
  readonly #periods = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  /** One roll or reopen at a time: a second would rename files the workers have not reopened yet. */
  #busy: Promise<void> = Promise.resolve();

  /** Milliseconds since the epoch (a parameter so tests can cross a time boundary without waiting for it). */
  readonly #clock: () => number;

  constructor(log: Logger, reopenAll: () => Promise<void>, clock: () => number = Date.now) {
    this.#log = log;
    this.#reopenAll = reopenAll;
    this.#clock = clock;
  }

  /** Applies a (new) config: the files to manage; new files get their header before any worker writes. */
  configure(config: Config): Promise<void> {
    return this.manage(managedLogs(config));
  }

  /** Manages exactly `logs` from now on (configure() with the files of a config). */
  async manage(logs: ManagedLog[]): Promise<void> {
    this.#logs = logs;
    const now = this.#clock();
    for (const log of this.#logs) if (!this.#periods.has(log.path)) this.#periods.set(log.path, periodOf(log.rotation, now));
    await this.#serial(() => Promise.all(this.#logs.map((log) => this.#prepare(log))).then(() => undefined));
  }

  start(): void {
    this.#timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** SIGUSR1/SIGHUP: after an external `mv`, start new files (with their header) and move every process to them. */
  reopen(): Promise<void> {
    return this.#serial(async () => {
      await Promise.all(this.#logs.map((log) => this.#prepare(log)));
      await this.#reopenAll();
    });
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#busy.then(task).catch((error: unknown) => {
      this.#log.error({ event: 'log.rotate_failed', err: (error as Error).message }, 'log rotation failed');
    });
    this.#busy = run;
    return run;
  }

  /** Rolls every file whose period ended or that passed its size (the timer calls this once a second). */
  check(): Promise<void> {
    return this.#serial(() => this.#roll());
  }

  async #roll(): Promise<void> {
    const now = this.#clock();
    const due: ManagedLog[] = [];
    for (const log of this.#logs) {
      const { type, unit } = log.rotation;
      if (type === 'none') continue;
      const size = await sizeOf(log.path);
      // A file holding nothing but its header is not worth a rolled copy; it just carries into the next period.
      const empty = size <= (log.header === null ? 0 : Buffer.byteLength(log.header));
      const period = periodOf(log.rotation, now);
      const periodEnded = type !== 'size' && period !== this.#periods.get(log.path);
      if (periodEnded) this.#periods.set(log.path, period);
      if (!empty && (periodEnded || (type !== 'time' && size >= unit.bytes))) due.push(log);
    }
    if (due.length === 0) return;
    const rolled: Array<[ManagedLog, string]> = [];
    for (const log of due) {
      const target = await freeName(log.path, now);
      await rename(log.path, target);
      await this.#prepare(log);
      rolled.push([log, target]);
    }
    await this.#reopenAll();
    for (const [log, target] of rolled) {
      let final = target;
      if (log.rotation.compression) {
        await pipeline(createReadStream(target), createGzip(), createWriteStream(`${target}.gz`, { flags: 'wx' }));
        await unlink(target);
        final = `${target}.gz`;
      }
      const removed = await prune(log.path, log.rotation.retention);
      this.#log.info({ event: 'log.rotated', path: log.path, rolled: final, removed }, 'log file rolled');
    }
  }

  /** Creates the file with its W3C header when it is missing or empty (workers only ever append). */
  async #prepare(log: ManagedLog): Promise<void> {
    if (log.header === null) return;
    if ((await sizeOf(log.path)) > 0) return;
    try {
      await mkdir(dirname(log.path), { recursive: true });
      await writeFile(log.path, log.header, { flag: 'a' });
    } catch (error) {
      this.#log.warn({ event: 'log.header_failed', path: log.path, err: (error as Error).message }, 'could not start log file');
    }
  }
}

/** The period `now` falls in: Unit-minute slices since the epoch, so a 1440-minute Unit rolls at UTC midnight. */
function periodOf(rotation: LogRotation, now: number): number {
  return Math.floor(now / (rotation.unit.minutes * 60_000));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** `<path>.YYYYMMDD-HHMMSS` (UTC), with `-N` when a file of that second already exists. */
async function freeName(path: string, now: number): Promise<string> {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const base = `${path}.${stamp}`;
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? base : `${base}-${n}`;
    if (!(await exists(candidate)) && !(await exists(`${candidate}.gz`))) return candidate;
  }
}

/** Deletes the oldest rolled files of `path` beyond `retention`; returns the names deleted. */
async function prune(path: string, retention: number): Promise<string[]> {
  const dir = dirname(path);
  const prefix = basename(path);
  const rolled = (await readdir(dir)).filter((name) => name.startsWith(prefix) && ROLLED_SUFFIX.test(name.slice(prefix.length)));
  // The stamp sorts by time; `-N` (same second) sorts after its base name, as it was rolled later.
  rolled.sort();
  const old = rolled.slice(0, Math.max(0, rolled.length - retention));
  for (const name of old) await unlink(join(dir, name));
  return old;
}
