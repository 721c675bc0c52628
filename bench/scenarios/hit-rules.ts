/**
 * @module bench/scenarios/hit-rules
 * Scenario `hit-1k-rules`: the 1 KiB hit of `hit-1k` (wrk -c50 on one cached object) against Flint with 1 worker,
 * once with no rules and once with 1,000 rules loaded that do not match the hit URL: 500 bypass rules and 500 TTL
 * rules (URL prefixes, extensions, in-segment wildcards and `**`, some with method, header, cookie or status
 * conditions), the mix an operator's bypass.txt/ttl.txt grows into. Rules are compiled into one trie per list when
 * the config loads, so the two req/s figures should be within a few percent; a per-rule regex scan would not be.
 */
import { missingToolLine } from '../lib/environment.js';
import { measureTarget } from '../lib/measure.js';
import { CACHE_OBJECTS, cachePath } from '../lib/objects.js';
import { startFlint } from '../targets/flint.js';
import { headerLine, primeUntilHit, runCacheScenario } from './cache-common.js';
import type { CacheTarget } from './cache-common.js';
import type { RunRecord } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import type { Expected } from '../lib/verify.js';

/** How many rules of each kind the loaded target gets (1,000 in all). */
const RULES_PER_KIND = 500;

/** `<BypassRules>` and `<TTLRules>` with 1,000 rules, none of which matches `/c/1k`. */
export function thousandRules(): string {
  const bypass: string[] = [];
  const ttl: string[] = [];
  for (let i = 0; i < RULES_PER_KIND; i++) {
    switch (i % 5) {
      case 0:
        bypass.push(`<Rule Url="/api${i}/*">bypass</Rule>`);
        ttl.push(`<Rule Url="/img${i}/*.jpg" Status="200">${3600 + i}</Rule>`);
        break;
      case 1:
        bypass.push(`<Rule Url="*.dyn${i}">bypass</Rule>`);
        ttl.push(`<Rule Url="*.ext${i}">${60 + i}</Rule>`);
        break;
      case 2:
        bypass.push(`<Rule Method="GET" Url="/c/admin${i}/*" Header="X-Debug${i}">bypass</Rule>`);
        ttl.push(`<Rule Url="/c/v${i}*/app.js" Status="2xx">${600 + i}</Rule>`);
        break;
      case 3:
        bypass.push(`<Rule Url="/c/1k/private${i}" Cookie="session${i}">bypass</Rule>`);
        ttl.push(`<Rule Url="/assets/**/x${i}.css" Status="200,203">${900 + i}</Rule>`);
        break;
      default:
        bypass.push(`<Rule Url="/cgi${i}/**/run.php" ClientIp="10.${i % 256}.0.0/16">bypass</Rule>`);
        ttl.push(`<Rule Url="/c/1k/old${i}" Status="404">${10 + i}</Rule>`);
    }
  }
  return `    <BypassRules>\n      ${bypass.join('\n      ')}\n    </BypassRules>\n    <TTLRules>\n      ${ttl.join('\n      ')}\n    </TTLRules>`;
}

function flintTarget(name: string, vhostExtra: string): CacheTarget {
  return {
    name,
    workers: 1,
    start: (o, port) => startFlint({ name, workers: 1, originPort: port, readyPath: '/1k', cacheRoot: o.cacheRoot, vhostExtra }),
  };
}

/**
 * A `hit-1k` scenario on Flint 1w, once plain (`plainName`) and once with `vhostExtra` in the vhost (`loadedName`):
 * what a list of rules that do not match the hit URL costs a hit. `floor`, when given, is a third target between
 * the two (name and vhost extra): the cost the stack imposes before the list's own work. A run with origin requests
 * says so in its note.
 */
export function hitWithVhostExtra(name: string, summary: string, plainName: string, loadedName: string, vhostExtra: string, floor?: { readonly name: string; readonly vhostExtra: string }): Scenario {
  const targets: readonly CacheTarget[] = [flintTarget(plainName, ''), ...(floor === undefined ? [] : [flintTarget(floor.name, floor.vhostExtra)]), flintTarget(loadedName, vhostExtra)];
  return {
    name,
    summary,
    async run(o, log) {
      if (o.tools.wrk === null) return { runs: [], skipped: [missingToolLine('wrk', name)], originConfigs: null };
      const wrkBin = o.tools.wrk;
      const path = cachePath('1k');
      const expect: Expected = { status: 200, bodyBytes: CACHE_OBJECTS['1k'], cache: 'hit', content: true };
      return runCacheScenario(name, targets, o, log, async (target, origin) => {
        const primed = await primeUntilHit(`${target.baseUrl}${path}`, expect);
        log(`  ${target.name}: primed, ${headerLine(primed)}`);
        const rows: RunRecord[] = [];
        for (let round = 1; round <= o.repeat; round++) {
          const r = await measureTarget({ scenario: name, target, origin, path, expect, opts: o, wrkBin, round, connections: o.connections, originPath: path, perGiB: false });
          const originRequests = r.metrics?.originRequests ?? 0;
          rows.push(originRequests > 0 ? { ...r, note: [r.note, `${originRequests} origin requests during the hit run`].filter((x) => x !== '').join('; ') } : r);
        }
        return rows;
      });
    },
  };
}

/** Flint 1w without rules, then with the 1,000 rules. */
export const hit1kRules: Scenario = hitWithVhostExtra(
  'hit-1k-rules',
  'hit-1k (wrk -c50) on Flint 1w with no rules vs 1,000 bypass/TTL rules that do not match the hit URL',
  'flint-1w-no-rules',
  'flint-1w-1k-rules',
  thousandRules(),
);
