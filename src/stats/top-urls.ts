/**
 * @module stats/top-urls
 * The most requested paths per vhost, in bounded memory: the Misra-Gries "frequent items" summary (the counting
 * cousin of Space-Saving). A worker keeps at most TOP_URL_CAPACITY counters per vhost; a path seen while the table
 * is full decrements every counter instead (those reaching zero go), which costs O(capacity) but at most once per
 * capacity new requests, so O(1) amortised: on the hot path a request is one Map lookup and store. Counts are
 * lower bounds, short of the truth by at most requests / (capacity + 1); summaries add up (Agarwal et al., mergeable
 * summaries), so the primary sums the workers' lists. Paths only (the query would multiply entries), cut at
 * TOP_URL_MAX_KEY characters. Counts run from the worker's start. Shared by workers (counting) and the primary (merging).
 */

/** Counters per vhost per worker. */
export const TOP_URL_CAPACITY = 128;
/** Entries per vhost a worker sends in a snapshot, and the primary shows. */
export const TOP_URL_REPORTED = 20;
/** Longest path kept (a longer one is cut here, so an attacker's long paths cannot grow the table's memory). */
export const TOP_URL_MAX_KEY = 256;

export class TopUrls {
  readonly #counts = new Map<string, number>();

  /** Counts one request for `path`. */
  observe(path: string): void {
    const key = path.length > TOP_URL_MAX_KEY ? path.slice(0, TOP_URL_MAX_KEY) : path;
    const counts = this.#counts;
    const n = counts.get(key);
    if (n !== undefined) counts.set(key, n + 1);
    else if (counts.size < TOP_URL_CAPACITY) counts.set(key, 1);
    else {
      for (const [k, v] of counts) {
        if (v <= 1) counts.delete(k);
        else counts.set(k, v - 1);
      }
    }
  }

  /** The `limit` largest counters, largest first, as [path, count] pairs (plain data for IPC). */
  top(limit = TOP_URL_REPORTED): Array<[string, number]> {
    return [...this.#counts].sort((a, b) => b[1] - a[1]).slice(0, limit);
  }
}

/** One row of the merged list. */
export interface TopUrl {
  readonly vhost: string;
  readonly path: string;
  readonly count: number;
}

/** Sums per-vhost lists of several workers and returns the `limit` largest over all vhosts, largest first. */
export function mergeTopUrls(lists: Iterable<Readonly<Record<string, ReadonlyArray<readonly [string, number]>>> | undefined>, limit = TOP_URL_REPORTED): TopUrl[] {
  const sums = new Map<string, { vhost: string; path: string; count: number }>();
  for (const list of lists) {
    if (list === undefined) continue;
    for (const [vhost, entries] of Object.entries(list)) {
      for (const [path, count] of entries) {
        const key = `${vhost}\n${path}`;
        const row = sums.get(key);
        if (row === undefined) sums.set(key, { vhost, path, count });
        else row.count += count;
      }
    }
  }
  return [...sums.values()].sort((a, b) => b.count - a.count || (a.vhost + a.path < b.vhost + b.path ? -1 : 1)).slice(0, limit);
}
