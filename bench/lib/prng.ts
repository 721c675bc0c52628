/**
 * @module bench/lib/prng
 * The bench's one seeded PRNG (mulberry32): tiny, fast, and the same sequence on every machine, so a workload drawn
 * from it (range-256m's ranges, zipf's request sequence) is the same for every product and every run. Pure.
 */

/** A function returning uniform numbers in [0, 1) from a 32-bit seed (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform number in [0, 1) that depends on `n` alone (murmur3's 32-bit finalizer), for per-id properties. */
export function hashUniform(n: number): number {
  let h = Math.imul((n >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
