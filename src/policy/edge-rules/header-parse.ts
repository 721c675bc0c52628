/**
 * @module policy/edge-rules/header-parse
 * headers.txt lines (STON <ModifyHeader>) and `<MatchingList Target="headers">` into HeaderRule data:
 *   `conditions, $REQ[name: value], set|put|append`     a header of the origin request
 *   `conditions, $RES[name: value], action[, status]`   a header of the client response (status `200`, `2xx`,
 *                                                       several joined by `|`)
 *   `conditions, $REQ[name], unset` / `$RES[name]`      removes it
 *   a line may start with `$REQ[...]`/`$RES[...]`: no conditions, every request
 * Values may use `#CLIENTIP`, `#HOSTNAME` (this machine), `#PROTOCOL` (http/https), `#CACHEHIT` (the access
 * log's cache result, responses only) and `$REQ.<name>` (a request header). Framing and hop-by-hop fields
 * (Content-Length, Transfer-Encoding, Connection, Host, ...) cannot be rewritten: Flint owns those.
 * Pure; runs in the primary (validation).
 */
import type { HeaderAction, HeaderRule } from '../../config/types.js';
import { HEADER_ACTIONS } from '../../config/types.js';
import type { Parsed } from './parse.js';
import { edgeLines, okValue, parseConditions, parseHeaderCondition, parseTerm, problem, quote } from './parse.js';

/** Parsed rules plus the problems (each naming `<label>: line N`). */
export interface HeaderParse {
  readonly rules: HeaderRule[];
  readonly problems: string[];
}

/** Fields Flint writes itself (framing, hop-by-hop, routing): a rule may not touch them. */
const OWNED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'host', 'proxy-connection']);

/** The variables a value may use; `#CACHEHIT` only in responses. */
export const HEADER_VARIABLES = ['#CLIENTIP', '#HOSTNAME', '#PROTOCOL', '#CACHEHIT'] as const;

function checkTemplate(value: string, target: 'req' | 'res'): string | null {
  for (const m of value.matchAll(/#[A-Z]+/g)) {
    const name = m[0];
    if (!(HEADER_VARIABLES as readonly string[]).includes(name)) return `${name} is not a variable (use ${HEADER_VARIABLES.join(', ')} or $REQ.<header>)`;
    if (name === '#CACHEHIT' && target === 'req') return '#CACHEHIT is only known for responses ($RES)';
  }
  for (const m of value.matchAll(/\$([A-Za-z]+)\.?([!#$%&'*+\-.^_`|~0-9A-Za-z]*)/g)) {
    if ((m[1] as string).toUpperCase() !== 'REQ' || (m[2] as string) === '') return `${quote(m[0])}: the only $ variable is $REQ.<header>`;
  }
  return null;
}

function parseStatuses(text: string): Parsed<string[]> {
  const out: string[] = [];
  for (const part of text.split('|')) {
    const s = part.trim().toLowerCase();
    if (!/^[1-5]\d\d$/.test(s) && !/^[1-5]xx$/.test(s)) return problem(`${quote(part.trim())} is not a status code (200) or class (2xx)`);
    out.push(s);
  }
  return okValue(out);
}

function parseRule(fields: readonly string[]): Parsed<Omit<HeaderRule, 'source' | 'conditions'>> {
  const [targetText = '', actionText, statusText, ...more] = fields;
  if (actionText === undefined) return problem('expected "conditions, $REQ[name: value] or $RES[name: value], set|put|append|unset"');
  if (more.length > 0) return problem('too many fields');
  const term = parseTerm(targetText);
  if (!term.ok) return term;
  const target = term.value.name === 'REQ' ? 'req' : term.value.name === 'RES' ? 'res' : null;
  if (target === null) return problem(`${quote(targetText)} is not $REQ[...] or $RES[...]`);
  const header = parseHeaderCondition(term.value.value);
  if (!header.ok) return header;
  const { name, value } = header.value;
  if (OWNED.has(name)) return problem(`${name} cannot be rewritten (Flint writes it)`);
  const action = actionText.toLowerCase() as HeaderAction;
  if (!HEADER_ACTIONS.includes(action)) return problem(`${quote(actionText)} is not set, put, append or unset`);
  if (action === 'unset' && value !== null && value !== '') return problem('unset takes a name only: $RES[name], unset');
  if (action !== 'unset' && value === null) return problem(`${action} needs a value: $${term.value.name}[${name}: value]`);
  if (value !== null) {
    const bad = checkTemplate(value, target);
    if (bad !== null) return problem(bad);
  }
  let status: string[] = [];
  if (statusText !== undefined) {
    if (target === 'req') return problem('a status applies to $RES rules only');
    const parsed = parseStatuses(statusText);
    if (!parsed.ok) return parsed;
    status = parsed.value;
  }
  return okValue({ target, name, value: action === 'unset' ? null : value, action, status });
}

/** The header rules of one source (a file or a MatchingList), labelled `label` in problems and rule sources. */
export function headerRulesFromText(label: string, text: string): HeaderParse {
  const out: HeaderParse = { rules: [], problems: [] };
  for (const line of edgeLines(label, text, out.problems)) {
    const at = `${label}: line ${line.n}`;
    // A line may start with its target: no conditions, every request.
    const bare = /^\$RE[QS]\[/i.test(line.fields[0] ?? '');
    const [conditionText = '', ...fields] = bare ? ['', ...line.fields] : line.fields;
    const conditions = bare ? okValue({ conditions: [], extra: [] }) : parseConditions(conditionText);
    const rule = parseRule(fields);
    if (!conditions.ok) out.problems.push(`${at}: ${conditions.error}`);
    if (!rule.ok) out.problems.push(`${at}: ${rule.error}`);
    if (conditions.ok && rule.ok) out.rules.push({ source: at, conditions: conditions.value.conditions, ...rule.value });
  }
  return out;
}
