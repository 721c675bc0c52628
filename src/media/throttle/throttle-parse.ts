/**
 * @module media/throttle/throttle-parse
 * throttling.txt lines (STON bandwidth_control.html) and `<MatchingList Target="throttling">` into ThrottleRule
 * data: `conditions, bandwidth[x][, ratio[, boost]]` or `conditions, no`. Bandwidth is a whole number in the
 * `<Bandwidth Unit>` (1..10^9), `x` after it = read the bitrate from the file; ratio a per cent 1..10000; boost whole
 * seconds 0..3600; an omitted or `-` value is the `<Settings>` one. Conditions are the edge rule language
 * (policy/edge-rules/parse.ts). Strict: anything else is a problem naming the source and line. Also the query value
 * forms (the same numbers). Pure; runs in the primary (validation) and, for query values, in workers.
 */
import type { ThrottleRule, ThrottleValues } from '../../config/types.js';
import { edgeLines, parseConditions, quote } from '../../policy/edge-rules/parse.js';

export const BANDWIDTH_MAX = 1_000_000_000;
export const RATIO_MAX = 10_000;
export const BOOST_MAX = 3600;

/** `1000` or `1000x` (in the unit) -> the number and whether to read the file's bitrate; null when not that. */
export function parseBandwidth(text: string): { amount: number; fromFile: boolean } | null {
  const m = /^(\d{1,10})([xX]?)$/.exec(text);
  if (m === null) return null;
  const amount = Number(m[1]);
  return amount >= 1 && amount <= BANDWIDTH_MAX ? { amount, fromFile: m[2] !== '' } : null;
}

/** A whole number in min..max, or null. */
export function parseWhole(text: string, min: number, max: number): number | null {
  if (!/^\d{1,6}$/.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
}

/** The rules of one source, labelled `label`; `unitBps` converts the bandwidth field to bits per second. */
export function throttleRulesFromText(label: string, text: string, unitBps: number): { rules: ThrottleRule[]; problems: string[] } {
  const rules: ThrottleRule[] = [];
  const problems: string[] = [];
  for (const line of edgeLines(label, text, problems)) {
    const at = `${label}: line ${line.n}`;
    const [conditionText = '', ...fields] = line.fields;
    const conditions = parseConditions(conditionText);
    if (!conditions.ok) {
      problems.push(`${at}: ${conditions.error}`);
      continue;
    }
    const values = parseValues(fields, unitBps);
    if (typeof values === 'string') problems.push(`${at}: ${values}`);
    else rules.push({ source: at, conditions: conditions.value.conditions, values });
  }
  return { rules, problems };
}

function parseValues(fields: readonly string[], unitBps: number): ThrottleValues | null | string {
  if (fields.length === 0) return 'needs a bandwidth (`conditions, 1000[x][, ratio[, boost]]`) or `no`';
  if (fields.length > 3) return `too many fields (expected bandwidth[x], ratio, boost)`;
  const [bandwidthText = '', ratioText = '-', boostText = '-'] = fields;
  if (bandwidthText.toLowerCase() === 'no') return fields.length === 1 ? null : '`no` takes no further field';
  const omitted = (t: string): boolean => t === '' || t === '-';
  let bandwidthBps: number | null = null;
  let fromFile = false;
  if (!omitted(bandwidthText)) {
    const b = parseBandwidth(bandwidthText);
    if (b === null) return `${quote(bandwidthText)} is not a bandwidth (1..${BANDWIDTH_MAX} in the <Bandwidth Unit>, \`x\` after it to read the file's bitrate)`;
    bandwidthBps = b.amount * unitBps;
    fromFile = b.fromFile;
  }
  const ratioPercent = omitted(ratioText) ? null : parseWhole(ratioText, 1, RATIO_MAX);
  if (ratioPercent === null && !omitted(ratioText)) return `${quote(ratioText)} is not a ratio (1..${RATIO_MAX} per cent)`;
  const boostSec = omitted(boostText) ? null : parseWhole(boostText, 0, BOOST_MAX);
  if (boostSec === null && !omitted(boostText)) return `${quote(boostText)} is not a boost (0..${BOOST_MAX} seconds)`;
  return { bandwidthBps, fromFile, ratioPercent, boostSec };
}
