/**
 * @module cache/frequency-sketch
 * A count-min sketch of 4-bit counters with periodic halving (TinyLFU: Einziger, Friedman, Manes, "TinyLFU: A Highly
 * Efficient Cache Admission Policy", 2017): an estimate, in constant memory, of how often each key was asked for
 * recently. W-TinyLFU (cache/eviction-policies.ts) compares a newcomer's estimate with its would-be victim's. Keys
 * arrive as 32-bit hashes. Pure; runs in the primary (the evictor) and in the bench's simulator.
 */

const ROWS = 4;
const MAX_COUNT = 15;
/** Odd multipliers (one per row) that spread a 32-bit hash over the row. */
const SEEDS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f];

export class FrequencySketch {
  #width = 0;
  #mask = 0;
  #counts = new Uint8Array(0);
  #additions = 0;
  /** After this many additions every counter is halved, so old popularity fades (the sketch's "reset"). */
  #sampleSize = 0;

  constructor(expectedKeys: number) {
    this.ensureCapacity(expectedKeys);
  }

  /**
   * Grows the table for `keys` distinct keys (a power of two of at least that many counters a row); growing drops
   * the counts, as Caffeine's sketch does, which only happens while the cache itself grows.
   */
  ensureCapacity(keys: number): void {
    let width = 1024;
    while (width < keys) width *= 2;
    if (width <= this.#width) return;
    this.#width = width;
    this.#mask = width - 1;
    this.#counts = new Uint8Array(width * ROWS);
    this.#additions = 0;
    this.#sampleSize = 10 * width;
  }

  /** The estimated recent count of `hash` (0..15). */
  frequency(hash: number): number {
    let min = MAX_COUNT;
    for (let row = 0; row < ROWS; row++) {
      const c = this.#counts[row * this.#width + this.#slot(hash, row)] as number;
      if (c < min) min = c;
    }
    return min;
  }

  /** Counts one request for `hash` (conservative update: only the smallest counters grow). */
  increment(hash: number): void {
    const min = this.frequency(hash);
    if (min >= MAX_COUNT) return;
    for (let row = 0; row < ROWS; row++) {
      const at = row * this.#width + this.#slot(hash, row);
      if (this.#counts[at] === min) this.#counts[at] = min + 1;
    }
    if (++this.#additions >= this.#sampleSize) this.#halve();
  }

  #slot(hash: number, row: number): number {
    let h = Math.imul(hash ^ (hash >>> 16), SEEDS[row] as number);
    h ^= h >>> 15;
    return h & this.#mask;
  }

  #halve(): void {
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i] = (this.#counts[i] as number) >>> 1;
    this.#additions = Math.floor(this.#additions / 2);
  }
}
