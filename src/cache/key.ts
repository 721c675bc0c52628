/**
 * @module cache/key
 * Cache keys: the primary key is `vhost \n path?query` (the path with dot segments removed, so `/a/../b` and `/b`
 * are one object and a path trick cannot address another key); the variant key is the request's values of the
 * headers the stored response's Vary names, normalised (names lower-case, whitespace folded, Accept-Encoding tokens
 * sorted without q=1). Index keys are fixed 16-byte hashes (md5: speed, not secrecy; collisions are guarded by
 * comparing the full key stored in the record). Pure; runs in workers and the primary.
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

/**
 * RFC 3986 §5.2.4 remove_dot_segments on an origin-form path, also folding `//` runs. Returns null for a path
 * that does not start with '/' (the caller answers 400). Allocates only when the path has something to fix.
 */
export function normalisePath(path: string): string | null {
  if (path.charCodeAt(0) !== 47) return null;
  if (!path.includes('/.') && !path.includes('//') && !/%2e/i.test(path)) return path;
  const decodedDots = path.replace(/%2e/gi, '.');
  const out: string[] = [];
  const segments = decodedDots.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '..') out.pop();
    else if (segment !== '.' && !(segment === '' && i < segments.length - 1)) out.push(segment);
  }
  const last = segments[segments.length - 1];
  if ((last === '.' || last === '..') && out[out.length - 1] !== '') out.push('');
  return `/${out.join('/')}`;
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
 * repeated header are joined with ','. Returns '' for no names.
 */
export function variantKey(names: readonly string[], requestHeaders: readonly string[]): string {
  if (names.length === 0) return '';
  let key = '';
  for (const name of names) {
    let value: string | null = null;
    for (let i = 0; i < requestHeaders.length; i += 2) {
      if (requestHeaders[i] === name) value = value === null ? (requestHeaders[i + 1] as string) : `${value},${requestHeaders[i + 1] as string}`;
    }
    key += `${name}=${value === null ? '' : normaliseVaryValue(name, value)}\n`;
  }
  return key;
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
