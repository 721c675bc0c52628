/**
 * @module policy/rules
 * A vhost's TTL, bypass and cache-key rules compiled for the request path: built once per config (in each worker,
 * from the plain-JSON Config, on start and on every reload) and then only read. URL globs go into one UrlGlobSet
 * per rule list (policy/url-glob.ts), so the work per request depends on the path, not on the number of rules;
 * rules without a URL condition sit in a short "any URL" list merged in rule order.
 *
 * Precedence (STON bypass.html, caching_policy.html):
 *   bypass: BypassNoCacheRequest (client no-cache) -> the first matching bypass rule -> the method's default
 *     (GET/HEAD: BypassGetRequest; POST: BypassPostRequest; every other method always passes). A rule's action is
 *     `bypass`, `cache` or `invert` (the method's default turned around, STON's bypass.txt line without an action).
 *     `cache` only ever applies to GET/HEAD: Flint stores no other method.
 *   TTL: the first rule whose URL glob and origin status match fixes the TTL when the object is stored.
 *   cache key: CaseSensitive OFF lower-cases the path; the first matching query-string rule decides what of the
 *     query goes into the key, else ApplyQueryString with its Keep/Drop lists.
 * URL patterns match the normalised path (cache/key.ts normalisePath: unreserved escapes decoded, dot segments
 * removed, the cache key's form) with an encoded slash or backslash read as `/` (cache/key.ts rulePath), and
 * case-insensitively unless both CaseSensitive and RuleCaseSensitive are ON: `/%61dmin/x`, `/admin%2Fx` and
 * `/ADMIN/x` cannot escape a `/admin/*` bypass rule.
 * Pure; runs in workers.
 */
import type { BypassAction, BypassRule, QueryStringRule, TtlRule, Vhost } from '../config/types.js';
import type { RequestHead } from '../http/request.js';
import { rulePath } from '../cache/key.js';
import { AddressSet, clientAddressOf } from './address-set.js';
import { UrlGlobSet, globSource } from './url-glob.js';

/** Why a request passes the cache: a client no-cache request, a rule, or the method's default. */
export type BypassReason = 'no-cache-request' | 'rule' | 'default';

/** The bypass decision: go through the cache, or pass with a reason (logged). */
export type BypassDecision = { readonly bypass: false } | { readonly bypass: true; readonly reason: BypassReason };

const CACHE: BypassDecision = Object.freeze({ bypass: false });
const BYPASS_DEFAULT: BypassDecision = Object.freeze({ bypass: true, reason: 'default' });
const BYPASS_RULE: BypassDecision = Object.freeze({ bypass: true, reason: 'rule' });
const BYPASS_NO_CACHE: BypassDecision = Object.freeze({ bypass: true, reason: 'no-cache-request' });

/** One rule list: globs of the rules with a URL condition, and the indexes of those without one. */
export class RuleIndex<R> {
  readonly rules: readonly R[];
  readonly #globs: UrlGlobSet;
  /** Position in `rules` of each glob in #globs. */
  readonly #globRule: readonly number[];
  /** Positions of the rules that match any URL. */
  readonly #anyUrl: readonly number[];

  constructor(rules: readonly R[], urlOf: (rule: R) => string | null, caseSensitive: boolean) {
    this.rules = rules;
    const globs: string[] = [];
    const globRule: number[] = [];
    const anyUrl: number[] = [];
    rules.forEach((rule, i) => {
      const url = urlOf(rule);
      if (url === null) anyUrl.push(i);
      else {
        globs.push(url);
        globRule.push(i);
      }
    });
    this.#globs = new UrlGlobSet(globs, caseSensitive);
    this.#globRule = globRule;
    this.#anyUrl = anyUrl;
  }

  /** Every rule whose URL matches `path`, in rule order (allocates: for lists where all matches apply). */
  all(path: string): R[] {
    const out: R[] = [];
    if (this.rules.length === 0) return out;
    const positions = this.#globs.size === 0 ? [...this.#anyUrl] : [...this.#globs.match(path).map((g) => this.#globRule[g] as number), ...this.#anyUrl];
    positions.sort((a, b) => a - b);
    for (const p of positions) out.push(this.rules[p] as R);
    return out;
  }

  /**
   * The first rule, in rule order, whose URL matches `path` and that passes `check(rule, arg)`; undefined when none.
   * `arg` is passed through so callers on the request path need not allocate a closure per request.
   */
  first<A>(path: string, check: (rule: R, arg: A) => boolean, arg: A): R | undefined {
    if (this.rules.length === 0) return undefined;
    const byGlob = this.#globs.size === 0 ? [] : this.#globs.match(path);
    const any = this.#anyUrl;
    // Merge the two ascending lists of rule positions, trying each rule once in order.
    let g = 0;
    let a = 0;
    while (g < byGlob.length || a < any.length) {
      const fromGlob = g < byGlob.length ? (this.#globRule[byGlob[g] as number] as number) : Number.POSITIVE_INFINITY;
      const fromAny = a < any.length ? (any[a] as number) : Number.POSITIVE_INFINITY;
      let position: number;
      if (fromGlob < fromAny) {
        position = fromGlob;
        g++;
      } else {
        position = fromAny;
        a++;
      }
      const rule = this.rules[position] as R;
      if (check(rule, arg)) return rule;
    }
    return undefined;
  }
}

/** True when `status` matches a rule's status list (`200`, `2xx`); an empty list matches any status. */
function statusMatches(conditions: readonly string[], status: number): boolean {
  if (conditions.length === 0) return true;
  const text = String(status);
  for (const c of conditions) {
    if (c === text) return true;
    if (c.length === 3 && c.endsWith('xx') && c[0] === text[0]) return true;
  }
  return false;
}

/** A value glob (`*` = any run of characters, everything else literal), anchored; null = presence only. */
function valueMatcher(glob: string | null): ((value: string) => boolean) | null {
  if (glob === null) return null;
  if (!glob.includes('*')) return (value) => value === glob;
  const re = new RegExp(`^${globSource(glob)}$`);
  return (value) => re.test(value);
}

/** A bypass rule with its value matchers and address range compiled. */
interface CompiledBypass {
  readonly rule: BypassRule;
  readonly headerValue: ((value: string) => boolean) | null;
  readonly cookieValue: ((value: string) => boolean) | null;
  readonly clients: AddressSet | null;
}

function compileBypass(rule: BypassRule): CompiledBypass {
  const clients = rule.clientIp === null ? null : new AddressSet([rule.clientIp]);
  return { rule, headerValue: valueMatcher(rule.header?.value ?? null), cookieValue: valueMatcher(rule.cookie?.value ?? null), clients };
}

/** The value of cookie `name` in the request's Cookie headers, or undefined. */
function cookieValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'cookie') continue;
    for (const pair of (headers[i + 1] as string).split(';')) {
      const eq = pair.indexOf('=');
      const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
      if (key === name) return eq < 0 ? '' : pair.slice(eq + 1).trim();
    }
  }
  return undefined;
}

function requestHasNoCache(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name !== 'cache-control' && name !== 'pragma') continue;
    if (/(^|[\s,])no-cache([\s,;=]|$)/i.test(headers[i + 1] as string)) return true;
  }
  return false;
}

/** What a cache key is built from: the path and query after CaseSensitive and the query-string rules. */
export interface KeyParts {
  readonly path: string;
  readonly query: string;
}

/** The compiled rules and rule-like options of one vhost. */
export class VhostRuleSet {
  readonly #ttl: RuleIndex<TtlRule>;
  readonly #bypass: RuleIndex<CompiledBypass>;
  readonly #query: RuleIndex<QueryStringRule>;
  readonly #caseSensitive: boolean;
  readonly #applyQuery: boolean;
  readonly #keep: ReadonlySet<string> | null;
  readonly #drop: ReadonlySet<string> | null;
  /** True when nothing here changes the key (the common case: no allocation per request). */
  readonly plainKey: boolean;
  readonly #bypassGet: boolean;
  readonly #bypassPost: boolean;
  readonly #bypassNoCache: boolean;
  /** Lower-case Vary names honoured; null = all. */
  readonly varyHeaders: ReadonlySet<string> | null;

  constructor(vhost: Vhost) {
    const o = vhost.options;
    this.#caseSensitive = o.caseSensitive;
    // URL patterns: case-insensitive unless the operator asked for case-sensitive keys and rules both.
    const cs = o.caseSensitive && o.ruleCaseSensitive;
    this.#ttl = new RuleIndex(vhost.rules.ttl, (r) => (r.url === '*' ? null : r.url), cs);
    this.#bypass = new RuleIndex(vhost.rules.bypass.map(compileBypass), (c) => c.rule.url, cs);
    this.#query = new RuleIndex(vhost.rules.queryString, (r) => r.url, cs);
    this.#applyQuery = o.applyQueryString;
    this.#keep = o.queryStringKeep === null ? null : new Set(o.queryStringKeep);
    this.#drop = o.queryStringDrop === null ? null : new Set(o.queryStringDrop);
    this.plainKey = this.#caseSensitive && this.#applyQuery && this.#keep === null && this.#drop === null && this.#query.rules.length === 0;
    this.#bypassGet = o.bypassGetRequest;
    this.#bypassPost = o.bypassPostRequest;
    this.#bypassNoCache = o.bypassNoCacheRequest;
    this.varyHeaders = o.varyHeaders === null ? null : new Set(o.varyHeaders);
  }


  /**
   * Whether a request goes through the cache or passes to the origin (see the module doc for the order). `path` is
   * the normalised path (ctx.path).
   */
  bypass(head: RequestHead, path: string): BypassDecision {
    const method = head.method;
    const cacheable = method === 'GET' || method === 'HEAD';
    if (cacheable && this.#bypassNoCache && requestHasNoCache(head.headers)) return BYPASS_NO_CACHE;
    const defaultBypass = cacheable ? this.#bypassGet : method === 'POST' ? this.#bypassPost : true;
    if (this.#bypass.rules.length > 0) {
      const hit = this.#bypass.first(rulePath(path), bypassRuleHolds, head);
      if (hit !== undefined) return decide(hit.rule.action, defaultBypass, cacheable);
    }
    if (!cacheable) return BYPASS_DEFAULT;
    return defaultBypass ? BYPASS_DEFAULT : CACHE;
  }

  /**
   * True when the first bypass rule matching this GET/HEAD explicitly sends it through the cache (`cache`, or
   * `invert` under BypassGetRequest ON): the operator's word that such responses are shareable, which lets a
   * response to a request with Cookie be stored (policy/cacheable.ts, `<CookieRequest>explicit`).
   */
  cachesByRule(head: RequestHead, path: string): boolean {
    if (this.#bypass.rules.length === 0) return false;
    const action = this.#bypass.first(rulePath(path), bypassRuleHolds, head)?.rule.action;
    return action === 'cache' || (action === 'invert' && this.#bypassGet);
  }

  /** The TTL (seconds) the first matching TTL rule gives a response of `status` to normalised `path`, or null when none. */
  ttlFor(path: string, status: number): number | null {
    if (this.#ttl.rules.length === 0) return null;
    return this.#ttl.first(rulePath(path), (r, s: number) => statusMatches(r.status, s), status)?.ttlSec ?? null;
  }

  /** The path and query the cache key is built from; `path` is the normalised path. */
  keyParts(path: string, query: string): KeyParts {
    const keyPath = this.#caseSensitive ? path : path.toLowerCase();
    if (query === '') return { path: keyPath, query };
    const rule = this.#query.rules.length === 0 ? undefined : this.#query.first(rulePath(path), ANY, null);
    if (rule !== undefined) {
      if (rule.mode === 'apply') return { path: keyPath, query };
      if (rule.mode === 'ignore') return { path: keyPath, query: '' };
      const keys = new Set(rule.keys);
      return { path: keyPath, query: filterQuery(query, rule.mode === 'keep' ? keys : null, rule.mode === 'drop' ? keys : null) };
    }
    if (!this.#applyQuery) return { path: keyPath, query: '' };
    if (this.#keep === null && this.#drop === null) return { path: keyPath, query };
    return { path: keyPath, query: filterQuery(query, this.#keep, this.#drop) };
  }

  /** The Vary names of a response that the key honours (VaryHeader whitelist); `names` as cache/key.varyNames gives. */
  honouredVary(names: string[]): string[] {
    const allowed = this.varyHeaders;
    if (allowed === null || names.length === 0) return names;
    return names.filter((n) => allowed.has(n));
  }
}

const ANY = (): boolean => true;

function decide(action: BypassAction, defaultBypass: boolean, cacheable: boolean): BypassDecision {
  const bypass = action === 'bypass' ? true : action === 'cache' ? false : !defaultBypass;
  // Only GET and HEAD can be answered from the cache.
  if (!bypass && !cacheable) return BYPASS_DEFAULT;
  return bypass ? BYPASS_RULE : CACHE;
}

function bypassRuleHolds(c: CompiledBypass, head: RequestHead): boolean {
  const rule = c.rule;
  if (rule.method !== null && rule.method !== head.method) return false;
  if (rule.header !== null) {
    const name = rule.header.name;
    let found = false;
    const h = head.headers;
    for (let i = 0; i < h.length && !found; i += 2) {
      if (h[i] === name) found = c.headerValue === null || c.headerValue(h[i + 1] as string);
    }
    if (!found) return false;
  }
  if (rule.cookie !== null) {
    const value = cookieValue(head.headers, rule.cookie.name);
    if (value === undefined || (c.cookieValue !== null && !c.cookieValue(value))) return false;
  }
  if (c.clients !== null && !c.clients.hasValue(clientAddressOf(head))) return false;
  return true;
}

/** The query with keys outside `keep` (when given) or inside `drop` (when given) removed; order kept. */
export function filterQuery(query: string, keep: ReadonlySet<string> | null, drop: ReadonlySet<string> | null): string {
  const out: string[] = [];
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (keep !== null && !keep.has(key)) continue;
    if (drop !== null && drop.has(key)) continue;
    out.push(pair);
  }
  return out.join('&');
}

/** Compiles every vhost's rules, by vhost name. */
export function buildRuleSets(vhosts: readonly Vhost[]): Map<string, VhostRuleSet> {
  return new Map(vhosts.map((v) => [v.name, new VhostRuleSet(v)]));
}
