/**
 * @module cache/cache-control
 * Parses Cache-Control (RFC 9111 §5.2) for responses and requests, and Pragma (§5.4) for requests. Pure; runs in
 * workers. Tolerant by design: directive names are case-insensitive, values may be tokens or quoted strings,
 * repeated header lines are joined, unknown directives are ignored and, for a repeated directive, the first
 * occurrence wins (§4.2.1). Invariant: an invalid max-age/s-maxage never yields freshness: it sets `invalid` and
 * reads as 0, so the response is stale (§4.2.1 "invalid freshness information ... stale").
 */

/** Largest delta-seconds we represent; bigger values are clamped to it (RFC 9111 §1.2.2). */
export const DELTA_SECONDS_MAX = 2147483648;

/** A header value as received: one line, several lines, or absent. */
export type HeaderInput = string | readonly string[] | undefined;

/** Response Cache-Control directives relevant to a shared cache (RFC 9111 §5.2.2). Durations in seconds. */
export interface ResponseDirectives {
  readonly noStore: boolean;
  /** Unqualified `no-cache`: every reuse needs validation (§5.2.2.4). */
  readonly noCache: boolean;
  /** Lower-case field names of a qualified `no-cache="a, b"`: those fields are not sent from cache (§5.2.2.4). */
  readonly noCacheFields: readonly string[];
  /** Unqualified `private`: a shared cache must not store the response (§5.2.2.7). */
  readonly private: boolean;
  /** Lower-case field names of a qualified `private="a, b"`: a shared cache must not store those fields (§5.2.2.7). */
  readonly privateFields: readonly string[];
  readonly public: boolean;
  /** `max-age` seconds, or null when absent; 0 when invalid (see `invalid`). */
  readonly maxAge: number | null;
  /** `s-maxage` seconds, or null when absent; 0 when invalid (see `invalid`). */
  readonly sMaxAge: number | null;
  readonly mustRevalidate: boolean;
  readonly proxyRevalidate: boolean;
  /** `stale-while-revalidate` seconds (RFC 5861 §3), or null when absent or invalid. */
  readonly staleWhileRevalidate: number | null;
  /** `stale-if-error` seconds (RFC 5861 §4), or null when absent or invalid. */
  readonly staleIfError: number | null;
  /** `immutable` (RFC 8246). */
  readonly immutable: boolean;
  /** True when max-age or s-maxage had an invalid value: the response must be treated as stale (§4.2.1). */
  readonly invalid: boolean;
}

/** Request Cache-Control directives (RFC 9111 §5.2.1). Durations in seconds. */
export interface RequestDirectives {
  /** `no-cache` (or `Pragma: no-cache` without Cache-Control): the client wants a validated response. */
  readonly noCache: boolean;
  readonly noStore: boolean;
  /** `max-age` seconds, or null when absent or invalid. */
  readonly maxAge: number | null;
  /** `max-stale` seconds; Infinity when given without a value; null when absent or invalid. */
  readonly maxStale: number | null;
  /** `min-fresh` seconds, or null when absent or invalid. */
  readonly minFresh: number | null;
  readonly onlyIfCached: boolean;
}

/** Directives of a response without Cache-Control. */
export const EMPTY_RESPONSE_DIRECTIVES: ResponseDirectives = Object.freeze({
  noStore: false,
  noCache: false,
  noCacheFields: Object.freeze([]) as readonly string[],
  private: false,
  privateFields: Object.freeze([]) as readonly string[],
  public: false,
  maxAge: null,
  sMaxAge: null,
  mustRevalidate: false,
  proxyRevalidate: false,
  staleWhileRevalidate: null,
  staleIfError: null,
  immutable: false,
  invalid: false,
});

/** Directives of a request without Cache-Control or Pragma. */
export const EMPTY_REQUEST_DIRECTIVES: RequestDirectives = Object.freeze({
  noCache: false,
  noStore: false,
  maxAge: null,
  maxStale: null,
  minFresh: null,
  onlyIfCached: false,
});

/** Joins repeated header lines into one list value (RFC 9110 §5.3); '' when absent. */
function joinHeader(value: HeaderInput): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return value.join(', ');
}

const isOws = (c: string | undefined): boolean => c === ' ' || c === '\t';

/**
 * Calls `visit(name, value)` for each directive of a Cache-Control list, in order. `name` is lower-case; `value`
 * is null when the directive has no `=`, else the token or the unquoted quoted-string (backslash escapes removed).
 * Empty list elements are skipped; an unterminated quoted string runs to the end of the text.
 */
function forEachDirective(text: string, visit: (name: string, value: string | null) => void): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && (isOws(text[i]) || text[i] === ',')) i++;
    if (i >= n) break;
    const nameStart = i;
    while (i < n && text[i] !== '=' && text[i] !== ',') i++;
    const name = text.slice(nameStart, i).trim().toLowerCase();
    let value: string | null = null;
    if (text[i] === '=') {
      i++;
      while (i < n && isOws(text[i])) i++;
      if (text[i] === '"') {
        i++;
        let out = '';
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n) i++;
          out += text[i];
          i++;
        }
        value = out;
        // Skip the closing quote and anything up to the next list separator.
        while (i < n && text[i] !== ',') i++;
      } else {
        const valueStart = i;
        while (i < n && text[i] !== ',') i++;
        value = text.slice(valueStart, i).trim();
      }
    }
    if (name !== '') visit(name, value);
  }
}

/** delta-seconds (RFC 9111 §1.2.2): digits only, clamped to 2^31; null when invalid or missing. */
function parseDeltaSeconds(value: string | null): number | null {
  if (value === null || !/^[0-9]+$/.test(value)) return null;
  const n = Number(value);
  return n > DELTA_SECONDS_MAX ? DELTA_SECONDS_MAX : n;
}

/** A field-name list of a qualified directive (`no-cache="a, B"`), lower-cased; empty entries dropped. */
function parseFieldList(value: string): string[] {
  const names: string[] = [];
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '' && !names.includes(name)) names.push(name);
  }
  return names;
}

/** Parses response Cache-Control (RFC 9111 §5.2.2); repeated lines are joined, the first of a repeated directive wins. */
export function parseResponseCacheControl(value: HeaderInput): ResponseDirectives {
  const text = joinHeader(value);
  if (text.trim() === '') return EMPTY_RESPONSE_DIRECTIVES;
  let noStore = false;
  let noCache = false;
  let noCacheFields: string[] = [];
  let isPrivate = false;
  let privateFields: string[] = [];
  let isPublic = false;
  let maxAge: number | null = null;
  let sMaxAge: number | null = null;
  let mustRevalidate = false;
  let proxyRevalidate = false;
  let staleWhileRevalidate: number | null = null;
  let staleIfError: number | null = null;
  let immutable = false;
  let invalid = false;
  const seen = new Set<string>();

  forEachDirective(text, (name, raw) => {
    const first = !seen.has(name);
    seen.add(name);
    switch (name) {
      case 'no-store':
        noStore = true;
        break;
      case 'no-cache': {
        // §5.2.2.4: the qualified form only restricts the listed fields. An empty list (`no-cache=""`) names no
        // field, so we read it as the unqualified form: the more restrictive reading (§4.2.1 "most restrictive").
        const fields = raw === null ? [] : parseFieldList(raw);
        if (fields.length === 0) noCache = true;
        else for (const f of fields) if (!noCacheFields.includes(f)) noCacheFields = [...noCacheFields, f];
        break;
      }
      case 'private': {
        // §5.2.2.7: same reading as no-cache for the qualified and empty forms.
        const fields = raw === null ? [] : parseFieldList(raw);
        if (fields.length === 0) isPrivate = true;
        else for (const f of fields) if (!privateFields.includes(f)) privateFields = [...privateFields, f];
        break;
      }
      case 'public':
        isPublic = true;
        break;
      case 'max-age':
      case 's-maxage': {
        if (!first) break; // §4.2.1: use the first occurrence.
        let seconds = parseDeltaSeconds(raw);
        if (seconds === null) {
          // §4.2.1: invalid freshness information -> stale.
          invalid = true;
          seconds = 0;
        }
        if (name === 'max-age') maxAge = seconds;
        else sMaxAge = seconds;
        break;
      }
      case 'must-revalidate':
        mustRevalidate = true;
        break;
      case 'proxy-revalidate':
        proxyRevalidate = true;
        break;
      case 'stale-while-revalidate':
        if (first) staleWhileRevalidate = parseDeltaSeconds(raw);
        break;
      case 'stale-if-error':
        if (first) staleIfError = parseDeltaSeconds(raw);
        break;
      case 'immutable':
        immutable = true;
        break;
      default:
        // §5.2.3: unknown extension directives are ignored.
        break;
    }
  });

  return {
    noStore,
    noCache,
    noCacheFields,
    private: isPrivate,
    privateFields,
    public: isPublic,
    maxAge,
    sMaxAge,
    mustRevalidate,
    proxyRevalidate,
    staleWhileRevalidate,
    staleIfError,
    immutable,
    invalid,
  };
}

/** True when a Pragma value lists `no-cache` (RFC 9111 §5.4). */
function pragmaHasNoCache(pragma: HeaderInput): boolean {
  let found = false;
  forEachDirective(joinHeader(pragma), (name) => {
    if (name === 'no-cache') found = true;
  });
  return found;
}

/**
 * Parses request Cache-Control (RFC 9111 §5.2.1). `Pragma: no-cache` counts as `no-cache` only when the request
 * has no Cache-Control header (§5.4); an all-blank Cache-Control counts as absent.
 */
export function parseRequestCacheControl(value: HeaderInput, pragma: HeaderInput): RequestDirectives {
  const text = joinHeader(value);
  if (text.trim() === '') {
    return pragmaHasNoCache(pragma) ? { ...EMPTY_REQUEST_DIRECTIVES, noCache: true } : EMPTY_REQUEST_DIRECTIVES;
  }
  let noCache = false;
  let noStore = false;
  let maxAge: number | null = null;
  let maxStale: number | null = null;
  let minFresh: number | null = null;
  let onlyIfCached = false;
  const seen = new Set<string>();

  forEachDirective(text, (name, raw) => {
    const first = !seen.has(name);
    seen.add(name);
    switch (name) {
      case 'no-cache':
        noCache = true;
        break;
      case 'no-store':
        noStore = true;
        break;
      case 'max-age':
        if (first) maxAge = parseDeltaSeconds(raw);
        break;
      case 'max-stale':
        // §5.2.1.2: without a value the client accepts a stale response of any age.
        if (first) maxStale = raw === null ? Infinity : parseDeltaSeconds(raw);
        break;
      case 'min-fresh':
        if (first) minFresh = parseDeltaSeconds(raw);
        break;
      case 'only-if-cached':
        onlyIfCached = true;
        break;
      default:
        break;
    }
  });
  return { noCache, noStore, maxAge, maxStale, minFresh, onlyIfCached };
}

/** Request directives from a flat lower-case header list (RequestHead.headers): Cache-Control plus Pragma. */
export function requestDirectivesFromHeaders(headers: readonly string[]): RequestDirectives {
  const cacheControl: string[] = [];
  const pragma: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name === 'cache-control') cacheControl.push(headers[i + 1] as string);
    else if (name === 'pragma') pragma.push(headers[i + 1] as string);
  }
  if (cacheControl.length === 0 && pragma.length === 0) return EMPTY_REQUEST_DIRECTIVES;
  return parseRequestCacheControl(cacheControl.length === 0 ? undefined : cacheControl, pragma.length === 0 ? undefined : pragma);
}

/** RFC 8941 §3.1.2 key. */
const SF_KEY = /^[a-z*][a-z0-9_\-.*]*/;
/** RFC 8941 bare items: integer, decimal, token, byte sequence, boolean (strings are scanned apart). */
const SF_BARE = /^(?:-?\d{1,12}\.\d{1,3}|-?\d{1,15}|[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*|:[A-Za-z0-9+/=]*:|\?[01])/;

/**
 * A targeted cache-control field (RFC 9213 §2: `CDN-Cache-Control`, `Flint-CDN-Cache-Control`) read as Cache-Control
 * text, or null when it is absent, empty or not a valid RFC 8941 Dictionary (RFC 9213 §2.1: such a field is
 * ignored, and the next one on the target list, or Cache-Control, decides). Members set to `?0` are left out;
 * parameters are ignored.
 */
export function targetedCacheControl(value: HeaderInput): string | null {
  const text = joinHeader(value);
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  const skipSpaces = (): void => {
    while (i < n && isOws(text[i])) i++;
  };
  /** A bare item (or string) at i, as written; null when invalid. */
  const bareItem = (): string | null => {
    if (text[i] === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') {
        const code = text.charCodeAt(j);
        if (code < 0x20 || code > 0x7e) return null;
        if (text[j] === '\\') {
          if (text[j + 1] !== '"' && text[j + 1] !== '\\') return null;
          j++;
        }
        j++;
      }
      if (j >= n) return null;
      const item = text.slice(i, j + 1);
      i = j + 1;
      return item;
    }
    const m = SF_BARE.exec(text.slice(i));
    if (m === null) return null;
    i += m[0].length;
    return m[0];
  };
  skipSpaces();
  while (i < n) {
    const key = SF_KEY.exec(text.slice(i));
    if (key === null) return null;
    i += key[0].length;
    let item: string | null = '?1';
    if (text[i] === '=') {
      i++;
      item = bareItem();
      if (item === null) return null;
    }
    // Parameters: `;key[=item]`, ignored.
    while (text[i] === ';') {
      i++;
      while (text[i] === ' ') i++;
      const param = SF_KEY.exec(text.slice(i));
      if (param === null) return null;
      i += param[0].length;
      if (text[i] === '=') {
        i++;
        if (bareItem() === null) return null;
      }
    }
    if (item === '?1') out.push(key[0]);
    else if (item !== '?0') out.push(`${key[0]}=${item}`);
    skipSpaces();
    if (i >= n) break;
    if (text[i] !== ',') return null;
    i++;
    skipSpaces();
    if (i >= n) return null;
  }
  return out.length === 0 ? null : out.join(', ');
}
