/**
 * @module policy/edge-rules/acl
 * A vhost's access control (`<AccessControl Default DenialCode>ON` + acl rules) compiled once per config: the
 * first rule whose conditions hold decides (allow, deny with its code or DenialCode, redirect), else Default.
 * URL globs sit in one UrlGlobSet (policy/rules.ts RuleIndex), so the per-request work depends on the path and
 * the few rules it selects, not on the list length. `null` from `verdict` means "serve"; it allocates nothing
 * then. Pure; runs in workers.
 */
import type { AclRule, Vhost } from '../../config/types.js';
import type { RequestHead } from '../../http/request.js';
import { rulePath } from '../../cache/key.js';
import { RuleIndex } from '../rules.js';
import { RequestConditions, urlGlobOf } from './conditions.js';

/** What happens to a request the ACL refuses: a denial status, or a redirect (302) to `location`. */
export type AclVerdict = { readonly kind: 'deny'; readonly status: number } | { readonly kind: 'redirect'; readonly location: string };

interface CompiledAcl {
  readonly rule: AclRule;
  readonly conditions: RequestConditions;
}

const holds = (c: CompiledAcl, head: RequestHead): boolean => c.conditions.holds(head);

export class AccessPolicy {
  readonly #index: RuleIndex<CompiledAcl>;
  /** The verdict when no rule matches (null = serve). */
  readonly #fallback: AclVerdict | null;
  readonly #denialCode: number;
  /** Verdict objects of the deny rules, built once (index = rule position). */
  readonly #denials = new Map<AclRule, AclVerdict>();

  constructor(vhost: Vhost) {
    const o = vhost.options;
    const ac = o.accessControl;
    this.#denialCode = ac.denialCode;
    this.#fallback = ac.defaultAction === 'deny' ? { kind: 'deny', status: ac.denialCode } : null;
    const compiled = vhost.rules.acl.map((rule) => ({ rule, conditions: new RequestConditions(rule.conditions) }));
    this.#index = new RuleIndex(compiled, (c) => urlGlobOf(c.rule.conditions), o.caseSensitive && o.ruleCaseSensitive);
    for (const rule of vhost.rules.acl) {
      if (rule.action.kind === 'deny') this.#denials.set(rule, { kind: 'deny', status: rule.action.status ?? this.#denialCode });
    }
  }

  /** The refusal for `head` (path = normalised ctx.path), or null when it is served. */
  verdict(head: RequestHead, path: string): AclVerdict | null {
    const hit = this.#index.rules.length === 0 ? undefined : this.#index.first(rulePath(path), holds, head);
    if (hit === undefined) return this.#fallback;
    const action = hit.rule.action;
    if (action.kind === 'allow') return null;
    if (action.kind === 'deny') return this.#denials.get(hit.rule) ?? null;
    return { kind: 'redirect', location: expandRedirect(action.url, head) };
  }
}

/** STON's redirect variables: `#HOST` (the Host header) and `#URL` (path and query as the client sent them). */
function expandRedirect(url: string, head: RequestHead): string {
  if (!url.includes('#')) return url;
  const target = head.query === '' ? head.path : `${head.path}?${head.query}`;
  return url.replace(/#HOST/g, head.host).replace(/#URL/g, target);
}

/** Compiles the access policy of every vhost with `<AccessControl>ON`, by vhost name. */
export function buildAccessPolicies(vhosts: readonly Vhost[]): Map<string, AccessPolicy> {
  return new Map(vhosts.filter((v) => v.options.accessControl.enabled).map((v) => [v.name, new AccessPolicy(v)] as const));
}
