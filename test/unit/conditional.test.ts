// Unit tests of http/conditional: RFC 9110 §13 precondition order, weak vs strong comparison, INM over IMS,
// 412 from If-Match / If-Unmodified-Since, ignored invalid dates, and If-Range (strong validators only).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateConditional, ifRangeMatches } from '../../src/http/conditional.js';
import type { StoredValidators } from '../../src/http/conditional.js';

const LM = Date.UTC(2024, 5, 1, 12, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();
const STRONG: StoredValidators = { etag: '"abc"', lastModifiedMs: LM };
const WEAK: StoredValidators = { etag: 'W/"abc"', lastModifiedMs: LM };
const NONE: StoredValidators = { etag: null, lastModifiedMs: null };
const get = (headers: string[], stored: StoredValidators = STRONG): string => evaluateConditional('GET', headers, stored);

test('no conditional headers: none', () => {
  assert.equal(get([]), 'none');
  assert.equal(get(['accept', '*/*']), 'none');
});

test('If-None-Match: weak comparison, lists, * (§13.1.2)', () => {
  assert.equal(get(['if-none-match', '"abc"']), 'not-modified');
  assert.equal(get(['if-none-match', 'W/"abc"']), 'not-modified');
  assert.equal(get(['if-none-match', '"abc"'], WEAK), 'not-modified');
  assert.equal(get(['if-none-match', '"x", W/"y",  "abc"']), 'not-modified');
  assert.equal(get(['if-none-match', '"x"', 'if-none-match', '"abc"']), 'not-modified');
  assert.equal(get(['if-none-match', '"abcd"']), 'none');
  assert.equal(get(['if-none-match', '"ABC"']), 'none');
  assert.equal(get(['if-none-match', '*']), 'not-modified');
  assert.equal(get(['if-none-match', '*'], NONE), 'not-modified');
  assert.equal(get(['if-none-match', '"abc"'], NONE), 'none');
  assert.equal(evaluateConditional('HEAD', ['if-none-match', '"abc"'], STRONG), 'not-modified');
});

test('If-None-Match: commas inside an entity-tag, and a broken unquoted origin ETag', () => {
  const comma = { etag: '"a,b"', lastModifiedMs: null };
  assert.equal(get(['if-none-match', '"a,b"'], comma), 'not-modified');
  assert.equal(get(['if-none-match', '"a"'], comma), 'none');
  assert.equal(get(['if-none-match', '"b"'], comma), 'none');
  assert.equal(get(['if-none-match', 'abc'], { etag: 'abc', lastModifiedMs: null }), 'not-modified');
  assert.equal(get(['if-none-match', '"abc'], STRONG), 'none');
});

test('If-None-Match on other methods gives 412', () => {
  assert.equal(evaluateConditional('POST', ['if-none-match', '"abc"'], STRONG), 'precondition-failed');
  assert.equal(evaluateConditional('PUT', ['if-none-match', '*'], STRONG), 'precondition-failed');
  assert.equal(evaluateConditional('POST', ['if-none-match', '"x"'], STRONG), 'none');
});

test('If-None-Match takes precedence over If-Modified-Since (§13.1.3)', () => {
  // A non-matching INM wins over an IMS that alone would give 304.
  assert.equal(get(['if-none-match', '"other"', 'if-modified-since', httpDate(LM + 1000)]), 'none');
  // A matching INM gives 304 even with an IMS that alone would not.
  assert.equal(get(['if-modified-since', httpDate(LM - 86400_000), 'if-none-match', '"abc"']), 'not-modified');
});

test('If-Modified-Since: GET/HEAD only, valid single date only (§13.1.3)', () => {
  assert.equal(get(['if-modified-since', httpDate(LM)]), 'not-modified');
  assert.equal(get(['if-modified-since', httpDate(LM + 1000)]), 'not-modified');
  assert.equal(get(['if-modified-since', httpDate(LM - 1000)]), 'none');
  assert.equal(get(['if-modified-since', 'yesterday']), 'none');
  assert.equal(get(['if-modified-since', httpDate(LM), 'if-modified-since', httpDate(LM)]), 'none');
  assert.equal(get(['if-modified-since', `${httpDate(LM)}, ${httpDate(LM)}`]), 'none');
  assert.equal(get(['if-modified-since', httpDate(LM)], { etag: '"abc"', lastModifiedMs: null }), 'none');
  assert.equal(evaluateConditional('HEAD', ['if-modified-since', httpDate(LM)], STRONG), 'not-modified');
  assert.equal(evaluateConditional('POST', ['if-modified-since', httpDate(LM)], STRONG), 'none');
  // Sub-second Last-Modified precision does not defeat a same-second date.
  assert.equal(get(['if-modified-since', httpDate(LM)], { etag: null, lastModifiedMs: LM + 400 }), 'not-modified');
  // The obsolete date formats count.
  assert.equal(get(['if-modified-since', 'Saturday, 01-Jun-24 12:00:00 GMT']), 'not-modified');
});

test('If-Match: strong comparison; false gives 412 (§13.1.1)', () => {
  assert.equal(get(['if-match', '"abc"']), 'none');
  assert.equal(get(['if-match', '"x", "abc"']), 'none');
  assert.equal(get(['if-match', '*']), 'none');
  assert.equal(get(['if-match', '*'], NONE), 'none');
  assert.equal(get(['if-match', '"x"']), 'precondition-failed');
  assert.equal(get(['if-match', 'W/"abc"']), 'precondition-failed');
  assert.equal(get(['if-match', '"abc"'], WEAK), 'precondition-failed');
  assert.equal(get(['if-match', '"abc"'], NONE), 'precondition-failed');
  // A failed If-Match wins over a matching If-None-Match.
  assert.equal(get(['if-none-match', '"abc"', 'if-match', '"x"']), 'precondition-failed');
  // A passing If-Match goes on to If-None-Match.
  assert.equal(get(['if-match', '"abc"', 'if-none-match', '"abc"']), 'not-modified');
});

test('If-Unmodified-Since: 412 when modified after; ignored with If-Match or an invalid date (§13.1.4)', () => {
  assert.equal(get(['if-unmodified-since', httpDate(LM - 1000)]), 'precondition-failed');
  assert.equal(get(['if-unmodified-since', httpDate(LM)]), 'none');
  assert.equal(get(['if-unmodified-since', 'not a date']), 'none');
  assert.equal(get(['if-unmodified-since', httpDate(LM - 1000)], { etag: '"abc"', lastModifiedMs: null }), 'none');
  assert.equal(get(['if-match', '"abc"', 'if-unmodified-since', httpDate(LM - 1000)]), 'none');
  assert.equal(get(['if-unmodified-since', httpDate(LM - 1000), 'if-none-match', '"abc"']), 'precondition-failed');
});

test('ifRangeMatches: strong entity-tags only (§13.1.5)', () => {
  assert.equal(ifRangeMatches(undefined, STRONG), true);
  assert.equal(ifRangeMatches('"abc"', STRONG), true);
  assert.equal(ifRangeMatches(' "abc" ', STRONG), true);
  assert.equal(ifRangeMatches('"abd"', STRONG), false);
  assert.equal(ifRangeMatches('W/"abc"', STRONG), false);
  assert.equal(ifRangeMatches('"abc"', WEAK), false);
  assert.equal(ifRangeMatches('W/"abc"', WEAK), false);
  assert.equal(ifRangeMatches('"abc"', NONE), false);
  assert.equal(ifRangeMatches('"abc", "abc"', STRONG), false);
  assert.equal(ifRangeMatches('abc', STRONG), false);
});

test('ifRangeMatches: an HTTP-date must equal Last-Modified exactly', () => {
  assert.equal(ifRangeMatches(httpDate(LM), STRONG), true);
  assert.equal(ifRangeMatches(httpDate(LM + 1000), STRONG), false);
  assert.equal(ifRangeMatches(httpDate(LM - 1000), STRONG), false);
  assert.equal(ifRangeMatches(httpDate(LM), NONE), false);
  assert.equal(ifRangeMatches('garbage', STRONG), false);
  assert.equal(ifRangeMatches('', STRONG), false);
});

// The entity-tag list matcher scans in place (no arrays, no tag objects). This reference is the parse-then-compare
// reading it replaced: every row of hostile lists and stored tags must get the same answer from both.
interface RefTag {
  weak: boolean;
  opaque: string;
}
function refParse(text: string): RefTag[] | null {
  const tags: RefTag[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === ',') {
      i++;
      continue;
    }
    let weak = false;
    if ((c === 'W' || c === 'w') && text[i + 1] === '/') {
      weak = true;
      i += 2;
    }
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) return null;
      tags.push({ weak, opaque: text.slice(i + 1, close) });
      i = close + 1;
    } else {
      let end = text.indexOf(',', i);
      if (end < 0) end = text.length;
      const token = text.slice(i, end).trim();
      if (token !== '') tags.push({ weak, opaque: token });
      i = end;
    }
  }
  return tags;
}
function refMatches(lines: string[], etag: string | null, strong: boolean): boolean {
  const text = lines.join(',');
  if (text.trim() === '*') return true;
  const current = etag === null ? null : (refParse(etag)?.[0] ?? null);
  if (current === null) return false;
  const tags = refParse(text);
  return tags !== null && tags.some((t) => (strong ? !t.weak && !current.weak && t.opaque === current.opaque : t.opaque === current.opaque));
}

const HOSTILE_LISTS: string[][] = [
  [''], [' '], [','], [',,,'], ['*'], [' * '], ['\u00a0*\u3000'], ['**'], ['*', '*'], ['"*"'], ['"abc"'], ['W/"abc"'], ['w/"abc"'],
  ['W/'], ['W/ "abc"'], ['"abc'], ['"abc", "x'], ['"x", "abc'], ['abc'], [' abc '], ['\u00a0abc\ufeff'], ['a bc'], ['"ab"c"'],
  ['W/abc'], ['"", ""'], ['""'], ['"x", W/"y",  "abc"'], ['"x"', '"abc"'], ['"x"', '"abc'], ['W/"abc", "abc"'],
  ['"abc",'], [',"abc"'], ['\t"abc"\t'], ['"ABC"'], ['"abc" "abc"'], ['"a,b"'], ['a,b'], ['W/"a,b"'], ['"é"'], ['"\u{1F600}"'],
  [`${'"x",'.repeat(2000)}"abc"`], ['"' + 'a'.repeat(10000)],
];
const STORED_TAGS: Array<string | null> = [null, '"abc"', 'W/"abc"', 'w/"abc"', 'abc', '"abc', '"abc", "x', '"abc", "x"', '""', '"a,b"', ' "abc" ', '"é"', '*', ''];

test('entity-tag lists: the in-place matcher answers as the parsed comparison does, for hostile lists and stored tags', () => {
  for (const etag of STORED_TAGS) {
    const stored: StoredValidators = { etag, lastModifiedMs: null };
    for (const lines of HOSTILE_LISTS) {
      const inm = lines.flatMap((l) => ['if-none-match', l]);
      const im = lines.flatMap((l) => ['if-match', l]);
      const label = `${JSON.stringify(lines).slice(0, 80)} vs ${JSON.stringify(etag)}`;
      assert.equal(evaluateConditional('GET', inm, stored), refMatches(lines, etag, false) ? 'not-modified' : 'none', `If-None-Match ${label}`);
      assert.equal(evaluateConditional('GET', im, stored), refMatches(lines, etag, true) ? 'none' : 'precondition-failed', `If-Match ${label}`);
    }
  }
});

test('a matching If-None-Match allocates nothing: 200,000 evaluations run without a scavenge', async () => {
  const { PerformanceObserver } = await import('node:perf_hooks');
  const headers = ['host', 'example.com', 'accept', '*/*', 'if-none-match', '"v1-abc"'];
  const stored: StoredValidators = { etag: '"v1-abc"', lastModifiedMs: LM };
  // Warm up (JIT), then count garbage collections during the measured loop.
  for (let i = 0; i < 20_000; i++) evaluateConditional('GET', headers, stored);
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  let notModified = 0;
  for (let i = 0; i < 200_000; i++) if (evaluateConditional('GET', headers, stored) === 'not-modified') notModified++;
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  assert.equal(notModified, 200_000);
  // Before (arrays of header lines, a joined string, tag objects per evaluation): 85 collections for this loop.
  assert.ok(gcs <= 1, `${gcs} garbage collections during 200,000 evaluations`);
});
