/**
 * @module policy/address-rank
 * Address ranges that each carry a rank (a rule's position in its list), answering "the lowest rank among the
 * ranges that contain this address" with one binary search: the form a list of `$IP[...]`-only acl lines takes,
 * so first-match order holds across a thousand overlapping CIDRs without testing them one by one. Built once per
 * config by a sweep over the range ends (n log n): the address space is cut into disjoint segments, each labelled
 * with the lowest rank covering it. Pure; runs in workers.
 */
import { rangeBounds } from './address-set.js';
import type { AddressValue } from './address-set.js';

/** Disjoint sorted segments [start, end] -> rank, of one family. */
interface Segments<T> {
  readonly starts: T[];
  readonly ends: T[];
  readonly ranks: number[];
}

interface Ranked<T> {
  readonly start: T;
  readonly end: T;
  readonly rank: number;
}

/** A min-heap of active ranges by rank (the sweep's "who covers this point first"). */
class RankHeap<T> {
  readonly #items: Array<Ranked<T>> = [];

  get size(): number {
    return this.#items.length;
  }

  top(): Ranked<T> | undefined {
    return this.#items[0];
  }

  push(item: Ranked<T>): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((a[parent] as Ranked<T>).rank <= item.rank) break;
      a[i] = a[parent] as Ranked<T>;
      i = parent;
    }
    a[i] = item;
  }

  pop(): void {
    const a = this.#items;
    const last = a.pop();
    if (last === undefined || a.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && (a[r] as Ranked<T>).rank < (a[l] as Ranked<T>).rank ? r : l;
      if ((a[c] as Ranked<T>).rank >= last.rank) break;
      a[i] = a[c] as Ranked<T>;
      i = c;
    }
    a[i] = last;
  }
}

/**
 * Cuts ranked ranges into disjoint segments labelled with the lowest covering rank; `next(x)` is x + 1 and
 * `prev(x)` x - 1. Every range [s, e] puts cuts at s and e + 1, so each segment between two cuts lies wholly inside
 * or wholly outside each range: the ranges covering a segment are those started at or before it and not yet ended.
 */
function sweep<T extends number | bigint>(ranges: Array<Ranked<T>>, next: (x: T) => T, prev: (x: T) => T): Segments<T> {
  const out: Segments<T> = { starts: [], ends: [], ranks: [] };
  if (ranges.length === 0) return out;
  const order = (a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);
  ranges.sort((a, b) => order(a.start, b.start));
  const all: T[] = [];
  for (const r of ranges) all.push(r.start, next(r.end));
  all.sort(order);
  const cuts: T[] = [];
  for (const c of all) if (cuts.length === 0 || cuts[cuts.length - 1] !== c) cuts.push(c);
  const heap = new RankHeap<T>();
  let added = 0;
  // The last cut is some range's end + 1: nothing covers it or anything above.
  for (let i = 0; i + 1 < cuts.length; i++) {
    const at = cuts[i] as T;
    while (added < ranges.length && (ranges[added] as Ranked<T>).start <= at) heap.push(ranges[added++] as Ranked<T>);
    // Ranges that ended below this cut leave lazily: only the top's rank is read.
    while (heap.size > 0 && (heap.top() as Ranked<T>).end < at) heap.pop();
    const top = heap.top();
    if (top === undefined) continue;
    const end = prev(cuts[i + 1] as T);
    const last = out.ranks.length - 1;
    if (last >= 0 && out.ranks[last] === top.rank && next(out.ends[last] as T) === at) out.ends[last] = end;
    else {
      out.starts.push(at);
      out.ends.push(end);
      out.ranks.push(top.rank);
    }
  }
  return out;
}

function lookup<T extends number | bigint>(s: Segments<T>, v: T): number {
  let lo = 0;
  let hi = s.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (v < (s.starts[mid] as T)) hi = mid - 1;
    else if (v > (s.ends[mid] as T)) lo = mid + 1;
    else return s.ranks[mid] as number;
  }
  return -1;
}

/** Ranked address ranges; `lowest(v)` is the lowest rank whose range holds `v`, or -1. */
export class AddressRank {
  readonly #v4: Segments<number>;
  readonly #v6: Segments<bigint>;
  /** The lowest rank of all (Infinity when empty): a caller that already has a better match skips the lookup. */
  readonly minRank: number;

  /** `ranges`: validated range text (rangeBounds) with its rank; ranks need not be unique or sorted. */
  constructor(ranges: ReadonlyArray<{ readonly range: string; readonly rank: number }>) {
    const v4: Array<Ranked<number>> = [];
    const v6: Array<Ranked<bigint>> = [];
    let min = Number.POSITIVE_INFINITY;
    for (const { range, rank } of ranges) {
      const b = rangeBounds(range);
      if (b.v4) v4.push({ start: b.start, end: b.end, rank });
      else v6.push({ start: b.start, end: b.end, rank });
      if (rank < min) min = rank;
    }
    this.#v4 = sweep(v4, (x) => x + 1, (x) => x - 1);
    this.#v6 = sweep(v6, (x) => x + 1n, (x) => x - 1n);
    this.minRank = min;
  }

  /** The lowest rank of the ranges holding address value `v` (policy/address-set.ts clientAddressOf), or -1. */
  lowest(v: AddressValue | null): number {
    if (v === null) return -1;
    return typeof v === 'number' ? lookup(this.#v4, v) : lookup(this.#v6, v);
  }
}
