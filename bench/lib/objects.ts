/**
 * @module bench/lib/objects
 * The objects every origin serves (same paths, sizes and bytes whichever origin kind runs), and the header that
 * marks a response as coming from the bench origin. Imported by the uWS origin process and by the bench.
 */

/** Objects by URL path -> body size in bytes. */
export const ORIGIN_OBJECTS: Readonly<Record<string, number>> = {
  '/1k': 1024,
  '/64k': 64 * 1024,
};

/** Response header (value: the origin kind) proving a response came from the bench origin, through any proxy. */
export const ORIGIN_MARK_HEADER = 'x-bench-origin';

/** The body of an object: a repeating a..z pattern, so a truncated or shifted body is visible. */
export function objectBody(size: number): Buffer {
  const b = Buffer.allocUnsafeSlow(size);
  for (let i = 0; i < size; i++) b[i] = 97 + (i % 26);
  return b;
}
