/**
 * @module cache/key
 * Cache keys: the primary key is `vhost \n path?query` (the path in its normal form, normalisePath: `/a/../b`,
 * `/%62` and `/b` are one object and a path trick cannot address another key); the variant key is the request's
 * values of the headers the stored response's Vary names, normalised (names lower-case, whitespace folded,
 * Accept-Encoding tokens sorted without q=1; a header the request's Connection lists counts as absent). Index keys
 * are fixed 16-byte hashes (md5: speed, not secrecy; collisions are guarded by comparing the full key stored in the
 * record). Pure; runs in workers and the primary.
 */
import { hash } from 'node:crypto';

/** 16-byte hash of a string key. */
export function keyHash(key: string): Buffer {
  return hash('md5', key, 'buffer');
}

/** `vhost \n path[?query]`; `path` must already be normalised (see normalisePath). */
export function primaryKey(vhost: string, path: string, query: string): string {
  return query === '' ? `${vhost}\n${path}` : `${vhost}\n${path}?${query}`;
}

/** The object's full key: primary key, NUL, variant key ('' when the response has no Vary). */
export function objectKey(primary: string, variant: string): string {
  return `${primary}\0${variant}`;
}

/** Characters RFC 3986 §2.3 calls unreserved: their percent-encoded and literal forms are equivalent (§6.2.2.2). */
function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e
  );
}

/** Value of one hex digit, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * RFC 3986 §6.2.2.1-2: percent-escapes of unreserved characters decoded (`/%61dmin` -> `/admin`), every other escape
 * with upper-case hex (`%2f` -> `%2F`); a `%` not followed by two hex digits is left as is (the origin judges it).
 */
function normaliseEscapes(path: string): string {
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i !== -1 && i + 2 < path.length; i = path.indexOf('%', i + 1)) {
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) continue;
    const code = hi * 16 + lo;
    out += path.slice(from, i) + (isUnreserved(code) ? String.fromCharCode(code) : `%${path.slice(i + 1, i + 3).toUpperCase()}`);
    from = i + 3;
    i += 2;
  }
  return from === 0 ? path : out + path.slice(from);
}

/**
 * The one normal form of a request path, used for the cache key, the origin request and rule matching: escapes of
 * unreserved characters decoded and the others' hex upper-cased (normaliseEscapes), then RFC 3986 §5.2.4
 * remove_dot_segments, also folding `//` runs. So `/%61dmin/x`, `/a/../admin/x` and `/admin/x` are one object and
 * one rule target, and a path trick cannot address another key. Returns null for a path that does not start with
 * '/' (the caller answers 400). Allocates only when the path has something to fix.
 */
export function normalisePath(raw: string): string | null {
  if (raw.charCodeAt(0) !== 47) return null;
  const path = raw.includes('%') ? normaliseEscapes(raw) : raw;
  if (!path.includes('/.') && !path.includes('//')) return path;
  return removeDotSegments(path);
}

/** RFC 3986 §5.2.4 remove_dot_segments on an absolute path, folding empty segments but a trailing one. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '..') out.pop();
    else if (segment !== '.' && !(segment === '' && i < segments.length - 1)) out.push(segment);
  }
  const last = segments[segments.length - 1];
  if ((last === '.' || last === '..') && out[out.length - 1] !== '') out.push('');
  return `/${out.join('/')}`;
}

/**
 * The form of a normalised path that URL rules (TTL, bypass, query string) are matched against: an encoded slash
 * (`%2F`) or backslash (`%5C`, `\`) counts as `/`, and dot segments are removed again after that. Many origins
 * (and every IIS) decode them into path separators, so `/admin%2Fpanel` must not escape a `/admin/*` bypass rule;
 * the cost is that a rule cannot single out a literal `%2F` (matching more is the safe side for bypass rules).
 */
export function rulePath(path: string): string {
  if (!path.includes('%2F') && !path.includes('%5C') && !path.includes('\\')) return path;
  return removeDotSegments(path.replace(/%2F|%5C|\\/g, '/'));
}

/** Normalises one request header value for a variant key. */
function normaliseVaryValue(name: string, value: string): string {
  const folded = value.trim().replace(/\s+/g, ' ');
  if (name !== 'accept-encoding') return folded;
  return folded
    .toLowerCase()
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '' && !/;\s*q=0(\.0*)?$/.test(t))
    .map((t) => t.replace(/;\s*q=1(\.0*)?$/, ''))
    .sort()
    .join(',');
}

/**
 * The variant key for the Vary header names `names` (lower-case) from a flat request header list; values of a
 * repeated header are joined with ','. A header the request's Connection names is hop-by-hop (RFC 9110 §7.6.1): it
 * is not forwarded to the origin, so it cannot select a variant either, and counts as absent. Returns '' for no names.
 */
export function variantKey(names: readonly string[], requestHeaders: readonly string[]): string {
  if (names.length === 0) return '';
  const hopByHop = connectionOptions(requestHeaders);
  let key = '';
  for (const name of names) {
    let value: string | null = null;
    if (hopByHop === null || !hopByHop.includes(name)) {
      for (let i = 0; i < requestHeaders.length; i += 2) {
        if (requestHeaders[i] === name) value = value === null ? (requestHeaders[i + 1] as string) : `${value},${requestHeaders[i + 1] as string}`;
      }
    }
    key += `${name}=${value === null ? '' : normaliseVaryValue(name, value)}\n`;
  }
  return key;
}

/** The lower-case field names the request's Connection headers list, or null without a Connection header. */
function connectionOptions(requestHeaders: readonly string[]): string[] | null {
  let out: string[] | null = null;
  for (let i = 0; i < requestHeaders.length; i += 2) {
    if (requestHeaders[i] !== 'connection') continue;
    out ??= [];
    for (const token of (requestHeaders[i + 1] as string).split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') out.push(name);
    }
  }
  return out;
}

/** The lower-case field names of a Vary header; ['*'] when it contains `*`; [] when absent. */
export function varyNames(vary: string | string[] | undefined): string[] {
  if (vary === undefined) return [];
  const text = typeof vary === 'string' ? vary : vary.join(',');
  const names = new Set<string>();
  for (const token of text.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '*') return ['*'];
    if (name !== '') names.add(name);
  }
  return [...names].sort();
}
