/**
 * @module policy/stale-on-error
 * What a stored copy may do when its revalidation fails (the origin is unreachable, or answers 5xx): be extended
 * and served (STON's TTLExtensionByFail / TTLExtensionBy5xx), be served within its stale-if-error window
 * (RFC 5861 §4), or not be served at all. RFC 9111 §4.2.4 forbids serving a stale response whose origin said
 * must-revalidate, proxy-revalidate, s-maxage (§5.2.2.2, §5.2.2.8, §5.2.2.10: a shared cache) or no-cache
 * (§5.2.2.4); only `<ViolateMustRevalidate>ON` overrides that, and its name says what it does. Pure; runs in workers.
 */
import type { VhostOptions } from '../config/types.js';
import { isStaleIfErrorAllowed } from './cacheable.js';
import type { StoredFreshness } from './cacheable.js';

/** 'extend': serve it and extend its TTL; 'serve': serve it as is; 'refuse': answer without it (504 or the 5xx). */
export type StaleOnError = 'extend' | 'serve' | 'refuse';

/** How the revalidation failed: no answer from the origin, or a 5xx answer. */
export type RevalidationFailure = 'fail' | '5xx';

/** The options this decision reads. */
export type StaleOnErrorOptions = Pick<VhostOptions, 'ttlExtensionByFail' | 'ttlExtensionBy5xx' | 'violateMustRevalidate'>;

/** Decides what the stored copy (`ageSec` old) may do after a failed revalidation (see the module doc). */
export function staleOnError(stored: StoredFreshness, ageSec: number, failure: RevalidationFailure, options: StaleOnErrorOptions): StaleOnError {
  const forbidsStale = stored.mustRevalidate || stored.revalidate === 'always';
  // A copy still fresh may always answer (it is only revalidated because the client asked, or it was purged).
  if (forbidsStale && ageSec >= stored.ttlSec && !options.violateMustRevalidate) return 'refuse';
  if (failure === 'fail' ? options.ttlExtensionByFail : options.ttlExtensionBy5xx) return 'extend';
  return isStaleIfErrorAllowed(stored, ageSec) ? 'serve' : 'refuse';
}
