/**
 * @module pipeline/fill-policy
 * The cache flow's storage step (pipeline/cache-flow.ts): how a fill decides what to store once the origin's head
 * arrives (the storage decision, the variant it stores under, the stored headers, tags and timing), and what a
 * revalidation that brought no new body does to the stored copy (a 304 refreshes it, RFC 9111 §4.3.4; an origin
 * failure or 5xx may extend it, policy/stale-on-error.ts). Module functions taking the flow's services (the
 * worker's CacheFlowServices satisfies FillPolicyServices); run in workers.
 */
import type { Admission } from '../cache/index.js';
import type { CacheStore, ObjectMeta, ObjectRef } from '../cache/store.js';
import { currentAge, parseAgeHeader, parseDateHeader } from '../cache/freshness.js';
import { varyNames } from '../cache/key.js';
import { parseTags } from '../cache/tags.js';
import { REQUEST_NO_CACHE_REASONS } from '../policy/cacheable.js';
import { staleOnError } from '../policy/stale-on-error.js';
import { linkApplies } from '../policy/vhost-link.js';
import type { CacheResult } from '../stats/counters.js';
import type { CompressionReport } from '../transform/compression.js';
import { contentLengthOf, firstHeader, parseLastModified, refreshedBy304, servable, storageDecision, storedHeaders } from './cache-headers.js';
import { identityVary, varyForEncodings } from './compressed-hit.js';
import type { RequestCtx } from './context.js';
import type { Fill, FillHead, FillPolicy } from './fill.js';
import { strippedTagFields } from './headers.js';
import type { HotTier } from './hot-tier.js';

/** What the storage step needs from the worker (a subset of CacheFlowServices). */
export interface FillPolicyServices {
  readonly store: CacheStore;
  readonly hot: HotTier;
  readonly compressed: CompressionReport;
  tagsDropped(vhostName: string, count: number): void;
}

/** How a fill decides what to store once the origin answers; also handles revalidation outcomes. */
export function fillPolicy(s: FillPolicyServices, ctx: RequestCtx, leaseRef: ObjectRef, stale: ObjectMeta | null, admission: Admission | null = null): FillPolicy {
  const { store } = s;
  const vhost = ctx.vhost;
  const keepsStoredCopy = (status: number): boolean => stale !== null && (status === 304 || (status >= 500 && vhost.options.ttlExtensionBy5xx));
  // Set by onHead: the response is storable, only this request may not store it (no hit-for-pass for others).
  let declinedForRequest = false;
  return {
    keepsStoredCopy,
    declinedForRequest: () => declinedForRequest,
    admission,
    onHead: (status, headers, requestTime, responseTime): FillHead | null => {
      if (keepsStoredCopy(status)) return null;
      // An answer that hands the request on along <VhostLink> is never stored here (policy/vhost-link.ts).
      if (vhost.link !== null && linkApplies(vhost.link.condition, status)) return null;
      const decision = storageDecision(ctx, status, headers, responseTime);
      if (decision.action !== 'store') {
        declinedForRequest = REQUEST_NO_CACHE_REASONS.has(decision.reason);
        return null;
      }
      const named = ctx.rules === null ? varyNames(headers.vary) : ctx.rules.honouredVary(varyNames(headers.vary));
      // <Compression> asks the origin for identity: its answer cannot vary on the client's Accept-Encoding.
      const vary = vhost.options.compression.enabled ? identityVary(named, headers) : named;
      if (vary[0] === '*') return null;
      const ref = vary.join(',') === leaseRef.vary.join(',') ? leaseRef : store.refFor(leaseRef.primary, leaseRef.primaryHash, vary, ctx.head.headers);
      if (!store.keyFits(ref)) return null;
      let stored = storedHeaders(headers, ctx.vhost, decision.excludeHeaders);
      if (vhost.options.compression.enabled) stored = varyForEncodings(ctx, s.compressed, status, stored, contentLengthOf(headers));
      const tagged = parseTags(headers, vhost.options.cacheTag);
      if (tagged.dropped > 0) s.tagsDropped(vhost.name, tagged.dropped);
      const fillHead: FillHead = {
        ref,
        size: contentLengthOf(headers),
        meta: {
          key: ref.key,
          status,
          headers: stored,
          etag: firstHeader(headers.etag) ?? null,
          lastModifiedMs: parseLastModified(headers),
          requestTime,
          responseTime,
          dateMs: parseDateHeader(headers),
          ageHeaderSec: parseAgeHeader(headers.age),
          ttlSec: decision.ttlSec,
          staleWhileRevalidateSec: decision.staleWhileRevalidateSec,
          staleIfErrorSec: decision.staleIfErrorSec,
          revalidate: decision.revalidate,
          mustRevalidate: decision.mustRevalidate,
          ttlSource: decision.ttlSource,
          extendedSec: 0,
          // Provisional when another copy is stored meanwhile: the commit then counts on from that copy's.
          generation: (stale?.generation ?? 0) + 1,
        },
      };
      // Set apart, not spread into the literal above (see withBody): only tagged responses carry the field.
      if (tagged.tags.length > 0) (fillHead.meta as { tags?: readonly string[] }).tags = tagged.tags;
      return fillHead;
    },
  };
}

/** After a revalidation that did not return a new body: refresh (304) or extend (5xx/failure) the stored copy. */
export function revalidationOutcome(s: FillPolicyServices, ctx: RequestCtx, fill: Fill, stale: ObjectMeta): { meta: ObjectMeta; result: CacheResult; status: string } | null {
  const { store } = s;
  const options = ctx.vhost.options;
  const now = Date.now();
  if (fill.state === 'uncacheable' && fill.originStatus === 304) {
    const meta = refreshedBy304(stale, fill.originHeaders, fill.requestTime, now, options.ttl, ctx.rules?.ttlFor(ctx.path, stale.status) ?? null, options.targetedCacheControl, strippedTagFields(options));
    store.refreshMeta(fill.leaseRef.hash, meta);
    s.hot.invalidate(fill.leaseRef.hex);
    fill.abandon();
    return { meta, result: 'TCP_REFRESH_HIT', status: 'hit; fwd=stale; fwd-status=304' };
  }
  const ageSec = currentAge(stale, now);
  // Only the origin's failure may extend or serve the stored copy: a request refused on Flint's side (a client's
  // header undici will not send) says nothing about the origin and must not change what other clients get.
  const failed = fill.state === 'failed' && fill.error?.source === 'origin';
  const is5xx = fill.state === 'uncacheable' && fill.originStatus >= 500;
  if (!failed && !is5xx) return null;
  const verdict = staleOnError(servable(stale, ageSec), ageSec, failed ? 'fail' : '5xx', options);
  if (verdict === 'refuse') return null;
  const extend = verdict === 'extend';
  if (is5xx) fill.abandon();
  let meta = stale;
  if (extend) {
    // STON TTLExtensionBy*: fresh again for ConnectTimeout seconds from now.
    const extendedSec = Math.max(0, ageSec - stale.ttlSec) + options.ttl.errorExtensionSec;
    meta = { ...stale, extendedSec };
    store.refreshMeta(fill.leaseRef.hash, meta);
    s.hot.invalidate(fill.leaseRef.hex);
  }
  return { meta, result: 'TCP_REF_FAIL_HIT', status: `hit; fwd=stale; fwd-status=${failed ? 'error' : fill.originStatus}` };
}
