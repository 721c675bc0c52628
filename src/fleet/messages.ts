/**
 * @module fleet/messages
 * The fleet's wire formats on NATS (JSON) and their decoders. Anything connected to the NATS servers can publish,
 * so every message an edge receives is `unknown` until one of these narrows it: a malformed one is dropped and
 * counted by the caller, never applied. Pure; runs in the primary (and the decoders in unit tests).
 */
import { parseFleetName } from '../config/cluster.js';
import { parseTagList } from '../cache/tags.js';

/** The cache-control commands a fleet purge may carry (expireafter stays local: its delay is relative to now). */
export const FLEET_COMMANDS = ['purge', 'expire', 'hardpurge'] as const;
export type FleetCommand = (typeof FLEET_COMMANDS)[number];

/** Longest target list a command carries (the management API takes 1 MiB bodies; targets are URLs joined by `|`). */
export const MAX_TARGETS_CHARS = 64 * 1024;
/** Largest pushed config (vhosts.xml plus rule files), under NATS's default 1 MiB payload limit. */
export const MAX_PUSHED_CHARS = 900 * 1024;

/**
 * What a fleet purge acts on: URL targets joined by `|` (host/path or globs), exactly as /command/purge?url= takes
 * them; or tags (separated by single spaces, as parseTagList reads them), in vhost `vhost` (a Name or Alias) or in
 * every vhost when null, as /command/purge?tag=&vhost= takes them.
 */
export type PurgeTarget = { readonly urls: string } | { readonly tags: string; readonly vhost: string | null };

/** One fleet purge, as stored in the purge stream. */
export type PurgeMessage = PurgeTarget & {
  /** Random id; the edges' acknowledgements go to `<ack prefix>.<id>`. */
  readonly id: string;
  readonly command: FleetCommand;
  /** Only edges of this group apply it; null = every edge. */
  readonly group: string | null;
  /** Node that published it. */
  readonly from: string;
  /** Publish time (ms since the epoch). */
  readonly time: number;
};

/** An edge's answer to one fleet purge (STON's result fields). */
export interface PurgeAck {
  readonly id: string;
  readonly node: string;
  /** HTTP status of the local run (200, or 400 when no target could be read). */
  readonly status: number;
  readonly Count: number;
  readonly Size: number;
  readonly Denied?: readonly string[];
  readonly Errors?: readonly string[];
}

/** One config version in the key-value bucket: the sites (vhosts.xml and rule files); server.xml stays the node's. */
export interface PushedConfig {
  readonly vhosts: string;
  /** Rule files by path relative to the conf directory (`svc/<vhost>/<file>.txt`). */
  readonly rules: readonly { readonly path: string; readonly text: string }[];
  readonly from: string;
  readonly time: number;
  /** The version this one re-pushes (a rollback), else null. */
  readonly rollbackOf: number | null;
}

export type ConfigResult = 'applied' | 'refused';

/** An edge's report on one config version. */
export interface ConfigReport {
  readonly version: number;
  readonly node: string;
  readonly result: ConfigResult;
  readonly problems: readonly string[];
}

/** A stats request: which group answers (null = every edge). */
export interface StatsRequest {
  readonly group: string | null;
}

type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

function parseJson(data: Uint8Array | string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Control characters (C0 and DEL) have no place in a target list. */
const hasControl = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
};
const isName = (value: unknown): value is string => typeof value === 'string' && parseFleetName(value).ok;
const isGroup = (value: unknown): value is string | null => value === null || isName(value);
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
/** Rule file paths as config/load.ts lists them: svc/<dir>/<name>.txt, no `..`, no other separators. */
const RULE_PATH = /^svc\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\.txt$/;

/** A vhost named in a tag purge: a host name or alias as a Host field holds it (letters, digits, `.-_:*[]`), or null. */
export const isVhostName = (value: unknown): value is string | null => value === null || (typeof value === 'string' && /^[A-Za-z0-9._:*[\]-]{1,255}$/.test(value));

/**
 * The target of a purge message: exactly one of `urls` and `tags`; `vhost` (null or a name) with tags only. Tags pass
 * the local tag parameter's rule (cache/tags.ts parseTagList: count, length, bytes).
 */
export function decodePurgeTarget(m: Record<string, unknown>): Decoded<PurgeTarget> {
  const urls = Object.hasOwn(m, 'urls');
  if (urls === Object.hasOwn(m, 'tags')) return { ok: false, error: 'give urls or tags' };
  if (urls) {
    if (typeof m.urls !== 'string' || m.urls === '' || m.urls.length > MAX_TARGETS_CHARS || hasControl(m.urls)) return { ok: false, error: 'bad urls' };
    if (Object.hasOwn(m, 'vhost')) return { ok: false, error: 'vhost goes with tags only' };
    return { ok: true, value: { urls: m.urls } };
  }
  // Canonical form only (what the publisher sends: parsed, deduplicated, joined by one space), so the edges read
  // exactly the tags the caller's check passed.
  const parsed = typeof m.tags === 'string' ? parseTagList(m.tags) : null;
  if (parsed === null || !parsed.ok || parsed.tags.join(' ') !== m.tags) return { ok: false, error: 'bad tags' };
  if (!Object.hasOwn(m, 'vhost') || !isVhostName(m.vhost)) return { ok: false, error: 'bad vhost' };
  return { ok: true, value: { tags: m.tags, vhost: m.vhost } };
}

/** A purge stream message. */
export function decodePurge(data: Uint8Array | string): Decoded<PurgeMessage> {
  const m = parseJson(data);
  if (m === null) return { ok: false, error: 'not a JSON object' };
  if (typeof m.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(m.id)) return { ok: false, error: 'bad id' };
  if (!(FLEET_COMMANDS as readonly unknown[]).includes(m.command)) return { ok: false, error: 'bad command' };
  const target = decodePurgeTarget(m);
  if (!target.ok) return target;
  if (!isGroup(m.group)) return { ok: false, error: 'bad group' };
  if (!isName(m.from)) return { ok: false, error: 'bad from' };
  if (!isTime(m.time)) return { ok: false, error: 'bad time' };
  return { ok: true, value: { id: m.id, command: m.command as FleetCommand, ...target.value, group: m.group, from: m.from, time: m.time } };
}

const stringList = (value: unknown): value is string[] => Array.isArray(value) && value.length <= 1000 && value.every((v) => typeof v === 'string');

/** An acknowledgement of a purge. */
export function decodePurgeAck(data: Uint8Array | string): Decoded<PurgeAck> {
  const m = parseJson(data);
  if (m === null) return { ok: false, error: 'not a JSON object' };
  if (typeof m.id !== 'string' || !isName(m.node)) return { ok: false, error: 'bad id or node' };
  if (!Number.isSafeInteger(m.status) || !isTime(m.Count) || !isTime(m.Size)) return { ok: false, error: 'bad figures' };
  if ((m.Denied !== undefined && !stringList(m.Denied)) || (m.Errors !== undefined && !stringList(m.Errors))) return { ok: false, error: 'bad lists' };
  const ack: PurgeAck = { id: m.id, node: m.node, status: m.status as number, Count: m.Count, Size: m.Size };
  return { ok: true, value: { ...ack, ...(m.Denied === undefined ? {} : { Denied: m.Denied as string[] }), ...(m.Errors === undefined ? {} : { Errors: m.Errors as string[] }) } };
}

/** A config version from the bucket. */
export function decodePushed(data: Uint8Array | string): Decoded<PushedConfig> {
  if (data.length > MAX_PUSHED_CHARS) return { ok: false, error: 'too large' };
  const m = parseJson(data);
  if (m === null) return { ok: false, error: 'not a JSON object' };
  if (typeof m.vhosts !== 'string' || m.vhosts === '') return { ok: false, error: 'bad vhosts' };
  if (!Array.isArray(m.rules) || m.rules.length > 10_000) return { ok: false, error: 'bad rules' };
  const rules: { path: string; text: string }[] = [];
  const seen = new Set<string>();
  for (const rule of m.rules as unknown[]) {
    const r = typeof rule === 'object' && rule !== null ? (rule as Record<string, unknown>) : {};
    if (typeof r.path !== 'string' || !RULE_PATH.test(r.path) || r.path.split('/').some((part) => part === '.' || part === '..') || typeof r.text !== 'string') return { ok: false, error: 'bad rule file' };
    if (seen.has(r.path)) return { ok: false, error: 'rule file listed twice' };
    seen.add(r.path);
    rules.push({ path: r.path, text: r.text });
  }
  if (!isName(m.from) || !isTime(m.time)) return { ok: false, error: 'bad from or time' };
  if (m.rollbackOf !== null && !(isTime(m.rollbackOf) && m.rollbackOf > 0)) return { ok: false, error: 'bad rollbackOf' };
  return { ok: true, value: { vhosts: m.vhosts, rules, from: m.from, time: m.time, rollbackOf: m.rollbackOf } };
}

/** An edge's config report. */
export function decodeConfigReport(data: Uint8Array | string): Decoded<ConfigReport> {
  const m = parseJson(data);
  if (m === null) return { ok: false, error: 'not a JSON object' };
  if (!isTime(m.version) || !isName(m.node) || (m.result !== 'applied' && m.result !== 'refused') || !stringList(m.problems)) return { ok: false, error: 'bad report' };
  return { ok: true, value: { version: m.version, node: m.node, result: m.result, problems: m.problems } };
}

/** A stats request. */
export function decodeStatsRequest(data: Uint8Array | string): Decoded<StatsRequest> {
  const m = parseJson(data);
  if (m === null || !isGroup(m.group)) return { ok: false, error: 'bad stats request' };
  return { ok: true, value: { group: m.group } };
}

/** Encodes a message for NATS. */
export function encode(message: object): Uint8Array {
  return Buffer.from(JSON.stringify(message));
}

/** Whether an edge of `myGroup` acts on a message addressed to `group` (null = everyone). */
export function addressedTo(group: string | null, myGroup: string | null): boolean {
  return group === null || group === myGroup;
}
