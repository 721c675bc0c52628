/**
 * @module pipeline/cache-headers
 * The cache flow's header and body helpers (pipeline/cache-flow.ts and its steps): the storage decision for an
 * origin response, the headers stored from it and refreshed by a 304 (RFC 9111 §3.2, §4.3.4), the headers sent with
 * a cached response and a 304, the Cache-Status text of a result, the freshness inputs of a stored object, how a
 * hot-tier request can be answered, and reading a stored body whole. Pure functions; run in workers.
 */
import type { Vhost } from '../config/types.js';
import type { ObjectMeta } from '../cache/store.js';
import { ageHeaderSeconds, parseAgeHeader, parseDateHeader, parseHttpDate } from '../cache/freshness.js';
import type { RequestHead } from '../http/request.js';
import type { OriginHeaders } from '../origin/fetch.js';
import { STORED_HEADER_EXCLUDES, decideStorage, grownTtl } from '../policy/cacheable.js';
import type { StorageDecision, decideServe } from '../policy/cacheable.js';
import type { CacheResult } from '../stats/counters.js';
import type { BlockSource } from './body-source.js';
import type { RequestCtx } from './context.js';
import type { Fill } from './fill.js';
import { VIA, isServerField, strippedTagFields } from './headers.js';

/** 304 responses carry only these fields (RFC 9110 §15.4.5), plus what Flint adds to every cached response. */
const NOT_MODIFIED_FIELDS = new Set(['cache-control', 'content-location', 'etag', 'expires', 'vary', 'last-modified', 'age', 'cache-status', 'via']);

/** Headers a 304 from the origin must not change in the stored response (RFC 9111 §3.2). */
const NOT_UPDATED_BY_304 = new Set(['content-length', 'content-encoding', 'content-type', 'content-range', 'transfer-encoding']);

/** The storage decision (policy/cacheable.ts) for an origin response to `ctx`'s request, with the vhost's options and rules. */
export function storageDecision(ctx: RequestCtx, status: number, headers: OriginHeaders, responseTime: number): StorageDecision {
  const options = ctx.vhost.options;
  return decideStorage({
    method: 'GET',
    status,
    requestHeaders: ctx.head.headers,
    responseHeaders: headers,
    now: responseTime,
    policy: options.ttl,
    ruleTtlSec: ctx.rules?.ttlFor(ctx.path, status) ?? null,
    ignoreVaryStar: ctx.rules !== null && ctx.rules.varyHeaders !== null,
    setCookie: options.setCookie,
    cookieRequest: options.cookieRequest,
    ruleCaches: ctx.rules?.cachesByRule(ctx.head, ctx.path) === true,
    targetedFields: options.targetedCacheControl,
  });
}

/** Whether a fill's body is known to fit inline (Content-Length at most `inlineMaxBytes`). */
export function isSmall(fill: Fill, inlineMaxBytes: number): boolean {
  const size = fill.head?.size ?? -1;
  return size >= 0 && size <= inlineMaxBytes;
}

/**
 * How a hot-tier request can be answered: `plain` is a GET that takes the stored response as it is (no Range, no
 * precondition); `conditional` a GET whose only preconditions are If-None-Match / If-Modified-Since (a 304 or the
 * plain answer); `other` needs the general path (HEAD, Range, If-Match, If-Unmodified-Since, If-Range).
 */
export function hotRequestKind(head: RequestHead): 'plain' | 'conditional' | 'other' {
  if (head.method !== 'GET') return 'other';
  let kind: 'plain' | 'conditional' = 'plain';
  const h = head.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] as string;
    if (name === 'if-none-match' || name === 'if-modified-since') kind = 'conditional';
    else if (name === 'range' || name.startsWith('if-')) return 'other';
  }
  return kind;
}

/** Headers sent with a cached response: the stored ones, then Age, Cache-Status and Via. */
export function responseHeaders(stored: readonly string[], vhost: Vhost, ageSec: number, cacheStatus: string): string[] {
  const headers = stored.slice();
  if (vhost.options.ageHeader) headers.push('age', String(ageHeaderSeconds(ageSec)));
  headers.push('cache-status', `flint; ${cacheStatus}`);
  if (vhost.options.viaHeader) headers.push('via', VIA);
  return headers;
}

/** The name/value pairs of `headers` a 304 carries. */
export function notModifiedHeaders(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (NOT_MODIFIED_FIELDS.has(name)) out.push(name, headers[i + 1] as string);
  }
  return out;
}

export function cacheStatusOf(result: CacheResult): string {
  switch (result) {
    case 'TCP_MISS':
      return 'fwd=miss; stored';
    case 'TCP_REF_MISS':
      return 'fwd=stale; stored';
    case 'TCP_CLIENT_REFRESH_MISS':
      return 'fwd=request; stored';
    default:
      return 'hit; collapsed';
  }
}

/**
 * Origin response headers to store: none of `excludes` (the storage decision's: hop-by-hop, Set-Cookie, fields
 * named by private=/no-cache=/Connection), no framing, no Date (uWS writes its own), no Age or Via (recomputed).
 */
export function storedHeaders(origin: OriginHeaders, vhost: Vhost, excludes: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const name in origin) {
    if (excludes.has(name) || name === 'content-length' || name === 'date' || name === 'age') continue;
    if (!vhost.options.serverHeader && isServerField(name)) continue;
    if (name === 'via' || name === 'uwebsockets') continue;
    if (strippedTagFields(vhost.options).includes(name)) continue;
    const value = origin[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  return out;
}

/** RFC 9111 §4.3.4: a 304 updates the stored headers (except framing) and the timing; TTL recomputed. */
export function refreshedBy304(
  stale: ObjectMeta,
  headers: OriginHeaders,
  requestTime: number,
  now: number,
  policy: Vhost['options']['ttl'],
  ruleTtlSec: number | null,
  targetedFields: readonly string[],
  tagFields: readonly string[],
): ObjectMeta {
  const updated = new Map<string, string[]>();
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || NOT_UPDATED_BY_304.has(name) || STORED_HEADER_EXCLUDES.has(name) || name === 'date' || name === 'age') continue;
    // A 304 updates headers, not tags (the index keeps the stored response's); stripped tag fields stay out.
    if (tagFields.includes(name)) continue;
    updated.set(name, typeof value === 'string' ? [value] : value);
  }
  const merged: string[] = [];
  for (let i = 0; i < stale.headers.length; i += 2) {
    const name = stale.headers[i] as string;
    if (!updated.has(name)) merged.push(name, stale.headers[i + 1] as string);
  }
  for (const [name, values] of updated) for (const v of values) merged.push(name, v);
  const combined: OriginHeaders = {};
  for (let i = 0; i < merged.length; i += 2) {
    const name = merged[i] as string;
    const existing = combined[name];
    combined[name] = existing === undefined ? (merged[i + 1] as string) : [...(typeof existing === 'string' ? [existing] : existing), merged[i + 1] as string];
  }
  combined.date = headers.date;
  const decision = decideStorage({ method: 'GET', status: stale.status, requestHeaders: [], responseHeaders: combined, now, policy, ruleTtlSec, setCookie: 'strip', targetedFields });
  // A TTL rule's TTL is fixed: a 304 restores it rather than growing it (adaptive Ratio is for the class TTLs).
  const ttlSec =
    decision.action !== 'store'
      ? stale.ttlSec
      : ruleTtlSec !== null
        ? ruleTtlSec
        : stale.ttlSource === 'config' && decision.ttlSource === 'config'
          ? grownTtl(stale.ttlSec, policy)
          : decision.ttlSec;
  return {
    ...stale,
    headers: merged,
    requestTime,
    responseTime: now,
    dateMs: parseDateHeader(headers),
    ageHeaderSec: parseAgeHeader(headers.age),
    ttlSec,
    extendedSec: 0,
    etag: firstHeader(headers.etag) ?? stale.etag,
  };
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

export function headerOf(list: readonly string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

export function contentLengthOf(headers: OriginHeaders): number {
  const value = firstHeader(headers['content-length']);
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : -1;
}

export function parseLastModified(headers: OriginHeaders): number | null {
  const value = firstHeader(headers['last-modified']);
  return value === undefined ? null : parseHttpDate(value);
}

/** The whole body of `source` in one buffer; the source is released either way. */
export async function readWhole(source: BlockSource, size: number): Promise<Buffer> {
  try {
    const body = Buffer.allocUnsafe(size);
    for (let pos = 0; pos < size; ) {
      const chunk = await source.read(pos, size - pos);
      if (chunk.length === 0) throw new Error('body shorter than its size');
      chunk.copy(body, pos);
      pos += chunk.length;
    }
    return body;
  } finally {
    source.release();
  }
}

/** Freshness inputs of a stored object, including TTL extensions granted after storing. */
export function servable(meta: ObjectMeta, _ageSec: number): Parameters<typeof decideServe>[0]['stored'] {
  return {
    ageSec: _ageSec,
    ttlSec: meta.ttlSec + meta.extendedSec,
    staleWhileRevalidateSec: meta.staleWhileRevalidateSec,
    staleIfErrorSec: meta.staleIfErrorSec,
    revalidate: meta.revalidate,
    mustRevalidate: meta.mustRevalidate,
  };
}
