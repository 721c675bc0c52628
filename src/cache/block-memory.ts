/**
 * @module cache/block-memory
 * A per-worker LRU of verified, committed blocks kept in memory, for bodies the hot tier does not take (over
 * <HotObjectMaxSize>): a block served from here is copied once (memory to socket, as Varnish serves from malloc)
 * instead of read from its file (a copy out of the page cache) and copied again. A block enters on its second read while it
 * is still remembered as read once, so a body streamed once does not push out blocks that are read again.
 * Coherence needs no messages: an entry is found by block id and must match the crc32 and length the reader's
 * own index record lists. A block freed and rewritten for another object carries that object's checksum, so the
 * old bytes are never served for it; a reader of the old record (a client finishing a replaced body) may still get
 * them, which is what it is owed. Runs in workers.
 */

/** How many blocks read once are remembered (ids only), for the second-read admission. */
const SEEN_MAX = 8192;

interface Entry {
  readonly crc: number;
  readonly data: Buffer;
}

export class BlockMemory {
  /** Block id -> entry; Map order is the recency order (oldest first). */
  readonly #entries = new Map<number, Entry>();
  /** Block id -> crc32 of blocks read once, oldest first. */
  readonly #seen = new Map<number, number>();
  readonly #maxBytes: number;
  #bytes = 0;
  hits = 0;
  misses = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The bytes of block `id` if held with this checksum and length (moved to most recent), else undefined. */
  get(id: number, crc: number, length: number): Buffer | undefined {
    if (this.#maxBytes === 0) return undefined;
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.crc !== crc || entry.data.length !== length) {
      this.misses++;
      return undefined;
    }
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    this.hits++;
    return entry.data;
  }

  /**
   * Offers the verified bytes of block `id` (a view of a read buffer that will be reused: copied when kept). Kept
   * on its second offer with the same checksum, evicting the least recently used blocks to stay within the budget.
   */
  offer(id: number, crc: number, data: Buffer): void {
    if (data.length > this.#maxBytes) return;
    if (this.#seen.get(id) !== crc) {
      this.#seen.delete(id);
      this.#seen.set(id, crc);
      if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value as number);
      return;
    }
    this.#seen.delete(id);
    this.#drop(id);
    const copy = Buffer.allocUnsafeSlow(data.length);
    data.copy(copy);
    this.#entries.set(id, { crc, data: copy });
    this.#bytes += copy.length;
    for (const [oldest] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#drop(oldest);
    }
  }

  #drop(id: number): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#bytes -= entry.data.length;
  }
}
