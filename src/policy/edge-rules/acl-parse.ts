/**
 * @module policy/edge-rules/acl-parse
 * acl.txt lines (STON access_control.html) and `<MatchingList Target="acl">` into AclRule data:
 *   `conditions, allow`   `conditions, deny`   `conditions, deny, 401`   `conditions, redirect, https://x/#URL`
 *   `conditions` alone = deny (STON). Actions are case-insensitive; a deny code is 400..599; a redirect target is
 *   an absolute http(s) URL or a path, printable ASCII without spaces, and may use `#HOST` and `#URL`.
 * Pure; runs in the primary (validation).
 */
import type { AclAction, AclRule } from '../../config/types.js';
import type { Parsed } from './parse.js';
import { edgeLines, okValue, parseConditions, problem, quote } from './parse.js';

/** Parsed rules plus the problems (each naming `<label>: line N`). */
export interface AclParse {
  readonly rules: AclRule[];
  readonly problems: string[];
}

/** Whether `code` is a status a denial may answer with. */
export function isDenialCode(code: number): boolean {
  return Number.isInteger(code) && code >= 400 && code <= 599;
}

function parseAction(fields: readonly string[]): Parsed<AclAction> {
  const [verb = 'deny', arg, ...more] = fields;
  if (more.length > 0) return problem(`too many fields after the conditions (expected allow, deny[, status] or redirect, url)`);
  switch (verb.toLowerCase()) {
    case 'allow':
      return arg === undefined ? okValue({ kind: 'allow' }) : problem('allow takes no further field');
    case 'deny': {
      if (arg === undefined) return okValue({ kind: 'deny', status: null });
      const code = /^\d{3}$/.test(arg) ? Number(arg) : NaN;
      return isDenialCode(code) ? okValue({ kind: 'deny', status: code }) : problem(`${quote(arg)} is not a denial status (400..599)`);
    }
    case 'redirect': {
      if (arg === undefined || arg === '') return problem('redirect needs a URL: "conditions, redirect, https://host/path"');
      // Printable ASCII, no spaces: it becomes the Location field as written (RFC 9110 §10.2.2).
      if (!/^[\x21-\x7e]+$/.test(arg) || !(/^https?:\/\/[^/]/i.test(arg) || arg.startsWith('/') || arg.startsWith('#'))) {
        return problem(`${quote(arg)} is not a redirect target (an http(s):// URL or a /path, printable ASCII)`);
      }
      return okValue({ kind: 'redirect', url: arg });
    }
    default:
      return problem(`${quote(verb)} is not an acl action (allow, deny or redirect)`);
  }
}

/** The acl rules of one source (a file or a MatchingList), labelled `label` in problems and rule sources. */
export function aclRulesFromText(label: string, text: string): AclParse {
  const out: AclParse = { rules: [], problems: [] };
  for (const line of edgeLines(label, text, out.problems)) {
    const at = `${label}: line ${line.n}`;
    const [conditionText = '', ...fields] = line.fields;
    const conditions = parseConditions(conditionText);
    const action = parseAction(fields);
    if (!conditions.ok) out.problems.push(`${at}: ${conditions.error}`);
    if (!action.ok) out.problems.push(`${at}: ${action.error}`);
    if (conditions.ok && action.ok) out.rules.push({ source: at, conditions: conditions.value.conditions, action: action.value });
  }
  return out;
}
