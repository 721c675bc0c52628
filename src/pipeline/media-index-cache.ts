/**
 * @module pipeline/media-index-cache
 * Parsed media indexes (a Movie's sample tables, an MP3's frame info) kept per object in worker memory, a bounded
 * LRU: a playlist and every segment of one file parse its moov once, not once per request. Keyed by the object's
 * hash plus its representation (generation, size, ETag, Last-Modified), so a purge or a new version is parsed
 * afresh and never mixed with an old index. Concurrent requests for one object share one parse; a failed parse is
 * kept too (the original passes through, and the failure is logged once). Runs in workers.
 */
import type { ObjectMeta, ObjectRef } from '../cache/store.js';

/** Most indexes kept. */
export const INDEX_CACHE_ENTRIES = 64;
/** Most bytes of sample tables kept (a 1-hour 30 fps video with audio weighs ~6 MB). */
export const INDEX_CACHE_BYTES = 96 * 1024 * 1024;

interface Entry<T> {
  readonly value: Promise<T>;
  weight: number;
}

export class MediaIndexCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #weigh: (value: T) => number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(weigh: (value: T) => number, maxEntries = INDEX_CACHE_ENTRIES, maxBytes = INDEX_CACHE_BYTES) {
    this.#weigh = weigh;
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  /** The key of `meta`'s representation of `ref`. */
  static keyOf(ref: ObjectRef, meta: ObjectMeta): string {
    return `${ref.hex}:${meta.generation}:${meta.size}:${meta.etag ?? ''}:${meta.lastModifiedMs ?? ''}`;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The index under `key`, made by `make` when absent; `fresh` tells whether this call made it (the caller logs a
   * failure once).
   */
  obtain(key: string, make: () => Promise<T>): { value: Promise<T>; fresh: boolean } {
    const found = this.#entries.get(key);
    if (found !== undefined) {
      // Most recently used last.
      this.#entries.delete(key);
      this.#entries.set(key, found);
      return { value: found.value, fresh: false };
    }
    const value = make();
    const entry: Entry<T> = { value, weight: 0 };
    this.#entries.set(key, entry);
    value.then(
      (made) => {
        if (this.#entries.get(key) !== entry) return;
        entry.weight = this.#weigh(made);
        this.#bytes += entry.weight;
        this.#trim();
      },
      () => undefined,
    );
    this.#trim();
    return { value, fresh: true };
  }

  /** Drops `key` (a parse that failed for a reason other than the file's format, so the next request retries). */
  forget(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.weight;
  }

  #trim(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) return;
      // Keep the newest entry even when it alone passes the byte bound.
      if (this.#entries.size === 1) return;
      this.#entries.delete(key);
      this.#bytes -= entry.weight;
    }
  }
}
