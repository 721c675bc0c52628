/**
 * @module pipeline/hot-tier
 * A per-worker LRU of complete hot objects kept ready to send (STON keeps hot bodies resident too), so a hit on them
 * touches no LMDB page and does no I/O, and its body is copied once (memory to socket) instead of twice (block file
 * to memory, then to the socket). Bounded in bytes (<ContentMemoryRatio> shared by the workers, bodies up to
 * <HotObjectMaxSize>, 1 MiB by default), each entry charged its body plus what its record and heads take in the
 * heap (entryCharge). Coherence: an entry is trusted for at most HOT_RECHECK_MS after it was last
 * read from the index; after that the next hit goes through the index again (which refreshes the entry), so a
 * purge, expiry or replacement made by any worker is visible here within that delay. Entries touched by this
 * worker's own revalidations are dropped at once, and a management purge/expire drops matching entries in every
 * worker before the call returns (the primary awaits each worker's acknowledgement). Runs in workers.
 */
import { objectKey, variantKey } from '../cache/key.js';
import type { ObjectMeta } from '../cache/store.js';
import { HotHead } from './hot-head.js';

/** Longest time a hot entry is served without re-reading the index (documented coherence delay). */
export const HOT_RECHECK_MS = 1000;

/**
 * Heap bytes of an entry besides its body and strings: the record, its map slots and the two head caches. Measured
 * 1.4-1.7 KiB per entry of a 404 with six headers (heap growth over 100,000 puts); rounded up.
 */
const ENTRY_BASE_BYTES = 1536;

/**
 * What an entry counts against the budget: its body, plus its heap cost. Without the latter, bodiless responses
 * (cached 404s, redirects) counted nothing, so a scan of distinct URLs could grow the tier until the worker ran
 * out of heap. Strings are counted once for the record and twice more for the encoded heads.
 */
function entryCharge(meta: ObjectMeta, body: Buffer): number {
  let chars = meta.key.length;
  for (const text of meta.headers) chars += text.length;
  return body.length + ENTRY_BASE_BYTES + 3 * chars;
}

export interface HotObject {
  readonly primary: string;
  readonly hex: string;
  readonly meta: ObjectMeta;
  readonly body: Buffer;
  /** What it counts against the byte budget (entryCharge). */
  readonly charge: number;
  /** When the entry was last confirmed against the index (ms). */
  readonly checkedAt: number;
  /** Its response heads, encoded for plain GET hits and for the 304 of a matching revalidation. */
  readonly head: HotHead;
  readonly notModifiedHead: HotHead;
}

export class HotTier {
  /** By object key (primary \0 variant); Map order is the recency order (oldest first). */
  readonly #entries = new Map<string, HotObject>();
  /** Object hash hex -> object key, for invalidation by hash. */
  readonly #byHex = new Map<string, string>();
  /** Primary key -> object keys of its variants held here, for invalidation of a whole URL. */
  readonly #byPrimary = new Map<string, Set<string>>();
  /** Vary names per primary key, so a variant's key is found without the index. */
  readonly #vary = new Map<string, readonly string[]>();
  /**
   * The entry of a primary key whose last put had no Vary (then its only possible key is `primary\0`), found by the
   * primary key itself: a hit skips building and hashing the object key string (~4% of an HTTP/2 hit's CPU in a
   * profile, bench/README.md "HTTP/2 hits: native respond"). Kept only while #vary holds [] for that primary.
   */
  readonly #plain = new Map<string, HotObject>();
  readonly #maxBytes: number;
  readonly #maxObjectBytes: number;
  #bytes = 0;
  #epoch = 0;
  /**
   * The entry last in #entries (most recent), when known: a hit on it skips the delete and re-insert that would not
   * change the order (a run of hits on one object, measured on the HTTP/2 hit path: bench/README.md "HTTP/2 hit path").
   */
  #newest: HotObject | null = null;
  hits = 0;
  misses = 0;

  constructor(maxBytes: number, maxObjectBytes: number) {
    this.#maxBytes = maxBytes;
    this.#maxObjectBytes = maxObjectBytes;
  }

  /** What the entries count against the budget: bodies plus their heap cost (entryCharge). */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The usable entry for a request (moved to most recent), or undefined -- counted as a hit or a miss. An entry
   * due for a recheck counts as absent.
   */
  lookup(primary: string, requestHeaders: readonly string[], now: number): HotObject | undefined {
    let entry = this.#plain.get(primary);
    if (entry === undefined) {
      const vary = this.#vary.get(primary);
      entry = vary === undefined || vary[0] === '*' ? undefined : this.#entries.get(objectKey(primary, variantKey(vary, requestHeaders)));
    }
    if (entry === undefined || now - entry.checkedAt > HOT_RECHECK_MS) {
      this.misses++;
      return undefined;
    }
    this.#touch(entry.meta.key, entry);
    this.hits++;
    return entry;
  }

  /**
   * The usable entry of an object key (moved to most recent): a derived variant's (transform/derived.ts), looked up
   * after its original's lookup counted the request. Undefined when absent or due for a recheck.
   */
  lookupKey(key: string, now: number): HotObject | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || now - entry.checkedAt > HOT_RECHECK_MS) return undefined;
    this.#touch(key, entry);
    return entry;
  }

  /** Moves an entry to the most recent end of #entries (Map order is insertion order). */
  #touch(key: string, entry: HotObject): void {
    if (entry === this.#newest) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#newest = entry;
  }

  /** The entry of an object key whatever its recheck time (its body is reused when the index confirms it: put). */
  peek(key: string): HotObject | undefined {
    return this.#entries.get(key);
  }

  /** Whether an object of this size may enter. */
  admits(size: number): boolean {
    return this.#maxBytes > 0 && size <= this.#maxObjectBytes && size <= this.#maxBytes;
  }

  /** Adds or refreshes an entry, evicting the least recently used ones to stay within the byte budget. */
  put(primary: string, vary: readonly string[], hex: string, meta: ObjectMeta, body: Buffer, now: number): void {
    if (!this.admits(body.length)) return;
    const charge = entryCharge(meta, body);
    if (charge > this.#maxBytes) return;
    this.#remove(meta.key);
    this.#vary.set(primary, vary);
    const entry: HotObject = { primary, hex, meta, body, charge, checkedAt: now, head: new HotHead(), notModifiedHead: new HotHead() };
    this.#entries.set(meta.key, entry);
    this.#newest = entry;
    if (vary.length === 0 && meta.key === objectKey(primary, '')) this.#plain.set(primary, entry);
    else this.#plain.delete(primary);
    this.#byHex.set(hex, meta.key);
    let variants = this.#byPrimary.get(primary);
    if (variants === undefined) this.#byPrimary.set(primary, (variants = new Set()));
    variants.add(meta.key);
    this.#bytes += charge;
    for (const [key] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#remove(key);
    }
  }

  /** Drops the entry of an object hash (revalidated, purged or replaced by this worker). */
  invalidate(hex: string): void {
    // A block read warming this tier (cache-flow #warmHot) must not put the dropped copy back.
    this.#epoch++;
    const key = this.#byHex.get(hex);
    if (key !== undefined) this.#remove(key);
  }

  /** Drops every variant of a URL (an unsafe request to it succeeded in this worker). */
  invalidatePrimary(primary: string): void {
    this.#epoch++;
    const variants = this.#byPrimary.get(primary);
    if (variants !== undefined) for (const key of [...variants]) this.#remove(key);
  }

  /**
   * Bumped by every cache-control purge: a caller that read an object before an await compares it afterwards and
   * does not put what it read (the purge may have come in between).
   */
  get epoch(): number {
    return this.#epoch;
  }

  /** Drops every entry whose primary key `matches` (a purge/expire from the management API); returns how many. */
  invalidateMatching(matches: (primary: string) => boolean): number {
    this.#epoch++;
    let dropped = 0;
    for (const [primary, variants] of [...this.#byPrimary]) {
      if (!matches(primary)) continue;
      for (const key of [...variants]) this.#remove(key);
      dropped++;
    }
    return dropped;
  }

  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    if (entry === this.#newest) this.#newest = null;
    if (this.#plain.get(entry.primary) === entry) this.#plain.delete(entry.primary);
    this.#byHex.delete(entry.hex);
    const variants = this.#byPrimary.get(entry.primary);
    variants?.delete(key);
    if (variants?.size === 0) {
      this.#byPrimary.delete(entry.primary);
      this.#vary.delete(entry.primary);
    }
    this.#bytes -= entry.charge;
  }
}
