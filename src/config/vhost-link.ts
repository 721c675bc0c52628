/**
 * @module config/vhost-link
 * `<VhostLink Condition="...">other.vhost</VhostLink>` (STON adv_vhost.html "vhost link"): the Condition syntax and
 * the whole-config check that every link leads somewhere and never back. Pure; used by config/validate.ts in the
 * primary (and by `flint check-config`).
 */
import type { LinkCondition, Vhost } from './types.js';

/**
 * Parses a Condition: comma-separated items, each a status code (`404`), a class (`4xx`, `5xx`) or `fail`
 * (connect/receive failure before the origin answered). Returns the condition or a problem text.
 */
export function parseLinkCondition(text: string): { readonly value: LinkCondition } | { readonly error: string } {
  const statuses = new Set<number>();
  const classes = new Set<number>();
  let onFail = false;
  for (const raw of text.split(',')) {
    const item = raw.trim().toLowerCase();
    if (/^[1-5]xx$/.test(item)) classes.add(Number(item[0]));
    else if (/^[1-5]\d\d$/.test(item)) statuses.add(Number(item));
    else if (item === 'fail') onFail = true;
    else return { error: `${JSON.stringify(raw.trim())} is not a link condition (a status like 404, a class like 4xx or 5xx, or fail)` };
  }
  return { value: { statuses: [...statuses].sort((a, b) => a - b), classes: [...classes].sort(), onFail } };
}

/** One broken link: the vhost whose <VhostLink> is wrong and why. */
export interface LinkProblem {
  readonly vhost: string;
  readonly what: string;
}

/**
 * Every link must name another existing vhost, and following links from any vhost must end (no a -> b -> a).
 * A cycle is reported once, at the vhost of the cycle that comes first in the file, with the chain spelled out.
 */
export function findLinkProblems(vhosts: readonly Vhost[]): LinkProblem[] {
  const byName = new Map(vhosts.map((v) => [v.name, v] as const));
  const problems: LinkProblem[] = [];
  const reportedCycles = new Set<string>();
  for (const vhost of vhosts) {
    const link = vhost.link;
    if (link === null) continue;
    if (link.target === vhost.name) {
      problems.push({ vhost: vhost.name, what: `links to itself (${vhost.name} -> ${vhost.name})` });
      continue;
    }
    if (!byName.has(link.target)) {
      problems.push({ vhost: vhost.name, what: `${JSON.stringify(link.target)} is not the Name of any vhost (${vhost.name} -> ?)` });
      continue;
    }
    const chain = [vhost.name];
    let next: string | undefined = link.target;
    while (next !== undefined) {
      const at = chain.indexOf(next);
      if (at !== -1) {
        // Only the vhost that starts the cycle reports it (a -> b -> a is one problem, not two).
        const cycle = chain.slice(at);
        const key = [...cycle].sort().join(' ');
        if (at === 0 && !reportedCycles.has(key)) {
          reportedCycles.add(key);
          problems.push({ vhost: vhost.name, what: `link cycle ${[...chain, next].join(' -> ')}` });
        }
        break;
      }
      chain.push(next);
      const target: Vhost | undefined = byName.get(next);
      next = target?.link?.target;
      // Self links and missing targets further down are reported at their own vhost.
      if (next !== undefined && (next === target?.name || !byName.has(next))) break;
    }
  }
  return problems;
}
