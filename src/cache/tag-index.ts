/**
 * @module cache/tag-index
 * The `tags` database of a disk's index, for cache tags (ObjectMeta.tags, cache/tags.ts):
 *   `vhost \n tag \0` + time (8 B BE ms) + object hash (16 B) -> the object's primary key
 * one entry per tag of every stored object, so a tag purge reads the objects carrying a tag, and only those, with
 * the URLs workers drop from their hot tiers (no record decoded). The time is when the object got its tags
 * (ObjectMeta.tagsAt, kept in its record so its entries can be found again to remove them). It puts a new entry at
 * the end of its tag's range, on a page the transaction has usually copied already (workers batch one event-loop
 * turn's commits): for a tag many objects share, a store appends instead of inserting at a random place. Keyed by
 * the hash alone, every entry cost a page copy: ~7 µs per tag in the worker in the first design, then, written by
 * the primary from a journal the workers appended to, ~10 µs per tag there (14-34 µs per miss with 3-10 shared
 * tags, 8-20% of a miss's CPU, measured by the `miss-tagged` bench), over the issue's 5%.
 * Invariant: `tags` holds exactly the tags of the committed records, each under its record's tagsAt; every write of
 * a record that changes its tags (store, replace, partial merge, metadata update, removal by eviction, hardpurge or
 * invalidation) calls change() in the same transaction and stores the tagsAt it returns (withTagsAt).
 * Runs wherever the index is open (workers' commits, the primary's evictions and purges).
 */
import type { Database, RootDatabase } from 'lmdb';
import type { ObjectMeta } from './index-records.js';

/** Bytes of an object hash (cache/key.ts keyHash: md5). */
const HASH_BYTES = 16;
/** Bytes of an entry key after its tag prefix: tagsAt, then the hash. */
const SUFFIX_BYTES = 8 + HASH_BYTES;

/** A tag entry read back (tests and the index check). */
export interface TagEntry {
  readonly vhost: string;
  readonly tag: string;
  readonly hash: Buffer;
  /** The time in its key: its object's tagsAt. */
  readonly at: number;
  /** The object's primary key (`vhost \n path[?query]`). */
  readonly primary: string;
}

export class TagIndex {
  readonly #db: Database<string, Buffer>;

  constructor(root: RootDatabase) {
    this.#db = root.openDB({ name: 'tags', keyEncoding: 'binary' });
  }

  /**
   * Inside a write transaction: the object `hash` (key `objectKey`) goes from the tags of `before` (its record
   * before this write; undefined = none) to tags `after` (undefined = none). Returns the tagsAt the record written
   * now must carry (withTagsAt): the old one when the tags are the same (nothing is written: a refetch or a 304
   * with the same tags), now when it has tags that changed, undefined when it has none.
   */
  change(objectKey: string, hash: Buffer, before: Pick<ObjectMeta, 'tags' | 'tagsAt'> | undefined, after: readonly string[] | undefined): number | undefined {
    const removed = before?.tags ?? [];
    const added = after ?? [];
    if (removed.join(' ') === added.join(' ')) return added.length === 0 ? undefined : before?.tagsAt;
    const primary = objectKey.slice(0, objectKey.indexOf('\0'));
    const vhost = primary.slice(0, primary.indexOf('\n'));
    if (removed.length > 0) {
      const suffix = entrySuffix(before?.tagsAt ?? 0, hash);
      for (const tag of removed) this.#db.remove(Buffer.concat([tagPrefix(vhost, tag, 0), suffix]));
    }
    if (added.length === 0) return undefined;
    const now = Date.now();
    const suffix = entrySuffix(now, hash);
    for (const tag of added) this.#db.put(Buffer.concat([tagPrefix(vhost, tag, 0), suffix]), primary);
    return now;
  }

  /**
   * Up to `limit` objects tagged `tag` in `vhost` (hash, primary key, and the cursor to pass as `after` for the
   * next page), after the cursor `after` (null: from the first).
   */
  members(vhost: string, tag: string, after: Buffer | null, limit: number): Array<{ hash: Buffer; primary: string; cursor: Buffer }> {
    const prefix = tagPrefix(vhost, tag, 0);
    const start = after === null ? prefix : Buffer.concat([prefix, after, ZERO]);
    const out: Array<{ hash: Buffer; primary: string; cursor: Buffer }> = [];
    // `vhost \n tag \x01` sorts after every `vhost \n tag \0 ...` entry and before any longer tag (tags hold no \0 or \x01).
    for (const { key, value } of this.#db.getRange({ start, end: tagPrefix(vhost, tag, 1), limit })) {
      const bytes = key as Buffer;
      if (bytes.length !== prefix.length + SUFFIX_BYTES) continue;
      const cursor = Buffer.from(bytes.subarray(prefix.length));
      out.push({ hash: cursor.subarray(8), primary: value, cursor });
    }
    return out;
  }

  /** Every entry, in key order (tests and the index check; the whole table is read). */
  *entries(): Generator<TagEntry> {
    for (const { key, value } of this.#db.getRange()) {
      const bytes = key as Buffer;
      const text = bytes.subarray(0, bytes.length - SUFFIX_BYTES).toString('latin1');
      const newline = text.indexOf('\n');
      const at = Number(bytes.readBigUInt64BE(bytes.length - SUFFIX_BYTES));
      yield { vhost: text.slice(0, newline), tag: text.slice(newline + 1, -1), hash: Buffer.from(bytes.subarray(bytes.length - HASH_BYTES)), at, primary: value };
    }
  }
}

const ZERO = Buffer.alloc(1);

/** `vhost \n tag` and one byte (0: the entries' prefix) in bytes; tags and vhost names are ASCII, so latin1 is exact. */
function tagPrefix(vhost: string, tag: string, last: number): Buffer {
  return Buffer.from(`${vhost}\n${tag}${String.fromCharCode(last)}`, 'latin1');
}

/** An entry's key after its tag prefix: tagsAt (8 B BE ms), then the object hash. */
function entrySuffix(tagsAt: number, hash: Buffer): Buffer {
  const suffix = Buffer.allocUnsafe(SUFFIX_BYTES);
  suffix.writeBigUInt64BE(BigInt(Number.isSafeInteger(tagsAt) && tagsAt >= 0 ? tagsAt : 0), 0);
  hash.copy(suffix, 8);
  return suffix;
}

/** `meta` carrying `tagsAt` (what change() returned for it); the same object when it already does. */
export function withTagsAt(meta: ObjectMeta, tagsAt: number | undefined): ObjectMeta {
  if (meta.tagsAt === tagsAt) return meta;
  if (tagsAt !== undefined) return { ...meta, tagsAt };
  const { tagsAt: _dropped, ...rest } = meta;
  return rest;
}
