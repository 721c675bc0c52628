/**
 * @module cache/tag-index
 * Two databases of a disk's index for cache tags (ObjectMeta.tags, cache/tags.ts):
 *   tags        `vhost \n tag \0` + object hash (16 B) -> the object's primary key: every tag of every stored
 *               object, so a tag purge reads the objects carrying a tag, and only those, with the URLs workers
 *               drop from their hot tiers (no record decoded)
 *   tagjournal  time (8 B BE ms) + object hash -> `primary \0 removed tags \0 added tags` (space-separated): tag
 *               changes not yet applied to `tags`
 * A worker's commit writes one journal record per tagged object, near the tree's last page (keys grow with time),
 * not one random-key insert per tag (~4-7 µs each, measured: bench/tag-purge.ts): the miss path stays cheap. Two
 * changes of one object in the same millisecond merge into one record (the first's removals, the second's additions). The primary
 * drains the journal into `tags` every second and before every tag purge, in large transactions. Invariant: `tags`
 * with the journal applied in sequence order holds exactly the tags of the committed records; every write of a
 * record that changes its tags (store, replace, partial merge, metadata update, removal by eviction, hardpurge or
 * invalidation) journals the change in the same transaction. Runs wherever the index is open.
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
  readonly #journal: Database<string, Buffer>;

  constructor(root: RootDatabase) {
    this.#db = root.openDB({ name: 'tags', keyEncoding: 'binary' });
    this.#journal = root.openDB({ name: 'tagjournal', keyEncoding: 'binary' });
  }

  /**
   * Inside a write transaction: records that the object `hash` (key `objectKey`) went from tags `before` to tags
   * `after` (undefined = none). Nothing is written when they are the same (a refetch with the same tags).
   */
  journal(objectKey: string, hash: Buffer, before: readonly string[] | undefined, after: readonly string[] | undefined): void {
    const removed = before === undefined ? '' : before.join(' ');
    const added = after === undefined ? '' : after.join(' ');
    if (removed === added) return;
    const key = Buffer.allocUnsafe(8 + HASH_BYTES);
    key.writeBigUInt64BE(BigInt(Date.now()), 0);
    hash.copy(key, 8);
    const earlier = this.#journal.get(key);
    // Commits are serialised by the write lock, so a later change never gets an earlier time (short of the clock
    // stepping back); the same millisecond merges: the earlier removals still apply, the later additions replace.
    const first = earlier === undefined ? removed : earlier.slice(earlier.indexOf('\0') + 1, earlier.lastIndexOf('\0'));
    this.#journal.put(key, `${objectKey.slice(0, objectKey.indexOf('\0'))}\0${first}\0${added}`);
  }

  /**
   * Inside a write transaction: applies up to `limit` journal records to `tags`, oldest first; returns how many.
   * The last change to each entry wins (records are read in order), and the entries are then written in key order,
   * so neighbouring keys share B-tree pages instead of each dirtying a random one.
   */
  drain(limit: number): number {
    const done: Buffer[] = [];
    const last = new Map<string, { key: Buffer; primary: string | null }>();
    for (const { key, value } of this.#journal.getRange({ limit })) {
      const bytes = Buffer.from(key as Buffer);
      done.push(bytes);
      const hash = bytes.subarray(8);
      const [primary = '', removed = '', added = ''] = value.split('\0');
      const vhost = primary.slice(0, primary.indexOf('\n'));
      for (const [tags, target] of [[removed, null], [added, primary]] as const) {
        if (tags === '') continue;
        for (const tag of tags.split(' ')) {
          const entry = entryKey(vhost, tag, hash);
          last.set(entry.toString('latin1'), { key: entry, primary: target });
        }
      }
    }
    for (const { key, primary } of [...last.values()].sort((a, b) => Buffer.compare(a.key, b.key))) {
      if (primary === null) this.#db.remove(key);
      else this.#db.put(key, primary);
    }
    for (const seq of done) this.#journal.remove(seq);
    return done.length;
  }

  /** Up to `limit` objects tagged `tag` in `vhost` (hash, primary key), after the hash `after` (null: from the first). A read of drained entries. */
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

  /** Journal records not applied yet (tests; counts them all). */
  pending(): number {
    return this.#journal.getCount();
  }

  /** Every drained entry, in key order (tests and the index check; the whole table is read). */
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

/** `vhost \n tag` and one byte (0: the entries' prefix) in bytes; tags and vhost names are ASCII, so latin1 is exact. */
function tagPrefix(vhost: string, tag: string, last: number): Buffer {
  return Buffer.from(`${vhost}\n${tag}${String.fromCharCode(last)}`, 'latin1');
}

function entryKey(vhost: string, tag: string, hash: Buffer): Buffer {
  return Buffer.concat([tagPrefix(vhost, tag, 0), hash]);
}
