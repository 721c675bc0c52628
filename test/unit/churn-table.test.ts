/**
 * ChurnTable (src/churn-table.ts): Map-like semantics, and the reason it exists: values deleted from a long-lived
 * table die in the young generation, where a long-lived Map keeps them (through its rehashed tables) until a full GC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ChurnTable } from '../../src/churn-table.js';

test('get, has, set, delete and size, including keys an ordinary object would inherit', () => {
  const table = new ChurnTable<number>();
  const keys = ['a', '__proto__', 'constructor', 'toString', '123', ''];
  keys.forEach((key, i) => table.set(key, i));
  assert.equal(table.size, keys.length);
  keys.forEach((key, i) => {
    assert.equal(table.get(key), i, key);
    assert.equal(table.has(key), true, key);
  });
  assert.equal(table.get('hasOwnProperty'), undefined);
  assert.equal(table.has('valueOf'), false);
  table.set('a', 10);
  assert.equal(table.size, keys.length, 'replacing a value does not count it twice');
  assert.equal(table.get('a'), 10);
  assert.equal(table.delete('__proto__'), true);
  assert.equal(table.delete('__proto__'), false);
  assert.equal(table.has('__proto__'), false);
  assert.equal(table.size, keys.length - 1);
});

test('iteration sees every entry once and allows deleting while it runs', () => {
  const table = new ChurnTable<string>();
  for (let i = 0; i < 100; i++) table.set(`k${i}`, `v${i}`);
  const seen = new Set<string>();
  for (const [key, value] of table) {
    assert.equal(value, `v${key.slice(1)}`);
    seen.add(key);
    if (Number(key.slice(1)) % 2 === 0) table.delete(key);
    // Deleting an entry not visited yet: it is not visited.
    if (key === 'k1') table.delete('k99');
  }
  assert.equal(seen.has('k99'), false);
  assert.equal(seen.size, 99);
  assert.equal(table.size, 49);
  assert.deepEqual([...table].map(([key]) => key).filter((key) => Number(key.slice(1)) % 2 === 0), []);
});

/**
 * Old-generation growth while a table that is already old churns 20,000 entries of ~3 KiB each, at most 51 at a
 * time, with a young-generation GC every 200 entries: the most it grew after any of them, so a full GC V8 starts on
 * its own (more likely on a loaded machine) cannot hide what was promoted before it. A child process, for --expose-gc.
 */
function oldSpaceGrowthMB(kind: 'map' | 'churn'): number {
  const moduleUrl = new URL('../../src/churn-table.js', import.meta.url).href;
  const script = `
    import v8 from 'node:v8';
    import { ChurnTable } from ${JSON.stringify(moduleUrl)};
    const table = ${kind === 'map' ? 'new Map()' : 'new ChurnTable()'};
    const oldUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
    table.set('seed', {});
    gc(); gc();
    const before = oldUsed();
    const live = [];
    let most = 0;
    for (let n = 0; n < 20000; n++) {
      const key = n.toString(16).padStart(32, '0');
      table.set(key, Array.from({ length: 100 }, (_, i) => ({ i })));
      live.push(key);
      if (live.length > 50) table.delete(live.shift());
      if (n % 200 === 0) {
        gc({ type: 'minor' });
        most = Math.max(most, oldUsed() - before);
      }
    }
    process.stdout.write(String(most / 1e6));
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) });
  assert.equal(child.status, 0, child.stderr);
  return Number(child.stdout);
}

test('values deleted from a long-lived table are collected young, unlike a Map', () => {
  const map = oldSpaceGrowthMB('map');
  const churn = oldSpaceGrowthMB('churn');
  // The control: if a Map no longer keeps its deleted values, this probe cannot tell the two apart (and ChurnTable
  // may no longer be needed).
  assert.ok(map > 8, `a Map's old generation grew ${map.toFixed(1)} MB (expected > 8: ~27-30 MB at its most on Node 20)`);
  assert.ok(churn < map / 3, `ChurnTable: ${churn.toFixed(1)} MB, Map: ${map.toFixed(1)} MB`);
});
