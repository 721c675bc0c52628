/**
 * Cache tags (issue 24). parseTags on hostile origin headers (table-driven: separators, duplicates, bytes outside
 * visible ASCII, over-long tags, thousands of tags, a huge header), and the tag index on a real LMDB file: the
 * entries of an object follow its record through commit, replacement, a metadata update, eviction (removeMany, the
 * evictor's call), hardpurge and invalidation in the same transaction, each keyed by its record's tagsAt, entries
 * of a tag sort by when they were stored (a store appends), and tagMembers pages through many objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CacheIndex } from '../../src/cache/index.js';
import type { ObjectMeta } from '../../src/cache/index.js';
import { keyHash, objectKey, primaryKey } from '../../src/cache/key.js';
import { isTagText, parseTags } from '../../src/cache/tags.js';
import type { CacheTagOptions } from '../../src/config/types.js';

const OPTIONS: CacheTagOptions = { fields: ['surrogate-key', 'cache-tag'], strip: true, max: 4, maxLength: 8 };

test('parseTags keeps bounded visible-ASCII tags and counts the rest (hostile origin headers)', () => {
  const cases: Array<[string, Record<string, string | string[]>, string[], number]> = [
    ['no tag field', { 'content-type': 'text/plain' }, [], 0],
    ['Surrogate-Key, spaces', { 'surrogate-key': 'a b  c' }, ['a', 'b', 'c'], 0],
    ['Cache-Tag, commas and spaces', { 'cache-tag': 'a, b,c ,,' }, ['a', 'b', 'c'], 0],
    ['both fields, duplicates once', { 'surrogate-key': 'a b', 'cache-tag': 'b,c' }, ['a', 'b', 'c'], 0],
    ['repeated field lines', { 'cache-tag': ['a', 'b'] }, ['a', 'b'], 0],
    ['tabs separate', { 'surrogate-key': 'a\tb' }, ['a', 'b'], 0],
    ['empty value', { 'surrogate-key': '   ' }, [], 0],
    ['punctuation allowed', { 'surrogate-key': 'p:42 user/7 <x>' }, ['p:42', 'user/7', '<x>'], 0],
    ['quote dropped', { 'surrogate-key': 'a"b ok' }, ['ok'], 1],
    ['control byte dropped', { 'surrogate-key': 'a\u0001b ok' }, ['ok'], 1],
    ['NUL dropped', { 'surrogate-key': 'a\u0000b ok' }, ['ok'], 1],
    ['non-ASCII dropped', { 'surrogate-key': 'caf\u00e9 ok \u4e2d' }, ['ok'], 2],
    ['DEL dropped', { 'surrogate-key': 'a\u007f ok' }, ['ok'], 1],
    ['over MaxLength dropped, not cut', { 'surrogate-key': '123456789 12345678' }, ['12345678'], 1],
    ['past Max dropped', { 'surrogate-key': 'a b c d e f' }, ['a', 'b', 'c', 'd'], 2],
    ['a duplicate past Max is no drop', { 'surrogate-key': 'a b c d a' }, ['a', 'b', 'c', 'd'], 0],
  ];
  for (const [name, headers, tags, dropped] of cases) {
    assert.deepEqual(parseTags(headers, OPTIONS), { tags, dropped }, name);
  }
  assert.deepEqual(parseTags({ 'x-tags': 'a' }, { ...OPTIONS, fields: ['x-tags'] }).tags, ['a'], 'a configured field');
  assert.deepEqual(parseTags({ 'surrogate-key': 'a' }, { ...OPTIONS, fields: [] }).tags, [], 'OFF: no field read');
});

test('parseTags bounds thousands of tags and a huge header in linear time', () => {
  const many = Array.from({ length: 20_000 }, (_, i) => `t${i}`).join(' ');
  const started = performance.now();
  const parsed = parseTags({ 'surrogate-key': many }, { ...OPTIONS, max: 1024, maxLength: 128 });
  assert.equal(parsed.tags.length, 1024);
  assert.equal(parsed.dropped, 20_000 - 1024);
  const huge = parseTags({ 'cache-tag': 'x'.repeat(1_000_000) }, { ...OPTIONS, maxLength: 1024 });
  assert.deepEqual(huge, { tags: [], dropped: 1 });
  assert.ok(performance.now() - started < 500, 'bounded work');
});

test('isTagText: the byte rule purge parameters are checked with', () => {
  for (const good of ['a', 'product-42', 'p:1/2', '~!#$%&*']) assert.equal(isTagText(good), true, good);
  for (const bad of ['', 'a b', 'a,b', 'a"b', 'a\nb', '\u00e9']) assert.equal(isTagText(bad), false, JSON.stringify(bad));
});

function meta(key: string, blocks: number[], tags?: string[]): ObjectMeta {
  const now = Date.now();
  return {
    key, status: 200, headers: [], size: blocks.length * 4096, etag: null, lastModifiedMs: null, requestTime: now, responseTime: now, dateMs: null,
    ageHeaderSec: 0, ttlSec: 60, staleWhileRevalidateSec: 0, staleIfErrorSec: 0, revalidate: 'normal', mustRevalidate: false, ttlSource: 'origin',
    extendedSec: 0, inline: null, blocks, blockSize: 4096, crcs: blocks.map(() => 0), generation: 1, ...(tags === undefined ? {} : { tags }),
  };
}

async function withIndex(run: (index: CacheIndex) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flint-tags-'));
  const index = new CacheIndex(dir);
  try {
    await run(index);
  } finally {
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The index's tag entries as `vhost tag path` strings, sorted, and each checked against its object's record. */
function entries(index: CacheIndex): string[] {
  return index
    .tagEntries()
    .map((e) => {
      const stored = index.getObject(e.hash);
      assert.ok(stored !== undefined, `a tag entry ${e.tag} points at no object (stale)`);
      assert.ok(stored.tags?.includes(e.tag), `the object ${stored.key} does not carry ${e.tag}`);
      assert.equal(e.primary, stored.key.slice(0, stored.key.indexOf('\0')));
      assert.equal(e.at, stored.tagsAt, `the entry ${e.tag} of ${stored.key} is keyed by the record's tagsAt`);
      return `${e.vhost} ${e.tag} ${stored.key.slice(stored.key.indexOf('\n') + 1, stored.key.indexOf('\0'))}`;
    })
    .sort();
}

async function store(index: CacheIndex, path: string, tags?: string[], vhost = 'v.test'): Promise<Buffer> {
  const key = objectKey(primaryKey(vhost, path, ''), '');
  const hash = keyHash(key);
  const [block] = index.allocateBlocks(1, 0, Date.now(), 0) as [number];
  await index.commit(hash, keyHash(primaryKey(vhost, path, '')), [], meta(key, [block], tags), null, Date.now());
  return hash;
}

test('the tag index follows store, replace, metadata update, eviction, hardpurge and invalidation', async () => {
  await withIndex(async (index) => {
    const a = await store(index, '/a', ['red', 'blue']);
    const b = await store(index, '/b', ['red']);
    await store(index, '/c');
    await store(index, '/a2', ['red'], 'w.test');
    assert.deepEqual(entries(index), ['v.test blue /a', 'v.test red /a', 'v.test red /b', 'w.test red /a2']);
    assert.deepEqual(
      index.tagMembers('v.test', 'red', null, 10).map((m) => m.hash.toString('hex')).sort(),
      [a, b].map((h) => h.toString('hex')).sort(),
      'members of one vhost only',
    );
    assert.deepEqual(index.tagMembers('v.test', 're', null, 10), [], 'no prefix match');

    // Replacement: the old record's tags go with it.
    await store(index, '/a', ['green']);
    assert.deepEqual(entries(index), ['v.test green /a', 'v.test red /b', 'w.test red /a2']);

    // A metadata update that changes the tags (none of Flint's do today, but the index must follow the record).
    const current = index.getObject(b) as ObjectMeta;
    assert.equal(index.updateMeta(b, { ...current, tags: ['red', 'pink'] }), true);
    assert.deepEqual(entries(index), ['v.test green /a', 'v.test pink /b', 'v.test red /b', 'w.test red /a2']);

    // Eviction (the evictor's removeMany), then hardpurge and unsafe-method invalidation.
    index.removeMany([a], Date.now());
    assert.deepEqual(entries(index), ['v.test pink /b', 'v.test red /b', 'w.test red /a2']);
    await index.applyControl([b], 'hardpurge', Date.now(), 0, () => 0);
    assert.deepEqual(entries(index), ['w.test red /a2']);
    index.removePrimary(primaryKey('w.test', '/a2', ''), Date.now());
    assert.deepEqual(entries(index), []);
  });
});

test('purge and expire keep the tags (the object stays); a fill reached by a tag purge is controlled only if tagged', async () => {
  await withIndex(async (index) => {
    const a = await store(index, '/a', ['red']);
    await index.applyControl([a], 'purge', Date.now(), 0, () => 0);
    assert.equal(index.getObject(a)?.purged, true);
    assert.deepEqual(entries(index), ['v.test red /a']);

    // Two fills in flight; a tag purge marks both (their tags are unknown), the commit applies it to the tagged one.
    const now = Date.now();
    const fills: Array<[string, string[]]> = [['/t', ['red']], ['/u', ['blue']]];
    for (const [path] of fills) {
      const key = objectKey(primaryKey('v.test', path, ''), '');
      const record = { id: path, pid: process.pid, until: now + 10_000, state: 'filling' as const, status: 0, headers: null, timing: null, size: -1, blockSize: 4096, blocks: [], crcs: [], key };
      assert.equal(index.acquireLease(keyHash(key), record, now, () => true).acquired, true);
    }
    assert.equal(index.controlFills('v.test\n', 'v.test\n\uffff', () => true, 'hardpurge', 0, 'red'), 2);
    const outcomes = [];
    for (const [path, tags] of fills) {
      const key = objectKey(primaryKey('v.test', path, ''), '');
      outcomes.push(await index.commit(keyHash(key), keyHash(primaryKey('v.test', path, '')), [], meta(key, [], tags), { hash: keyHash(key), id: path }, now));
    }
    assert.deepEqual(outcomes, ['dropped', 'stored']);
    assert.deepEqual(entries(index), ['v.test blue /u', 'v.test red /a']);
  });
});

test('tagMembers pages through more objects than one page, each once', async () => {
  await withIndex(async (index) => {
    for (let i = 0; i < 1200; i++) await store(index, `/o${i}`, i % 2 === 0 ? ['even', 'all'] : ['all']);
    const seen = new Set<string>();
    let after: Buffer | null = null;
    for (;;) {
      const page = index.tagMembers('v.test', 'all', after, 500);
      for (const m of page) seen.add(m.hash.toString('hex'));
      if (page.length < 500) break;
      after = (page[page.length - 1] as { cursor: Buffer }).cursor;
    }
    assert.equal(seen.size, 1200);
    assert.equal(index.tagMembers('v.test', 'even', null, 5000).length, 600);
  });
});

test('entries of a tag sort by when the tags were stored (a store appends); a record keeps its tagsAt while its tags stay', async () => {
  await withIndex(async (index) => {
    // Stored one after another, in different milliseconds: the entries of `all` come in store order, not hash order
    // (hash order put every new entry at a random place in the tree: one page copied per entry).
    const hashes: Buffer[] = [];
    for (let i = 0; i < 8; i++) {
      hashes.push(await store(index, `/s${i}`, ['all']));
      await sleep(2);
    }
    const hex = hashes.map((h) => h.toString('hex'));
    assert.notDeepEqual([...hex].sort(), hex, 'the hashes are not in store order by chance');
    assert.deepEqual(index.tagMembers('v.test', 'all', null, 100).map((m) => m.hash.toString('hex')), hex);
    // Stored again with the same tags (a refetch): the record keeps its time...
    const first = hashes[0] as Buffer;
    const tagsAt = index.getObject(first)?.tagsAt;
    assert.equal(typeof tagsAt, 'number');
    await store(index, '/s0', ['all']);
    assert.equal(index.getObject(first)?.tagsAt, tagsAt);
    // ...so its removal finds its entry; a record without tags carries no time.
    index.removeMany([first], Date.now());
    assert.deepEqual(entries(index), hashes.slice(1).map((_, i) => `v.test all /s${i + 1}`));
    await store(index, '/s1');
    assert.equal(index.getObject(hashes[1] as Buffer)?.tagsAt, undefined);
    assert.equal(entries(index).length, 6);
  });
});
