/**
 * @module cache/block-memory
 * A per-worker LRU of verified, committed blocks kept in memory, for bodies the hot tier does not take (over
 * <HotObjectMaxSize>): a block served from here is copied once (memory to socket, as Varnish serves from malloc)
 * instead of read from its file (a copy out of the page cache) and copied again. A block enters on its second read
 * while it is still remembered as read once (read straight into the buffer it is kept in), so a body streamed once
 * does not push out blocks that are read again. A block a range request fetched from the origin enters at once
 * (CacheStore.writeBlockKept): it is read right away, and ranges of an object come back.
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

  /** A read get() did not answer that then shared the read keeping the block (CacheStore.readListed): a hit. */
  countJoined(): void {
    this.misses--;
    this.hits++;
  }

  /**
   * Records a read of block `id` that get() did not answer. True when this read should keep it: its second read
   * with the same checksum (the caller then reads into a buffer of its own and hands it to keep()).
   */
  noteRead(id: number, crc: number, length: number): boolean {
    if (length > this.#maxBytes) return false;
    if (this.#seen.get(id) === crc) {
      this.#seen.delete(id);
      return true;
    }
    this.#seen.delete(id);
    this.#seen.set(id, crc);
    if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value as number);
    return false;
  }

  /**
   * Keeps the verified bytes of block `id`; `data` becomes the memory's (never written again by anyone). Evicts the
   * least recently used blocks to stay within the budget.
   */
  keep(id: number, crc: number, data: Buffer): void {
    this.#drop(id);
    this.#entries.set(id, { crc, data });
    this.#bytes += data.length;
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
