/**
 * @module policy/edge-rules/parse
 * The edge rule language (STON acl.txt, headers.txt): one rule per line, `conditions, field[, field...]`, the
 * conditions joined by `&`. This file owns the line grammar and the conditions; the lists add their own fields
 * (policy/edge-rules/acl-parse.ts, header-parse.ts). Strict: an unbalanced bracket, an unknown `$NAME`, a bad address or glob, a
 * line over EDGE_LINE_MAX characters is a problem naming the source and line, never a rule that silently matches
 * less. Pure; runs in the primary (validation) and nowhere on the request path.
 *
 * Conditions (names case-insensitive):
 *   `$URL[glob]` or a bare glob       the normalised path (policy/url-glob.ts syntax)
 *   `$IP[addr]`, `$IP[cidr]`          IPv4 or IPv6; `$IP[a.b.c.x-y]` (STON's last-octet range); an IPv4-mapped
 *                                     IPv6 address (`::ffff:10.0.0.1`, `/104`) is read as the IPv4 one
 *   `$HEADER[name]`, `$HEADER[name: glob]`   request header present / value matching (`*` = any run)
 *   `$METHOD[GET]`, `$METHOD[GET|HEAD]`      request method(s)
 *   `$GEO[KR]`, `$GEO[KR|JP]`, `$IP[KR]`     client country (ISO 3166-1 alpha-2; `$IP[KR]` is STON's form), from
 *                                            the `<ServiceAccess GeoIP>` database (policy/geoip.ts)
 */
import { isIP, isIPv4 } from 'node:net';
import type { EdgeCondition } from '../../config/types.js';
import { globProblem } from '../url-glob.js';
import { TOKEN } from '../../http-grammar.js';
import { COUNTRY_CODES } from '../country-codes.js';

/** Longest rule line accepted (characters): a longer one is a config error, not a slow matcher. */
export const EDGE_LINE_MAX = 4096;

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };
export const okValue = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const problem = <T>(error: string): Parsed<T> => ({ ok: false, error });
export const quote = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);

/** One `$NAME[value]` (name upper-case) or bare text, as split from a line. */
export interface RawTerm {
  /** Upper-case name; '' for a bare term (no `$`). */
  readonly name: string;
  readonly value: string;
}

/** One non-comment line split into its comma fields; field 0 holds the conditions. */
export interface EdgeLine {
  /** 1-based line number in its source. */
  readonly n: number;
  /** Comma-separated fields, trimmed; brackets kept whole. */
  readonly fields: readonly string[];
}

/**
 * Splits at `sep` outside `[...]`; a `[` inside brackets or a `]` without its `[` is an error (brackets never nest
 * in this language), as is a `[` left open.
 */
export function splitOutside(text: string, sep: string): Parsed<string[]> {
  const parts: string[] = [];
  let open = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '[') {
      if (open) return problem(`${quote(text)}: '[' inside brackets`);
      open = true;
    } else if (ch === ']') {
      if (!open) return problem(`${quote(text)}: ']' without '['`);
      open = false;
    } else if (ch === sep && !open) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (open) return problem(`${quote(text)}: '[' is never closed`);
  parts.push(text.slice(start).trim());
  return okValue(parts);
}

/**
 * The rule lines of `text` (comments `#...` and blank lines left out), each split into fields; problems are pushed
 * as `<label>: line N: ...`.
 */
export function edgeLines(label: string, text: string, problems: string[]): EdgeLine[] {
  const out: EdgeLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.length > EDGE_LINE_MAX) {
      problems.push(`${label}: line ${i + 1}: longer than ${EDGE_LINE_MAX} characters`);
      continue;
    }
    if (hasControl(line)) {
      problems.push(`${label}: line ${i + 1}: contains control characters`);
      continue;
    }
    const fields = splitOutside(line, ',');
    if (!fields.ok) problems.push(`${label}: line ${i + 1}: ${fields.error}`);
    else out.push({ n: i + 1, fields: fields.value });
  }
  return out;
}

/** True when `line` holds a control character other than HTAB (they have no place in a rule; CR LF split lines). */
function hasControl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** One term: `$NAME[value]` or bare text. */
export function parseTerm(text: string): Parsed<RawTerm> {
  if (text === '') return problem('empty condition');
  if (!text.startsWith('$')) return okValue({ name: '', value: text });
  const m = /^\$([A-Za-z]+)\[([^[\]]*)\]$/.exec(text);
  if (m === null) return problem(`${quote(text)} is not a condition ($NAME[value])`);
  return okValue({ name: (m[1] as string).toUpperCase(), value: (m[2] as string).trim() });
}

/** The IPv4 text of an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, `::ffff:0102:0304`), else null. */
export function mappedIpv4(address: string): string | null {
  const m = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(.+)$/i.exec(address);
  if (m === null || isIP(address) !== 6) return null;
  const tail = m[1] as string;
  if (isIPv4(tail)) return tail;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(tail);
  if (hex === null) return null;
  const hi = parseInt(hex[1] as string, 16);
  const lo = parseInt(hex[2] as string, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * `addr`, `addr/prefix` or `a.b.c.x-y`, normalised: an IPv4-mapped IPv6 address or range (prefix >= 96) becomes
 * the IPv4 one, since client addresses reach the rules in IPv4 form (http/request.ts).
 */
export function parseAddressRange(text: string): Parsed<string> {
  const bad = problem<string>(`${quote(text)} is not an IP address, CIDR range or a.b.c.x-y range`);
  const range = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.)(\d{1,3})-(\d{1,3})$/.exec(text);
  if (range !== null) {
    const from = Number(range[2]);
    const to = Number(range[3]);
    if (!isIPv4(`${range[1]}${from}`) || to > 255 || to < from) return bad;
    return okValue(`${range[1]}${from}-${to}`);
  }
  const parts = text.split('/');
  if (parts.length > 2) return bad;
  const [address = '', prefixText] = parts;
  const family = isIP(address);
  if (family === 0) return bad;
  let prefix: number | null = null;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return bad;
    prefix = Number(prefixText);
    if (prefix > (family === 6 ? 128 : 32)) return bad;
  }
  const v4 = family === 6 ? mappedIpv4(address) : null;
  if (v4 !== null) {
    if (prefix === null) return okValue(v4);
    if (prefix < 96) return problem(`${quote(text)}: an IPv4-mapped range needs a prefix of 96 or more`);
    return okValue(`${v4}/${prefix - 96}`);
  }
  return okValue(prefix === null ? address.toLowerCase() : `${address.toLowerCase()}/${prefix}`);
}


/** `name` or `name: value-glob` -> lower-case name, value (null = presence). */
export function parseHeaderCondition(text: string): Parsed<{ name: string; value: string | null }> {
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).trim();
  if (!TOKEN.test(name)) return problem(`${quote(text)} does not start with a header name`);
  return okValue({ name: name.toLowerCase(), value: colon < 0 ? null : text.slice(colon + 1).trim() });
}

function parseMethods(text: string): Parsed<string[]> {
  const methods = text.split('|').map((m) => m.trim());
  const bad = methods.find((m) => !/^[A-Za-z]{1,20}$/.test(m));
  if (bad !== undefined) return problem(`${quote(bad)} is not an HTTP method`);
  return okValue([...new Set(methods.map((m) => m.toUpperCase()))]);
}

/** `KR` or `KR|JP` (case-insensitive) -> upper-case ISO 3166-1 alpha-2 codes; an unknown code is a problem. */
export function parseCountries(text: string): Parsed<string[]> {
  if (text === '') return problem('$GEO[] names no country (write $GEO[KR] or $GEO[KR|JP])');
  const codes = text.split('|').map((c) => c.trim().toUpperCase());
  const bad = codes.find((c) => !COUNTRY_CODES.has(c));
  if (bad !== undefined) return problem(`${quote(bad)} is not an ISO 3166-1 alpha-2 country code (KR, US, GB, ...)`);
  return okValue([...new Set(codes)]);
}

/** The request conditions every edge list accepts. */
const REQUEST_CONDITIONS = ['URL', 'IP', 'GEO', 'HEADER', 'METHOD'] as const;

/**
 * The conditions of field 0 (`a & b & c`). Each kind at most once (two `$URL`s can never both hold, and the
 * compiled rule keeps one of each); `extra` names list-specific terms the caller reads itself (returned raw).
 */
export function parseConditions(text: string, extra: readonly string[] = []): Parsed<{ conditions: EdgeCondition[]; extra: RawTerm[] }> {
  const terms = splitOutside(text, '&');
  if (!terms.ok) return terms;
  const conditions: EdgeCondition[] = [];
  const rest: RawTerm[] = [];
  const seen = new Set<string>();
  for (const part of terms.value) {
    const term = parseTerm(part);
    if (!term.ok) return term;
    const name = term.value.name === '' ? 'URL' : term.value.name;
    if (seen.has(name)) return problem(`$${name}[...] appears twice`);
    seen.add(name);
    const value = term.value.value;
    switch (name) {
      case 'URL': {
        const glob = globProblem(value);
        if (glob !== null) return problem(glob);
        conditions.push({ kind: 'url', glob: value });
        break;
      }
      case 'IP':
      case 'GEO': {
        // STON writes a country as $IP[KR]; two letters are never an address.
        if (name === 'GEO' || /^[A-Za-z]{2}$/.test(value)) {
          if (seen.has(name === 'GEO' ? 'IP' : 'GEO')) return problem('$IP[country] and $GEO[...] appear together; write the countries in one $GEO[A|B]');
          seen.add('GEO');
          const countries = parseCountries(value);
          if (!countries.ok) return countries;
          conditions.push({ kind: 'geo', countries: countries.value });
          break;
        }
        const range = parseAddressRange(value);
        if (!range.ok) return range;
        conditions.push({ kind: 'ip', range: range.value });
        break;
      }
      case 'HEADER': {
        const header = parseHeaderCondition(value);
        if (!header.ok) return header;
        conditions.push({ kind: 'header', name: header.value.name, value: header.value.value });
        break;
      }
      case 'METHOD': {
        const methods = parseMethods(value);
        if (!methods.ok) return methods;
        conditions.push({ kind: 'method', methods: methods.value });
        break;
      }
      default:
        if (!extra.includes(name)) {
          const known = [...REQUEST_CONDITIONS, ...extra].map((c) => `$${c}`).join(', ');
          return problem(`$${name}[...] is not a condition here (use ${known})`);
        }
        rest.push({ name, value });
    }
  }
  return okValue({ conditions, extra: rest });
}
