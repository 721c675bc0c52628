/**
 * @module bench/lib/verify
 * Check a target's response before it is loaded, so a run never measures the wrong thing: the right status and
 * body size, the origin's marker header (the bytes really came from the bench origin), and the cache outcome
 * the scenario expects, read from the headers each server uses. Pure functions; runs in the bench process.
 */
import { ORIGIN_MARK_HEADER, objectBytes } from './objects.js';
import type { ProbeResponse } from './http-probe.js';

/**
 * What a scenario expects: 'pass' = not served from cache (never cacheable); 'miss' = not served from cache (but
 * cacheable: the scenario checks a repeat is a hit); 'hit' = served from cache; 'any' = not checked.
 */
export const CACHE_EXPECTATIONS = ['pass', 'miss', 'hit', 'any'] as const;
export type CacheExpectation = (typeof CACHE_EXPECTATIONS)[number];

/** Expected response of one request. */
export interface Expected {
  readonly status: number;
  readonly bodyBytes: number;
  readonly cache: CacheExpectation;
  /** Also compare the body byte for byte with the object's content (lib/objects.ts), not just its size. */
  readonly content?: boolean;
}

/**
 * Headers that say "served from cache": Flint's `Cache-Status: flint; hit...` (RFC 9211; `hit` is a parameter of
 * the first entry), an X-Cache of HIT... (the bench's Varnish VCL sets one), nginx's X-Cache-Status (as the bench's
 * cache peers add it from $upstream_cache_status) and Varnish's X-Varnish carrying two transaction ids.
 */
export function cacheOutcome(r: ProbeResponse): 'hit' | 'not-hit' {
  const h = r.headers;
  const cacheStatus = String(h['cache-status'] ?? '');
  const xCache = String(h['x-cache'] ?? '');
  const xStatus = String(h['x-cache-status'] ?? '');
  const xVarnish = String(h['x-varnish'] ?? '');
  const firstEntry = cacheStatus.split(',')[0] ?? '';
  if (/;\s*hit\s*(;|$)/i.test(firstEntry)) return 'hit';
  if (/^HIT/i.test(xCache) || /^HIT/i.test(xStatus) || /^\d+ \d+$/.test(xVarnish.trim())) return 'hit';
  return 'not-hit';
}

/** Memoized expected bodies by size, so verifying a 64 MiB hit twice does not regenerate it. */
const EXPECTED = new Map<number, Buffer>();

/** True when `body` is exactly the first body.length bytes of every bench object (lib/objects.ts). */
export function isObjectContent(body: Buffer): boolean {
  let want = EXPECTED.get(body.length);
  if (want === undefined) {
    want = objectBytes(0, body.length);
    EXPECTED.set(body.length, want);
  }
  return body.equals(want);
}

/** Every way `r` differs from `want`, as short phrases; empty when it matches. */
export function checkResponse(r: ProbeResponse, want: Expected): string[] {
  const problems: string[] = [];
  if (r.status !== want.status) problems.push(`status ${r.status}, want ${want.status}`);
  if (r.body.length !== want.bodyBytes) problems.push(`body ${r.body.length} bytes, want ${want.bodyBytes}`);
  else if (want.content === true && !isObjectContent(r.body)) problems.push(`body of ${r.body.length} bytes differs from the object's content`);
  // A 304 carries only the validator and cache fields (RFC 9110 §15.4.5), so there the ETag stands in for the marker.
  if (want.status === 304) {
    if (r.headers['etag'] === undefined) problems.push('304 without an ETag');
  } else if (r.headers[ORIGIN_MARK_HEADER] === undefined) problems.push(`no ${ORIGIN_MARK_HEADER} header (not from the bench origin?)`);
  const outcome = cacheOutcome(r);
  if (want.cache === 'pass' && outcome === 'hit') problems.push('served from cache, want a pass-through');
  if (want.cache === 'miss' && outcome === 'hit') problems.push('served from cache, want a miss');
  if (want.cache === 'hit' && outcome !== 'hit') problems.push('not a cache hit');
  return problems;
}
