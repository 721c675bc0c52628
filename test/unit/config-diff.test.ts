/**
 * The dashboard's config diff (dashboard/config-diff.ts): changed, added and removed files, context around changes
 * and the rest folded, the manager token masked in every line, and a huge change bounded (shown as removed then
 * added rather than an LCS table of millions of cells).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffConfigs, diffLines, maskSecrets } from '../../src/dashboard/config-diff.js';

const lines = (n: number, prefix = 'line'): string => Array.from({ length: n }, (_, i) => `${prefix} ${i}`).join('\n');

test('files changed, added and removed; identical ones left out; context folded', () => {
  const from = new Map([['server.xml', `${lines(20)}\n`], ['vhosts.xml', 'same\n'], ['svc/a/ttl.txt', 'old\n']]);
  const to = new Map([['server.xml', `${lines(20).replace('line 10', 'line ten')}\n`], ['vhosts.xml', 'same\n'], ['svc/b/ttl.txt', 'new\n']]);
  const diff = diffConfigs(from, to);
  assert.deepEqual(diff.map((f) => [f.file, f.status]), [['server.xml', 'changed'], ['svc/a/ttl.txt', 'removed'], ['svc/b/ttl.txt', 'added']]);
  const server = diff[0]?.lines ?? [];
  assert.deepEqual(server.map((l) => l.op).join(''), '~   -+   ~');
  assert.deepEqual(server[0], { op: '~', text: '7 unchanged lines' });
  assert.deepEqual(server.filter((l) => l.op !== ' ' && l.op !== '~'), [{ op: '-', text: 'line 10' }, { op: '+', text: 'line ten' }]);
});

test('the manager token is masked in every form', () => {
  const table: Array<[string, string]> = [
    ['<Manager Token="s3cret" Port="1">', '<Manager Token="(hidden)" Port="1">'],
    ["<Manager token = 's3cret'>", '<Manager token = "(hidden)">'],
    ['<Manager Port="1">', '<Manager Port="1">'],
  ];
  for (const [line, masked] of table) assert.equal(maskSecrets(line), masked);
  const diff = diffConfigs(new Map([['server.xml', '<Manager Port="1">\n']]), new Map([['server.xml', '<Manager Token="s3cret" Port="1">\n']]));
  assert.ok(!JSON.stringify(diff).includes('s3cret'));
});

test('a huge change is bounded: no LCS table past the cell limit', () => {
  const a = Array.from({ length: 5000 }, (_, i) => `a${i}`);
  const b = Array.from({ length: 5000 }, (_, i) => `b${i}`);
  const started = performance.now();
  const out = diffLines(a, b);
  assert.ok(performance.now() - started < 1000);
  assert.equal(out.length, 10_000);
  assert.equal(out[0]?.op, '-');
  assert.equal(out[5000]?.op, '+');
});
