/**
 * @module policy/edge-rules/rule-list
 * One edge rule list (the acl, or one direction of the header rules) compiled for the request path: the rules with
 * a `$URL` glob sit in one UrlGlobSet (policy/url-glob.ts), the others in an "any URL" list, and the URL-dependent
 * part of a lookup (which globbed rules match this path) is remembered per path in a bounded map, so a hit on a
 * path seen before costs one Map probe instead of lower-casing, splitting and walking the path once per list
 * (about 6% of a hot-tier hit with 1,000 lines, bench/README.md). Rules keep their list order: `first` and `all`
 * merge the two ascending lists by position. Pure; runs in workers.
 */
import { rulePath } from '../../cache/key.js';
import { UrlGlobSet } from '../url-glob.js';

/** What a listed rule must carry: its position in the list (ascending = file order). */
export interface Positioned {
  readonly position: number;
}

/**
 * Paths remembered per list. A client sending a new path per request only refills the map (cleared whole when
 * full: a bounded cost, no eviction order to keep); a path longer than MEMO_PATH_MAX is never kept, so the map holds
 * at most MEMO_ENTRIES x MEMO_PATH_MAX characters of keys.
 */
const MEMO_ENTRIES = 4096;
const MEMO_PATH_MAX = 512;

const NONE: readonly never[] = [];

export class EdgeRuleList<R extends Positioned> {
  readonly #globs: UrlGlobSet;
  /** The rule of each glob in #globs, by glob index. */
  readonly #globRule: readonly R[];
  /** Rules without a URL condition, ascending position. */
  readonly #anyUrl: readonly R[];
  readonly #memo = new Map<string, readonly R[]>();
  readonly #memoEntries: number;
  /** How many rules the list has. */
  readonly size: number;

  /**
   * `rules` in ascending position; `urlOf` gives a rule's glob (null: any URL). `memoEntries` bounds the path memo
   * (tests set it small to exercise refills).
   */
  constructor(rules: readonly R[], urlOf: (rule: R) => string | null, caseSensitive: boolean, memoEntries = MEMO_ENTRIES) {
    const globs: string[] = [];
    const globRule: R[] = [];
    const anyUrl: R[] = [];
    for (const rule of rules) {
      const url = urlOf(rule);
      if (url === null) anyUrl.push(rule);
      else {
        globs.push(url);
        globRule.push(rule);
      }
    }
    this.#globs = new UrlGlobSet(globs, caseSensitive);
    this.#globRule = globRule;
    this.#anyUrl = anyUrl;
    this.#memoEntries = memoEntries;
    this.size = rules.length;
  }

  /**
   * The rules whose glob matches `path` (ctx.path), ascending position; remembered per path, so the same array
   * comes back while the path stays in the memo (a key for what callers derive from it). Read-only.
   */
  byGlob(path: string): readonly R[] {
    if (this.#globRule.length === 0) return NONE;
    const known = this.#memo.get(path);
    if (known !== undefined) return known;
    const indexes = this.#globs.match(rulePath(path));
    let rules: readonly R[] = NONE;
    if (indexes.length > 0) {
      const list: R[] = [];
      for (const i of indexes) list.push(this.#globRule[i] as R);
      // Glob indexes ascend with position (rules were added in order), so the list is already sorted.
      rules = list;
    }
    if (path.length <= MEMO_PATH_MAX) {
      if (this.#memo.size >= this.#memoEntries) this.#memo.clear();
      this.#memo.set(path, rules);
    }
    return rules;
  }

  /**
   * The first rule, in list order, whose URL matches `path` and that passes `check(rule, arg)`; undefined when none.
   * `arg` is passed through so callers on the request path need not allocate a closure per request.
   */
  first<A>(path: string, check: (rule: R, arg: A) => boolean, arg: A): R | undefined {
    if (this.size === 0) return undefined;
    const byGlob = this.byGlob(path);
    const any = this.#anyUrl;
    let g = 0;
    let a = 0;
    while (g < byGlob.length || a < any.length) {
      const fromGlob = g < byGlob.length ? (byGlob[g] as R) : undefined;
      const fromAny = a < any.length ? (any[a] as R) : undefined;
      let rule: R;
      if (fromAny === undefined || (fromGlob !== undefined && fromGlob.position < fromAny.position)) {
        rule = fromGlob as R;
        g++;
      } else {
        rule = fromAny;
        a++;
      }
      if (check(rule, arg)) return rule;
    }
    return undefined;
  }

  /** Every rule whose URL matches `path`, in list order (a shared array when only globbed rules can match: read-only). */
  all(path: string): readonly R[] {
    if (this.size === 0) return NONE;
    const byGlob = this.byGlob(path);
    const any = this.#anyUrl;
    if (any.length === 0) return byGlob;
    if (byGlob.length === 0) return any;
    const out: R[] = [];
    let g = 0;
    let a = 0;
    while (g < byGlob.length || a < any.length) {
      const fromGlob = byGlob[g];
      const fromAny = any[a];
      if (fromAny === undefined || (fromGlob !== undefined && fromGlob.position < fromAny.position)) {
        out.push(fromGlob as R);
        g++;
      } else {
        out.push(fromAny);
        a++;
      }
    }
    return out;
  }
}
