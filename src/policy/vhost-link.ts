/**
 * @module policy/vhost-link
 * Whether an origin outcome hands a request on along `<VhostLink>` (STON adv_vhost.html). Pure; runs in workers.
 *
 * STON semantics, as Flint applies them:
 * - The linked vhost takes the request as if the client had asked it: its origin, its caching rules, its cache
 *   (objects are stored under the linked vhost's name, never under the linking one's). The linking vhost stores
 *   nothing for an answer that triggered the link (it is not storable there), so the next request asks its origin
 *   again: a vhost whose storage gains the object serves it from then on (the NAS -> cloud migration pattern).
 * - A stored copy that is revalidated and comes back 5xx/failed is still served stale when TTLExtensionBy5xx /
 *   TTLExtensionByFail say so: the link applies only where the vhost itself would answer with that status.
 * - Requests with a body are never handed on (it has been streamed to the first origin already).
 * - Chains are followed (a -> b -> c); config validation rejects cycles, and a vhost seen before on the chain is
 *   never entered twice (a reload between two hops cannot make a loop either).
 */
import type { LinkCondition } from '../config/types.js';

/** The origin's answer as far as a link cares: a status code, or `fail` (no response head arrived). */
export type LinkOutcome = number | 'fail';

/** True when `outcome` meets `condition`. */
export function linkApplies(condition: LinkCondition, outcome: LinkOutcome): boolean {
  if (outcome === 'fail') return condition.onFail;
  return condition.statuses.includes(outcome) || condition.classes.includes(Math.floor(outcome / 100));
}
