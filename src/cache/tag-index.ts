/**
 * @module cache/tag-index
 * Cache tags in a disk's index (ObjectMeta.tags, cache/tags.ts), by tag set: objects are grouped by the set of
 * tags they carry, and a tag names the sets that contain it. Two databases:
 *   tagsets    `vhost \n tag \0` + set id (8 B) -> ''         which tag sets of a vhost contain a tag
 *   tagobjects set id (8 B) + tagsAt (8 B BE ms) + object hash (16 B) -> primary key   the objects of a set
 * A set id is the first 8 bytes of md5(`vhost \n` + the set's tags sorted, joined by a space): computed from a
 * record's tags, and tagsAt (when the object got them) is kept in its record, so its entry is found again without a
 * lookup. tagsAt puts a new entry at the end of its set's range, on the page the batched transaction has copied
 * already: keyed by set and hash alone, every store inserted at a random place of a large set and copied a page of
 * its own (+9.5% / +11% per miss end to end with 3 / 10 tags, quiet). A tag purge reads the tag's sets, then each
 * set's objects, with the URLs workers drop from their hot tiers (no record decoded).
 * Why by set: a store writes one `tagobjects` entry whatever its tag count; the set's `tagsets` entries are written
 * only when the set has no object yet (one point read tells: most stores reuse a set, an origin tags many objects
 * alike). The first layout, one entry per tag and object (`vhost \n tag \0` + time + hash), dirtied one B-tree leaf
 * per tag in every batched store transaction: the `miss-tagged` bench measured +7-44% server CPU per miss with 3
 * tags and +15-46% with 10 on a quiet machine, over the issue's 5%. By set, the store transaction of a tagged object
 * in a reused set costs ~4 µs more than an untagged one (3 or 10 tags alike; bench/tag-purge.ts, 50 commits a
 * transaction); a store that opens a new set (a tag unique to the object) also pays a put per tag at a random
 * place, ~8 µs each. End to end (quiet, bench `miss-tagged`, means of 8 runs) a tagged miss costs +1-3%. See
 * bench/README.md "Cache tags on a miss".
 * Invariants: `tagobjects` holds exactly one entry per committed record with tags, under the id of its tags; a
 * `tagsets` entry (tag, set) exists exactly when the set has an object and carries the tag. Every write of a record
 * that changes its tags (store, replace, partial merge, metadata update, removal by eviction, hardpurge or
 * invalidation) calls change() in the same transaction.
 * Runs wherever the index is open (workers' commits, the primary's evictions and purges).
 */
import { createHash } from 'node:crypto';
import type { Database, RootDatabase } from 'lmdb';
import type { ObjectMeta } from './index-records.js';

/** Bytes of a tag set id (md5 prefix: a collision between two sets of one vhost is ~2^-64 per pair). */
const SET_BYTES = 8;
/** Bytes of an object hash (cache/key.ts keyHash: md5). */
const HASH_BYTES = 16;
/** Bytes of a tagsAt in a key (8 B BE ms). */
const AT_BYTES = 8;
/** Bytes of a `tagobjects` key, and of a members() cursor: set id, tagsAt, object hash. */
const MEMBER_BYTES = SET_BYTES + AT_BYTES + HASH_BYTES;
/** After every `set id + tagsAt + hash` key of a set (keys are MEMBER_BYTES long): the end of a set's range. */
const SET_END = Buffer.alloc(AT_BYTES + HASH_BYTES + 1, 0xff);
/** Bounds of TagIndex's set id cache: at most ~2 MB of keys. */
const ID_CACHE_ENTRIES = 4096;
const ID_CACHE_KEY_CHARS = 512;

/** A tag of an object, as the index finds it (tests, the index check and the bench). */
export interface TagEntry {
  readonly vhost: string;
  readonly tag: string;
  /** The object's tag set id. */
  readonly set: Buffer;
  readonly hash: Buffer;
  /** The object's primary key (`vhost \n path[?query]`). */
  readonly primary: string;
}

/** The two tables as stored (tests: checks of the invariants). */
export interface TagTables {
  readonly sets: Array<{ vhost: string; tag: string; set: Buffer }>;
  readonly objects: Array<{ set: Buffer; at: number; hash: Buffer; primary: string }>;
}

/** A tag set as change() uses it (TagIndex's cache). */
interface KnownSet {
  readonly id: Buffer;
  /** `tagsets` key of the set's first tag: present exactly when the set has objects. */
  readonly probe: Buffer;
}

export class TagIndex {
  readonly #sets: Database<string, Buffer>;
  readonly #objects: Database<string, Buffer>;

  constructor(root: RootDatabase) {
    this.#sets = root.openDB({ name: 'tagsets', keyEncoding: 'binary' });
    this.#objects = root.openDB({ name: 'tagobjects', keyEncoding: 'binary' });
    dropFirstLayout(root);
  }

  /**
   * Inside a write transaction: the object `hash` (key `objectKey`) goes from the tags of `before` (its record before
   * this write; undefined = none) to tags `after` (undefined = none). Returns the tagsAt the record written now must
   * carry (cache/inline-crc.ts sealRecord): the old one when the set is the same (nothing is written: a refetch or a
   * 304 with the same tags), now when it has tags that changed, undefined when it has none. Else one remove and one
   * put, plus the tag entries of a set that gets its first object or loses its last.
   */
  change(objectKey: string, hash: Buffer, before: Pick<ObjectMeta, 'tags' | 'tagsAt'> | undefined, after: readonly string[] | undefined): number | undefined {
    const was = before?.tags;
    if ((was === undefined || was.length === 0) && (after === undefined || after.length === 0)) return undefined;
    const primary = objectKey.slice(0, objectKey.indexOf('\0'));
    const vhost = primary.slice(0, primary.indexOf('\n'));
    const removed = was === undefined || was.length === 0 ? null : this.#setOf(vhost, was).id;
    const added = after === undefined || after.length === 0 ? null : this.#setOf(vhost, after);
    if (removed !== null && added !== null && removed.equals(added.id)) return before?.tagsAt;
    if (removed !== null) {
      this.#objects.remove(memberKey(removed, before?.tagsAt ?? 0, hash));
      // The set's last object: its tag entries go (the removed record's tags name them). A range read (~9 µs):
      // paid on removals and replacements with other tags, not by a store with new tags.
      if (!this.#hasObjects(removed)) for (const tag of was as readonly string[]) this.#sets.remove(setKey(vhost, tag, removed));
    }
    if (added === null) return undefined;
    // A set's tag entries are all there or none (the invariant): one point read (~1 µs) tells whether the set has
    // objects already (most stores: an origin tags many objects alike) or its entries are written now.
    if (!this.#sets.doesExist(added.probe)) for (const tag of after as readonly string[]) this.#sets.put(setKey(vhost, tag, added.id), '');
    const now = Date.now();
    this.#objects.put(memberKey(added.id, now, hash), primary);
    return now;
  }

  /**
   * Recently used sets by `vhost \n` + tags in record order: most stores reuse a set, and the sort and md5 cost
   * ~3 µs of a miss. Bounded: short keys only, cleared when full.
   */
  readonly #known = new Map<string, KnownSet>();

  /** The set of `tags` in `vhost`: its id, and its first tag's `tagsets` key (whether the set has objects). */
  #setOf(vhost: string, tags: readonly string[]): KnownSet {
    const key = `${vhost}\n${tags.length === 1 ? (tags[0] as string) : tags.join(' ')}`;
    let known = this.#known.get(key);
    if (known !== undefined) return known;
    const id = tagSetId(vhost, sortedTags(tags));
    known = { id, probe: setKey(vhost, tags[0] as string, id) };
    if (key.length <= ID_CACHE_KEY_CHARS) {
      if (this.#known.size >= ID_CACHE_ENTRIES) this.#known.clear();
      this.#known.set(key, known);
    }
    return known;
  }

  #hasObjects(set: Buffer): boolean {
    for (const _ of this.#objects.getKeys({ start: set, end: Buffer.concat([set, SET_END]), limit: 1 })) return true;
    return false;
  }

  /**
   * Up to `limit` objects tagged `tag` in `vhost` (hash, primary key, and the cursor to pass as `after` for the
   * next page: its `tagobjects` key), after the cursor `after` (null: from the first). Objects come by set id, then
   * tagsAt;
   * a page that removes objects (hardpurge) may remove their sets' entries, and the next page still starts right.
   */
  members(vhost: string, tag: string, after: Buffer | null, limit: number): Array<{ hash: Buffer; primary: string; cursor: Buffer }> {
    const prefix = setKey(vhost, tag, null);
    const afterSet = after === null ? null : after.subarray(0, SET_BYTES);
    const out: Array<{ hash: Buffer; primary: string; cursor: Buffer }> = [];
    // `vhost \n tag \x01` sorts after every `vhost \n tag \0 ...` entry and before any longer tag (tags hold no \0
    // or \x01).
    const end = Buffer.from(`${vhost}\n${tag}\u0001`, 'latin1');
    for (const key of this.#sets.getKeys({ start: afterSet === null ? prefix : Buffer.concat([prefix, afterSet]), end })) {
      const bytes = key as Buffer;
      if (bytes.length !== prefix.length + SET_BYTES) continue;
      const set = bytes.subarray(prefix.length);
      const start = after !== null && afterSet !== null && set.equals(afterSet) ? Buffer.concat([after, ZERO]) : Buffer.from(set);
      for (const { key: member, value } of this.#objects.getRange({ start, end: Buffer.concat([set, SET_END]), limit: limit - out.length })) {
        const cursor = Buffer.from(member as Buffer);
        if (cursor.length !== MEMBER_BYTES) continue;
        out.push({ hash: cursor.subarray(SET_BYTES + AT_BYTES), primary: value, cursor });
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Both tables as stored (tests; reads them whole). */
  tables(): TagTables {
    const sets: TagTables['sets'] = [];
    for (const key of this.#sets.getKeys()) {
      const bytes = key as Buffer;
      const text = bytes.subarray(0, bytes.length - SET_BYTES).toString('latin1');
      const newline = text.indexOf('\n');
      sets.push({ vhost: text.slice(0, newline), tag: text.slice(newline + 1, -1), set: Buffer.from(bytes.subarray(bytes.length - SET_BYTES)) });
    }
    const objects: TagTables['objects'] = [];
    for (const { key, value } of this.#objects.getRange()) {
      const bytes = key as Buffer;
      objects.push({ set: Buffer.from(bytes.subarray(0, SET_BYTES)), at: Number(bytes.readBigUInt64BE(SET_BYTES)), hash: Buffer.from(bytes.subarray(SET_BYTES + AT_BYTES)), primary: value });
    }
    return { sets, objects };
  }

  /** Every (tag, object) pair the tables hold, by tag (tests, checks and the bench; reads both tables whole). */
  *entries(): Generator<TagEntry> {
    const { sets, objects } = this.tables();
    const bySet = new Map<string, TagTables['objects']>();
    for (const o of objects) {
      const id = o.set.toString('hex');
      bySet.set(id, [...(bySet.get(id) ?? []), o]);
    }
    for (const { vhost, tag, set } of sets) {
      for (const o of bySet.get(set.toString('hex')) ?? []) yield { vhost, tag, set, hash: o.hash, primary: o.primary };
    }
  }
}

const ZERO = Buffer.alloc(1);

/**
 * The first layout's `tags` database (one entry per tag and object; never released) is not read any more: dropped
 * at open, once (named databases are keys of the root database). A process that loses the race to drop it (the
 * primary and workers open the index together) finds it gone or fails the drop; either way it is gone.
 */
function dropFirstLayout(root: RootDatabase): void {
  // A key read, not doesExist: lmdb answers false for a named database's key (its value is not a record).
  let found = false;
  for (const name of root.getKeys({ start: 'tags', limit: 1 })) found = name === 'tags';
  if (!found) return;
  try {
    root.openDB({ name: 'tags', keyEncoding: 'binary' }).dropSync();
  } catch {
    // Dropped by another process meanwhile.
  }
}

/** `tags` sorted and joined by a space: a set's identity (tags hold no space); the same string for the same set. */
function sortedTags(tags: readonly string[]): string {
  return tags.length === 1 ? (tags[0] as string) : [...tags].sort().join(' ');
}

/** The id of the tag set `sorted` (sortedTags) in `vhost`. */
function tagSetId(vhost: string, sorted: string): Buffer {
  return createHash('md5').update(`${vhost}\n${sorted}`, 'latin1').digest().subarray(0, SET_BYTES);
}

/** The id of a record's tag set (tests: where its `tagobjects` entry must be). */
export function recordTagSet(vhost: string, tags: readonly string[]): Buffer {
  return tagSetId(vhost, sortedTags(tags));
}

/** `vhost \n tag \0` + set id (or the prefix alone, `set` null); tags and vhost names are ASCII, so latin1 is exact. */
function setKey(vhost: string, tag: string, set: Buffer | null): Buffer {
  const prefix = Buffer.from(`${vhost}\n${tag}\0`, 'latin1');
  return set === null ? prefix : Buffer.concat([prefix, set]);
}

function memberKey(set: Buffer, tagsAt: number, hash: Buffer): Buffer {
  const key = Buffer.allocUnsafe(MEMBER_BYTES);
  set.copy(key, 0);
  // 8 bytes big-endian; a time in ms fits in the low 6 (until the year 10889), so no BigInt per store.
  key.writeUInt16BE(0, SET_BYTES);
  key.writeUIntBE(tagsAt, SET_BYTES + 2, 6);
  hash.copy(key, SET_BYTES + AT_BYTES);
  return key;
}
