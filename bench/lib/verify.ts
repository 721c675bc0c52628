/**
 * @module bench/lib/verify
 * Check a target's response before it is loaded, so a run never measures the wrong thing: the right status and
 * body size, the origin's marker header (the bytes really came from the bench origin), and the cache outcome
 * the scenario expects, read from the headers each server uses. Pure functions; runs in the bench process.
 */
import { ORIGIN_MARK_HEADER } from './objects.js';
import type { ProbeResponse } from './http-probe.js';

/** What a scenario expects: 'pass' = not served from cache; 'hit' = served from cache; 'any' = not checked. */
export const CACHE_EXPECTATIONS = ['pass', 'hit', 'any'] as const;
export type CacheExpectation = (typeof CACHE_EXPECTATIONS)[number];

/** Expected response of one request. */
export interface Expected {
  readonly status: number;
  readonly bodyBytes: number;
  readonly cache: CacheExpectation;
}

/**
 * Headers that say "served from cache": Flint's X-Cache (HIT...), nginx's X-Cache-Status (as the bench's cache
 * peers will add it) and Varnish's X-Varnish carrying two transaction ids.
 */
export function cacheOutcome(r: ProbeResponse): 'hit' | 'not-hit' {
  const h = r.headers;
  const xCache = String(h['x-cache'] ?? '');
  const xStatus = String(h['x-cache-status'] ?? '');
  const xVarnish = String(h['x-varnish'] ?? '');
  if (/^HIT/i.test(xCache) || /^HIT/i.test(xStatus) || /^\d+ \d+$/.test(xVarnish.trim())) return 'hit';
  return 'not-hit';
}

/** Every way `r` differs from `want`, as short phrases; empty when it matches. */
export function checkResponse(r: ProbeResponse, want: Expected): string[] {
  const problems: string[] = [];
  if (r.status !== want.status) problems.push(`status ${r.status}, want ${want.status}`);
  if (r.body.length !== want.bodyBytes) problems.push(`body ${r.body.length} bytes, want ${want.bodyBytes}`);
  if (r.headers[ORIGIN_MARK_HEADER] === undefined) problems.push(`no ${ORIGIN_MARK_HEADER} header (not from the bench origin?)`);
  const outcome = cacheOutcome(r);
  if (want.cache === 'pass' && outcome === 'hit') problems.push('served from cache, want a pass-through');
  if (want.cache === 'hit' && outcome !== 'hit') problems.push('not a cache hit');
  return problems;
}
