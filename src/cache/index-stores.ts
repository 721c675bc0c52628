/**
 * @module cache/index-stores
 * The handles of one open object index (cache/index.ts) that its helper modules work on: the lmdb databases and
 * CacheIndex's write-transaction helpers, built once when the index opens. Type only; every process that maps the
 * index (the primary and the workers).
 */
import type { Database, RootDatabase } from 'lmdb';
import type { IndexWriter } from './index-writer.js';
import type { FillRecord, ObjectMeta, SeenCount } from './index-records.js';
import type { TagIndex } from './tag-index.js';

/** The databases and write helpers of one CacheIndex, built once by its constructor (see there for each database). */
export interface IndexStores {
  readonly root: RootDatabase;
  readonly dir: string;
  readonly objects: Database<ObjectMeta, Buffer>;
  readonly vary: Database<string[], Buffer>;
  readonly keys: Database<Buffer, string>;
  readonly fills: Database<FillRecord, Buffer>;
  readonly fillKeys: Database<Buffer, string>;
  readonly lru: Database<string, Buffer>;
  readonly atime: Database<number, Buffer>;
  readonly free: Database<number, number>;
  readonly freeOrder: Database<string, Buffer>;
  readonly state: Database<number | string, string>;
  readonly hits: Database<number, Buffer>;
  readonly seen: Database<SeenCount, Buffer>;
  readonly seenOrder: Database<string, Buffer>;
  /** The index's write transactions and per-turn write batch. */
  readonly writer: IndexWriter;
  /** Inside a write transaction: returns blocks to the free list. */
  readonly releaseBlocks: (blocks: readonly number[], now: number) => void;
  /** Inside a write transaction: drops a fill record and its key entry. */
  readonly removeFill: (objectHash: Buffer, record: FillRecord) => void;
  /** Inside a write transaction: deletes an object's records, releases its blocks; returns its stored bytes. */
  readonly removeInTxn: (objectHash: Buffer, meta: ObjectMeta, now: number) => number;
  /** The tag sets of stored objects (cache/tag-index.ts). */
  readonly tags: TagIndex;
}
