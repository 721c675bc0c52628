/**
 * @module media/throttle/throttle-policy
 * A vhost's bandwidth throttling compiled once per config: which requests are paced and how (STON
 * bandwidth_control.html). The first throttling rule whose conditions hold decides (values, or `no`); with
 * `<Throttling QueryString="ON">` the Bandwidth/Ratio/Boost query parameters override its values (or, when no rule
 * matched, make the request throttled with the `<Settings>` values), and are cut from the query the cache key and
 * the origin see. Rules sit in an EdgeRuleList (URL glob index, per-path memo). Pure; runs in workers.
 */
import type { ThrottleRule, ThrottlingConfig, Vhost } from '../../config/types.js';
import type { RequestHead } from '../../http/request.js';
import { RequestConditions, urlGlobOf } from '../../policy/edge-rules/conditions.js';
import { EdgeRuleList } from '../../policy/edge-rules/rule-list.js';
import type { GeoIp } from '../../policy/geoip.js';
import { filterQuery } from '../../policy/rules.js';
import { BOOST_MAX, RATIO_MAX, parseBandwidth, parseWhole } from './throttle-parse.js';

/** How one response is paced. */
export interface ThrottleSpec {
  /** Bits per second: the bandwidth, or the fallback when `fromFile` and the bitrate cannot be read. */
  readonly bandwidthBps: number;
  /** Read the bitrate from the file (`1000x`). */
  readonly fromFile: boolean;
  readonly ratioPercent: number;
  readonly boostSec: number;
}

interface CompiledRule {
  readonly rule: ThrottleRule;
  readonly conditions: RequestConditions;
  readonly position: number;
}

const holds = (c: CompiledRule, head: RequestHead): boolean => c.conditions.holds(head);

export class ThrottlePolicy {
  readonly #config: ThrottlingConfig;
  readonly #list: EdgeRuleList<CompiledRule>;
  /** The parameter names cut from the query (QueryString ON), else null. */
  readonly #params: ReadonlySet<string> | null;

  constructor(vhost: Vhost, config: ThrottlingConfig, geo: GeoIp | null = null) {
    this.#config = config;
    const rules = vhost.rules.throttling.map((rule, position) => ({ rule, conditions: new RequestConditions(rule.conditions, geo), position }));
    const o = vhost.options;
    this.#list = new EdgeRuleList(rules, (c) => urlGlobOf(c.rule.conditions), o.caseSensitive && o.ruleCaseSensitive);
    this.#params = config.queryString ? new Set([config.params.bandwidth, config.params.ratio, config.params.boost]) : null;
  }

  /** How the response to `head` (path normalised) is paced; null = full speed. `query`: as the client sent it. */
  decide(head: RequestHead, path: string, query: string): ThrottleSpec | null {
    const hit = this.#list.size === 0 ? undefined : this.#list.first(path, holds, head);
    if (hit !== undefined && hit.rule.values === null) return null;
    const c = this.#config;
    const values = hit?.rule.values ?? null;
    let bandwidthBps = values?.bandwidthBps ?? c.bandwidthBps;
    let fromFile = values?.fromFile ?? false;
    let ratioPercent = values?.ratioPercent ?? c.ratioPercent;
    let boostSec = values?.boostSec ?? c.boostSec;
    let overridden = false;
    if (this.#params !== null && query !== '') {
      for (const pair of query.split('&')) {
        const eq = pair.indexOf('=');
        if (eq < 0) continue;
        const name = pair.slice(0, eq);
        if (!this.#params.has(name)) continue;
        const value = pair.slice(eq + 1);
        if (name === c.params.bandwidth) {
          const b = parseBandwidth(value);
          if (b === null) continue;
          bandwidthBps = b.amount * c.unitBps;
          fromFile = b.fromFile;
        } else if (name === c.params.ratio) {
          const r = parseWhole(value, 1, RATIO_MAX);
          if (r === null) continue;
          ratioPercent = r;
        } else {
          const s = parseWhole(value, 0, BOOST_MAX);
          if (s === null) continue;
          boostSec = s;
        }
        overridden = true;
      }
    }
    if (hit === undefined && !overridden) return null;
    return { bandwidthBps, fromFile, ratioPercent, boostSec };
  }

  /** `query` without the throttling parameters (QueryString ON), else `query` itself. */
  strip(query: string): string {
    return this.#params === null || query === '' ? query : filterQuery(query, null, this.#params);
  }
}

/** Compiles the throttling of every vhost that has it ON, by vhost name. */
export function buildThrottlePolicies(vhosts: readonly Vhost[], geo: GeoIp | null = null): Map<string, ThrottlePolicy> {
  const out = new Map<string, ThrottlePolicy>();
  for (const v of vhosts) if (v.throttling !== null) out.set(v.name, new ThrottlePolicy(v, v.throttling, geo));
  return out;
}
