/**
 * @module logs/log-settings
 * The checks of STON's log attributes that config/validate.ts applies: `Unit` (one number, or `minutes,MB` for
 * `Type="both"`) read against `Type`. Pure functions; run by the primary while validating a config.
 */
import type { LogRotation, RotationType } from '../config/types.js';

const MB = 1024 * 1024;
/** A year of minutes, and 1 TiB in MB: larger units mean a file that never rolls. */
const MAX_MINUTES = 525_600;
const MAX_MB = 1_048_576;

/** The unit when `Unit` is absent: a day, 100 MB (STON's defaults). */
export const DEFAULT_UNIT: LogRotation['unit'] = { minutes: 1440, bytes: 100 * MB };

/** `1440` -> [1440]; `60, 500` -> [60, 500]; else a problem. */
export function parseLogUnit(text: string): { ok: true; value: number[] } | { ok: false; error: string } {
  const match = /^\s*(\d{1,7})\s*(?:,\s*(\d{1,7})\s*)?$/.exec(text);
  if (match === null) return { ok: false, error: `${JSON.stringify(text)} is not a number or two numbers separated by a comma (minutes,MB)` };
  const numbers = [Number(match[1])];
  if (match[2] !== undefined) numbers.push(Number(match[2]));
  if (numbers.some((n) => n < 1)) return { ok: false, error: `${JSON.stringify(text)}: units start at 1` };
  return { ok: true, value: numbers };
}

/** `Unit` numbers read for `type`, over `base` (the inherited unit); a problem when they do not fit the type. */
export function resolveLogUnit(type: RotationType, numbers: readonly number[], base: LogRotation['unit']): { ok: true; value: LogRotation['unit'] } | { ok: false; error: string } {
  const [first = 0, second] = numbers;
  const written = numbers.join(',');
  if (type === 'both') {
    if (second === undefined) return { ok: false, error: `"${written}" needs two numbers with Type="both": minutes,MB (e.g. 1440,100)` };
    return checked(first, second);
  }
  if (second !== undefined) return { ok: false, error: `"${written}": two numbers (minutes,MB) are only for Type="both"` };
  return type === 'size' ? checked(base.minutes, first) : checked(first, base.bytes / MB);
}

function checked(minutes: number, megabytes: number): { ok: true; value: LogRotation['unit'] } | { ok: false; error: string } {
  if (minutes > MAX_MINUTES) return { ok: false, error: `${minutes} minutes is out of range (1..${MAX_MINUTES})` };
  if (megabytes > MAX_MB) return { ok: false, error: `${megabytes} MB is out of range (1..${MAX_MB})` };
  return { ok: true, value: { minutes, bytes: megabytes * MB } };
}
