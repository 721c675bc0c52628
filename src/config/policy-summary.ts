/**
 * @module config/policy-summary
 * One line per vhost of the policy a config compiled to, for `flint check-config`: how many rules each list
 * holds and whether access control is on, so an operator sees that a migrated acl.txt was read (and enforced).
 * Pure; runs in the CLI.
 */
import type { Config, Vhost } from './types.js';

/** `vhost a.test: ttl 2, bypass 0, querystring 1, acl 3, headers 0 (AccessControl ON, Default deny, DenialCode 403)`. */
export function vhostPolicyLine(vhost: Vhost): string {
  const r = vhost.rules;
  const ac = vhost.options.accessControl;
  const access = ac.enabled ? `AccessControl ON, Default ${ac.defaultAction}, DenialCode ${ac.denialCode}` : 'AccessControl OFF';
  const sub = vhost.sub.length === 0 ? '' : `, sub ${vhost.sub.length}`;
  return `vhost ${vhost.name}: ttl ${r.ttl.length}, bypass ${r.bypass.length}, querystring ${r.queryString.length}, acl ${r.acl.length}, headers ${r.headers.length}${sub} (${access})`;
}

/** The summary lines of a whole config: ServiceAccess (and its GeoIP file), URLRewrite when any, then one line per vhost (Sub paths when any). */
export function policySummary(config: Config): string[] {
  const sa = config.server.serviceAccess;
  const geo = sa.geoIp === null ? '' : `, GeoIP ${sa.geoIp.file}`;
  const service = `ServiceAccess: Default ${sa.defaultAction}, ${sa.allow.length} allow, ${sa.deny.length} deny${geo}`;
  const rewrites = config.urlRewrites.length === 0 ? [] : [`URLRewrite: ${config.urlRewrites.length} rules`];
  return [service, ...rewrites, ...config.vhosts.map(vhostPolicyLine)];
}
