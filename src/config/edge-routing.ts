/**
 * @module config/edge-routing
 * Whole-config checks of the issue-20 settings that span vhosts or files: `<Sub>` targets (another vhost, without
 * a `<Sub>` of its own, so routing is one hop and cannot loop) and country conditions (`$GEO`, STON's `$IP[KR]`)
 * that need `<ServiceAccess GeoIP>`. Pure; used by config/validate.ts in the primary (and by `flint check-config`).
 */
import type { Vhost } from './types.js';

/** One wrong `<Sub><Path Vhost>`: the vhost holding it and why. */
export interface SubProblem {
  readonly vhost: string;
  readonly what: string;
}

/** Every `<Sub>` target that is not another vhost without a `<Sub>` of its own. */
export function findSubProblems(vhosts: readonly Vhost[]): SubProblem[] {
  const byName = new Map(vhosts.map((v) => [v.name, v] as const));
  const problems: SubProblem[] = [];
  for (const vhost of vhosts) {
    for (const sub of vhost.sub) {
      const target = byName.get(sub.vhost);
      const name = JSON.stringify(sub.vhost);
      if (target === undefined) problems.push({ vhost: vhost.name, what: `${name} is not the Name of any vhost` });
      else if (target === vhost) problems.push({ vhost: vhost.name, what: `${name} is this vhost itself` });
      else if (target.sub.length > 0) problems.push({ vhost: vhost.name, what: `${name} has a <Sub> of its own; Sub routing is one hop` });
    }
  }
  return problems;
}

/**
 * Problems for every acl or header rule with a country condition when no GeoIP database is configured: such a
 * rule could never match, so a deny would silently allow. Each names the rule's file and line.
 */
export function findGeoRuleProblems(vhosts: readonly Vhost[]): string[] {
  const problems: string[] = [];
  for (const vhost of vhosts) {
    for (const rule of [...vhost.rules.acl, ...vhost.rules.headers]) {
      if (rule.conditions.some((c) => c.kind === 'geo')) {
        problems.push(`${rule.source}: a country condition ($GEO[..] or $IP[country]) needs a GeoIP database: set <ServiceAccess GeoIP="/path/GeoLite2-Country.mmdb"> in server.xml (Server/Host/ServiceAccess@GeoIP)`);
      }
    }
  }
  return problems;
}
