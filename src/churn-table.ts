/**
 * @module churn-table
 * A string-keyed table for short-lived entries of a long-lived owner: fills in flight, leases being taken. Runs in
 * workers.
 *
 * Not a Map, on purpose. When V8 rehashes a Map (it does so every few dozen set/delete pairs, to drop the holes
 * deletes leave), the old table keeps its entries and a link to the new table, for iterators that may still walk
 * it. Once one such table has reached the old generation (it was current at a scavenge or two), every later table
 * of the chain, and every value they held, survives each scavenge until the next full GC. For a map of requests in
 * flight that is most of what a request allocates: on the `miss` bench a third of the young generation survived
 * every scavenge, from the first full GC on (a scavenge took 8 ms instead of ~1.5, and a full GC ran every second).
 * A null-prototype object starts in dictionary mode, and a dictionary that grows or shrinks leaves nothing pointing
 * from the old store to the new one.
 */

export class ChurnTable<V> {
  readonly #entries: Record<string, V | undefined> = Object.create(null) as Record<string, V | undefined>;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    return this.#entries[key];
  }

  has(key: string): boolean {
    return this.#entries[key] !== undefined;
  }

  /** Sets `key` to `value` (never undefined: undefined means absent). */
  set(key: string, value: V): void {
    if (this.#entries[key] === undefined) this.#size++;
    this.#entries[key] = value;
  }

  /** Removes `key`; true when it was there. */
  delete(key: string): boolean {
    if (this.#entries[key] === undefined) return false;
    delete this.#entries[key];
    this.#size--;
    return true;
  }

  /** The entries, in no promised order; deleting entries while iterating is allowed. */
  *[Symbol.iterator](): IterableIterator<[string, V]> {
    for (const key in this.#entries) {
      const value = this.#entries[key];
      if (value !== undefined) yield [key, value];
    }
  }
}
