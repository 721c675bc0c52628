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
import { rulePath } from '../../cache/key.js';
import { RuleIndex } from '../rules.js';
import { RequestConditions, urlGlobOf } from './conditions.js';
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

/** A vhost's compiled header rules; `hasResponseRules` tells the hit path to skip its pre-encoded heads. */
export class HeaderPolicy {
  readonly #request: RuleIndex<CompiledHeader>;
  readonly #response: RuleIndex<CompiledHeader>;
  readonly hasRequestRules: boolean;
  readonly hasResponseRules: boolean;

  /** `geo`: the config's GeoIP database, for `$GEO` conditions (null when it names none). */
  constructor(vhost: Vhost, geo: GeoIp | null = null) {
    const cs = vhost.options.caseSensitive && vhost.options.ruleCaseSensitive;
    const compile = (rule: HeaderRule): CompiledHeader => ({ rule, conditions: new RequestConditions(rule.conditions, [], geo), parts: compileTemplate(rule.value) });
    const request = vhost.rules.headers.filter((r) => r.target === 'req').map(compile);
    const response = vhost.rules.headers.filter((r) => r.target === 'res').map(compile);
    this.#request = new RuleIndex(request, (c) => urlGlobOf(c.rule.conditions), cs);
    this.#response = new RuleIndex(response, (c) => urlGlobOf(c.rule.conditions), cs);
    this.hasRequestRules = request.length > 0;
    this.hasResponseRules = response.length > 0;
  }

  /** Rewrites the origin request's `headers` (originRequestHeaders' list) for the request `head` on `path`. */
  rewriteRequest(headers: string[], head: RequestHead, path: string): void {
    if (!this.hasRequestRules) return;
    for (const c of this.#request.all(rulePath(path))) {
      if (c.conditions.holds(head)) applyAction(headers, c.rule, c.parts === null ? '' : render(c.parts, head, ''));
    }
  }

  /**
   * True when some response rule applies to this response: the hit path keeps its pre-encoded head when none does
   * (rewriteResponse would change nothing). Allocates nothing when no rule's URL matches.
   */
  rewritesResponse(input: HeaderRuleInput, status: number): boolean {
    if (!this.hasResponseRules) return false;
    this.#status = status;
    return this.#response.first(rulePath(input.path), this.#applies, input.head) !== undefined;
  }

  /** The status `#applies` checks against (set just before; workers are single-threaded). */
  #status = 0;
  readonly #applies = (c: CompiledHeader, head: RequestHead): boolean => statusHolds(c.rule.status, this.#status) && c.conditions.holds(head);

  /** Rewrites a client response's `headers` (a fresh list, never a stored one) of status `status`. */
  rewriteResponse(headers: string[], input: HeaderRuleInput, status: number): void {
    if (!this.hasResponseRules) return;
    const head = input.head;
    for (const c of this.#response.all(rulePath(input.path))) {
      if (statusHolds(c.rule.status, status) && c.conditions.holds(head)) applyAction(headers, c.rule, c.parts === null ? '' : render(c.parts, head, input.cacheResult));
    }
  }
}

/** Compiles the header policy of every vhost with header rules, by vhost name. */
export function buildHeaderPolicies(vhosts: readonly Vhost[], geo: GeoIp | null = null): Map<string, HeaderPolicy> {
  return new Map(vhosts.filter((v) => v.rules.headers.length > 0).map((v) => [v.name, new HeaderPolicy(v, geo)] as const));
}
