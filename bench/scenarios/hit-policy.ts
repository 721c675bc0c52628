/**
 * @module bench/scenarios/hit-policy
 * Scenario `hit-1k-policy` (issue 20): the 1 KiB hit of `hit-1k` (wrk -c50 on one cached object) against Flint
 * with 1 worker, once with no edge policy and once with `<AccessControl>ON` and 1,000 edge rules that do not
 * match the hit: 500 acl lines (address-only `$IP` lines, URL prefixes, header + extension, redirects) and 500
 * header lines (`$RES` and `$REQ`). The acl is checked on every request; address-only lines go through one
 * interval set and the others through the URL glob index, and no `$RES` line applies, so the hit keeps the hot
 * tier's pre-encoded head. The two req/s figures should be within 10%.
 *
 * The floor target `flint-1w-ip-floor` has one address-only acl line: any `$IP` line makes every request read the
 * peer address from uWS (getpeername plus an ArrayBuffer: uWS.js 20.51 has no per-connection identity to keep it
 * in), which a hit without rules and without an access log never does, while a logged hit does anyway. The list's
 * own work is the 1,000-line target against this floor.
 *
 * Scenario `hit-1k-policy-logged`: the same list on a vhost with its access log on (the shipped default), written
 * to /dev/null so no disk is measured. A logged hit reads the peer address anyway, so there the whole cost of the
 * 1,000 lines is the list's own work: the targets are no log, log without policy, log with the 1,000 lines.
 */
import { hitWithVhostExtra } from './hit-rules.js';
import type { Scenario } from '../lib/scenario.js';

/** How many lines of each list the loaded target gets (1,000 in all). */
const LINES_PER_LIST = 500;

/** `<Options><AccessControl>` and two `<MatchingList>`s with 1,000 lines, none of which applies to `/c/1k` from 127.0.0.1. */
export function thousandPolicyLines(): string {
  const acl: string[] = [];
  const headers: string[] = [];
  for (let i = 0; i < LINES_PER_LIST; i++) {
    switch (i % 4) {
      case 0:
        acl.push(`$IP[10.${i >> 8}.${i & 255}.0/24], deny`);
        headers.push(`$URL[/h${i}/*], $RES[X-A${i}: 1], set`);
        break;
      case 1:
        acl.push(`$URL[/api${i}/*], deny, 401`);
        headers.push(`$URL[*.x${i}], $REQ[X-B${i}: #CLIENTIP], set`);
        break;
      case 2:
        acl.push(`$HEADER[referer: *evil${i}*] & $URL[*.jpg${i}], deny`);
        headers.push(`$URL[/c/v${i}*/app.js] & $IP[10.0.0.0/8], $RES[Server], unset`);
        break;
      default:
        acl.push(`$URL[/old${i}/*], redirect, https://#HOST/new#URL`);
        headers.push(`$URL[/c/1k/old${i}], $RES[X-C${i}: #CACHEHIT], set, 2xx`);
    }
  }
  return `    <Options><AccessControl>ON</AccessControl></Options>
    <MatchingList Target="acl"><![CDATA[\n      ${acl.join('\n      ')}\n    ]]></MatchingList>
    <MatchingList Target="headers"><![CDATA[\n      ${headers.join('\n      ')}\n    ]]></MatchingList>`;
}

/** Flint 1w without policy, then with the 1,000 lines. */
export const hit1kPolicy: Scenario = hitWithVhostExtra(
  'hit-1k-policy',
  'hit-1k (wrk -c50) on Flint 1w with no edge policy vs AccessControl ON and 1,000 acl/header lines that do not apply',
  'flint-1w-no-policy',
  'flint-1w-1k-policy',
  thousandPolicyLines(),
  { name: 'flint-1w-ip-floor', vhostExtra: '    <Options><AccessControl>ON</AccessControl></Options>\n    <MatchingList Target="acl">$IP[10.255.255.0/24], deny</MatchingList>' },
);

/** An access log that costs its formatting and write calls but no disk (Type none: /dev/null is never rolled). */
const LOG_ON = '    <Log><Access Type="none">/dev/null</Access></Log>';

/** Flint 1w without a log, with the access log on, then with the log and the 1,000 lines. */
export const hit1kPolicyLogged: Scenario = hitWithVhostExtra(
  'hit-1k-policy-logged',
  'hit-1k-policy with the access log on (to /dev/null): no log, log without policy, log + 1,000 acl/header lines',
  'flint-1w-no-log',
  'flint-1w-log-1k-policy',
  `${LOG_ON}\n${thousandPolicyLines()}`,
  { name: 'flint-1w-log-no-policy', vhostExtra: LOG_ON },
);
