/**
 * @module config/rules
 * Parses TTL, bypass and query-string rules from their two spellings into plain Config data (config/types.ts):
 * the inline XML elements of vhosts.xml (`<TTLRules>`, `<BypassRules>`, `<QueryStringRules>`, each a list of
 * `<Rule>`) and STON's per-vhost txt files `svc/<vhost>/ttl.txt`, `bypass.txt`, `querystring.txt`. Every problem
 * names the rule: the element path (`vhosts.xml: Vhosts/Vhost[Name=a]/TTLRules/Rule[2]@Status: ...`) or the file
 * and line (`svc/a/ttl.txt: line 3: ...`). No I/O (config/load.ts reads the files); runs in the primary.
 *
 * txt line syntax (STON): `#` starts a comment line; a line is `conditions[, action]`, conditions joined by `&`:
 *   a bare glob or `$URL[glob]`; ttl.txt: `$ORGSTATUS[200]` / `$ORGSTATUS[2xx]` (several joined by `|`);
 *   bypass.txt: `$METHOD[POST]`, `$HEADER[name]`, `$HEADER[name: value-glob]`, `$COOKIE[name]`,
 *   `$COOKIE[name=value-glob]`, `$IP[10.0.0.0/8]`.
 *   ttl.txt action: seconds (`*.jpg, 3600`). bypass.txt action: `bypass` or `cache`; none = invert the method's
 *   default. querystring.txt action: `apply`, `ignore`, `+key1&key2` (keep only), `-key1&key2` (drop); none = the
 *   opposite of `<ApplyQueryString>` for those URLs.
 */
import { isIP } from 'node:net';
import { globProblem } from '../policy/url-glob.js';
import type { BypassAction, BypassRule, QueryStringMode, QueryStringRule, TtlRule } from './types.js';
import { TOKEN } from '../http-grammar.js';

/** Kinds of rule list, with the txt file and XML container of each. */
export const RULE_KINDS = {
  ttl: { file: 'ttl.txt', element: 'TTLRules' },
  bypass: { file: 'bypass.txt', element: 'BypassRules' },
  querystring: { file: 'querystring.txt', element: 'QueryStringRules' },
} as const;
export type RuleKind = keyof typeof RULE_KINDS;

/** Every svc/<vhost>/ file Flint reads; any other `*.txt` there is a config error (config/validate.ts). */
export const KNOWN_RULE_FILES: readonly string[] = [...Object.values(RULE_KINDS).map((k) => k.file), 'acl.txt', 'headers.txt', 'compression.txt', 'throttling.txt'];

/** Largest TTL a rule may give (RFC 9111 §1.2.2 delta-seconds cap, as the <TTL> settings). */
const TTL_MAX = 2 ** 31;

/** One `<Rule>` as the validator hands it over: its path for problems, attributes and trimmed text. */
export interface RuleElement {
  readonly where: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly text: string;
}

/** Parsed rules plus the problems found (each already naming its location). */
export interface RuleParse<R> {
  readonly rules: R[];
  readonly problems: string[];
}

type Result<T> = { ok: true; value: T } | { ok: false; error: string };
const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: string): Result<T> => ({ ok: false, error });
const quote = (text: string): string => JSON.stringify(text);

// ---------------------------------------------------------------------------------------------------------------
// Values shared by both spellings

function parseGlob(text: string): Result<string> {
  const problem = globProblem(text);
  return problem === null ? ok(text) : fail(problem);
}

/** `200`, `2xx`, or several joined by `,` or `|`. */
export function parseStatusList(text: string): Result<string[]> {
  const out: string[] = [];
  for (const part of text.split(/[,|]/)) {
    const s = part.trim().toLowerCase();
    if (s === '304') return fail('status 304 is not supported in TTL rules (a 304 refreshes the stored object; its TTL comes from the rule that stored it)');
    if (/^[1-5]\d\d$/.test(s) || /^[1-5]xx$/.test(s)) out.push(s);
    else return fail(`${quote(part.trim())} is not a status code (200) or class (2xx)`);
  }
  return ok(out);
}

function parseTtl(text: string): Result<number> {
  if (!/^\d+$/.test(text)) return fail(`${quote(text)} is not a whole number of seconds`);
  const n = Number(text);
  return n <= TTL_MAX ? ok(n) : fail(`${quote(text)} is out of range (0..${TTL_MAX})`);
}

function parseMethod(text: string): Result<string> {
  return /^[A-Za-z]+$/.test(text) ? ok(text.toUpperCase()) : fail(`${quote(text)} is not an HTTP method`);
}

function parseClientIp(text: string): Result<string> {
  const [address = '', prefix, extra] = text.split('/');
  const family = isIP(address);
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
  return family !== 0 && prefixOk && extra === undefined ? ok(text) : fail(`${quote(text)} is not an IP address or CIDR range`);
}

/** `Name` or `Name: value-glob` -> lower-case name and value (null = presence only). */
function parseHeaderMatch(text: string): Result<{ name: string; value: string | null }> {
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).trim().toLowerCase();
  if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) return fail(`${quote(text)} does not start with a header name`);
  return ok({ name, value: colon < 0 ? null : text.slice(colon + 1).trim() });
}

/** `name` or `name=value-glob`. */
function parseCookieMatch(text: string): Result<{ name: string; value: string | null }> {
  const eq = text.indexOf('=');
  const name = (eq < 0 ? text : text.slice(0, eq)).trim();
  if (!TOKEN.test(name)) return fail(`${quote(text)} does not start with a cookie name`);
  return ok({ name, value: eq < 0 ? null : text.slice(eq + 1).trim() });
}

/** `a,b` (XML) or `a&b` (txt) -> query keys. */
export function parseKeyList(text: string): Result<string[]> {
  const keys = text
    .split(/[,&]/)
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (keys.length === 0) return fail('the key list is empty');
  const bad = keys.find((k) => /[\s=#?]/.test(k));
  return bad === undefined ? ok(keys) : fail(`${quote(bad)} is not a query key`);
}

function parseBypassAction(text: string): Result<BypassAction> {
  const lower = text.toLowerCase();
  if (lower === 'bypass' || lower === 'cache' || lower === 'invert') return ok(lower);
  return fail(`${quote(text)} is not bypass, cache or invert`);
}

// ---------------------------------------------------------------------------------------------------------------
// XML elements

/** Collects the problems of one element; `attr` values are reported as `where@Attr`. */
class ElementReader {
  readonly problems: string[] = [];
  constructor(
    readonly file: string,
    readonly element: RuleElement,
  ) {}

  attr<T>(name: string, parse: (text: string) => Result<T>): T | null | undefined {
    const text = this.element.attrs.get(name);
    if (text === undefined) return null;
    const r = parse(text.trim());
    if (r.ok) return r.value;
    this.problems.push(`${this.file}: ${this.element.where}@${name}: ${r.error}`);
    return undefined;
  }

  text<T>(parse: (text: string) => Result<T>, missing: string): T | undefined {
    if (this.element.text === '') {
      this.problems.push(`${this.file}: ${this.element.where}: ${missing}`);
      return undefined;
    }
    const r = parse(this.element.text);
    if (r.ok) return r.value;
    this.problems.push(`${this.file}: ${this.element.where}: ${r.error}`);
    return undefined;
  }
}

export function ttlRulesFromElements(file: string, elements: readonly RuleElement[]): RuleParse<TtlRule> {
  const out: RuleParse<TtlRule> = { rules: [], problems: [] };
  for (const e of elements) {
    const r = new ElementReader(file, e);
    const url = r.attr('Url', parseGlob);
    const status = r.attr('Status', parseStatusList);
    const ttlSec = r.text(parseTtl, 'missing the TTL in seconds: <Rule Url="*.jpg" Status="200">3600</Rule>');
    out.problems.push(...r.problems);
    if (r.problems.length === 0 && url !== undefined && status !== undefined && ttlSec !== undefined) {
      out.rules.push({ source: `${file}: ${e.where}`, url: url ?? '*', status: status ?? [], ttlSec });
    }
  }
  return out;
}

export function bypassRulesFromElements(file: string, elements: readonly RuleElement[]): RuleParse<BypassRule> {
  const out: RuleParse<BypassRule> = { rules: [], problems: [] };
  for (const e of elements) {
    const r = new ElementReader(file, e);
    const method = r.attr('Method', parseMethod);
    const url = r.attr('Url', parseGlob);
    const header = r.attr('Header', parseHeaderMatch);
    const cookie = r.attr('Cookie', parseCookieMatch);
    const clientIp = r.attr('ClientIp', parseClientIp);
    const action = r.text(parseBypassAction, 'missing the action: bypass, cache or invert');
    out.problems.push(...r.problems);
    if (r.problems.length > 0 || action === undefined) continue;
    out.rules.push({
      source: `${file}: ${e.where}`,
      method: method ?? null,
      url: url ?? null,
      header: header ?? null,
      cookie: cookie ?? null,
      clientIp: clientIp ?? null,
      action,
    });
  }
  return out;
}

export function queryRulesFromElements(file: string, elements: readonly RuleElement[], applyQueryString: boolean): RuleParse<QueryStringRule> {
  const out: RuleParse<QueryStringRule> = { rules: [], problems: [] };
  for (const e of elements) {
    const r = new ElementReader(file, e);
    const url = r.attr('Url', parseGlob);
    const keep = r.attr('Keep', parseKeyList);
    const drop = r.attr('Drop', parseKeyList);
    let mode: QueryStringMode = applyQueryString ? 'ignore' : 'apply';
    if (e.text !== '') {
      const lower = e.text.toLowerCase();
      if (lower === 'apply' || lower === 'ignore') mode = lower;
      else r.problems.push(`${file}: ${e.where}: ${quote(e.text)} is not apply or ignore`);
    }
    if (url === null) r.problems.push(`${file}: ${e.where}: missing Url="..."`);
    if (keep !== null && drop !== null) r.problems.push(`${file}: ${e.where}: Keep and Drop cannot both be set`);
    if ((keep !== null || drop !== null) && e.text !== '') r.problems.push(`${file}: ${e.where}: Keep/Drop and a text action cannot both be set`);
    out.problems.push(...r.problems);
    if (r.problems.length > 0 || url === null || url === undefined) continue;
    if (keep) mode = 'keep';
    if (drop) mode = 'drop';
    out.rules.push({ source: `${file}: ${e.where}`, url, mode, keys: keep ?? drop ?? [] });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// txt files

/** Splits at `sep` outside `[...]`. */
function splitTop(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '[') depth++;
    else if (ch === ']') depth = Math.max(0, depth - 1);
    else if (ch === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

/** One condition: `$NAME[value]` or a bare glob (= `$URL[glob]`). */
function parseCondition(text: string): Result<{ name: string; value: string }> {
  if (text === '') return fail('empty condition');
  if (text.startsWith('!')) return fail(`${quote(text)}: negated conditions are not supported`);
  if (!text.startsWith('$')) return ok({ name: 'URL', value: text });
  const m = /^\$([A-Za-z]+)\[(.*)\]$/.exec(text);
  if (m === null) return fail(`${quote(text)} is not a condition ($NAME[value] or a URL pattern)`);
  return ok({ name: (m[1] as string).toUpperCase(), value: (m[2] as string).trim() });
}

interface TxtLine {
  readonly n: number;
  readonly conditions: Array<{ name: string; value: string }>;
  readonly fields: string[];
}

/** Non-comment lines split into conditions and the remaining fields; problems for unparsable conditions. */
function txtLines(label: string, text: string, problems: string[]): TxtLine[] {
  const out: TxtLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [conditionText = '', ...fields] = splitTop(line, ',');
    const conditions: Array<{ name: string; value: string }> = [];
    for (const part of splitTop(conditionText, '&')) {
      const c = parseCondition(part);
      if (c.ok) conditions.push(c.value);
      else problems.push(`${label}: line ${i + 1}: ${c.error}`);
    }
    out.push({ n: i + 1, conditions, fields });
  });
  return out;
}

/** Reports each condition name not in `allowed`, and a second use of any name. */
function checkConditions(label: string, line: TxtLine, allowed: readonly string[], problems: string[]): boolean {
  const seen = new Set<string>();
  let good = true;
  for (const c of line.conditions) {
    if (!allowed.includes(c.name)) {
      problems.push(`${label}: line ${line.n}: $${c.name}[...] is not a condition here (use ${allowed.map((a) => `$${a}`).join(', ')})`);
      good = false;
    } else if (seen.has(c.name)) {
      problems.push(`${label}: line ${line.n}: $${c.name}[...] appears twice`);
      good = false;
    }
    seen.add(c.name);
  }
  return good;
}

export function ttlRulesFromText(label: string, text: string): RuleParse<TtlRule> {
  const out: RuleParse<TtlRule> = { rules: [], problems: [] };
  for (const line of txtLines(label, text, out.problems)) {
    const at = `${label}: line ${line.n}`;
    if (!checkConditions(label, line, ['URL', 'ORGSTATUS'], out.problems)) continue;
    if (line.fields.length === 0) {
      out.problems.push(`${at}: missing the TTL: pattern, seconds`);
      continue;
    }
    if (line.fields.length > 1) {
      out.problems.push(`${at}: only "conditions, seconds" is supported (cron-style expiry is not)`);
      continue;
    }
    const ttl = parseTtl(line.fields[0] as string);
    const url = line.conditions.find((c) => c.name === 'URL');
    const status = line.conditions.find((c) => c.name === 'ORGSTATUS');
    const glob = url === undefined ? ok('*') : parseGlob(url.value);
    const statuses = status === undefined ? ok([] as string[]) : parseStatusList(status.value);
    const errors = [ttl, glob, statuses].flatMap((r) => (r.ok ? [] : [r.error]));
    if (errors.length > 0 || !ttl.ok || !glob.ok || !statuses.ok) {
      for (const e of errors) out.problems.push(`${at}: ${e}`);
      continue;
    }
    out.rules.push({ source: at, url: glob.value, status: statuses.value, ttlSec: ttl.value });
  }
  return out;
}

export function bypassRulesFromText(label: string, text: string): RuleParse<BypassRule> {
  const out: RuleParse<BypassRule> = { rules: [], problems: [] };
  for (const line of txtLines(label, text, out.problems)) {
    const at = `${label}: line ${line.n}`;
    if (!checkConditions(label, line, ['URL', 'METHOD', 'HEADER', 'COOKIE', 'IP'], out.problems)) continue;
    if (line.fields.length > 1) {
      out.problems.push(`${at}: expected "conditions" or "conditions, bypass|cache"`);
      continue;
    }
    const action = line.fields.length === 0 ? ok<BypassAction>('invert') : parseBypassAction(line.fields[0] as string);
    const get = (name: string): string | undefined => line.conditions.find((c) => c.name === name)?.value;
    const parsed = {
      url: get('URL') === undefined ? ok(null) : parseGlob(get('URL') as string),
      method: get('METHOD') === undefined ? ok(null) : parseMethod(get('METHOD') as string),
      header: get('HEADER') === undefined ? ok(null) : parseHeaderMatch(get('HEADER') as string),
      cookie: get('COOKIE') === undefined ? ok(null) : parseCookieMatch(get('COOKIE') as string),
      ip: get('IP') === undefined ? ok(null) : parseClientIp(get('IP') as string),
    };
    const errors = [action, ...Object.values(parsed)].flatMap((r) => (r.ok ? [] : [r.error]));
    if (errors.length > 0) {
      for (const e of errors) out.problems.push(`${at}: ${e}`);
      continue;
    }
    const v = <T>(r: Result<T>): T => (r as { value: T }).value;
    out.rules.push({
      source: at,
      method: v(parsed.method),
      url: v(parsed.url),
      header: v(parsed.header),
      cookie: v(parsed.cookie),
      clientIp: v(parsed.ip),
      action: v(action),
    });
  }
  return out;
}

export function queryRulesFromText(label: string, text: string, applyQueryString: boolean): RuleParse<QueryStringRule> {
  const out: RuleParse<QueryStringRule> = { rules: [], problems: [] };
  for (const line of txtLines(label, text, out.problems)) {
    const at = `${label}: line ${line.n}`;
    if (!checkConditions(label, line, ['URL'], out.problems)) continue;
    const url = line.conditions.find((c) => c.name === 'URL');
    if (url === undefined) {
      out.problems.push(`${at}: missing the URL pattern`);
      continue;
    }
    const glob = parseGlob(url.value);
    if (!glob.ok) {
      out.problems.push(`${at}: ${glob.error}`);
      continue;
    }
    if (line.fields.length > 1) {
      out.problems.push(`${at}: expected "pattern" or "pattern, apply|ignore|+keys|-keys"`);
      continue;
    }
    const action = (line.fields[0] ?? '').trim();
    let mode: QueryStringMode = applyQueryString ? 'ignore' : 'apply';
    let keys: string[] = [];
    if (action.startsWith('+') || action.startsWith('-')) {
      const list = parseKeyList(action.slice(1));
      if (!list.ok) {
        out.problems.push(`${at}: ${list.error}`);
        continue;
      }
      mode = action.startsWith('+') ? 'keep' : 'drop';
      keys = list.value;
    } else if (action !== '') {
      const lower = action.toLowerCase();
      if (lower !== 'apply' && lower !== 'ignore') {
        out.problems.push(`${at}: ${quote(action)} is not apply, ignore, +keys or -keys`);
        continue;
      }
      mode = lower;
    }
    out.rules.push({ source: at, url: glob.value, mode, keys });
  }
  return out;
}
