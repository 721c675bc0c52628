/**
 * @module cache/inline-crc
 * The checksum of an inline body (one kept inside its index record, up to <InlineMaxSize>), as block bodies have
 * theirs: bytes changed on an index page (a damaged disk, a stray write) must never be served as a hit. The index
 * stamps it on every record it writes (CacheIndex.commit, updateMeta); the store checks it on every lookup
 * (CacheStore.get), a crc32 of at most a few KiB. Runs in workers and the primary.
 */
import { crc32 } from 'node:zlib';
import type { ObjectMeta } from './index.js';

/**
 * The record as the index writes it: `meta` with its inline body's crc32 (when it has one) and `tagsAt` (the tag
 * index's answer, cache/tag-index.ts change(); undefined = no tags). Set on `meta` itself, not on a copy: V8's
 * spread of a record's ~25 fields is its slow path, ~1.7 µs and its garbage on every miss's store (~3.5 µs with
 * tags and tagsAt), against ~0.1 µs to set the fields. Safe because both values are facts about the record `meta`
 * describes, whoever else holds it (the fill that built it, a 304 refresh's copy): the same object written again
 * gets the same values. Only dropping a tagsAt (the record lost its tags) copies, since deleting a property would
 * slow every later access to the object.
 */
export function sealRecord(meta: ObjectMeta, tagsAt: number | undefined): ObjectMeta {
  if (tagsAt === undefined && meta.tagsAt !== undefined) {
    const { tagsAt: _dropped, ...rest } = meta;
    return sealRecord(rest, undefined);
  }
  const sealed = meta as { inlineCrc?: number; tagsAt?: number };
  if (meta.inline !== null) sealed.inlineCrc = crc32(meta.inline);
  if (tagsAt !== undefined) sealed.tagsAt = tagsAt;
  return meta;
}

/**
 * Whether an inline body matches its checksum (true for a body in blocks: those are checked as they are read). A
 * record without one (written by an older Flint) is not trusted either: it is refetched once.
 */
export function inlineIntact(meta: ObjectMeta): boolean {
  return meta.inline === null || (meta.inlineCrc !== undefined && crc32(meta.inline) === meta.inlineCrc);
}
