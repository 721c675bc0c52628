/**
 * @module policy/url-rewrite
 * STON's `<URLRewrite>` rules compiled once per config: before the vhost is chosen, the first rule whose pattern
 * matches `host/path?query` (host normalised, path normalised as the cache key's) replaces the whole URL by its
 * template, so a rewrite can change the host and send the request to another vhost. The result is checked: a
 * result over REWRITE_OUTPUT_MAX characters is refused with 414, one that is not `host/absolute-path[?query]` with
 * 400 (the client's URL, as rewritten, is no request Flint can serve; a 5xx would let any client inflate the
 * server-error counts). Cost: none without rules; with rules, a rule anchored on a literal host (`^www\.a\.com/`)
 * is only tried for that host (one Map lookup), other rules are first filtered by their literal prefix (a
 * string compare), and only then run in V8's linear-time engine (policy/url-rewrite-parse.ts), whose few µs are
 * paid once per URL: recent decisions are kept by input. Runs in workers.
 */
import type { UrlRewriteRule } from '../config/types.js';
import type { TemplatePart } from './url-rewrite-parse.js';
import { checkUrlRewrite } from './url-rewrite-parse.js';

/** Longest input a rule is run on, and longest result accepted (characters): a longer URL is refused with 414. */
export const REWRITE_URL_MAX = 8192;

/** Recent rewrite decisions kept per worker (inputs and results: a few MB at most). */
const RECENT_MAX = 16384;

interface CompiledRewrite {
  /** Position in the rule list: first match wins across the two candidate lists. */
  readonly position: number;
  readonly re: RegExp;
  readonly parts: readonly TemplatePart[];
  /** Literal text every match starts with (`anchored`: the input starts with it; else the input contains it). */
  readonly literal: string;
  readonly anchored: boolean;
}

export type RewriteResult =
  | { readonly kind: 'rewritten'; readonly host: string; readonly path: string; readonly query: string; readonly from: string; readonly to: string }
  | { readonly kind: 'refused'; readonly status: 400 | 414; readonly detail: string; readonly from: string };

/**
 * The literal text a pattern's matches must start with, and whether the pattern is anchored (`^`); '' when none
 * can be read cheaply (a top-level alternation, a class or group first). `\.` `\/` `\-` count as literal
 * characters; a literal followed by a quantifier does not.
 */
export function literalPrefix(pattern: string): { literal: string; anchored: boolean } {
  const anchored = pattern.startsWith('^');
  if (hasTopLevelAlternation(pattern)) return { literal: '', anchored: false };
  let literal = '';
  let i = anchored ? 1 : 0;
  while (i < pattern.length) {
    let ch = pattern[i] as string;
    let width = 1;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined || !/[./\-:_~]/.test(next)) break;
      ch = next;
      width = 2;
    } else if (!/[A-Za-z0-9/\-:_~%=&,;!@']/.test(ch)) break;
    const after = pattern[i + width];
    if (after === '?' || after === '*' || after === '+' || after === '{') break;
    literal += ch;
    i += width;
  }
  return { literal, anchored };
}

/** True when `pattern` has a `|` outside every group and class. */
function hasTopLevelAlternation(pattern: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) return true;
  }
  return false;
}

/** A host part a rewrite may produce: a DNS name or IPv4 literal, or a bracketed IPv6 literal, optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/** True when `target` is printable ASCII without space or '#' (what a request target may hold). */
function printableTarget(target: string): boolean {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x23) return false;
  }
  return true;
}

export class UrlRewriter {
  /** Rules anchored on one literal host (`^host/...`), by that host (lower-case). */
  readonly #byHost = new Map<string, CompiledRewrite[]>();
  /** Every other rule, in order. */
  readonly #general: CompiledRewrite[] = [];
  /**
   * Decisions for recent inputs (a rewrite is a pure function of the URL): a URL served again, as every cache hit
   * is, costs a Map lookup instead of a linear-engine run. Emptied when full, so unique URLs cannot grow it.
   */
  readonly #recent = new Map<string, RewriteResult | null>();

  /** Compiles `rules` (validated at load; throws on one that is not). */
  constructor(rules: readonly UrlRewriteRule[]) {
    rules.forEach((rule, position) => {
      const checked = checkUrlRewrite(rule.pattern, rule.replace);
      if (!checked.ok) throw new Error(`${rule.source}: ${checked.error}`);
      const { literal, anchored } = literalPrefix(rule.pattern);
      const compiled: CompiledRewrite = { position, re: checked.value.re, parts: checked.value.parts, literal, anchored };
      const slash = literal.indexOf('/');
      if (anchored && slash > 0) {
        const host = literal.slice(0, slash).toLowerCase();
        const list = this.#byHost.get(host);
        if (list === undefined) this.#byHost.set(host, [compiled]);
        else list.push(compiled);
      } else this.#general.push(compiled);
    });
  }

  /**
   * The rewrite of a request to `host` (normalised: lower case, no port) for `path` (normalised) and `query`, or
   * null when no rule matches (the request goes on unchanged).
   */
  rewrite(host: string, path: string, query: string): RewriteResult | null {
    const hosted = this.#byHost.get(host);
    const general = this.#general;
    if (hosted === undefined && general.length === 0) return null;
    const input = query === '' ? `${host}${path}` : `${host}${path}?${query}`;
    if (input.length > REWRITE_URL_MAX) return { kind: 'refused', status: 414, detail: `URL longer than ${REWRITE_URL_MAX} characters on a host with rewrite rules`, from: input.slice(0, 256) };
    const known = this.#recent.get(input);
    if (known !== undefined) return known;
    const result = this.#decide(input, hosted, general);
    if (this.#recent.size >= RECENT_MAX) this.#recent.clear();
    this.#recent.set(input, result);
    return result;
  }

  /** The first matching rule's result for `input` among the candidates, or null. */
  #decide(input: string, hosted: readonly CompiledRewrite[] | undefined, general: readonly CompiledRewrite[]): RewriteResult | null {
    let h = 0;
    let g = 0;
    const hostedCount = hosted === undefined ? 0 : hosted.length;
    while (h < hostedCount || g < general.length) {
      let rule: CompiledRewrite;
      const a = hosted?.[h];
      const b = general[g];
      if (a !== undefined && (b === undefined || a.position < b.position)) {
        rule = a;
        h++;
      } else {
        rule = b as CompiledRewrite;
        g++;
      }
      if (rule.literal !== '' && !(rule.anchored ? input.startsWith(rule.literal) : input.includes(rule.literal))) continue;
      const m = rule.re.exec(input);
      if (m !== null) return expand(rule, m, input);
    }
    return null;
  }
}

/** The template of `rule` filled from `m`, checked and split into host, path and query. */
function expand(rule: CompiledRewrite, m: RegExpExecArray, input: string): RewriteResult {
  let out = '';
  for (const part of rule.parts) out += typeof part === 'string' ? part : part === 0 ? input : (m[part] ?? '');
  if (out.length > REWRITE_URL_MAX) return { kind: 'refused', status: 414, detail: `rewritten URL longer than ${REWRITE_URL_MAX} characters`, from: input };
  const slash = out.indexOf('/');
  const host = slash < 0 ? out : out.slice(0, slash);
  if (slash <= 0 || !HOST.test(host)) return { kind: 'refused', status: 400, detail: 'rewritten URL does not start with a host name and a path', from: input };
  const target = out.slice(slash);
  if (!printableTarget(target)) return { kind: 'refused', status: 400, detail: 'rewritten URL holds characters a request target cannot', from: input };
  const q = target.indexOf('?');
  return { kind: 'rewritten', host, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), from: input, to: out };
}
