/**
 * @module fleet/config-bucket
 * Fleet config on a JetStream key-value bucket (flint-fleet-config). A push stores a new version under `all` or
 * `group.<G>`; the version number is the bucket's revision (one sequence for all keys), so versions are ordered
 * fleet-wide, and a rollback re-pushes an older revision as a new one. What is pushed is the sites: vhosts.xml and
 * the rule files svc/<vhost>/*.txt. server.xml stays each node's own (its ports, disks, manager and <Cluster> differ
 * per machine). Edge side: a watch on the bucket hands every version addressed to this node that is newer than
 * the one it last took to the primary, which validates it against its own server.xml, writes it into the conf
 * directory with the config history and applies it as SIGHUP would; the outcome (`applied` or `refused` with the
 * problems) is reported on `flint.fleet.config.report` and remembered in `<history dir>/fleet-version.json`, so a
 * restart does not apply or refuse the same version again. Runs only in the primary.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JetStreamManager, KV, NatsConnection, QueuedIterator, KvEntry } from 'nats';
import type { ClusterConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { FlintError } from '../errors.js';
import { addressedTo, decodeConfigReport, decodePushed, encode } from './messages.js';
import type { ConfigReport, ConfigResult, PushedConfig } from './messages.js';
import { fleetMembers } from './purge-stream.js';

const BUCKET = 'flint-fleet-config';
const REPORT_SUBJECT = 'flint.fleet.config.report';
/** Versions kept per key (JetStream's largest KV history): rollback reaches this far back. */
const HISTORY = 64;

const keyOf = (group: string | null): string => (group === null ? 'all' : `group.${group}`);
const groupOfKey = (key: string): string | null => (key.startsWith('group.') ? key.slice('group.'.length) : null);

async function openBucket(nc: NatsConnection): Promise<KV> {
  return nc.jetstream().views.kv(BUCKET, { history: HISTORY });
}

/** What a push answered: its version and each member's report, and the members that did not report in time. */
export interface FleetPushResult {
  readonly version: number;
  readonly group: string | null;
  readonly rollbackOf: number | null;
  readonly applied: readonly string[];
  readonly refused: readonly { readonly node: string; readonly problems: readonly string[] }[];
  readonly missing: readonly string[];
}

/**
 * Stores `config` as a new version for `group` (or re-stores version `rollbackOf`, when given, with config null)
 * and collects the members' reports for at most `waitMs`. Throws FLINT_ERR_FLEET_REQUEST for an unknown version.
 */
export async function pushConfig(
  nc: NatsConnection,
  jsm: JetStreamManager,
  request: { config: PushedConfig | null; rollbackOf: number | null; group: string | null; from: string },
  waitMs: number,
): Promise<FleetPushResult> {
  const kv = await openBucket(nc);
  let config = request.config;
  if (request.rollbackOf !== null) config = await findVersion(jsm, request.rollbackOf, request.from);
  if (config === null) throw new FlintError('FLINT_ERR_FLEET_REQUEST', 'nothing to push', { source: 'client' });
  const members = await fleetMembers(jsm, request.group);
  const reports = new Map<string, ConfigReport>();
  const sub = nc.subscribe(REPORT_SUBJECT);
  let version = 0;
  const early: ConfigReport[] = [];
  const collected = (async () => {
    for await (const msg of sub) {
      const report = decodeConfigReport(msg.data);
      if (!report.ok) continue;
      if (version === 0) early.push(report.value);
      else if (report.value.version === version) reports.set(report.value.node, report.value);
      if (version !== 0 && members.every((m) => reports.has(m))) break;
    }
  })();
  const timer = setTimeout(() => sub.unsubscribe(), waitMs);
  try {
    version = await kv.put(keyOf(request.group), encode(config));
    for (const report of early) if (report.version === version) reports.set(report.node, report);
    if (members.length === 0 || members.every((m) => reports.has(m))) sub.unsubscribe();
    await collected;
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
  const all = [...reports.values()].sort((a, b) => a.node.localeCompare(b.node));
  return {
    version,
    group: request.group,
    rollbackOf: request.rollbackOf,
    applied: all.filter((r) => r.result === 'applied').map((r) => r.node),
    refused: all.filter((r) => r.result === 'refused').map((r) => ({ node: r.node, problems: r.problems })),
    missing: members.filter((m) => !reports.has(m)),
  };
}

/** Version `version` of any key, as a new push (a rollback). */
async function findVersion(jsm: JetStreamManager, version: number, from: string): Promise<PushedConfig> {
  let data: Uint8Array;
  try {
    data = (await jsm.streams.getMessage(`KV_${BUCKET}`, { seq: version })).data;
  } catch {
    throw new FlintError('FLINT_ERR_FLEET_REQUEST', `no config version ${version} in the fleet bucket (only the last ${HISTORY} versions per group are kept)`, { source: 'client' });
  }
  const decoded = decodePushed(data);
  if (!decoded.ok) throw new FlintError('FLINT_ERR_FLEET_REQUEST', `config version ${version} cannot be read (${decoded.error})`, { source: 'client' });
  return { ...decoded.value, from, time: Date.now(), rollbackOf: version };
}

/** The last version this edge took (applied or refused), kept across restarts. */
export interface AppliedState {
  readonly version: number;
  readonly result: ConfigResult;
  readonly problems: readonly string[];
}

/** Hands a pushed config to the primary: validate, write with history, apply; or the problems. */
export type ApplyConfig = (config: PushedConfig, version: number) => { ok: true } | { ok: false; problems: readonly string[] };

/** This edge's side: takes every newer version addressed to it, in order, and reports the outcome. */
export class ConfigWatcher {
  readonly #cluster: ClusterConfig;
  readonly #apply: ApplyConfig;
  readonly #stateFile: string;
  readonly #log: Logger;
  #state: AppliedState | null;
  #watch: QueuedIterator<KvEntry> | null = null;

  constructor(cluster: ClusterConfig, apply: ApplyConfig, stateFile: string, log: Logger) {
    this.#cluster = cluster;
    this.#apply = apply;
    this.#stateFile = stateFile;
    this.#log = log;
    this.#state = readState(stateFile);
  }

  /** The last version this edge took, and how. */
  get state(): AppliedState | null {
    return this.#state;
  }

  /**
   * Takes the newest version addressed to this node if it has not taken it yet (at start this runs before the
   * primary forks its workers, so an edge that was away serves the config pushed meanwhile), then starts (or
   * restarts after a reconnect) the watch for the versions to come.
   */
  async start(nc: NatsConnection): Promise<void> {
    this.#watch?.stop();
    const kv = await openBucket(nc);
    const keys = [keyOf(null), ...(this.#cluster.group === null ? [] : [keyOf(this.#cluster.group)])];
    const entries = await Promise.all(keys.map((key) => kv.get(key)));
    const newest = entries.reduce<KvEntry | null>((best, e) => (e !== null && e.operation === 'PUT' && (best === null || e.revision > best.revision) ? e : best), null);
    if (newest !== null && (this.#state === null || newest.revision > this.#state.version)) this.#take(nc, newest);
    const watch = await kv.watch({ key: '>' });
    this.#watch = watch;
    void (async () => {
      for await (const entry of watch) {
        if (entry.operation !== 'PUT' || !addressedTo(groupOfKey(entry.key), this.#cluster.group)) continue;
        if (this.#state !== null && entry.revision <= this.#state.version) continue;
        this.#take(nc, entry);
      }
    })().catch((error: unknown) => this.#log.error({ event: 'fleet.config_watch_failed', err: error }, 'fleet config watch stopped; restarted at the next reconnect'));
  }

  #take(nc: NatsConnection, entry: KvEntry): void {
    const decoded = decodePushed(entry.value);
    const outcome = decoded.ok ? this.#apply(decoded.value, entry.revision) : { ok: false as const, problems: [`config version ${entry.revision} cannot be read (${decoded.error})`] };
    const state: AppliedState = { version: entry.revision, result: outcome.ok ? 'applied' : 'refused', problems: outcome.ok ? [] : outcome.problems };
    this.#state = state;
    writeState(this.#stateFile, state);
    if (outcome.ok) this.#log.info({ event: 'fleet.config_applied', version: entry.revision }, `fleet config version ${entry.revision} applied`);
    else this.#log.error({ event: 'fleet.config_refused', version: entry.revision, problems: state.problems }, `fleet config version ${entry.revision} refused: ${state.problems.join('; ')}`);
    const report: ConfigReport = { version: entry.revision, node: this.#cluster.nodeName, result: state.result, problems: state.problems };
    try {
      nc.publish(REPORT_SUBJECT, encode(report));
    } catch {
      // Not connected: the pusher lists this node as missing; fleet status shows the outcome later.
    }
  }

  stop(): void {
    this.#watch?.stop();
    this.#watch = null;
  }
}

function readState(file: string): AppliedState | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<AppliedState>;
    if (typeof value.version !== 'number' || (value.result !== 'applied' && value.result !== 'refused')) return null;
    return { version: value.version, result: value.result, problems: Array.isArray(value.problems) ? value.problems : [] };
  } catch {
    return null;
  }
}

function writeState(file: string, state: AppliedState): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state)}\n`);
  renameSync(`${file}.tmp`, file);
}
