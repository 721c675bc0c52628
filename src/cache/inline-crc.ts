/**
 * @module cache/inline-crc
 * The checksum of an inline body (one kept inside its index record, up to <InlineMaxSize>), as block bodies have
 * theirs: bytes changed on an index page (a damaged disk, a stray write) must never be served as a hit. The index
 * stamps it on every record it writes (CacheIndex.commit, updateMeta); the store checks it on every lookup
 * (CacheStore.get), a crc32 of at most a few KiB. Runs in workers and the primary.
 */
import { crc32 } from 'node:zlib';
import type { ObjectMeta } from './index.js';

/** `meta` with the crc32 of its inline body (unchanged when it has none). */
export function withInlineCrc(meta: ObjectMeta): ObjectMeta {
  if (meta.inline === null) return meta;
  const crc = crc32(meta.inline);
  return meta.inlineCrc === crc ? meta : { ...meta, inlineCrc: crc };
}

/**
 * Whether an inline body matches its checksum (true for a body in blocks: those are checked as they are read). A
 * record without one (written by an older Flint) is not trusted either: it is refetched once.
 */
export function inlineIntact(meta: ObjectMeta): boolean {
  return meta.inline === null || (meta.inlineCrc !== undefined && crc32(meta.inline) === meta.inlineCrc);
}
