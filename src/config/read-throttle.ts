/**
 * @module config/read-throttle
 * Reads `<Options><BandwidthThrottling>` of one vhost (issue 22; not inherited from VHostDefault): null unless
 * `<Throttling>` is ON. Part of config validation; runs in the primary and in `flint check-config`.
 */
import { BANDWIDTH_UNITS, BANDWIDTH_UNIT_BPS } from './types-throttle.js';
import type { ThrottlingConfig } from './types-throttle.js';
import { BOOL, INT, QUERY_PARAM, enumType, quote } from './value-types.js';
import type { Validator, Scope } from './validator.js';

const AT = 'Vhost/Options/BandwidthThrottling';
const UNIT = enumType(BANDWIDTH_UNITS);

/** The vhost's throttling settings; `unitBps` is returned even when off (rule lines are read in that unit). */
export function readThrottling(v: Validator, scope: Scope): { throttling: ThrottlingConfig | null; unitBps: number } {
  const unitBps = BANDWIDTH_UNIT_BPS[v.one(scope, `${AT}/Settings/Bandwidth@Unit`, UNIT)];
  const bandwidth = v.one(scope, `${AT}/Settings/Bandwidth`, INT);
  const params = {
    bandwidth: v.one(scope, `${AT}/Settings/Bandwidth@Param`, QUERY_PARAM),
    ratio: v.one(scope, `${AT}/Settings/Ratio@Param`, QUERY_PARAM),
    boost: v.one(scope, `${AT}/Settings/Boost@Param`, QUERY_PARAM),
  };
  const names = [params.bandwidth, params.ratio, params.boost];
  if (new Set(names).size !== names.length) v.report(scope.file, `${scope.where}/Options/BandwidthThrottling/Settings`, `the Param names ${names.map(quote).join(', ')} must differ`);
  const config: ThrottlingConfig = {
    bandwidthBps: bandwidth * unitBps,
    unitBps,
    ratioPercent: v.one(scope, `${AT}/Settings/Ratio`, INT),
    boostSec: v.one(scope, `${AT}/Settings/Boost`, INT),
    queryString: v.one(scope, `${AT}/Throttling@QueryString`, BOOL),
    params,
  };
  return { throttling: v.one(scope, `${AT}/Throttling`, BOOL) ? config : null, unitBps };
}
