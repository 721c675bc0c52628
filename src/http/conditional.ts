/**
 * @module http/conditional
 * RFC 9110 §13 preconditions evaluated against a stored representation: If-Match, If-Unmodified-Since,
 * If-None-Match, If-Modified-Since (in the §13.2.2 order) and If-Range (§13.1.5). Pure; runs in workers; knows
 * nothing about caching beyond the validators it is given. The caller applies §13.2.1: preconditions are ignored
 * when the response without them would not be 2xx (or 412), e.g. a stored 404.
 */
// The one exception to "http never imports cache": HTTP-date parsing (RFC 9110 §5.6.7) is needed by both and lives
// with the freshness math; freshness.ts is pure and imports nothing of storage, so no I/O comes along.
import { parseHttpDate } from '../cache/freshness.js';

/** Outcome of a precondition check: serve normally, answer 304, or answer 412. */
export const CONDITIONAL_RESULTS = ['none', 'not-modified', 'precondition-failed'] as const;
export type ConditionalResult = (typeof CONDITIONAL_RESULTS)[number];

/** The validators of a stored representation. */
export interface StoredValidators {
  /** The ETag header value as stored (`"x"` or `W/"x"`), or null. */
  readonly etag: string | null;
  /** Last-Modified, ms since epoch, or null. */
  readonly lastModifiedMs: number | null;
}

/** A parsed entity-tag (RFC 9110 §8.8.3). */
interface EntityTag {
  readonly weak: boolean;
  /** The opaque-tag without its quotes. */
  readonly opaque: string;
}

/** All lines of request header `name` (lower-case) from a flat name/value list. */
function headerLines(headers: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const n = headers[i] as string;
    if (n.length === name.length && n === name) out.push(headers[i + 1] as string);
  }
  return out;
}

/**
 * Parses a comma-separated entity-tag list. Tolerates an unquoted token (as some origins send `ETag: abc`) as a
 * strong tag with that opaque value, and a lower-case `w/`. Returns null for an unterminated quoted tag.
 */
function parseEntityTags(text: string): EntityTag[] | null {
  const tags: EntityTag[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === ',') {
      i++;
      continue;
    }
    let weak = false;
    if ((c === 'W' || c === 'w') && text[i + 1] === '/') {
      weak = true;
      i += 2;
    }
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) return null;
      tags.push({ weak, opaque: text.slice(i + 1, close) });
      i = close + 1;
    } else {
      let end = text.indexOf(',', i);
      if (end < 0) end = n;
      const token = text.slice(i, end).trim();
      if (token !== '') tags.push({ weak, opaque: token });
      i = end;
    }
  }
  return tags;
}

/** The stored ETag parsed, or null when there is none or it does not parse. */
function storedTag(stored: StoredValidators): EntityTag | null {
  if (stored.etag === null) return null;
  return parseEntityTags(stored.etag)?.[0] ?? null;
}

/** Strong comparison (RFC 9110 §8.8.3.2): both strong and the opaque tags equal. */
const strongMatch = (a: EntityTag, b: EntityTag): boolean => !a.weak && !b.weak && a.opaque === b.opaque;
/** Weak comparison (RFC 9110 §8.8.3.2): the opaque tags equal, weakness ignored. */
const weakMatch = (a: EntityTag, b: EntityTag): boolean => a.opaque === b.opaque;

/** Whether an If-Match / If-None-Match value matches the stored representation with `compare`; `*` matches it (it exists). */
function listMatches(lines: readonly string[], stored: StoredValidators, compare: (a: EntityTag, b: EntityTag) => boolean): boolean {
  const text = lines.join(',');
  if (text.trim() === '*') return true;
  const current = storedTag(stored);
  if (current === null) return false;
  const tags = parseEntityTags(text);
  return tags !== null && tags.some((t) => compare(t, current));
}

/** A single valid HTTP-date from the header lines, or null (absent, repeated, a list, or invalid: ignore the header). */
function singleDate(lines: readonly string[]): number | null {
  if (lines.length !== 1) return null;
  return parseHttpDate(lines[0] as string);
}

/** Whole seconds, the resolution of HTTP-date (RFC 9110 §5.6.7). */
const toSec = (ms: number): number => Math.floor(ms / 1000);

/**
 * Evaluates the request's preconditions against a stored representation (RFC 9110 §13.2.2): If-Match (strong) or,
 * without it, If-Unmodified-Since -> 412 when false; then If-None-Match (weak) -> 304 for GET/HEAD or 412 otherwise
 * when it matches, and when present it makes If-Modified-Since ignored; If-Modified-Since -> 304 for GET/HEAD when
 * the representation is not newer than a valid date. A header with an invalid date is ignored (§13.1.3, §13.1.4).
 */
export function evaluateConditional(method: string, headers: readonly string[], stored: StoredValidators): ConditionalResult {
  const ifMatch = headerLines(headers, 'if-match');
  if (ifMatch.length > 0) {
    // §13.1.1: strong comparison; `*` is true because a current representation exists.
    if (!listMatches(ifMatch, stored, strongMatch)) return 'precondition-failed';
  } else if (stored.lastModifiedMs !== null) {
    // §13.1.4: evaluated only without If-Match, and only when the representation has a modification date.
    const since = singleDate(headerLines(headers, 'if-unmodified-since'));
    if (since !== null && toSec(stored.lastModifiedMs) > toSec(since)) return 'precondition-failed';
  }

  const isGetOrHead = method === 'GET' || method === 'HEAD';
  const ifNoneMatch = headerLines(headers, 'if-none-match');
  if (ifNoneMatch.length > 0) {
    // §13.1.2: weak comparison; a match makes the condition false.
    if (listMatches(ifNoneMatch, stored, weakMatch)) return isGetOrHead ? 'not-modified' : 'precondition-failed';
    return 'none';
  }

  // §13.1.3: only for GET/HEAD, only without If-None-Match (handled above), only with a valid single date.
  if (isGetOrHead && stored.lastModifiedMs !== null) {
    const since = singleDate(headerLines(headers, 'if-modified-since'));
    if (since !== null && toSec(stored.lastModifiedMs) <= toSec(since)) return 'not-modified';
  }
  return 'none';
}

/**
 * Whether a Range request's If-Range condition holds (RFC 9110 §13.1.5), i.e. the range may be served; false
 * means send the whole representation. An entity-tag matches only by strong comparison (a weak tag never does); an
 * HTTP-date only when it exactly equals Last-Modified. Anything else is false. An absent If-Range (undefined) is true.
 */
export function ifRangeMatches(value: string | undefined, stored: StoredValidators): boolean {
  if (value === undefined) return true;
  const text = value.trim();
  if (text.startsWith('"') || text.startsWith('W/') || text.startsWith('w/')) {
    const tags = parseEntityTags(text);
    const current = storedTag(stored);
    if (tags === null || tags.length !== 1 || current === null) return false;
    return strongMatch(tags[0] as EntityTag, current);
  }
  const date = parseHttpDate(text);
  if (date === null || stored.lastModifiedMs === null) return false;
  return toSec(date) === toSec(stored.lastModifiedMs);
}
