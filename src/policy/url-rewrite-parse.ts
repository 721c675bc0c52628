/**
 * @module policy/url-rewrite-parse
 * The syntax of STON's `<URLRewrite><Pattern>regex</Pattern><Replace>template</Replace>` and of `<Sub><Path>`,
 * checked once at config load so a worker never meets a pattern it cannot run. Patterns are operator input run
 * against client input, so they are compiled for V8's linear-time regex engine (the `l` flag): no pattern can
 * backtrack catastrophically, whatever URL a client sends, and a pattern that engine cannot run (backreferences
 * `\1`, lookaround `(?=` `(?<=`) is a config error rather than a risk. Templates are literal URL text plus `#0`
 * (the whole input) .. `#9` (capture groups); `#10` and a `#n` beyond the pattern's groups are errors. Pure but for
 * setting one V8 flag on import; runs in the primary (validation) and in workers (policy/url-rewrite.ts).
 */
import { setFlagsFromString } from 'node:v8';

// The `l` flag exists only with this flag; it changes nothing for regexes compiled without `l`.
setFlagsFromString('--enable-experimental-regexp-engine');
/** V8's linear-time engine flag (a variable: linters know only the standard flags). */
const LINEAR = 'l';

/** Longest `<Pattern>` accepted (characters). */
export const REWRITE_PATTERN_MAX = 1024;
/** Longest `<Replace>` template accepted (characters). */
export const REWRITE_TEMPLATE_MAX = 2048;

type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };
const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: string): Result<T> => ({ ok: false, error });
const quote = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);

/** One part of a template: literal text or a capture reference (0 = the whole input). */
export type TemplatePart = string | number;

/** True when `text` holds a control, space or non-ASCII character. */
function hasUnprintable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return true;
  }
  return false;
}

/** Compiles a pattern for the linear-time engine, or says why it cannot be used. */
export function compileRewritePattern(pattern: string): Result<RegExp> {
  if (pattern === '') return fail('the pattern is empty');
  if (pattern.length > REWRITE_PATTERN_MAX) return fail(`the pattern is ${pattern.length} characters; at most ${REWRITE_PATTERN_MAX}`);
  if (hasUnprintable(pattern)) return fail(`the pattern ${quote(pattern)} contains spaces, control or non-ASCII characters (a URL has none; write \\s or %20 forms instead)`);
  try {
    new RegExp(pattern);
  } catch (error) {
    return fail(`${quote(pattern)} is not a valid regular expression (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`);
  }
  try {
    return ok(new RegExp(pattern, LINEAR));
  } catch {
    return fail(`${quote(pattern)} cannot run in linear time (backreferences such as \\1 and lookarounds such as (?= are not allowed: they let one URL cost seconds of CPU)`);
  }
}

/** Number of capture groups of a compiled pattern. */
export function groupCount(re: RegExp): number {
  return (new RegExp(`${re.source}|`).exec('') as RegExpExecArray).length - 1;
}

/**
 * A `<Replace>` template split into literal text and references. Literal text must be URL characters (printable
 * ASCII but space, `"`, `<`, `>`, `\`, `^`, backtick, `{`, `|`, `}`), a `#` must start a reference `#0`..`#9` not
 * followed by another digit, and a reference must name a group the pattern has.
 */
export function parseTemplate(template: string, groups: number): Result<TemplatePart[]> {
  if (template === '') return fail('the replacement is empty');
  if (template.length > REWRITE_TEMPLATE_MAX) return fail(`the replacement is ${template.length} characters; at most ${REWRITE_TEMPLATE_MAX}`);
  const parts: TemplatePart[] = [];
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i] as string;
    const c = ch.charCodeAt(0);
    if (ch === '#') {
      const digit = template[i + 1];
      if (digit === undefined || !/[0-9]/.test(digit)) return fail(`${quote(template)}: '#' at position ${i + 1} is not a reference #0..#9 (a URL cannot hold '#')`);
      if (/[0-9]/.test(template[i + 2] ?? '')) return fail(`${quote(template)}: #${digit}${template[i + 2] as string} at position ${i + 1}: only #0..#9 exist (a reference cannot be followed by a digit)`);
      const n = Number(digit);
      if (n > groups) return fail(`${quote(template)}: #${n} refers to group ${n} but the pattern has ${groups} group${groups === 1 ? '' : 's'}`);
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push(n);
      i++;
      continue;
    }
    if (c <= 0x20 || c >= 0x7f || '"<>\\^`{|}'.includes(ch)) return fail(`${quote(template)}: character ${JSON.stringify(ch)} at position ${i + 1} has no place in a URL`);
    literal += ch;
  }
  if (literal !== '') parts.push(literal);
  if (!parts.some((p) => typeof p === 'number') && !template.includes('/')) return fail(`${quote(template)} has no '/': the result must be host/path`);
  return ok(parts);
}

/** A checked `<URLRewrite>`: the compiled pattern and the template parts. */
export interface CheckedRewrite {
  readonly re: RegExp;
  readonly parts: readonly TemplatePart[];
}

/** Checks one `<URLRewrite>` pair; the error does not name the element (the caller does). */
export function checkUrlRewrite(pattern: string, replace: string): Result<CheckedRewrite> {
  const re = compileRewritePattern(pattern);
  if (!re.ok) return fail(`<Pattern>: ${re.error}`);
  const parts = parseTemplate(replace, groupCount(re.value));
  if (!parts.ok) return fail(`<Replace>: ${parts.error}`);
  return ok({ re: re.value, parts: parts.value });
}

/**
 * A `<Sub><Path>` value as a URL glob (policy/url-glob.ts). A path without `*` names a directory and everything
 * below it, with a leading `/` added (STON reads `baseball` as `/baseball/`): `/baseball/` -> `/baseball/*`.
 * STON's `/*.jpg` and `*.jpg` (every .jpg) become `*.jpg`, which matches at any depth; other globs stay as written.
 */
export function subPathGlob(text: string): Result<string> {
  if (text === '') return fail('the path is empty');
  if (text.length > 1024 || hasUnprintable(text) || /[?#\\]/.test(text)) return fail(`${quote(text)} is not a path (printable ASCII without spaces, '?', '#' or '\\', up to 1024 characters)`);
  if (text.startsWith('/*') && text.indexOf('/', 1) < 0) return ok(text.slice(1));
  if (text.startsWith('*')) return ok(text);
  const glob = text.startsWith('/') ? text : `/${text}`;
  return ok(glob.includes('*') ? glob : `${glob.endsWith('/') ? glob : `${glob}/`}*`);
}
