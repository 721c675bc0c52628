/**
 * @module policy/edge-rules/headers
 * A vhost's header rules (STON <ModifyHeader>, headers.txt) compiled once per config: request rules rewrite the
 * origin request's header list, response rules the client response's, every matching rule in file order (STON's
 * FirstOnly OFF). Response rules run at delivery, on the stored headers' copy: an object is stored as the origin
 * sent it, so a rule change needs no purge. Value templates are split once into literal and variable parts.
 * Pure; runs in workers.
 */
import { hostname } from 'node:os';
import type { HeaderRule, Vhost } from '../../config/types.js';
import type { RequestHead } from '../../http/request.js';
import { RequestConditions, urlGlobOf } from './conditions.js';
import { EdgeRuleList } from './rule-list.js';
import type { GeoIp } from '../geoip.js';

/** What a response rule may read of its transaction: RequestCtx satisfies it. */
export interface HeaderRuleInput {
  readonly head: RequestHead;
  /** Normalised path (ctx.path). */
  readonly path: string;
  /** The access log's cache result (TCP_HIT, TCP_MISS, PASS...), for `#CACHEHIT`. */
  readonly cacheResult: string;
}

/** One part of a value template: literal text, a variable, or a request header (`$REQ.<name>`, lower-case). */
type Part = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'var'; readonly name: string } | { readonly kind: 'req'; readonly name: string };

interface CompiledHeader {
  readonly rule: HeaderRule;
  /** Position in its direction's list (file order). */
  readonly position: number;
  readonly conditions: RequestConditions;
  readonly parts: readonly Part[] | null;
}

const MACHINE = hostname();

function compileTemplate(value: string | null): readonly Part[] | null {
  if (value === null) return null;
  const parts: Part[] = [];
  let last = 0;
  for (const m of value.matchAll(/#(CLIENTIP|HOSTNAME|PROTOCOL|CACHEHIT)|\$REQ\.([!#$%&'*+\-.^_`|~0-9A-Za-z]+)/gi)) {
    const at = m.index ?? 0;
    if (at > last) parts.push({ kind: 'text', text: value.slice(last, at) });
    if (m[1] !== undefined) parts.push({ kind: 'var', name: m[1].toUpperCase() });
    else parts.push({ kind: 'req', name: (m[2] as string).toLowerCase() });
    last = at + m[0].length;
  }
  if (last < value.length) parts.push({ kind: 'text', text: value.slice(last) });
  return parts;
}

function render(parts: readonly Part[], head: RequestHead, cacheResult: string): string {
  if (parts.length === 1 && parts[0]?.kind === 'text') return parts[0].text;
  let out = '';
  for (const p of parts) {
    if (p.kind === 'text') out += p.text;
    else if (p.kind === 'req') out += requestHeader(head.headers, p.name);
    else if (p.name === 'CLIENTIP') out += head.clientIp;
    else if (p.name === 'HOSTNAME') out += MACHINE;
    else if (p.name === 'PROTOCOL') out += head.tls === undefined ? 'http' : 'https';
    else out += cacheResult;
  }
  return out;
}

function requestHeader(headers: readonly string[], name: string): string {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1] as string;
  return '';
}

/** Applies one rule's action to a flat name/value list (names lower-case), in place. */
function applyAction(headers: string[], rule: HeaderRule, value: string): void {
  const name = rule.name;
  if (rule.action === 'put') {
    headers.push(name, value);
    return;
  }
  if (rule.action === 'append') {
    for (let i = headers.length - 2; i >= 0; i -= 2) {
      if (headers[i] === name) {
        headers[i + 1] = `${headers[i + 1] as string}, ${value}`;
        return;
      }
    }
    headers.push(name, value);
    return;
  }
  // set and unset remove every field of that name first.
  let w = 0;
  for (let r = 0; r < headers.length; r += 2) {
    if (headers[r] === name) continue;
    headers[w++] = headers[r] as string;
    headers[w++] = headers[r + 1] as string;
  }
  headers.length = w;
  if (rule.action === 'set') headers.push(name, value);
}

function statusHolds(statuses: readonly string[], status: number): boolean {
  if (statuses.length === 0) return true;
  const text = String(status);
  for (const s of statuses) if (s === text || (s[1] === 'x' && s[0] === text[0])) return true;
  return false;
}

/** Header edits a hot-tier hit applies to its head (HeaderPolicy.hitEdits): the same for everyone they apply to. */
export interface ResponseEdits {
  apply(headers: string[]): void;
}

/** No response rule applies: the head stays as it is. */
export const NO_EDITS: ResponseEdits = Object.freeze({ apply(): void {} });

/** hitEdits' answer for one path and status: edits of the rules without request conditions, or null (per request). */
interface HitPlan {
  readonly edits: ResponseEdits | null;
  /** Rules with request conditions whose status holds: when one holds for a request, its edits are per request. */
  readonly conditional: readonly CompiledHeader[];
}

/** A template whose value is the same for every request: literal text and #HOSTNAME only. */
function constantValue(parts: readonly Part[] | null): boolean {
  return parts === null || parts.every((p) => p.kind === 'text' || (p.kind === 'var' && p.name === 'HOSTNAME'));
}

/** What render reads for a constant template: nothing of the request (only #HOSTNAME, which is not from it). */
const HOST_ONLY = { clientIp: '', headers: [], tls: undefined } as unknown as RequestHead;

/**
 * With `<Cors>` ON the edge decides CORS: pipeline/edge-policy.ts adds its own Access-Control-Allow-Origin at
 * delivery, so the origin's Allow-Origin and Allow-Credentials are removed from every response after the vhost's own
 * rules. Kept, a client got two Allow-Origin fields (a browser then refuses the response) or the origin's `*` (with
 * its credentials flag) for an Origin the edge refuses. Rules without conditions: a hot hit bakes them into its head.
 */
const CORS_OWNED = ['access-control-allow-origin', 'access-control-allow-credentials'];

function corsOwned(vhost: Vhost): HeaderRule[] {
  if (vhost.cors === null) return [];
  return CORS_OWNED.map((name): HeaderRule => ({ source: '<Cors>', conditions: [], target: 'res', name, value: null, action: 'unset', status: [] }));
}

/** True when a vhost has header rules to compile: its own, or the ones `<Cors>` implies. */
export function hasHeaderPolicy(vhost: Vhost): boolean {
  return vhost.rules.headers.length > 0 || vhost.cors !== null;
}

/** A vhost's compiled header rules; hitEdits tells the hit path which pre-encoded head it may use. */
export class HeaderPolicy {
  readonly #request: EdgeRuleList<CompiledHeader>;
  readonly #response: EdgeRuleList<CompiledHeader>;
  readonly hasRequestRules: boolean;
  readonly hasResponseRules: boolean;

  /** `geo`: the config's GeoIP database, for `$GEO` conditions (null when it names none); `memoEntries` bounds each
   * list's path memo (policy/edge-rules/rule-list.ts; tests set it small). */
  constructor(vhost: Vhost, geo: GeoIp | null = null, memoEntries?: number) {
    const cs = vhost.options.caseSensitive && vhost.options.ruleCaseSensitive;
    const compile = (rule: HeaderRule, position: number): CompiledHeader => ({ rule, position, conditions: new RequestConditions(rule.conditions, geo), parts: compileTemplate(rule.value) });
    const request = vhost.rules.headers.filter((r) => r.target === 'req').map(compile);
    const response = [...vhost.rules.headers.filter((r) => r.target === 'res'), ...corsOwned(vhost)].map(compile);
    this.#request = new EdgeRuleList(request, (c) => urlGlobOf(c.rule.conditions), cs, memoEntries);
    this.#response = new EdgeRuleList(response, (c) => urlGlobOf(c.rule.conditions), cs, memoEntries);
    this.hasRequestRules = request.length > 0;
    this.hasResponseRules = response.length > 0;
  }

  /** Rewrites the origin request's `headers` (originRequestHeaders' list) for the request `head` on `path`. */
  rewriteRequest(headers: string[], head: RequestHead, path: string): void {
    if (!this.hasRequestRules) return;
    for (const c of this.#request.all(path)) {
      if (c.conditions.holds(head)) applyAction(headers, c.rule, c.parts === null ? '' : render(c.parts, head, ''));
    }
  }

  /**
   * The response edits of a hot-tier hit when they are the same for everyone asking for this path with this status:
   * NO_EDITS when no rule applies (the hit keeps its plain pre-encoded head), a ResponseEdits object (the same object
   * on every call while the path stays remembered) when only rules without request conditions and with constant
   * values apply, so the hot tier encodes the rewritten head once (pipeline/hot-head.ts keys it on this object);
   * null when the edits depend on the request (a rule with `$IP`/`$HEADER`/`$METHOD` conditions holds, or a value
   * uses #CLIENTIP, #PROTOCOL, #CACHEHIT or $REQ.<name>): rewriteResponse then builds each head.
   */
  hitEdits(input: HeaderRuleInput, status: number): ResponseEdits | null {
    if (!this.hasResponseRules) return NO_EDITS;
    const key = this.#response.byGlob(input.path);
    let byStatus = this.#plans.get(key);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.#plans.set(key, byStatus);
    }
    let plan = byStatus.get(status);
    if (plan === undefined) {
      plan = this.#plan(input.path, status);
      byStatus.set(status, plan);
    }
    if (plan.edits === null) return null;
    for (const c of plan.conditional) if (c.conditions.holds(input.head)) return null;
    return plan.edits;
  }

  /**
   * Per remembered glob-match list (rule-list.ts byGlob) and status, what hitEdits needs. A WeakMap: a list the
   * path memo dropped takes its plans with it.
   */
  readonly #plans = new WeakMap<readonly CompiledHeader[], Map<number, HitPlan>>();

  #plan(path: string, status: number): HitPlan {
    const fixed: Array<{ readonly rule: HeaderRule; readonly value: string }> = [];
    const conditional: CompiledHeader[] = [];
    for (const c of this.#response.all(path)) {
      if (!statusHolds(c.rule.status, status)) continue;
      // Any condition but the URL (which matched) depends on the request; so does a value with request variables.
      if (c.rule.conditions.some((k) => k.kind !== 'url')) conditional.push(c);
      else if (!constantValue(c.parts)) return { edits: null, conditional: [] };
      else fixed.push({ rule: c.rule, value: c.parts === null ? '' : render(c.parts, HOST_ONLY, '') });
    }
    if (fixed.length === 0) return { edits: NO_EDITS, conditional };
    const edits: ResponseEdits = {
      apply(headers: string[]): void {
        for (const f of fixed) applyAction(headers, f.rule, f.value);
      },
    };
    return { edits, conditional };
  }

  /** Rewrites a client response's `headers` (a fresh list, never a stored one) of status `status`. */
  rewriteResponse(headers: string[], input: HeaderRuleInput, status: number): void {
    if (!this.hasResponseRules) return;
    const head = input.head;
    for (const c of this.#response.all(input.path)) {
      if (statusHolds(c.rule.status, status) && c.conditions.holds(head)) applyAction(headers, c.rule, c.parts === null ? '' : render(c.parts, head, input.cacheResult));
    }
  }
}

/** Compiles the header policy of every vhost with header rules, by vhost name. */
export function buildHeaderPolicies(vhosts: readonly Vhost[], geo: GeoIp | null = null): Map<string, HeaderPolicy> {
  return new Map(vhosts.filter(hasHeaderPolicy).map((v) => [v.name, new HeaderPolicy(v, geo)] as const));
}
