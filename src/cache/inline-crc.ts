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
 * index's answer, cache/tag-index.ts change(); undefined = no tags), in one copy (none when both are there already):
 * the two copies in a row cost a tagged miss's store ~0.6 µs and their garbage.
 */
export function sealRecord(meta: ObjectMeta, tagsAt: number | undefined): ObjectMeta {
  const crc = meta.inline === null ? meta.inlineCrc : crc32(meta.inline);
  if (crc === meta.inlineCrc && tagsAt === meta.tagsAt) return meta;
  if (tagsAt === undefined) {
    const { tagsAt: _dropped, ...rest } = meta;
    return crc === undefined ? rest : { ...rest, inlineCrc: crc };
  }
  return crc === undefined ? { ...meta, tagsAt } : { ...meta, inlineCrc: crc, tagsAt };
}

/**
 * Whether an inline body matches its checksum (true for a body in blocks: those are checked as they are read). A
 * record without one (written by an older Flint) is not trusted either: it is refetched once.
 */
export function inlineIntact(meta: ObjectMeta): boolean {
  return meta.inline === null || (meta.inlineCrc !== undefined && crc32(meta.inline) === meta.inlineCrc);
}
