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

/**
 * The lines of request header `name` (lower-case) from a flat name/value list, joined with `,` (RFC 9110 §5.3), or
 * null when absent. One line is returned as it is: the common case allocates nothing (a 304 is a hot-path answer).
 */
function joinedLines(headers: readonly string[], name: string): string | null {
  let text: string | null = null;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const n = headers[i] as string;
    if (n.length === name.length && n === name) text = text === null ? (headers[i + 1] as string) : `${text},${headers[i + 1] as string}`;
  }
  return text;
}

/** The value of request header `name` when it appears exactly once, else null (absent or repeated). */
function singleLine(headers: readonly string[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const n = headers[i] as string;
    if (n.length !== name.length || n !== name) continue;
    if (value !== null) return null;
    value = headers[i + 1] as string;
  }
  return value;
}

/**
 * Parses a comma-separated entity-tag list. Tolerates an unquoted token (as some origins send `ETag: abc`) as a
 * strong tag with that opaque value, and a lower-case `w/`. Returns null for an unterminated quoted tag.
 */
function parseEntityTags(text: string): EntityTag[] | null {
  const tags: EntityTag[] = [];
  let i = scanTag(text, 0);
  for (; i >= 0; i = scanTag(text, i)) tags.push({ weak: tagWeak, opaque: text.slice(tagStart, tagEnd) });
  return i === -2 ? null : tags;
}

/** The stored ETag parsed, or null when there is none or it does not parse. */
function storedTag(stored: StoredValidators): EntityTag | null {
  if (stored.etag === null) return null;
  return parseEntityTags(stored.etag)?.[0] ?? null;
}

/** Strong comparison (RFC 9110 §8.8.3.2): both strong and the opaque tags equal. */
const strongMatch = (a: EntityTag, b: EntityTag): boolean => !a.weak && !b.weak && a.opaque === b.opaque;

/** Characters String.prototype.trim removes (ECMA-262 WhiteSpace and LineTerminator). */
function isTrimmed(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

/** Where the entity-tag the last scanTag call found is: its opaque-tag is the text [tagStart, tagEnd). */
let tagWeak = false;
let tagStart = 0;
let tagEnd = 0;

/**
 * Finds the next entity-tag of a list in `text` from `from` (the tolerance parseEntityTags documents), without
 * allocating (its place goes to tagWeak / tagStart / tagEnd). Returns the index after it, -1 when the list has no
 * more tags, -2 for an unterminated quoted tag (the whole list is then invalid).
 */
function scanTag(text: string, from: number): number {
  const n = text.length;
  let i = from;
  for (;;) {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === ',')) i++;
    if (i >= n) return -1;
    const c = text[i];
    let weak = false;
    if ((c === 'W' || c === 'w') && text[i + 1] === '/') {
      weak = true;
      i += 2;
    }
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) return -2;
      tagWeak = weak;
      tagStart = i + 1;
      tagEnd = close;
      return close + 1;
    }
    let end = text.indexOf(',', i);
    if (end < 0) end = n;
    let a = i;
    let b = end;
    while (a < b && isTrimmed(text.charCodeAt(a))) a++;
    while (b > a && isTrimmed(text.charCodeAt(b - 1))) b--;
    i = end;
    if (a < b) {
      tagWeak = weak;
      tagStart = a;
      tagEnd = b;
      return end;
    }
  }
}

/** Whether `text` trimmed is exactly `*`. */
function isStar(text: string): boolean {
  let a = 0;
  let b = text.length;
  while (a < b && isTrimmed(text.charCodeAt(a))) a++;
  while (b > a && isTrimmed(text.charCodeAt(b - 1))) b--;
  return b - a === 1 && text[a] === '*';
}

/** Whether a[aStart, aEnd) and b[bStart, bEnd) hold the same characters. */
function sameText(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a.charCodeAt(aStart + i) !== b.charCodeAt(bStart + i)) return false;
  return true;
}

/**
 * Whether an If-Match / If-None-Match value (its lines joined) matches the stored representation, by strong or weak
 * comparison (RFC 9110 §8.8.3.2); `*` matches it (it exists). The same answers as comparing the parsed lists
 * (parseEntityTags, storedTag), without allocating: this runs for every conditional hit.
 */
function listMatches(text: string, stored: StoredValidators, strong: boolean): boolean {
  if (isStar(text)) return true;
  const etag = stored.etag;
  if (etag === null) return false;
  // The stored tag: the first of its list, and none at all when the list is invalid (storedTag).
  let next = scanTag(etag, 0);
  if (next < 0) return false;
  const storedWeak = tagWeak;
  const storedStart = tagStart;
  const storedEnd = tagEnd;
  while (next >= 0) next = scanTag(etag, next);
  if (next === -2) return false;
  if (strong && storedWeak) return false;
  let matched = false;
  for (let i = scanTag(text, 0); i !== -1; i = scanTag(text, i)) {
    if (i === -2) return false;
    if (!matched && !(strong && tagWeak) && sameText(text, tagStart, tagEnd, etag, storedStart, storedEnd)) matched = true;
  }
  return matched;
}

/** A single valid HTTP-date in header `name`, or null (absent, repeated, or invalid: ignore the header). */
function singleDate(headers: readonly string[], name: string): number | null {
  const line = singleLine(headers, name);
  return line === null ? null : parseHttpDate(line);
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
  const ifMatch = joinedLines(headers, 'if-match');
  if (ifMatch !== null) {
    // §13.1.1: strong comparison; `*` is true because a current representation exists.
    if (!listMatches(ifMatch, stored, true)) return 'precondition-failed';
  } else if (stored.lastModifiedMs !== null) {
    // §13.1.4: evaluated only without If-Match, and only when the representation has a modification date.
    const since = singleDate(headers, 'if-unmodified-since');
    if (since !== null && toSec(stored.lastModifiedMs) > toSec(since)) return 'precondition-failed';
  }

  const isGetOrHead = method === 'GET' || method === 'HEAD';
  const ifNoneMatch = joinedLines(headers, 'if-none-match');
  if (ifNoneMatch !== null) {
    // §13.1.2: weak comparison; a match makes the condition false.
    if (listMatches(ifNoneMatch, stored, false)) return isGetOrHead ? 'not-modified' : 'precondition-failed';
    return 'none';
  }

  // §13.1.3: only for GET/HEAD, only without If-None-Match (handled above), only with a valid single date.
  if (isGetOrHead && stored.lastModifiedMs !== null) {
    const since = singleDate(headers, 'if-modified-since');
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
