/**
 * @module policy/cacheable
 * The shared-cache storage decision (RFC 9111 §3) with STON's TTL policy (`<Options><TTL>`) on top, and the reuse
 * decision for a stored response (RFC 9111 §4, §5.2.1; RFC 5861). Pure: time is a parameter; runs in workers.
 * Invariants: a 'store' decision always has ttlSec >= 0 and a response that can never be reused without a full
 * refetch (no freshness, no validator, no stale window) is never stored; Set-Cookie is never stored (a response
 * with one is not stored at all by default, `<SetCookie>pass`, as nginx and Varnish do); a reason in
 * REQUEST_NO_CACHE_REASONS is only ever given for a response that would otherwise be stored, so the caller can tell
 * "this request may not fill the cache" (no hit-for-pass for others) from "this response is not storable".
 * Targeted fields (RFC 9213: `Flint-CDN-Cache-Control`, `CDN-Cache-Control`, the vhost's <TargetedCacheControl>)
 * replace Cache-Control and Expires for these decisions when one of them has a valid value.
 *
 * STON TTL policy, per status class (2xx -> Res2xx, 3xx -> Res3xx, 4xx -> Res4xx, 5xx -> Res5xx; <= 0 = unset):
 *   priority 'config': a set class TTL wins over origin freshness; otherwise as 'origin'.
 *   priority 'origin': explicit origin freshness (s-maxage > max-age > Expires) wins; else the class TTL; else, for
 *     a status cacheable by default (RFC 9110 §15.1), heuristic freshness or 0 (kept only with a validator).
 *   A status not cacheable by default is stored only with explicit freshness or a set class TTL.
 *   `no-cache` (unqualified): NoCache TTL when > 0, else every reuse is revalidated ('always'); this beats the class
 *     TTL because it is the operator's more specific knob.
 */
import type { CookieRequestMode, SetCookieMode, TtlPolicy } from '../config/types.js';
import { parseResponseCacheControl, requestDirectivesFromHeaders, targetedCacheControl } from '../cache/cache-control.js';
import type { RequestDirectives, ResponseDirectives } from '../cache/cache-control.js';
import { HEURISTIC_STATUSES, explicitLifetime, heuristicLifetime, parseHttpDate } from '../cache/freshness.js';
import type { ResponseHeaders } from '../cache/freshness.js';

/** Why a response is not stored; logged and counted as is. */
export const NO_CACHE_REASONS = [
  /** Not GET (HEAD is answered from a stored GET; other methods are never stored by Flint). */
  'method',
  /** A status Flint never stores: 1xx, 206 (only complete representations are stored), 304 (it freshens, §4.3.4), >= 600. */
  'status',
  /** Response `Cache-Control: no-store` (RFC 9111 §5.2.2.5). */
  'no-store',
  /** Unqualified response `private` (RFC 9111 §5.2.2.7; Flint is a shared cache). */
  'private',
  /** `Vary: *` can never match a later request (RFC 9111 §4.1). */
  'vary-star',
  /** The response sets a cookie and `<SetCookie>` is `pass` (the default): it goes to its client intact, unstored. */
  'set-cookie',
  /** A status not cacheable by default without explicit freshness or a configured class TTL (RFC 9111 §3). */
  'status-no-freshness',
  /** Zero freshness, no ETag/Last-Modified to revalidate with and no stale window: storing gains nothing. */
  'no-validator-no-freshness',
  // Request-scoped from here (REQUEST_NO_CACHE_REASONS): the response is storable, this request may not store it.
  /** Request `Cache-Control: no-store` (RFC 9111 §5.2.1.5). */
  'request-no-store',
  /** Request had Authorization and the response has none of public, s-maxage, must-revalidate (RFC 9111 §3.5). */
  'authorization',
  /** Request had a Cookie, the response is neither `public` nor `s-maxage`, and no TTL rule nor `cache` bypass rule matched (`<CookieRequest>explicit`). */
  'cookie',
] as const;
export type NoCacheReason = (typeof NO_CACHE_REASONS)[number];

/**
 * Reasons owed to the request alone: the same response to another request would be stored. Such a decline must not
 * turn the URL into a hit-for-pass for every client (one `Cache-Control: no-store` request would otherwise stop
 * caching of the URL for everyone for HIT_FOR_PASS_MS).
 */
export const REQUEST_NO_CACHE_REASONS: ReadonlySet<NoCacheReason> = new Set(['request-no-store', 'authorization', 'cookie']);

/** Where a stored response's TTL came from. */
export const TTL_SOURCES = ['origin', 'heuristic', 'config'] as const;
export type TtlSource = (typeof TTL_SOURCES)[number];

/** 'always': every reuse needs revalidation (`no-cache` with NoCache TTL 0); 'normal': only once stale. */
export const REVALIDATE_MODES = ['normal', 'always'] as const;
export type RevalidateMode = (typeof REVALIDATE_MODES)[number];

/** How a stored response may answer a request: as is, as is while refreshing it behind, or only after revalidation. */
export const SERVE_DECISIONS = ['fresh', 'stale-while-revalidate', 'must-revalidate'] as const;
export type ServeDecision = (typeof SERVE_DECISIONS)[number];

/**
 * Response header names never stored: Set-Cookie (under `<SetCookie>strip` a response with Set-Cookie is stored, but
 * the cookie belongs to the client that caused the fill only), hop-by-hop fields (RFC 9110 §7.6.1) and proxy
 * authentication fields meant for the next hop only (RFC 9110 §11.7.1, §11.7.3).
 */
export const STORED_HEADER_EXCLUDES: ReadonlySet<string> = new Set([
  'set-cookie',
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authentication-info',
]);

/** A decision to store; durations in seconds. */
export interface StoreDecision {
  readonly action: 'store';
  /** Freshness lifetime, compared with the current age (RFC 9111 §4.2); 0 = stale at once. */
  readonly ttlSec: number;
  /** RFC 5861 stale-while-revalidate window after ttlSec (0 = none). */
  readonly staleWhileRevalidateSec: number;
  /** RFC 5861 stale-if-error window after ttlSec (0 = none). */
  readonly staleIfErrorSec: number;
  readonly revalidate: RevalidateMode;
  /** must-revalidate, proxy-revalidate or s-maxage (RFC 9111 §5.2.2.2, §5.2.2.8, §5.2.2.10): never served stale. */
  readonly mustRevalidate: boolean;
  readonly ttlSource: TtlSource;
  /** Lower-case response header names to leave out of the stored copy: STORED_HEADER_EXCLUDES, fields named in
   * `no-cache="..."`/`private="..."` (§5.2.2.4, §5.2.2.7) and connection options (RFC 9110 §7.6.1). */
  readonly excludeHeaders: ReadonlySet<string>;
}

/** A decision not to store, with its reason. */
export interface NoStoreDecision {
  readonly action: 'no-store';
  readonly reason: NoCacheReason;
}

export type StorageDecision = StoreDecision | NoStoreDecision;

/** Everything the storage decision looks at. */
export interface StorageInput {
  /** Request method, case-sensitive (RFC 9110 §9.1). */
  readonly method: string;
  /** Origin response status. */
  readonly status: number;
  /** Request headers, flat lower-case name/value list (RequestHead.headers). */
  readonly requestHeaders: readonly string[];
  /** Origin response headers (OriginHeaders). */
  readonly responseHeaders: ResponseHeaders;
  /** When the response head arrived, ms since epoch (response_time; stands in for a missing Date). */
  readonly now: number;
  readonly policy: TtlPolicy;
  /**
   * The TTL a matching TTL rule gives this URL and status (policy/rules.ts), or null/absent when none matches. It
   * takes STON's `custom` place in the priority list: after no-store, private and no-cache, before the origin's
   * max-age/Expires and the class TTLs; it also makes a status storable that otherwise is not.
   */
  readonly ruleTtlSec?: number | null;
  /** True when the vhost's VaryHeader list leaves `*` out: `Vary: *` then does not stop storing. */
  readonly ignoreVaryStar?: boolean;
  /** `<SetCookie>`; default 'pass'. */
  readonly setCookie?: SetCookieMode;
  /** `<CookieRequest>`; default 'explicit'. */
  readonly cookieRequest?: CookieRequestMode;
  /** True when a bypass rule explicitly sends this request through the cache (VhostRuleSet.cachesByRule). */
  readonly ruleCaches?: boolean;
  /** RFC 9213 target list: lower-case targeted field names, most specific first (`<TargetedCacheControl>`); default none. */
  readonly targetedFields?: readonly string[];
}

/** What reuse decisions need of a stored response; durations in seconds. */
export interface StoredFreshness {
  /** Freshness lifetime (plus any TTL extension the caller granted). */
  readonly ttlSec: number;
  readonly staleWhileRevalidateSec: number;
  readonly staleIfErrorSec: number;
  readonly revalidate: RevalidateMode;
  readonly mustRevalidate: boolean;
}

/** Input of `decideServe`: the stored response with its current age (RFC 9111 §4.2.3), and the request's directives. */
export interface ServeInput {
  readonly stored: StoredFreshness & { readonly ageSec: number };
  readonly request: RequestDirectives;
}

const noStore = (reason: NoCacheReason): NoStoreDecision => ({ action: 'no-store', reason });

/** True when the flat request header list has header `name` (lower-case). */
function hasRequestHeader(headers: readonly string[], name: string): boolean {
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i] === name) return true;
  return false;
}

/** The comma-separated members of a (possibly repeated) header, trimmed and lower-cased, empty ones dropped. */
function listMembers(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const text = typeof value === 'string' ? value : value.join(',');
  const out: string[] = [];
  for (const part of text.split(',')) {
    const member = part.trim().toLowerCase();
    if (member !== '') out.push(member);
  }
  return out;
}

/** The configured TTL of the status class (Res2xx..Res5xx), seconds; 0 when unset, negative or not a number. */
function classTtl(status: number, policy: TtlPolicy): number {
  const value =
    status < 300 ? policy.res2xxSec : status < 400 ? policy.res3xxSec : status < 500 ? policy.res4xxSec : policy.res5xxSec;
  return value > 0 ? value : 0;
}

/** True when the response carries a validator usable for revalidation (RFC 9110 §8.8): an ETag or a valid Last-Modified. */
function hasValidator(headers: ResponseHeaders, now: number): boolean {
  const etag = headers['etag'];
  if (etag !== undefined && (typeof etag === 'string' ? etag.trim() !== '' : etag.length > 0)) return true;
  const lm = headers['last-modified'];
  const lmText = lm === undefined || typeof lm === 'string' ? lm : lm[0];
  return lmText !== undefined && parseHttpDate(lmText, now) !== null;
}

/** Header names the stored copy must leave out (see StoreDecision.excludeHeaders); `targeted`: RFC 9213 fields present. */
function excludedHeaders(headers: ResponseHeaders, cc: ResponseDirectives, targeted: readonly string[]): ReadonlySet<string> {
  const connectionOptions = listMembers(headers['connection']);
  if (cc.noCacheFields.length === 0 && cc.privateFields.length === 0 && connectionOptions.length === 0 && targeted.length === 0) return STORED_HEADER_EXCLUDES;
  const out = new Set(STORED_HEADER_EXCLUDES);
  for (const name of cc.noCacheFields) out.add(name);
  for (const name of cc.privateFields) out.add(name);
  for (const name of connectionOptions) out.add(name);
  // RFC 9213 fields steer this cache; they are not for the clients behind it.
  for (const name of targeted) out.add(name);
  return out;
}

/** The effective response directives: the first targeted field with a valid value (RFC 9213 §2.1), else Cache-Control. */
interface EffectiveDirectives {
  readonly cc: ResponseDirectives;
  /** True when a targeted field decided: Expires is then ignored too. */
  readonly targeted: boolean;
  /** The targeted field names the response carries (left out of the stored copy). */
  readonly present: readonly string[];
}

const NO_NAMES: readonly string[] = Object.freeze([]);

function effectiveDirectives(headers: ResponseHeaders, targetedFields: readonly string[]): EffectiveDirectives {
  let present: string[] | null = null;
  let text: string | null = null;
  for (const name of targetedFields) {
    const value = headers[name];
    if (value === undefined) continue;
    (present ??= []).push(name);
    text ??= targetedCacheControl(value);
  }
  if (text !== null) return { cc: parseResponseCacheControl(text), targeted: true, present: present ?? NO_NAMES };
  return { cc: parseResponseCacheControl(headers['cache-control']), targeted: false, present: present ?? NO_NAMES };
}

/** `headers` without Expires (a targeted field decides freshness alone). */
function withoutExpires(headers: ResponseHeaders): ResponseHeaders {
  if (headers['expires'] === undefined) return headers;
  return { ...headers, expires: undefined };
}

/** Decides whether and how a shared cache stores an origin response (RFC 9111 §3 + STON TTL policy, see header). */
export function decideStorage(input: StorageInput): StorageDecision {
  const { method, status, requestHeaders, responseHeaders: headers, now, policy } = input;
  if (method !== 'GET') return noStore('method');
  if (status < 200 || status > 599 || status === 206 || status === 304) return noStore('status');
  const effective = effectiveDirectives(headers, input.targetedFields ?? NO_NAMES);
  const cc = effective.cc;
  if (cc.noStore) return noStore('no-store');
  if (cc.private) return noStore('private');
  if (input.ignoreVaryStar !== true && listMembers(headers['vary']).includes('*')) return noStore('vary-star');
  if ((input.setCookie ?? 'pass') === 'pass' && headers['set-cookie'] !== undefined) return noStore('set-cookie');

  const configured = classTtl(status, policy);
  // RFC 9213 §2.1: a targeted field that decides makes the cache ignore Expires as well as Cache-Control.
  const explicit = explicitLifetime(cc, effective.targeted ? withoutExpires(headers) : headers, now);
  const ruleTtl = input.ruleTtlSec ?? null;
  let ttlSec: number;
  let ttlSource: TtlSource;
  if (ruleTtl !== null) {
    // A TTL rule (ttl.txt) is the operator's most specific word on freshness; no-cache below still wins (STON).
    ttlSec = ruleTtl;
    ttlSource = 'config';
  } else if (policy.priority === 'config' && configured > 0) {
    ttlSec = configured;
    ttlSource = 'config';
  } else if (explicit !== null) {
    ttlSec = explicit;
    ttlSource = 'origin';
  } else if (configured > 0) {
    ttlSec = configured;
    ttlSource = 'config';
  } else if (HEURISTIC_STATUSES.has(status)) {
    // RFC 9111 §4.2.2; no usable heuristic leaves 0 (stored below only if it can be revalidated).
    ttlSec = heuristicLifetime(headers, status, policy, now) ?? 0;
    ttlSource = 'heuristic';
  } else {
    return noStore('status-no-freshness');
  }

  let revalidate: RevalidateMode = 'normal';
  if (cc.noCache) {
    // RFC 9111 §5.2.2.4, softened by STON's <NoCache> TTL when the operator sets one.
    if (policy.noCacheSec > 0) {
      ttlSec = policy.noCacheSec;
      ttlSource = 'config';
    } else {
      revalidate = 'always';
      ttlSec = 0;
    }
  }

  const mustRevalidate = cc.mustRevalidate || cc.proxyRevalidate || cc.sMaxAge !== null;
  const staleWhileRevalidateSec = cc.staleWhileRevalidate ?? 0;
  const staleIfErrorSec = cc.staleIfError ?? 0;
  // RFC 9111 §4.2.4: no-cache and must-revalidate forbid serving stale, so the stale windows would be unusable.
  const staleUsable = revalidate === 'normal' && !mustRevalidate && (staleWhileRevalidateSec > 0 || staleIfErrorSec > 0);
  if (ttlSec === 0 && !staleUsable && !hasValidator(headers, now)) return noStore('no-validator-no-freshness');

  // The response is storable; what follows belongs to this request only (REQUEST_NO_CACHE_REASONS).
  if (requestDirectivesFromHeaders(requestHeaders).noStore) return noStore('request-no-store');
  // RFC 9111 §3.5: only these directives let a shared cache store a response to an authenticated request.
  if (hasRequestHeader(requestHeaders, 'authorization') && !cc.public && cc.sMaxAge === null && !cc.mustRevalidate) {
    return noStore('authorization');
  }
  // A response to a request with cookies may be personalised without saying so (nginx and Varnish pass such
  // requests altogether): only an explicit shared-cache directive or the operator's TTL rule makes it shareable.
  const ruleSaysSo = ruleTtl !== null || input.ruleCaches === true;
  if ((input.cookieRequest ?? 'explicit') === 'explicit' && !ruleSaysSo && !cc.public && cc.sMaxAge === null && hasRequestHeader(requestHeaders, 'cookie')) {
    return noStore('cookie');
  }

  return {
    action: 'store',
    ttlSec,
    staleWhileRevalidateSec,
    staleIfErrorSec,
    revalidate,
    mustRevalidate,
    ttlSource,
    excludeHeaders: excludedHeaders(headers, cc, effective.present),
  };
}

/** The response headers to store, as a flat lower-case name/value list (ObjectMeta.headers), minus `excludes`. */
export function storedHeaderList(headers: ResponseHeaders, excludes: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(headers)) {
    if (excludes.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  return out;
}

/**
 * STON `<Res2xx Ratio>`: the TTL after the origin answered a revalidation with 304, in whole seconds: grown by
 * res2xxRatioPercent %, capped at res2xxMaxSec, never shrunk. The caller applies it only to 2xx objects whose
 * ttlSource is 'config'; ratio <= 0 keeps the TTL.
 */
export function grownTtl(previousTtlSec: number, policy: TtlPolicy): number {
  const ratio = policy.res2xxRatioPercent;
  if (!(ratio > 0)) return previousTtlSec;
  const grown = Math.round((previousTtlSec * (100 + ratio)) / 100);
  return Math.max(previousTtlSec, Math.min(grown, Math.max(0, policy.res2xxMaxSec)));
}

/**
 * How a stored response may answer a request (RFC 9111 §4.2, §5.2.1; RFC 5861 §3). 'stale-while-revalidate' means:
 * answer with the stored copy and refresh it in the background; it is also returned for a stale response the
 * client accepts with max-stale. Request only-if-cached is the caller's (504 instead of 'must-revalidate').
 */
export function decideServe(input: ServeInput): ServeDecision {
  const { stored, request } = input;
  // §5.2.1.4 request no-cache; §5.2.2.4 response no-cache.
  if (request.noCache || stored.revalidate === 'always') return 'must-revalidate';
  const age = stored.ageSec;
  const ttl = stored.ttlSec;
  // §5.2.1.1: the client wants a response no older than max-age, stale or not.
  if (request.maxAge !== null && age > request.maxAge) return 'must-revalidate';
  if (age < ttl) {
    // §5.2.1.3: ... and still fresh for at least min-fresh seconds.
    if (request.minFresh !== null && ttl - age < request.minFresh) return 'must-revalidate';
    return 'fresh';
  }
  // Stale from here on. §4.2.4 + §5.2.2.2: must-revalidate (and proxy-revalidate, s-maxage) forbid serving stale,
  // even when the client would accept it (max-stale).
  if (stored.mustRevalidate) return 'must-revalidate';
  if (request.minFresh !== null) return 'must-revalidate';
  const staleness = age - ttl;
  // §5.2.1.2: the client accepts this much staleness.
  if (request.maxStale !== null && staleness <= request.maxStale) return 'stale-while-revalidate';
  // §5.2.1.1: with max-age and no max-stale the client does not want a stale response at all.
  if (request.maxAge !== null) return 'must-revalidate';
  if (stored.staleWhileRevalidateSec > 0 && staleness <= stored.staleWhileRevalidateSec) return 'stale-while-revalidate';
  return 'must-revalidate';
}

/**
 * True when a stored response may answer a request after the origin failed (RFC 5861 §4 stale-if-error): it is still
 * fresh, or stale by at most staleIfErrorSec; never with no-cache ('always') or must-revalidate (RFC 9111 §4.2.4).
 * STON's TTLExtensionBy5xx/ByFail is an operator override the caller applies on its own.
 */
export function isStaleIfErrorAllowed(stored: StoredFreshness, ageSec: number): boolean {
  if (stored.revalidate === 'always') return false;
  if (ageSec < stored.ttlSec) return true;
  if (stored.mustRevalidate) return false;
  return stored.staleIfErrorSec > 0 && ageSec - stored.ttlSec <= stored.staleIfErrorSec;
}

/**
 * The stored header list plus the origin's Set-Cookie lines, for the one client whose request caused the fill
 * (`<SetCookie>strip` stores the response without them). Returns `stored` itself when there is none.
 */
export function withFillerCookies(stored: readonly string[], origin: ResponseHeaders): readonly string[] {
  const cookies = origin['set-cookie'];
  if (cookies === undefined) return stored;
  const out = stored.slice();
  if (typeof cookies === 'string') out.push('set-cookie', cookies);
  else for (const cookie of cookies) out.push('set-cookie', cookie);
  return out;
}
