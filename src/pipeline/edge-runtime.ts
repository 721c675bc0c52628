/**
 * @module pipeline/edge-runtime
 * What a worker derives from one config (pipeline/edge.ts): vhost routers, compiled rules and edge policies, the
 * URL rewriter, throttles. Built whole at start and on every reload; a request keeps the one current when it
 * arrived. Runs in workers.
 */
import type { Config, Vhost } from '../config/types.js';
import type { Logger } from '../log.js';
import { buildThrottlePolicies } from '../media/throttle/throttle-policy.js';
import type { ThrottlePolicy } from '../media/throttle/throttle-policy.js';
import type { AccessPolicy } from '../policy/edge-rules/acl.js';
import { buildAccessPolicies } from '../policy/edge-rules/acl.js';
import type { HeaderPolicy } from '../policy/edge-rules/headers.js';
import { buildHeaderPolicies } from '../policy/edge-rules/headers.js';
import { buildRuleSets } from '../policy/rules.js';
import type { VhostRuleSet } from '../policy/rules.js';
import { ServiceAccess } from '../policy/service-access.js';
import { UrlRewriter } from '../policy/url-rewrite.js';
import { buildRouters } from '../policy/vhost.js';
import type { VhostRouter } from '../policy/vhost.js';
import { geoIpFor } from './geoip-load.js';

/** Everything derived from one config; replaced whole on reload. */
export interface Runtime {
  readonly config: Config;
  readonly routers: ReadonlyMap<string, VhostRouter>;
  /** Compiled TTL/bypass/cache-key rules by vhost name (built here from the plain Config, never sent over IPC). */
  readonly rules: ReadonlyMap<string, VhostRuleSet>;
  /** Vhosts by Name, for <VhostLink> targets. */
  readonly byName: ReadonlyMap<string, Vhost>;
  /** `<ServiceAccess>` of server.xml (policy/service-access.ts). */
  readonly service: ServiceAccess;
  /** Compiled `<AccessControl>` policies of the vhosts that have it ON, by vhost name. */
  readonly access: ReadonlyMap<string, AccessPolicy>;
  /** Compiled header rules of the vhosts that have any, by vhost name. */
  readonly headers: ReadonlyMap<string, HeaderPolicy>;
  /** Compiled `<URLRewrite>` rules; null when there are none. */
  readonly rewriter: UrlRewriter | null;
  /** Compiled `<BandwidthThrottling>` of the vhosts that have it ON, by vhost name. */
  readonly throttles: ReadonlyMap<string, ThrottlePolicy>;
}

/** Builds the runtime of `config`. */
export function runtimeOf(config: Config, log: Logger): Runtime {
  const geo = geoIpFor(config, log);
  return {
    config,
    routers: buildRouters(config),
    rules: buildRuleSets(config.vhosts),
    byName: new Map(config.vhosts.map((v) => [v.name, v] as const)),
    service: new ServiceAccess(config.server.serviceAccess, geo),
    access: buildAccessPolicies(config.vhosts, geo),
    headers: buildHeaderPolicies(config.vhosts, geo),
    rewriter: config.urlRewrites.length === 0 ? null : new UrlRewriter(config.urlRewrites),
    throttles: buildThrottlePolicies(config.vhosts, geo),
  };
}
