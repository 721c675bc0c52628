/**
 * @module pipeline/invalidation
 * RFC 9111 §4.4: a successful unsafe request (POST, PUT, DELETE, PATCH) invalidates its target URI and the same-host
 * URIs in the response's Location and Content-Location (every variant), in the index and in this worker's hot tier
 * (other workers' hot tiers follow within HOT_RECHECK_MS). `<UnsafeInvalidation>OFF` turns it off (pipeline/edge.ts
 * decides). Runs in workers.
 */
import { normalisePath, primaryKey } from '../cache/key.js';
import type { DiskSet } from '../cache/disks.js';
import type { CacheStore } from '../cache/store.js';
import type { Logger } from '../log.js';
import type { RequestCtx } from './context.js';
import type { HotTier } from './hot-tier.js';

/** Drops the stored and hot copies of the request's target and of its response's same-host locations. */
export function invalidateTargets(ctx: RequestCtx, hot: HotTier, disks: DiskSet, log: Logger): void {
  const keyOf = (path: string, query: string): string => {
    const key = ctx.rules === null || ctx.rules.plainKey ? { path, query } : ctx.rules.keyParts(path, query);
    return primaryKey(ctx.vhost.name, key.path, key.query);
  };
  const primaries = [keyOf(ctx.path, ctx.query)];
  // The origin built its Location from the Host it was sent (pipeline/headers.ts), not the client's.
  const originHost = ctx.vhost.originOptions.hostHeader ?? ctx.vhost.name;
  for (const location of ctx.responseLocations) {
    const target = sameHostTarget(location, originHost);
    if (target !== null) primaries.push(keyOf(target.path, target.query));
  }
  const now = Date.now();
  for (const primary of primaries) {
    hot.invalidatePrimary(primary);
    try {
      (disks.stores[disks.pick(primary)] as CacheStore).index.removePrimary(primary, now);
    } catch (error) {
      log.warn({ event: 'cache.invalidate_failed', err: (error as Error).message, url: ctx.url }, 'invalidation failed');
    }
  }
}

/** The normalised path and query of a Location/Content-Location value when it names the request's own host. */
function sameHostTarget(location: string, host: string): { path: string; query: string } | null {
  let url: URL;
  try {
    url = new URL(location, `http://${host}/`);
  } catch {
    return null;
  }
  if (url.host !== host.toLowerCase()) return null;
  const path = normalisePath(url.pathname);
  return path === null ? null : { path, query: url.search.slice(1) };
}
