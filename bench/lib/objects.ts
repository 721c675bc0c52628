/**
 * @module bench/lib/objects
 * The objects every origin serves (same paths, sizes and bytes whichever origin kind runs), the header that
 * marks a response as coming from the bench origin, and the byte content of every object. Imported by the uWS
 * origin process, the load clients and the bench.
 *
 * Content: every object is the prefix of one endless text of 16-byte lines, line n being the byte offset n*16 as
 * 15 lowercase hex digits and a '\n' ("000000000000000\n000000000000010\n..."). So the byte at offset i depends on
 * i alone: a truncated, shifted or mis-ranged body never matches, and `objectBytes(a, b)` gives the expected bytes
 * of any range without keeping the object around.
 */

/** Objects that are never cached (`Cache-Control: no-store`), by URL path -> body size in bytes. */
export const ORIGIN_OBJECTS: Readonly<Record<string, number>> = {
  '/1k': 1024,
  '/64k': 64 * 1024,
};

/**
 * Cacheable objects of the uWS origin, by name -> body size in bytes. `/c/<name>` and anything below it
 * (`/c/1k/m/x/17`) answer that many bytes with `Cache-Control: public, max-age=3600`, so each distinct path is
 * its own cacheable object of that size.
 */
export const CACHE_OBJECTS = {
  '1k': 1024,
  '64k': 64 * 1024,
  '1m': 1024 ** 2,
  '64m': 64 * 1024 ** 2,
  '256m': 256 * 1024 ** 2,
} as const;
export type CacheObjectName = keyof typeof CACHE_OBJECTS;

/**
 * Tagged twins of the cacheable objects (the `miss-tagged` scenario): `/t<n>/<name>[/anything]` answers exactly as
 * `/c/<name>[/anything]` plus `Surrogate-Key` with the n tags below, so a miss of a tagged object differs from a
 * miss of an untagged one by the tags alone. Every object of a set carries the same tags (as a page type or a
 * product list would); the index still holds one entry per tag and object.
 */
export const TAG_SETS: Readonly<Record<string, string>> = {
  '3': 'a b c',
  '10': 'a b c d e f g h i j',
};

/** Path of tagged object `name` with tag set `tags` (a TAG_SETS key), made distinct by `suffix` like cachePath. */
export function taggedPath(tags: string, name: CacheObjectName, suffix: string): string {
  return `/t${tags}/${name}/${suffix}`;
}

/** Freshness the origin gives every cacheable object (RFC 9111 §5.2.2.1 max-age), in seconds: outlasts any run. */
export const CACHE_MAX_AGE_S = 3600;

/** The largest object any origin serves; the uWS origin keeps this many content bytes in memory. */
export const LARGEST_OBJECT_BYTES = CACHE_OBJECTS['256m'];

/** Response header (value: the origin kind) proving a response came from the bench origin, through any proxy. */
export const ORIGIN_MARK_HEADER = 'x-bench-origin';

/** Path prefix of the uWS origin's own endpoints (never proxied by a scenario): counts per path. */
export const ORIGIN_ADMIN_PREFIX = '/__bench/';

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const LINE = 16;

/**
 * The content bytes [start, end) of any object (see the module header). Offsets must be below 2^32, which every
 * object here is (at most 256 MiB). About 0.5 s per 256 MiB.
 */
export function objectBytes(start: number, end: number): Buffer {
  if (!(start >= 0 && end >= start && end <= 2 ** 32)) throw new Error(`objectBytes: bad range [${start}, ${end})`);
  const firstLine = Math.floor(start / LINE);
  const lastLine = Math.ceil(end / LINE);
  const buf = Buffer.allocUnsafeSlow((lastLine - firstLine) * LINE);
  let p = 0;
  for (let line = firstLine; line < lastLine; line++) {
    let v = line * LINE;
    for (let d = LINE - 2; d >= 0; d--) {
      buf[p + d] = HEX[v & 15] as number;
      v >>>= 4;
    }
    buf[p + LINE - 1] = 10;
    p += LINE;
  }
  const skip = start - firstLine * LINE;
  return buf.subarray(skip, skip + (end - start));
}

/** The whole body of an object of `size` bytes. */
export function objectBody(size: number): Buffer {
  return objectBytes(0, size);
}

/** Path of cacheable object `name`, optionally made distinct by a suffix ('cold/flint-1w' -> /c/64m/cold/flint-1w). */
export function cachePath(name: CacheObjectName, suffix = ''): string {
  return suffix === '' ? `/c/${name}` : `/c/${name}/${suffix}`;
}

/** The bench origin's 2 MP JPEG (bench/origin.ts), the DIMS scenario's source. */
export const BENCH_IMAGE_PATH = '/img/2mp.jpg';

/**
 * The key under which the origin counts a path: the path with a trailing run of digits and dashes replaced by
 * '*', so the distinct URLs of a miss run (/c/1k/m/flint-1w/1-17) count under one key (/c/1k/m/flint-1w/*).
 */
export function countKey(path: string): string {
  return path.replace(/\/[\d-]+$/, '/*');
}
