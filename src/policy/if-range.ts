/**
 * @module policy/if-range
 * `<Options><IfRange Purge="ON">` (STON enterprise.html, the 2-tier design): a parent purges its copy when a child
 * asks with an If-Range date newer than the copy's Last-Modified, i.e. the child already holds a newer version than
 * the parent. Pure; runs in workers.
 *
 * Only dates are compared, as STON does: an entity-tag If-Range that does not match says the copies differ but not
 * which one is newer, so the parent answers 200 with its own copy (RFC 9110 §13.1.5) and the child replaces its
 * partial object with it - consistent, never mixed.
 */
import { parseHttpDate } from '../cache/freshness.js';

/**
 * Clock skew tolerated between tiers. A Last-Modified further in the future than this cannot come from an origin,
 * so such an If-Range never purges (it would let any client force an origin fetch per request). A client sending
 * a plausible newer date still can: enable Purge on parents that only children reach.
 */
const MAX_SKEW_MS = 60_000;

/**
 * True when the If-Range value is an HTTP-date later than `lastModifiedMs` (a copy without one counts as older)
 * and not in the future.
 */
export function ifRangeIsNewer(ifRange: string, lastModifiedMs: number | null, nowMs = Date.now()): boolean {
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return false;
  const date = parseHttpDate(value);
  if (date === null || date > nowMs + MAX_SKEW_MS) return false;
  return lastModifiedMs === null || date > lastModifiedMs;
}
