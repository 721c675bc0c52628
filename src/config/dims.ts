/**
 * @module config/dims
 * The value forms of `<Options><Dims>` (issue 21): the keyword, overlay names, `Geometry="+x+y[%]"`, `#rrggbb`
 * colours, annotation text (`$QUERYSTRING[key]`), the Composite file (read at load, 4 MiB at most), and the
 * whole-vhost check of ByOriginal chains (they may only name what the vhost defines, and hold image steps only).
 * Pure but for the file read; used by config/validate.ts in the primary (and by `flint check-config`).
 */
import { readFileSync, statSync } from 'node:fs';
import { parseChainText } from '../transform/dims/url.js';
import type { DimsNames } from '../transform/dims/url.js';

type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };
const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: string): Result<T> => ({ ok: false, error });
const quote = (text: string): string => JSON.stringify(text);

/** Largest Composite file: an overlay is decoded for every conversion that uses it. */
const COMPOSITE_MAX_BYTES = 4 * 1024 * 1024;

/** `Keyword`: one plain path segment. */
export function parseDimsKeyword(text: string): Result<string> {
  return /^[A-Za-z0-9_-]{1,32}$/.test(text) ? ok(text) : fail(`${quote(text)} is not a keyword (1-32 letters, digits, - or _)`);
}

/** `Name` of a Composite, Annotation or ByOriginal: what URLs write after the op. */
export function parseDimsName(text: string): Result<string> {
  return /^[A-Za-z0-9_-]{1,64}$/.test(text) ? ok(text) : fail(`${quote(text)} is not a name (1-64 letters, digits, - or _)`);
}

/** `Geometry="+x+y"` or `"+x+y%"`: an overlay's offset. */
export function parseDimsOffset(text: string): Result<{ x: number; y: number; percent: boolean }> {
  const m = /^\+(\d{1,5})\+(\d{1,5})(%?)$/.exec(text);
  if (m === null) return fail(`${quote(text)} is not an offset (+x+y or +x+y%)`);
  const percent = m[3] === '%';
  const x = Number(m[1]);
  const y = Number(m[2]);
  if (percent && (x > 100 || y > 100)) return fail(`${quote(text)}: a percent offset is 0-100`);
  return ok({ x, y, percent });
}

/** `#rrggbb`. */
export function parseDimsColour(text: string): Result<string> {
  return /^#[0-9a-fA-F]{6}$/.test(text) ? ok(text.toLowerCase()) : fail(`${quote(text)} is not a colour (#rrggbb)`);
}

/** Annotation `Text`: static text, or `$QUERYSTRING[key]` (the text comes from the request's query). */
export function parseDimsText(text: string): Result<{ text: string | null; queryKey: string | null }> {
  const m = /^\$QUERYSTRING\[([A-Za-z0-9._~-]{1,64})\]$/.exec(text);
  if (m !== null) return ok({ text: null, queryKey: m[1] as string });
  if (text.startsWith('$')) return fail(`${quote(text)}: the only variable is $QUERYSTRING[key]`);
  if (text.length === 0 || text.length > 256) return fail('the text must have 1-256 characters');
  return ok({ text, queryKey: null });
}

/** A Composite file's bytes as base64 (config stays plain data). */
export function readCompositeFile(file: string): Result<string> {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return fail(`${quote(file)} is not a file`);
    if (stat.size > COMPOSITE_MAX_BYTES) return fail(`${quote(file)} is ${stat.size} bytes; a Composite file may have ${COMPOSITE_MAX_BYTES} at most`);
    return ok(readFileSync(file).toString('base64'));
  } catch (error) {
    return fail(`${quote(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** A `<Condition>` chain: valid with the vhost's names, image steps and quality only (no nested byoriginal). */
export function checkConditionChain(text: string, names: DimsNames): string | null {
  const chain = parseChainText(text, names);
  if (typeof chain === 'string') return `${quote(text)}: ${chain}`;
  if (chain.steps.some((s) => s.op === 'byoriginal')) return `${quote(text)}: a condition chain cannot use byoriginal`;
  if (chain.format !== null || chain.autorotate || chain.strip || chain.optimize || chain.frames !== null) {
    return `${quote(text)}: a condition chain holds image operations and quality only (format and the other output settings belong in the URL)`;
  }
  return null;
}
