/**
 * @module policy/edge-rules/acl
 * A vhost's access control (`<AccessControl Default DenialCode>ON` + acl rules) compiled once per config: the
 * first rule whose conditions hold decides (allow, deny with its code or DenialCode, redirect), else Default.
 * Rules with a URL or a non-address condition sit in an EdgeRuleList (URL glob index with a per-path memo:
 * policy/edge-rules/rule-list.ts); the address-only lines (`$IP[...]` alone, which match any URL) in one
 * AddressRank that gives the lowest matching line for a client in one binary search (policy/address-rank.ts), so
 * the per-request work depends on the path and the few rules it selects, not on the list length. The peer address
 * is read only when an address line could still win (one sits above the first other rule that holds). `null` from
 * `verdict` means "serve". Pure; runs in workers.
 */
import type { AclRule, Vhost } from '../../config/types.js';
import type { RequestHead } from '../../http/request.js';
import { AddressRank } from '../address-rank.js';
import { clientAddressOf } from '../address-set.js';
import { RequestConditions, urlGlobOf } from './conditions.js';
import { EdgeRuleList } from './rule-list.js';
import type { GeoIp } from '../geoip.js';

/** What happens to a request the ACL refuses: a denial status, or a redirect (302) to `location`. */
export type AclVerdict = { readonly kind: 'deny'; readonly status: number } | { readonly kind: 'redirect'; readonly location: string };

interface CompiledAcl {
  readonly rule: AclRule;
  readonly conditions: RequestConditions;
  /** Position in the rule list: first match wins across the rule list and the address rank. */
  readonly position: number;
}

const holds = (c: CompiledAcl, head: RequestHead): boolean => c.conditions.holds(head);

export class AccessPolicy {
  /** Every rule, by position. */
  readonly #rules: readonly CompiledAcl[];
  /** Rules with a URL or a non-address condition. */
  readonly #list: EdgeRuleList<CompiledAcl>;
  /** Address-only rules, ranked by position; null when there are none. */
  readonly #addresses: AddressRank | null;
  /** The verdict when no rule matches (null = serve). */
  readonly #fallback: AclVerdict | null;
  /** Verdict objects of the deny rules, built once, by position. */
  readonly #denials: ReadonlyArray<AclVerdict | null>;

  /** `geo`: the config's GeoIP database, for `$GEO` conditions (null when it names none); `memoEntries` bounds the
   * rule list's path memo (policy/edge-rules/rule-list.ts; tests set it small). */
  constructor(vhost: Vhost, geo: GeoIp | null = null, memoEntries?: number) {
    const o = vhost.options;
    const ac = o.accessControl;
    this.#fallback = ac.defaultAction === 'deny' ? { kind: 'deny', status: ac.denialCode } : null;
    const rules = vhost.rules.acl.map((rule, position) => ({ rule, conditions: new RequestConditions(rule.conditions, geo), position }));
    this.#rules = rules;
    this.#list = new EdgeRuleList(
      rules.filter((c) => !addressOnly(c.rule)),
      (c) => urlGlobOf(c.rule.conditions),
      o.caseSensitive && o.ruleCaseSensitive,
      memoEntries,
    );
    const ranked = rules.flatMap((c) => {
      const only = addressOnly(c.rule) ? c.rule.conditions[0] : undefined;
      return only?.kind === 'ip' ? [{ range: only.range, rank: c.position }] : [];
    });
    this.#addresses = ranked.length === 0 ? null : new AddressRank(ranked);
    this.#denials = rules.map(({ rule }) => (rule.action.kind === 'deny' ? { kind: 'deny', status: rule.action.status ?? ac.denialCode } : null));
  }

  /** The refusal for `head` (path = normalised ctx.path), or null when it is served. */
  verdict(head: RequestHead, path: string): AclVerdict | null {
    let hit = this.#list.size === 0 ? undefined : this.#list.first(path, holds, head);
    const addresses = this.#addresses;
    if (addresses !== null && (hit === undefined || addresses.minRank < hit.position)) {
      const rank = addresses.lowest(clientAddressOf(head));
      if (rank >= 0 && (hit === undefined || rank < hit.position)) hit = this.#rules[rank];
    }
    if (hit === undefined) return this.#fallback;
    const action = hit.rule.action;
    if (action.kind === 'allow') return null;
    if (action.kind === 'deny') return this.#denials[hit.position] ?? null;
    return { kind: 'redirect', location: expandRedirect(action.url, head) };
  }
}

/** True for a rule whose only condition is `$IP[...]`. */
function addressOnly(rule: AclRule): boolean {
  return rule.conditions.length === 1 && rule.conditions[0]?.kind === 'ip';
}

/** STON's redirect variables: `#HOST` (the Host header) and `#URL` (path and query as the client sent them). */
function expandRedirect(url: string, head: RequestHead): string {
  if (!url.includes('#')) return url;
  const target = head.query === '' ? head.path : `${head.path}?${head.query}`;
  return url.replace(/#HOST/g, head.host).replace(/#URL/g, target);
}

/** Compiles the access policy of every vhost with `<AccessControl>ON`, by vhost name. */
export function buildAccessPolicies(vhosts: readonly Vhost[], geo: GeoIp | null = null): Map<string, AccessPolicy> {
  return new Map(vhosts.filter((v) => v.options.accessControl.enabled).map((v) => [v.name, new AccessPolicy(v, geo)] as const));
}
