/**
 * @module cache/eviction-policies
 * The eviction orders `<Eviction Policy>` selects, as in-memory structures over the objects a disk holds, byte-aware
 * (each object charges its stored bytes): LRU; SIEVE (Zhang et al., NSDI 2024: a FIFO with a visited bit and a
 * hand); S3-FIFO (Yang et al., SOSP 2023: a small FIFO for newcomers, a main FIFO with reinsertion, a ghost FIFO of
 * recently evicted keys); W-TinyLFU (Einziger et al. 2017, Caffeine's: a window LRU, a segmented LRU main, and a
 * frequency sketch deciding whether a newcomer leaving the window may displace the main's victim).
 * A policy only orders; it never deletes. Its user reports what happens (insert, hit, remove) and asks for the next
 * victim, saying which keys may not go now (an object being filled): such a key is kept and moved as if it had been
 * used. The same code runs in the primary's evictor (keys: object hashes in hex) and in the bench's simulator
 * (bench/sim: numeric ids), so the simulator measures what Flint ships. Pure.
 */
import type { EvictionPolicyName } from '../config/types.js';
import { FrequencySketch } from './frequency-sketch.js';

export { EVICTION_POLICIES } from '../config/types.js';
export type { EvictionPolicyName } from '../config/types.js';

export interface EvictionPolicy<K> {
  readonly name: EvictionPolicyName;
  /** Bytes of every object the policy holds. */
  readonly bytes: number;
  readonly size: number;
  /** The capacity the policy sizes its parts from (a disk's quota); may change (a reload). */
  capacity: number;
  has(key: K): boolean;
  /**
   * A newly stored object. `uses`, when restoring what a disk held at start, is how often it was hit: the policy
   * places it where such an object would be (S3-FIFO's main queue, W-TinyLFU's protected segment, SIEVE's visited).
   */
  insert(key: K, bytes: number, uses?: number): void;
  /** `count` requests served from a stored object. */
  hit(key: K, count?: number): void;
  /** An object gone for another reason (purge, replaced by a different size: re-insert it). */
  remove(key: K): void;
  /**
   * Removes and returns the next victim, skipping (and keeping, as if used) keys for which `mayEvict` is false;
   * undefined when nothing may go.
   */
  evict(mayEvict?: (key: K) => boolean): K | undefined;
}

interface Node<K> {
  readonly key: K;
  bytes: number;
  /** Uses since it entered its queue (S3-FIFO: 0..3; SIEVE: 0/1 visited). */
  freq: number;
  /** Which queue holds it (policy-specific). */
  queue: number;
  prev: Node<K> | null;
  next: Node<K> | null;
}

/** A doubly linked queue: `head` the newest, `tail` the oldest; bytes of its nodes. */
class Queue<K> {
  head: Node<K> | null = null;
  tail: Node<K> | null = null;
  bytes = 0;
  size = 0;

  pushHead(node: Node<K>): void {
    node.prev = null;
    node.next = this.head;
    if (this.head !== null) this.head.prev = node;
    this.head = node;
    if (this.tail === null) this.tail = node;
    this.bytes += node.bytes;
    this.size++;
  }

  unlink(node: Node<K>): void {
    if (node.prev !== null) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next !== null) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = null;
    node.next = null;
    this.bytes -= node.bytes;
    this.size--;
  }
}

/** How many kept (not evictable) keys a victim search passes before it gives up: every key is then pinned. */
function searchLimit(size: number): number {
  return size * 2 + 16;
}

abstract class Base<K> implements EvictionPolicy<K> {
  abstract readonly name: EvictionPolicyName;
  protected readonly nodes = new Map<K, Node<K>>();
  capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  abstract get bytes(): number;
  get size(): number {
    return this.nodes.size;
  }
  has(key: K): boolean {
    return this.nodes.has(key);
  }
  abstract insert(key: K, bytes: number, uses?: number): void;
  abstract hit(key: K, count?: number): void;
  abstract remove(key: K): void;
  abstract evict(mayEvict?: (key: K) => boolean): K | undefined;

  protected node(key: K, bytes: number, queue: number, freq: number): Node<K> {
    const node: Node<K> = { key, bytes, freq, queue, prev: null, next: null };
    this.nodes.set(key, node);
    return node;
  }
}

export class LruPolicy<K> extends Base<K> {
  readonly name = 'lru';
  readonly #q = new Queue<K>();

  get bytes(): number {
    return this.#q.bytes;
  }
  insert(key: K, bytes: number): void {
    this.remove(key);
    this.#q.pushHead(this.node(key, bytes, 0, 0));
  }
  hit(key: K): void {
    const node = this.nodes.get(key);
    if (node === undefined) return;
    this.#q.unlink(node);
    this.#q.pushHead(node);
  }
  remove(key: K): void {
    const node = this.nodes.get(key);
    if (node === undefined) return;
    this.#q.unlink(node);
    this.nodes.delete(key);
  }
  evict(mayEvict?: (key: K) => boolean): K | undefined {
    for (let i = searchLimit(this.#q.size); i > 0 && this.#q.tail !== null; i--) {
      const node = this.#q.tail;
      this.#q.unlink(node);
      if (mayEvict !== undefined && !mayEvict(node.key)) {
        this.#q.pushHead(node);
        continue;
      }
      this.nodes.delete(node.key);
      return node.key;
    }
    return undefined;
  }
}

/** SIEVE: newcomers at the head; the hand walks from the tail toward the head, clearing visited bits, and evicts the first unvisited object. */
export class SievePolicy<K> extends Base<K> {
  readonly name = 'sieve';
  readonly #q = new Queue<K>();
  #hand: Node<K> | null = null;

  get bytes(): number {
    return this.#q.bytes;
  }
  insert(key: K, bytes: number, uses = 0): void {
    this.remove(key);
    this.#q.pushHead(this.node(key, bytes, 0, uses > 0 ? 1 : 0));
  }
  hit(key: K): void {
    const node = this.nodes.get(key);
    if (node !== undefined) node.freq = 1;
  }
  remove(key: K): void {
    const node = this.nodes.get(key);
    if (node === undefined) return;
    if (this.#hand === node) this.#hand = node.prev;
    this.#q.unlink(node);
    this.nodes.delete(key);
  }
  evict(mayEvict?: (key: K) => boolean): K | undefined {
    let node = this.#hand ?? this.#q.tail;
    for (let i = searchLimit(this.#q.size) * 2; i > 0 && node !== null; i--) {
      if (node.freq > 0 || (mayEvict !== undefined && !mayEvict(node.key))) {
        node.freq = 0;
        node = node.prev ?? this.#q.tail;
        continue;
      }
      this.#hand = node.prev;
      this.#q.unlink(node);
      this.nodes.delete(node.key);
      return node.key;
    }
    this.#hand = node;
    return undefined;
  }
}

const S3_SMALL = 0;
const S3_MAIN = 1;
/** S3-FIFO's small queue: 10% of the capacity (the paper's default). */
const S3_SMALL_SHARE = 0.1;
const S3_MAX_FREQ = 3;

/** S3-FIFO: newcomers enter the small FIFO; one used again there moves to the main FIFO, the others leave (their key kept in the ghost FIFO, so a quick return enters main). */
export class S3FifoPolicy<K> extends Base<K> {
  readonly name = 's3fifo';
  readonly #small = new Queue<K>();
  readonly #main = new Queue<K>();
  /** Recently evicted keys and their bytes, oldest first; bounded by the main queue's capacity in bytes. */
  readonly #ghost = new Map<K, number>();
  #ghostBytes = 0;

  get bytes(): number {
    return this.#small.bytes + this.#main.bytes;
  }
  insert(key: K, bytes: number, uses?: number): void {
    this.remove(key);
    const ghost = this.#ghost.get(key);
    if (ghost !== undefined) {
      this.#ghost.delete(key);
      this.#ghostBytes -= ghost;
    }
    if (ghost !== undefined || (uses !== undefined && uses > 0)) this.#main.pushHead(this.node(key, bytes, S3_MAIN, 0));
    else this.#small.pushHead(this.node(key, bytes, S3_SMALL, 0));
  }
  hit(key: K, count = 1): void {
    const node = this.nodes.get(key);
    if (node !== undefined) node.freq = Math.min(S3_MAX_FREQ, node.freq + count);
  }
  remove(key: K): void {
    const node = this.nodes.get(key);
    if (node === undefined) return;
    (node.queue === S3_SMALL ? this.#small : this.#main).unlink(node);
    this.nodes.delete(key);
  }
  evict(mayEvict?: (key: K) => boolean): K | undefined {
    for (let i = searchLimit(this.nodes.size) * 4; i > 0; i--) {
      const fromSmall = this.#small.tail !== null && (this.#small.bytes >= this.capacity * S3_SMALL_SHARE || this.#main.tail === null);
      const node = fromSmall ? this.#small.tail : this.#main.tail;
      if (node === null) return undefined;
      const queue = fromSmall ? this.#small : this.#main;
      queue.unlink(node);
      if (mayEvict !== undefined && !mayEvict(node.key)) {
        queue.pushHead(node);
        continue;
      }
      if (fromSmall && node.freq > 0) {
        node.freq = 0;
        node.queue = S3_MAIN;
        this.#main.pushHead(node);
        continue;
      }
      if (!fromSmall && node.freq > 0) {
        node.freq--;
        this.#main.pushHead(node);
        continue;
      }
      this.nodes.delete(node.key);
      if (fromSmall) this.#remember(node.key, node.bytes);
      return node.key;
    }
    return undefined;
  }

  #remember(key: K, bytes: number): void {
    this.#ghost.set(key, bytes);
    this.#ghostBytes += bytes;
    const limit = this.capacity * (1 - S3_SMALL_SHARE);
    for (const [old, oldBytes] of this.#ghost) {
      if (this.#ghostBytes <= limit) break;
      this.#ghost.delete(old);
      this.#ghostBytes -= oldBytes;
    }
  }
}

const W_WINDOW = 0;
const W_PROBATION = 1;
const W_PROTECTED = 2;
/** Caffeine's defaults: a window of 1% of the capacity, and 80% of the main part protected. */
const W_WINDOW_SHARE = 0.01;
const W_PROTECTED_SHARE = 0.8;

/** W-TinyLFU: newcomers enter a small LRU window; one leaving it enters the main segmented LRU only if the sketch says it is asked for more often than the main's victim. */
export class WTinyLfuPolicy<K> extends Base<K> {
  readonly name = 'wtinylfu';
  readonly #window = new Queue<K>();
  readonly #probation = new Queue<K>();
  readonly #protected = new Queue<K>();
  readonly #sketch = new FrequencySketch(1024);
  readonly #hashOf: (key: K) => number;

  constructor(capacity: number, hashOf: (key: K) => number) {
    super(capacity);
    this.#hashOf = hashOf;
  }

  get bytes(): number {
    return this.#window.bytes + this.#probation.bytes + this.#protected.bytes;
  }
  insert(key: K, bytes: number, uses?: number): void {
    this.remove(key);
    const hash = this.#hashOf(key);
    this.#sketch.ensureCapacity(this.nodes.size + 1);
    this.#sketch.increment(hash);
    if (uses === undefined) {
      this.#window.pushHead(this.node(key, bytes, W_WINDOW, 0));
      return;
    }
    for (let i = Math.min(uses, 15); i > 0; i--) this.#sketch.increment(hash);
    if (uses > 1) this.#protected.pushHead(this.node(key, bytes, W_PROTECTED, 0));
    else this.#probation.pushHead(this.node(key, bytes, W_PROBATION, 0));
  }
  hit(key: K, count = 1): void {
    const hash = this.#hashOf(key);
    for (let i = Math.min(count, 15); i > 0; i--) this.#sketch.increment(hash);
    const node = this.nodes.get(key);
    if (node === undefined) return;
    this.#queue(node).unlink(node);
    if (node.queue === W_PROBATION) node.queue = W_PROTECTED;
    this.#queue(node).pushHead(node);
    this.#demote();
  }
  remove(key: K): void {
    const node = this.nodes.get(key);
    if (node === undefined) return;
    this.#queue(node).unlink(node);
    this.nodes.delete(key);
  }
  evict(mayEvict?: (key: K) => boolean): K | undefined {
    const windowCap = this.capacity * W_WINDOW_SHARE;
    for (let i = searchLimit(this.nodes.size) * 2; i > 0; i--) {
      const candidate = this.#window.tail;
      const victim = this.#mainTail();
      if (candidate !== null && (this.#window.bytes > windowCap || victim === null)) {
        this.#window.unlink(candidate);
        if (mayEvict !== undefined && !mayEvict(candidate.key)) {
          this.#window.pushHead(candidate);
          continue;
        }
        const mainRoom = this.capacity - windowCap - this.#probation.bytes - this.#protected.bytes;
        if (candidate.bytes > mainRoom && (victim === null || this.#sketch.frequency(this.#hashOf(candidate.key)) <= this.#sketch.frequency(this.#hashOf(victim.key)))) {
          this.nodes.delete(candidate.key);
          return candidate.key;
        }
        // It enters the main part at the probation's head; when there was no room, the victim goes below.
        candidate.queue = W_PROBATION;
        this.#probation.pushHead(candidate);
        if (candidate.bytes <= mainRoom) continue;
      }
      if (victim === null) return undefined;
      const queue = this.#queue(victim);
      queue.unlink(victim);
      if (mayEvict !== undefined && !mayEvict(victim.key)) {
        queue.pushHead(victim);
        continue;
      }
      this.nodes.delete(victim.key);
      return victim.key;
    }
    return undefined;
  }

  #mainTail(): Node<K> | null {
    return this.#probation.tail ?? this.#protected.tail;
  }

  /** Keeps the protected segment within its share of the main part, demoting its oldest to probation. */
  #demote(): void {
    const limit = (this.capacity * (1 - W_WINDOW_SHARE)) * W_PROTECTED_SHARE;
    while (this.#protected.bytes > limit && this.#protected.tail !== null) {
      const node = this.#protected.tail;
      this.#protected.unlink(node);
      node.queue = W_PROBATION;
      this.#probation.pushHead(node);
    }
  }

  #queue(node: Node<K>): Queue<K> {
    return node.queue === W_WINDOW ? this.#window : node.queue === W_PROBATION ? this.#probation : this.#protected;
  }
}

/** The policy `name` over `capacity` bytes; `hashOf` maps a key to 32 bits (W-TinyLFU's sketch). */
export function createEvictionPolicy<K>(name: EvictionPolicyName, capacity: number, hashOf: (key: K) => number): EvictionPolicy<K> {
  switch (name) {
    case 'lru':
      return new LruPolicy<K>(capacity);
    case 'sieve':
      return new SievePolicy<K>(capacity);
    case 's3fifo':
      return new S3FifoPolicy<K>(capacity);
    case 'wtinylfu':
      return new WTinyLfuPolicy<K>(capacity, hashOf);
  }
}
