/**
 * @module policy/purge-target
 * STON cache-control targets -> key ranges of the index. A target is `host/path` (exact URL, query included), a
 * glob (`host/img/*.jpg`, `host/*`: `*` matches any run of characters, `/` and `?` included) or several joined by
 * `|`; a scheme is ignored. The host picks the vhost by Name or Alias; the key range is `vhost \n <literal prefix>`
 * up to the first `*`, so a pattern scans only the keys under its prefix, never the whole index. Also applies the
 * guards <Purge2Expire>, <RootPurgeExpire> and <RootHardPurge>. Pure; runs in the primary (commands) and workers (hot-tier matching).
 */
import type { Config, Vhost } from '../config/types.js';
import { normalisePath, primaryKey } from '../cache/key.js';
import { VhostRuleSet } from './rules.js';
import { globSource } from './url-glob.js';
import { VhostRouter } from './vhost.js';

/** The four STON commands. */
export const CONTROL_ACTIONS = ['purge', 'expire', 'expireafter', 'hardpurge'] as const;
export type ControlCommand = (typeof CONTROL_ACTIONS)[number];

/** Which keys one target covers; plain JSON (it crosses IPC to the workers' hot tiers). */
export interface PurgeScope {
  readonly vhost: string;
  /**
   * 'exact' = one URL (every variant), 'pattern' = a glob, 'root' = a glob over the whole vhost (`host/*`, and any
   * glob of only `/` and `*`: see isRootGlob).
   */
  readonly kind: 'exact' | 'pattern' | 'root';
  /** Primary keys start with this (`vhost \n path...`). */
  readonly prefix: string;
  /** The exact primary key, or null for patterns. */
  readonly primary: string | null;
  /** With an exact key: its query-string variants (`primary?...`) are in scope too (`<ApplyQueryString Collective>`). */
  readonly collective: boolean;
  /** For patterns: the glob over the primary key (`vhost \n /img/*.jpg`), else null. */
  readonly glob: string | null;
}

/** What a tag purge reached, as workers need it (plain JSON, crosses IPC): primary keys of its objects, vhosts whose fills it marked. */
export interface TaggedScope {
  readonly primaries: readonly string[];
  readonly vhosts: readonly string[];
}

export type ParsedTarget = { readonly ok: true; readonly scope: PurgeScope; readonly text: string } | { readonly ok: false; readonly text: string; readonly error: string };

/** Splits `a|b|c` and parses each target. */
export function parseTargets(config: Config, text: string): ParsedTarget[] {
  const router = new VhostRouter(config.vhosts, null);
  return text
    .split('|')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t) => parseTarget(router, t));
}

function parseTarget(router: VhostRouter, text: string): ParsedTarget {
  const bare = text.replace(/^https?:\/\//i, '');
  const slash = bare.indexOf('/');
  const host = slash === -1 ? bare : bare.slice(0, slash);
  let rest = slash === -1 ? '/' : bare.slice(slash);
  if (host === '') return { ok: false, text, error: 'a target needs a host: example.com/path' };
  const vhost = router.route(host);
  if (vhost === null) return { ok: false, text, error: `no vhost has the name or alias ${host}` };
  const star = rest.indexOf('*');
  if (star === -1) {
    const question = rest.indexOf('?');
    const path = normalisePath(question === -1 ? rest : rest.slice(0, question));
    if (path === null) return { ok: false, text, error: 'the path must start with /' };
    // The key as the vhost's key rules build it (CaseSensitive OFF, query-string rules), or the purge would miss.
    const key = ruleSetOf(vhost).keyParts(path, question === -1 ? '' : rest.slice(question + 1));
    const primary = primaryKey(vhost.name, key.path, key.query);
    const collective = vhost.options.queryCollective && key.query === '';
    return { ok: true, text, scope: { vhost: vhost.name, kind: 'exact', prefix: primary, primary, glob: null, collective } };
  }
  const kind = isRootGlob(rest) ? 'root' : 'pattern';
  // CaseSensitive OFF lower-cases the path of the key, never its query (policy/rules.ts keyParts).
  if (!vhost.options.caseSensitive) {
    const question = rest.indexOf('?');
    rest = question === -1 ? rest.toLowerCase() : rest.slice(0, question).toLowerCase() + rest.slice(question);
  }
  return { ok: true, text, scope: { vhost: vhost.name, kind, prefix: `${vhost.name}\n${rest.slice(0, star)}`, primary: null, glob: `${vhost.name}\n${rest}`, collective: false } };
}

/**
 * Whether a glob path (after the host) names no literal text, only structure: made of `/` and `*` alone (`/*`,
 * `/**`, `//*`, `/**` then `/*`...). `*` matches any run of characters, `/` included, so `/` and stars cover every
 * key, and the others every key below some directory: for <RootPurgeExpire> and <RootHardPurge> they all empty the
 * vhost (otherwise `host/**` would walk past the guard that stops `host/*`).
 */
export function isRootGlob(path: string): boolean {
  return path.includes('*') && /^[/*]+$/.test(path);
}

/** Compiled rules per config vhost object (a reload brings new objects, so entries never go stale). */
const RULE_SETS = new WeakMap<Vhost, VhostRuleSet>();

function ruleSetOf(vhost: Vhost): VhostRuleSet {
  let rules = RULE_SETS.get(vhost);
  if (rules === undefined) {
    rules = new VhostRuleSet(vhost);
    RULE_SETS.set(vhost, rules);
  }
  return rules;
}

/** A matcher of primary keys for a scope (the glob compiled once). */
export function scopeMatcher(scope: PurgeScope): (primary: string) => boolean {
  if (scope.primary !== null) {
    const primary = scope.primary;
    if (scope.collective) {
      const variants = `${primary}?`;
      return (candidate) => candidate === primary || candidate.startsWith(variants);
    }
    return (candidate) => candidate === primary;
  }
  if (scope.glob !== null && /^\*+$/.test(scope.glob.slice(scope.prefix.length))) {
    // `prefix*`: every key under the prefix, no regex needed.
    const prefix = scope.prefix;
    return (candidate) => candidate.startsWith(prefix);
  }
  const regex = new RegExp(`^${globSource(scope.glob ?? '')}$`, 's');
  return (candidate) => regex.test(candidate);
}

/** The command that actually runs on a scope after the guards, or the reason it is denied. */
export function guardedCommand(vhost: Vhost, scope: Pick<PurgeScope, 'kind'>, command: ControlCommand): { readonly command: ControlCommand } | { readonly denied: string } {
  let effective = command;
  const toExpire = vhost.options.purge2Expire;
  if (command === 'purge' && (toExpire === 'ALL' || (toExpire === 'PATTERN' && scope.kind !== 'exact') || (toExpire === 'ROOT' && scope.kind === 'root'))) {
    effective = 'expire';
  }
  if (scope.kind === 'root' && effective === 'hardpurge') {
    // STON guards a whole-vhost hardpurge with its own switch, <RootHardPurge>, not <RootPurgeExpire>.
    if (!vhost.options.rootHardPurge) return { denied: `hardpurge of the whole vhost ${vhost.name} is not allowed (<RootHardPurge>OFF</RootHardPurge>)` };
  } else if (scope.kind === 'root') {
    const root = vhost.options.rootPurgeExpire;
    const isPurge = effective === 'purge';
    if (root === 'OFF' || (root === 'PURGE' && !isPurge) || (root === 'EXPIRE' && isPurge)) {
      return { denied: `${effective} of the whole vhost ${vhost.name} is not allowed (<RootPurgeExpire>${root}</RootPurgeExpire>)` };
    }
  }
  return { command: effective };
}
