/**
 * @module cache/tag-index
 * The `tags` database of a disk's index: `vhost \n tag \0` + object hash (16 B) -> the object's primary key, for
 * every tag of every stored object (ObjectMeta.tags, cache/tags.ts), so a tag purge reads the objects carrying a
 * tag, and only those, in key order, with the URLs workers must drop from their hot tiers (no record decoded). Opened by CacheIndex beside its other databases; its writes run inside CacheIndex's write transactions.
 * Invariant: the entries of an object are exactly the tags of its committed record: added when a record is
 * stored, removed when it is replaced or deleted (eviction, hardpurge, invalidation), in the same transaction.
 * Runs wherever the index is open (workers write, the primary reads for purges and removes on eviction).
 */
import type { Database, RootDatabase } from 'lmdb';

/** Bytes of an object hash (cache/key.ts keyHash: md5). */
const HASH_BYTES = 16;

/** A tag entry read back (tests and the index check). */
export interface TagEntry {
  readonly vhost: string;
  readonly tag: string;
  readonly hash: Buffer;
  /** The object's primary key (`vhost \n path[?query]`). */
  readonly primary: string;
}

export class TagIndex {
  readonly #db: Database<string, Buffer>;

  constructor(root: RootDatabase) {
    this.#db = root.openDB({ name: 'tags', keyEncoding: 'binary' });
  }

  /** Inside a write transaction: records that the object `hash` (whose key is `objectKey`) carries `tags`. */
  add(objectKey: string, hash: Buffer, tags: readonly string[] | undefined): void {
    if (tags === undefined) return;
    const vhost = vhostOf(objectKey);
    const primary = objectKey.slice(0, objectKey.indexOf('\0'));
    for (const tag of tags) this.#db.put(entryKey(vhost, tag, hash), primary);
  }

  /** Inside a write transaction: forgets the tags of the object `hash`. */
  remove(objectKey: string, hash: Buffer, tags: readonly string[] | undefined): void {
    if (tags === undefined) return;
    const vhost = vhostOf(objectKey);
    for (const tag of tags) this.#db.remove(entryKey(vhost, tag, hash));
  }

  /** Up to `limit` objects tagged `tag` in `vhost` (hash, primary key), after the hash `after` (null: from the first). A read. */
  members(vhost: string, tag: string, after: Buffer | null, limit: number): Array<{ hash: Buffer; primary: string }> {
    const prefix = tagPrefix(vhost, tag, 0);
    const start = after === null ? prefix : Buffer.concat([prefix, after, ZERO]);
    const out: Array<{ hash: Buffer; primary: string }> = [];
    // `vhost \n tag \x01` sorts after every `vhost \n tag \0 hash` and before any longer tag (tags hold no \0 or \x01).
    for (const { key, value } of this.#db.getRange({ start, end: tagPrefix(vhost, tag, 1), limit })) {
      const bytes = key as Buffer;
      if (bytes.length === prefix.length + HASH_BYTES) out.push({ hash: Buffer.from(bytes.subarray(prefix.length)), primary: value });
    }
    return out;
  }

  /** Every entry, in key order (tests and the index check; the whole table is read). */
  *entries(): Generator<TagEntry> {
    for (const { key, value } of this.#db.getRange()) {
      const bytes = key as Buffer;
      const text = bytes.subarray(0, bytes.length - HASH_BYTES).toString('latin1');
      const newline = text.indexOf('\n');
      yield { vhost: text.slice(0, newline), tag: text.slice(newline + 1, -1), hash: Buffer.from(bytes.subarray(bytes.length - HASH_BYTES)), primary: value };
    }
  }
}

const ZERO = Buffer.alloc(1);

function vhostOf(objectKey: string): string {
  return objectKey.slice(0, objectKey.indexOf('\n'));
}

/** `vhost \n tag` and one byte (0: the entries' prefix) in bytes; tags and vhost names are ASCII, so latin1 is exact. */
function tagPrefix(vhost: string, tag: string, last: number): Buffer {
  return Buffer.from(`${vhost}\n${tag}${String.fromCharCode(last)}`, 'latin1');
}

function entryKey(vhost: string, tag: string, hash: Buffer): Buffer {
  return Buffer.concat([tagPrefix(vhost, tag, 0), hash]);
}
