/**
 * @module cache/freshness
 * RFC 9111 §4.2 arithmetic: HTTP-date parsing (RFC 9110 §5.6.7), the Age header (§5.1), current age (§4.2.3),
 * explicit freshness (§4.2.1) and heuristic freshness (§4.2.2). Pure: time is always a parameter (ms since epoch);
 * runs in workers. Invariants: ages and lifetimes are never negative; lifetimes are whole seconds <= 2^31.
 */
import type { TtlPolicy } from '../config/types.js';
import { DELTA_SECONDS_MAX } from './cache-control.js';
import type { ResponseDirectives } from './cache-control.js';

/** Response headers as received from an origin: lower-case names, repeated headers as arrays (OriginHeaders-compatible). */
export type ResponseHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Status codes heuristically cacheable by default (RFC 9110 §15.1). */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** What RFC 9111 §4.2.3 needs of a stored response. Times in ms since epoch. */
export interface StoredTiming {
  /** When the request that produced the response was sent (request_time). */
  readonly requestTime: number;
  /** When the response head was received (response_time). */
  readonly responseTime: number;
  /** The response's Date header (date_value), or null when absent/invalid. */
  readonly dateMs: number | null;
  /** The response's Age header in seconds (age_value), 0 when absent/invalid. */
  readonly ageHeaderSec: number;
}

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^(?:mon|tue|wed|thu|fri|sat|sun), (\\d{1,2}) ${MONTH} (\\d{4}) ${TIME} gmt$`, 'i');
/** Obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(`^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday), (\\d{1,2})-${MONTH}-(\\d{2}) ${TIME} gmt$`, 'i');
/** Obsolete asctime: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_DATE = new RegExp(`^(?:mon|tue|wed|thu|fri|sat|sun) ${MONTH} {1,2}(\\d{1,2}) ${TIME} (\\d{4})$`, 'i');

/** Epoch ms of a calendar date/time in UTC, or null when a field is out of range (e.g. 30 Feb, 25:00). */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number | null {
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  // Second 60 is a leap second (RFC 9110 §5.6.7; it only occurs at 23:59:60); read as :59 so it stays in its day.
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  const d = new Date(ms);
  // Date.UTC rolls 31 Apr into 1 May; a round trip catches it.
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month) return null;
  return ms;
}

/** The full year of a two-digit rfc850 year: the RFC 9110 §5.6.7 50-year rule against `nowMs`, else 70-99 -> 19xx. */
function fullYear(twoDigits: number, nowMs: number | undefined): number {
  if (nowMs === undefined) return twoDigits >= 70 ? 1900 + twoDigits : 2000 + twoDigits;
  const nowYear = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(nowYear / 100) * 100 + twoDigits;
  if (year > nowYear + 50) year -= 100;
  else if (year + 100 <= nowYear + 50) year += 100;
  return year;
}

/** The last two IMF-fixdate texts parseHttpDate read and their values (two: a Date and a Last-Modified alternate). */
const imfMemo: [string, string] = ['', ''];
// Starting as '' -> null, which is what parsing '' gives.
const imfMemoMs: [number | null, number | null] = [null, null];
let imfMemoNext = 0;

/**
 * Parses an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate plus the obsolete rfc850 and asctime forms, case-insensitively.
 * Returns ms since epoch, or null for anything else (Date.parse alone is far too lenient: it takes `2020`, ISO
 * strings and local times). `nowMs` resolves rfc850 two-digit years by the 50-year rule; without it, 70-99 -> 19xx.
 */
export function parseHttpDate(text: string, nowMs?: number): number | null {
  // A miss parses the origin's Date and Last-Modified (~1 µs each through the regex and a Date round trip), and the
  // same values come back request after request: an origin's Date changes once a second.
  if (text === imfMemo[0]) return imfMemoMs[0];
  if (text === imfMemo[1]) return imfMemoMs[1];
  const s = text.trim();
  let m = IMF_FIXDATE.exec(s);
  if (m !== null) {
    const ms = utcMs(Number(m[3]), MONTHS[(m[2] as string).toLowerCase()] as number, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
    // Only IMF-fixdate answers are kept: they do not depend on nowMs (an rfc850 two-digit year does).
    if (ms !== null) {
      imfMemo[imfMemoNext] = text;
      imfMemoMs[imfMemoNext] = ms;
      imfMemoNext ^= 1;
    }
    return ms;
  }
  m = RFC850_DATE.exec(s);
  if (m !== null) {
    const year = fullYear(Number(m[3]), nowMs);
    return utcMs(year, MONTHS[(m[2] as string).toLowerCase()] as number, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(s);
  if (m !== null) {
    return utcMs(Number(m[6]), MONTHS[(m[1] as string).toLowerCase()] as number, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  }
  return null;
}

/** First value of a response header (the first line when repeated), or undefined. */
function firstValue(headers: ResponseHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined || typeof v === 'string') return v;
  return v[0];
}

/** The Date header in ms since epoch, or null when absent or invalid. */
export function parseDateHeader(headers: ResponseHeaders, nowMs?: number): number | null {
  const v = firstValue(headers, 'date');
  return v === undefined ? null : parseHttpDate(v, nowMs);
}

/**
 * The Age header in seconds (RFC 9111 §5.1): the first member of a list is used; an invalid value is ignored (0);
 * values above 2^31 are clamped.
 */
export function parseAgeHeader(value: string | readonly string[] | undefined): number {
  if (value === undefined) return 0;
  const line = typeof value === 'string' ? value : value[0];
  if (line === undefined) return 0;
  const first = (line.split(',')[0] as string).trim();
  if (!/^[0-9]+$/.test(first)) return 0;
  return Math.min(Number(first), DELTA_SECONDS_MAX);
}

/** apparent_age in seconds (RFC 9111 §4.2.3): max(0, response_time - date_value); 0 without a Date. */
export function apparentAge(stored: Pick<StoredTiming, 'responseTime' | 'dateMs'>): number {
  if (stored.dateMs === null) return 0;
  return Math.max(0, stored.responseTime - stored.dateMs) / 1000;
}

/**
 * current_age in seconds at `now` (RFC 9111 §4.2.3), fractional (floor it for an Age header). The response delay
 * and resident time are clamped at 0 so a clock step backwards never makes an age shrink below the initial age.
 */
export function currentAge(stored: StoredTiming, now: number): number {
  const responseDelay = Math.max(0, stored.responseTime - stored.requestTime) / 1000;
  const correctedAgeValue = stored.ageHeaderSec + responseDelay;
  const correctedInitialAge = Math.max(apparentAge(stored), correctedAgeValue);
  const residentTime = Math.max(0, now - stored.responseTime) / 1000;
  return correctedInitialAge + residentTime;
}

/**
 * Explicit freshness lifetime in whole seconds (RFC 9111 §4.2.1), or null when the response gives none. Order for a
 * shared cache: s-maxage, then max-age, then Expires - Date. An invalid max-age/s-maxage, or an invalid Expires
 * (e.g. `0`, §5.3), gives 0 (stale). A missing Date is replaced by `responseTimeMs` (RFC 9110 §6.6.1); without it
 * an Expires-only response counts as stale.
 */
export function explicitLifetime(directives: ResponseDirectives, headers: ResponseHeaders, responseTimeMs?: number): number | null {
  if (directives.invalid) return 0;
  if (directives.sMaxAge !== null) return directives.sMaxAge;
  if (directives.maxAge !== null) return directives.maxAge;
  const expiresText = firstValue(headers, 'expires');
  if (expiresText === undefined) return null;
  const expires = parseHttpDate(expiresText, responseTimeMs);
  if (expires === null) return 0;
  const date = parseDateHeader(headers, responseTimeMs) ?? responseTimeMs;
  if (date === undefined) return 0;
  return Math.min(Math.max(0, Math.floor((expires - date) / 1000)), DELTA_SECONDS_MAX);
}

/**
 * Heuristic freshness lifetime in whole seconds (RFC 9111 §4.2.2), or null when heuristics do not apply: the status
 * is not heuristically cacheable (RFC 9110 §15.1), there is no valid Last-Modified, no Date (nor `responseTimeMs`),
 * or `heuristicPercent` <= 0. Value: heuristicPercent % of (Date - Last-Modified), capped at heuristicMaxSec.
 * The caller must only use it when `explicitLifetime` is null.
 */
export function heuristicLifetime(
  headers: ResponseHeaders,
  status: number,
  policy: Pick<TtlPolicy, 'heuristicPercent' | 'heuristicMaxSec'>,
  responseTimeMs?: number,
): number | null {
  if (!HEURISTIC_STATUSES.has(status) || policy.heuristicPercent <= 0) return null;
  const lastModifiedText = firstValue(headers, 'last-modified');
  if (lastModifiedText === undefined) return null;
  const lastModified = parseHttpDate(lastModifiedText, responseTimeMs);
  if (lastModified === null) return null;
  const date = parseDateHeader(headers, responseTimeMs) ?? responseTimeMs;
  if (date === undefined) return null;
  // A Last-Modified at or after Date says nothing about how long the representation stays unchanged.
  const sinceModifiedSec = Math.max(0, date - lastModified) / 1000;
  const lifetime = Math.floor((sinceModifiedSec * policy.heuristicPercent) / 100);
  return Math.min(lifetime, Math.max(0, policy.heuristicMaxSec), DELTA_SECONDS_MAX);
}

/** The Age header value for a current age (RFC 9111 §5.1: whole seconds, never negative). */
export function ageHeaderSeconds(ageSec: number): number {
  return ageSec > 0 ? Math.floor(ageSec) : 0;
}

/**
 * The remaining freshness in whole seconds for Cache-Status `ttl=`, computed from the Age actually sent, so that
 * Age + ttl equals the freshness lifetime (max-age=600 answered at age 0.4 s: Age 0, ttl 600; rounding both apart
 * gave 0 + 599). A lifetime with a fractional TTL extension is rounded first.
 */
export function remainingTtl(lifetimeSec: number, ageSec: number): number {
  return Math.round(lifetimeSec) - ageHeaderSeconds(ageSec);
}
