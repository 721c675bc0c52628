/**
 * Cache tags (issue 24). parseTags on hostile origin headers (table-driven: separators, duplicates, bytes outside
 * visible ASCII, over-long tags, thousands of tags, a huge header), and the tag index on a real LMDB file (by tag
 * set, cache/tag-index.ts): after every step, every stored tagged object is found by each of its tags, no entry
 * is without its record, and a set's tag entries exist exactly while it has objects; the index follows commit,
 * replacement, a metadata update, eviction (removeMany, the evictor's call), hardpurge and invalidation in the same
 * transaction; a store writes one object entry whatever its tag count and a refetch with the same tags writes
 * nothing; tagMembers pages through many objects of many sets, also while a hardpurge removes them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { CacheIndex } from '../../src/cache/index.js';
import type { ObjectMeta } from '../../src/cache/index.js';
import { keyHash, objectKey, primaryKey } from '../../src/cache/key.js';
import { recordTagSet } from '../../src/cache/tag-index.js';
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

/**
 * The index's tag entries as `vhost tag path` strings, sorted, after checking the tables against the records: every
 * stored object with tags has one object entry, under the id of its tags, and is found by tagMembers for each of
 * them; every object entry has its record; every tag entry has an object in its set carrying the tag (a set goes
 * with its last object), and every tag of a set's objects has its entry.
 */
function entries(index: CacheIndex): string[] {
  const { sets, objects } = index.tagTables();
  const records = index.scanKeys('', '\uffff', null, 100_000).map(({ hash }) => index.getObject(hash) as ObjectMeta);
  const tagged = records.filter((r) => (r.tags?.length ?? 0) > 0);
  assert.equal(objects.length, tagged.length, 'one object entry per tagged record');
  for (const o of objects) {
    const stored = index.getObject(o.hash);
    assert.ok(stored !== undefined, `an object entry ${o.primary} points at no record (stale)`);
    const vhost = stored.key.slice(0, stored.key.indexOf('\n'));
    assert.ok(o.set.equals(recordTagSet(vhost, stored.tags ?? [])), `the entry of ${stored.key} is under its tags' set`);
    assert.equal(o.at, stored.tagsAt, `the entry of ${stored.key} is under its record's tagsAt`);
    assert.equal(o.primary, stored.key.slice(0, stored.key.indexOf('\0')));
  }
  const setKeys = new Set(sets.map((e) => `${e.vhost} ${e.tag} ${e.set.toString('hex')}`));
  assert.equal(setKeys.size, sets.length);
  for (const e of sets) {
    const members = objects.filter((o) => o.set.equals(e.set)).map((o) => index.getObject(o.hash) as ObjectMeta);
    assert.ok(members.length > 0, `the set entry ${e.vhost} ${e.tag} outlived its last object`);
    for (const m of members) assert.ok(m.tags?.includes(e.tag), `${m.key} in a set of ${e.tag} without the tag`);
  }
  const found: string[] = [];
  for (const r of tagged) {
    const vhost = r.key.slice(0, r.key.indexOf('\n'));
    const hash = keyHash(r.key);
    for (const tag of r.tags ?? []) {
      assert.ok(setKeys.has(`${vhost} ${tag} ${recordTagSet(vhost, r.tags ?? []).toString('hex')}`), `no set entry ${tag} for ${r.key}`);
      assert.ok(index.tagMembers(vhost, tag, null, 100_000).some((m) => m.hash.equals(hash)), `${r.key} not found by its tag ${tag}`);
      found.push(`${vhost} ${tag} ${r.key.slice(r.key.indexOf('\n') + 1, r.key.indexOf('\0'))}`);
    }
  }
  assert.equal(index.tagEntries().length, found.length, 'tagEntries lists each tag of each object once');
  return found.sort();
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

test('tagMembers pages through more objects than one page, across sets, each once', async () => {
  await withIndex(async (index) => {
    // `all` is in 12 sets (5 with `even`, 7 without): pages cross set boundaries.
    for (let i = 0; i < 1200; i++) await store(index, `/o${i}`, i % 2 === 0 ? ['even', 'all', `g${i % 5}`] : ['all', `g${i % 7}`]);
    const seen: string[] = [];
    let after: Buffer | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = index.tagMembers('v.test', 'all', after, 500);
      for (const m of page) seen.push(m.hash.toString('hex'));
      if (page.length < 500) break;
      after = (page[page.length - 1] as { cursor: Buffer }).cursor;
    }
    assert.equal(new Set(seen).size, 1200, 'every object');
    assert.equal(seen.length, 1200, 'each once');
    assert.equal(index.tagMembers('v.test', 'even', null, 5000).length, 600);
  });
});

test('a set is written with its first object and goes with its last; one object entry per store; a same-tag refetch writes nothing', async () => {
  await withIndex(async (index) => {
    const ten = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const first = await store(index, '/s0', ten);
    assert.equal(index.tagTables().sets.length, 10, "the set's ten tag entries with its first object");
    // The same tags in another order are the same set: the second object adds its object entry only.
    const second = await store(index, '/s1', [...ten].reverse());
    assert.deepEqual(
      [index.tagTables().sets.length, index.tagTables().objects.length],
      [10, 2],
    );
    assert.equal(entries(index).length, 20);
    // A refetch with the same tags: the tables are unchanged.
    const before = JSON.stringify(index.tagTables());
    await store(index, '/s0', ten);
    assert.equal(JSON.stringify(index.tagTables()), before);
    // Another set with some of the same tags: both sets stay findable by the shared tag.
    await store(index, '/s2', ['t0', 'other']);
    assert.equal(index.tagMembers('v.test', 't0', null, 10).length, 3);
    // The first set loses one object, keeps its entries; then its last: they go, the other set's stay.
    index.removeMany([first], Date.now());
    assert.equal(index.tagTables().sets.length, 12);
    entries(index);
    index.removeMany([second], Date.now());
    assert.deepEqual(index.tagTables().sets.map((e) => e.tag).sort(), ['other', 't0']);
    assert.deepEqual(entries(index), ['v.test other /s2', 'v.test t0 /s2']);
  });
});

test('a hardpurge paging through a tag removes every member, across sets, while their entries go', async () => {
  await withIndex(async (index) => {
    for (let i = 0; i < 300; i++) await store(index, `/h${i}`, ['all', `g${i % 7}`]);
    await store(index, '/keep', ['other']);
    let after: Buffer | null = null;
    let removed = 0;
    for (;;) {
      const page = index.tagMembers('v.test', 'all', after, 40);
      if (page.length === 0) break;
      after = (page[page.length - 1] as { cursor: Buffer }).cursor;
      removed += (await index.applyControl(page.map((m) => m.hash), 'hardpurge', Date.now(), 0, () => 0)).count;
    }
    assert.equal(removed, 300);
    assert.deepEqual(entries(index), ['v.test other /keep']);
  });
});

test("an index with the first layout's `tags` database loses it at open; the new tables are there", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-tags-old-'));
  try {
    const old = open({ path: join(dir, 'index.lmdb'), noSubdir: true, maxDbs: 20 });
    await old.openDB({ name: 'tags', keyEncoding: 'binary' }).put(Buffer.from('v.test\nred\x000123456789abcdef01234567'), 'v.test\n/a');
    await old.close();
    await new CacheIndex(dir).close();
    const reopened = open({ path: join(dir, 'index.lmdb'), noSubdir: true, maxDbs: 20 });
    const names = [...reopened.getKeys()].map(String);
    await reopened.close();
    assert.ok(!names.includes('tags'), names.join(' '));
    assert.ok(names.includes('tagsets') && names.includes('tagobjects'), names.join(' '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
