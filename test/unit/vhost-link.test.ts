// Unit tests of the pure <VhostLink> pieces (condition syntax, matching, chain checks) and the If-Range purge rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findLinkProblems, parseLinkCondition } from '../../src/config/vhost-link.js';
import type { LinkCondition, Vhost } from '../../src/config/types.js';
import { linkApplies } from '../../src/policy/vhost-link.js';
import { ifRangeIsNewer } from '../../src/policy/if-range.js';

function condition(text: string): LinkCondition {
  const parsed = parseLinkCondition(text);
  assert.ok('value' in parsed, `${text} parses`);
  return parsed.value;
}

/** Only `name` and `link` matter to the chain check. */
function vhosts(links: Record<string, string | null>): Vhost[] {
  return Object.entries(links).map(([name, target]) => ({ name, link: target === null ? null : { target, condition: condition('404') } }) as unknown as Vhost);
}

test('conditions: status lists, classes and fail', () => {
  assert.deepEqual(condition('404'), { statuses: [404], classes: [], onFail: false });
  assert.deepEqual(condition(' 410 , 404,5XX,fail'), { statuses: [404, 410], classes: [5], onFail: true });
  for (const bad of ['', '40', '4x', '600', 'error', '404;410']) assert.ok('error' in parseLinkCondition(bad), `${JSON.stringify(bad)} is rejected`);
});

test('linkApplies matches exact statuses, classes and failures only', () => {
  const c = condition('404,5xx');
  assert.equal(linkApplies(c, 404), true);
  assert.equal(linkApplies(c, 503), true);
  assert.equal(linkApplies(c, 410), false);
  assert.equal(linkApplies(c, 200), false);
  assert.equal(linkApplies(c, 'fail'), false);
  assert.equal(linkApplies(condition('fail'), 'fail'), true);
  assert.equal(linkApplies(condition('fail'), 502), false);
});

test('chains: valid chains pass; self, missing and cycles are named once', () => {
  assert.deepEqual(findLinkProblems(vhosts({ a: 'b', b: 'c', c: null })), []);
  assert.deepEqual(findLinkProblems(vhosts({ a: 'a' })), [{ vhost: 'a', what: 'links to itself (a -> a)' }]);
  assert.deepEqual(findLinkProblems(vhosts({ a: 'x' })), [{ vhost: 'a', what: '"x" is not the Name of any vhost (a -> ?)' }]);
  assert.deepEqual(findLinkProblems(vhosts({ a: 'b', b: 'a' })), [{ vhost: 'a', what: 'link cycle a -> b -> a' }]);
  assert.deepEqual(findLinkProblems(vhosts({ a: 'b', b: 'c', c: 'a' })), [{ vhost: 'a', what: 'link cycle a -> b -> c -> a' }]);
  // A chain leading into a cycle: the cycle is reported at its first member in the file, the way in is not.
  assert.deepEqual(findLinkProblems(vhosts({ x: 'a', a: 'b', b: 'a' })), [{ vhost: 'a', what: 'link cycle a -> b -> a' }]);
  // A chain ending in a broken link reports only the broken one.
  assert.deepEqual(findLinkProblems(vhosts({ a: 'b', b: 'b' })), [{ vhost: 'b', what: 'links to itself (b -> b)' }]);
});

test('If-Range purge: only a date newer than the stored Last-Modified', () => {
  const lm = Date.parse('Mon, 30 Nov 2026 10:00:00 GMT');
  assert.equal(ifRangeIsNewer('Mon, 30 Nov 2026 10:00:01 GMT', lm), true);
  assert.equal(ifRangeIsNewer('Mon, 30 Nov 2026 10:00:01 GMT', lm, lm - 3_600_000), false, 'a date in the future never purges');
  assert.equal(ifRangeIsNewer('Mon, 30 Nov 2026 10:00:00 GMT', lm), false);
  assert.equal(ifRangeIsNewer('Mon, 30 Nov 2026 09:00:00 GMT', lm), false);
  assert.equal(ifRangeIsNewer('Mon, 30 Nov 2026 09:00:00 GMT', null), true, 'a copy without Last-Modified counts as older');
  assert.equal(ifRangeIsNewer('"v2"', lm), false, 'entity tags say nothing about which copy is newer');
  assert.equal(ifRangeIsNewer('W/"v2"', lm), false);
  assert.equal(ifRangeIsNewer('not a date', lm), false);
});
