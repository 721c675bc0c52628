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
