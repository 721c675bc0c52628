/**
 * @module cache/tag-index
 * Two databases of a disk's index for cache tags (ObjectMeta.tags, cache/tags.ts):
 *   tags        `vhost \n tag \0` + time (8 B BE ms) + object hash (16 B) -> the object's primary key: every tag
 *               of every stored object, so a tag purge reads the objects carrying a tag, and only those, with the
 *               URLs workers drop from their hot tiers (no record decoded). The time is when the object's tags
 *               were journaled (ObjectMeta.tagsAt, kept in its record so the entries can be found to remove them):
 *               new entries land at the end of their tag's range, on pages the same drain already copied, instead
 *               of at random places a hash-only key put them (one page copy per entry: ~10 µs per tag in the
 *               primary, 30-60% of a miss's CPU with 3-10 tags, measured by the `miss-tagged` bench)
 *   tagjournal  time (8 B BE ms) + object hash -> `primary \0 removed-at \0 removed tags \0 added tags`
 *               (space-separated; removed-at: the decimal tagsAt of the removed tags): tag changes not yet
 *               applied to `tags`; the added tags' time is the record's
 * A worker's commit writes one journal record per tagged object, near the tree's last page (keys grow with time),
 * not one random-key insert per tag (~4-7 µs each, measured: bench/tag-purge.ts): the miss path stays cheap. Two
 * changes of one object in the same millisecond merge into one record (the first's removals, the second's additions). The primary
 * drains the journal into `tags` every second and before every tag purge, in large transactions. Invariant: `tags`
 * with the journal applied in sequence order holds exactly the tags of the committed records, each under its
 * record's tagsAt; every write of a record that changes its tags (store, replace, partial merge, metadata update,
 * removal by eviction, hardpurge or invalidation) journals the change in the same transaction and stores the tagsAt
 * journal() returns. Runs wherever the index is open.
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
  readonly #journal: Database<string, Buffer>;

  constructor(root: RootDatabase) {
    this.#db = root.openDB({ name: 'tags', keyEncoding: 'binary' });
    this.#journal = root.openDB({ name: 'tagjournal', keyEncoding: 'binary' });
  }

  /**
   * Inside a write transaction: records that the object `hash` (key `objectKey`) went from the tags of `before` (its
   * record before this write; undefined = none) to tags `after` (undefined = none). Returns the tagsAt the record
   * written now must carry (withTagsAt): the old one when the tags are the same (nothing is journaled: a refetch or
   * a 304 with the same tags), this record's time when there are new ones, undefined when there are none.
   */
  journal(objectKey: string, hash: Buffer, before: Pick<ObjectMeta, 'tags' | 'tagsAt'> | undefined, after: readonly string[] | undefined): number | undefined {
    const removed = before?.tags === undefined ? '' : before.tags.join(' ');
    const added = after === undefined ? '' : after.join(' ');
    if (removed === added) return before?.tagsAt;
    const now = Date.now();
    const key = Buffer.allocUnsafe(8 + HASH_BYTES);
    key.writeBigUInt64BE(BigInt(now), 0);
    hash.copy(key, 8);
    const earlier = this.#journal.get(key);
    // Commits are serialised by the write lock, so a later change never gets an earlier time (short of the clock
    // stepping back); the same millisecond merges: the earlier removals still apply, the later additions replace.
    let firstRemoval = `${removed === '' ? '' : String(before?.tagsAt ?? 0)}\0${removed}`;
    if (earlier !== undefined) {
      const parts = earlier.split('\0');
      firstRemoval = `${parts[1] ?? ''}\0${parts[2] ?? ''}`;
    }
    this.#journal.put(key, `${objectKey.slice(0, objectKey.indexOf('\0'))}\0${firstRemoval}\0${added}`);
    return added === '' ? undefined : now;
  }

  /**
   * Inside a write transaction: applies up to `limit` journal records to `tags`, oldest first; returns how many.
   * The last change to each entry wins (records are read in order), and the entries are then written in key order:
   * the new ones at the end of each tag's range (their time is the newest there), on pages this transaction has
   * already copied.
   */
  drain(limit: number): number {
    const done: Buffer[] = [];
    const last = new Map<string, { key: Buffer; primary: string | null }>();
    for (const { key, value } of this.#journal.getRange({ limit })) {
      const bytes = Buffer.from(key as Buffer);
      done.push(bytes);
      const [primary = '', removedAt = '', removed = '', added = ''] = value.split('\0');
      const vhost = primary.slice(0, primary.indexOf('\n'));
      const change = (tags: string, suffix: Buffer, target: string | null): void => {
        for (const tag of tags.split(' ')) {
          const entry = Buffer.concat([tagPrefix(vhost, tag, 0), suffix]);
          last.set(entry.toString('latin1'), { key: entry, primary: target });
        }
      };
      if (removed !== '') change(removed, entrySuffix(Number(removedAt), bytes.subarray(8)), null);
      // The journal key is the added entries' suffix: their time, then the hash.
      if (added !== '') change(added, bytes, primary);
    }
    for (const { key, primary } of [...last.values()].sort((a, b) => Buffer.compare(a.key, b.key))) {
      if (primary === null) this.#db.remove(key);
      else this.#db.put(key, primary);
    }
    for (const seq of done) this.#journal.remove(seq);
    return done.length;
  }

  /**
   * Up to `limit` objects tagged `tag` in `vhost` (hash, primary key, and the cursor to pass as `after` for the
   * next page), after the cursor `after` (null: from the first). A read of drained entries.
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

  /** Journal records not applied yet (tests; counts them all). */
  pending(): number {
    return this.#journal.getCount();
  }

  /** Every drained entry, in key order (tests and the index check; the whole table is read). */
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

/** `meta` carrying `tagsAt` (what journal() returned for it); the same object when it already does. */
export function withTagsAt(meta: ObjectMeta, tagsAt: number | undefined): ObjectMeta {
  if (meta.tagsAt === tagsAt) return meta;
  if (tagsAt !== undefined) return { ...meta, tagsAt };
  const { tagsAt: _dropped, ...rest } = meta;
  return rest;
}
