/**
 * @module http/range
 * Range requests (RFC 9110 §14): parses a `Range: bytes=...` header against a representation size, and lays out a
 * multipart/byteranges body (§14.6) so the caller can stream each part from storage with a Content-Length known up
 * front. Pure (the boundary is the caller's, no randomness here); runs in workers. Range applies to GET only
 * (§14.2); the caller checks the method and If-Range. Invariant: every returned range satisfies
 * 0 <= start <= end < size, and ranges of one result never overlap or touch.
 */
import { FlintError } from '../errors.js';

/**
 * Most range-specs accepted in one header. More is a classic amplification trick (many tiny or overlapping ranges,
 * §14.2 lets a server ignore such requests), so the header is ignored and the whole representation sent (200).
 */
export const MAX_RANGES = 64;

/** A byte range, both ends inclusive (RFC 9110 §14.1.2). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Kinds of parse result: no usable Range header (send 200), ranges to send (206), or none satisfiable (416). */
export const RANGE_KINDS = ['none', 'ranges', 'unsatisfiable'] as const;
export type RangeKind = (typeof RANGE_KINDS)[number];

/** Result of parseRange. */
export type RangeRequest =
  | { readonly kind: 'none' }
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] }
  | { readonly kind: 'unsatisfiable' };

/** One part of a multipart/byteranges body: `head` bytes, then representation bytes start..end (inclusive). */
export interface MultipartPart {
  readonly head: Buffer;
  readonly start: number;
  readonly end: number;
}

/** A multipart/byteranges body: each part's head and byte range in order, then `tail`; totalLength in bytes. */
export interface MultipartLayout {
  readonly parts: readonly MultipartPart[];
  readonly tail: Buffer;
  readonly totalLength: number;
}

const NONE: RangeRequest = Object.freeze({ kind: 'none' });
const UNSATISFIABLE: RangeRequest = Object.freeze({ kind: 'unsatisfiable' });
const RANGE_SPEC = /^([0-9]*)-([0-9]*)$/;

/** A range-spec as written: first-last, first- (last null) or -suffix (first null). */
interface RangeSpec {
  readonly first: number | null;
  readonly last: number | null;
}

/** The range-specs of a `bytes=` header, or null when it is not one we use (other unit, bad syntax, too many). */
function parseSpecs(header: string): RangeSpec[] | null {
  const eq = header.indexOf('=');
  if (eq < 0) return null;
  // §14.1: range units are case-insensitive; only `bytes` is defined (§14.1.2), others are ignored.
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return null;
  const specs: RangeSpec[] = [];
  for (const element of header.slice(eq + 1).split(',')) {
    const text = element.trim();
    if (text === '') continue; // RFC 9110 §5.6.1.2: empty list elements are ignored.
    if (specs.length === MAX_RANGES) return null;
    const m = RANGE_SPEC.exec(text);
    if (m === null) return null;
    const firstText = m[1] as string;
    const lastText = m[2] as string;
    if (firstText === '' && lastText === '') return null;
    const first = firstText === '' ? null : Number(firstText);
    const last = lastText === '' ? null : Number(lastText);
    // §14.1.1: last-pos below first-pos makes the whole ranges-specifier invalid.
    if (first !== null && last !== null && last < first) return null;
    specs.push({ first, last });
  }
  return specs.length === 0 ? null : specs;
}

/**
 * Merges overlapping or adjacent ranges (§14.6 allows coalescing) and keeps the order in which each merged range
 * first appeared in the request (§14.6: parts SHOULD follow the request order).
 */
function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = ranges.map((r, order) => ({ start: r.start, end: r.end, order })).sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Array<{ start: number; end: number; order: number }> = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r.start <= last.end + 1) {
      last.end = Math.max(last.end, r.end);
      last.order = Math.min(last.order, r.order);
    } else {
      merged.push({ ...r });
    }
  }
  merged.sort((a, b) => a.order - b.order);
  return merged.map(({ start, end }) => ({ start, end }));
}

/**
 * Parses a Range header against a representation of `size` bytes (RFC 9110 §14.1.2, §14.2). 'none' when the header
 * is absent, not `bytes`, syntactically invalid or has more than MAX_RANGES specs (ignored: send 200); 'unsatisfiable'
 * when no spec is satisfiable, which is always the case for size 0 (send 416); else the satisfiable ranges, clamped
 * to the size, in request order, coalesced when there are several.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return NONE;
  const specs = parseSpecs(header);
  if (specs === null) return NONE;
  if (size <= 0) return UNSATISFIABLE;
  const ranges: ByteRange[] = [];
  for (const { first, last } of specs) {
    if (first === null) {
      // suffix-range: the last `last` bytes, all of them when the representation is shorter; -0 is unsatisfiable.
      const suffix = last as number;
      if (suffix > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
    } else if (first < size) {
      // int-range: satisfiable when first-pos < size; a last-pos beyond the end is clamped.
      ranges.push({ start: first, end: last === null ? size - 1 : Math.min(last, size - 1) });
    }
  }
  if (ranges.length === 0) return UNSATISFIABLE;
  return { kind: 'ranges', ranges: ranges.length === 1 ? ranges : coalesce(ranges) };
}

/** Content-Range value of a 206 part: `bytes start-end/size` (RFC 9110 §14.4). */
export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}

/** Content-Range value of a 416: the unsatisfied-range form, `bytes `, an asterisk, `/`, size (RFC 9110 §14.4, §15.5.17). */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}

/** Boundaries we accept: 1-70 RFC 2046 bchars that are also token characters, so the parameter needs no quoting. */
const BOUNDARY = /^[0-9A-Za-z'+_.-]{1,70}$/;

/** Content-Type of a multipart/byteranges response with `boundary` (RFC 9110 §14.6). */
export function multipartContentType(boundary: string): string {
  return `multipart/byteranges; boundary=${boundary}`;
}

/**
 * Lays out a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1) for `ranges` of a `size`-byte
 * representation. Bytes on the wire: for each part, `head` (CRLF before every part but the first, then
 * `--boundary`, Content-Type when given, Content-Range, blank line) followed by the range's bytes; then `tail`
 * (`CRLF--boundary--CRLF`). totalLength is the exact body length. Throws FLINT_ERR_INTERNAL on a boundary outside
 * /[0-9A-Za-z'+_.-]{1,70}/ or a range outside the representation (both are caller bugs).
 */
export function buildMultipartParts(ranges: readonly ByteRange[], size: number, contentType: string | null, boundary: string): MultipartLayout {
  if (!BOUNDARY.test(boundary)) {
    throw new FlintError('FLINT_ERR_INTERNAL', `invalid multipart boundary ${JSON.stringify(boundary)}`, { source: 'internal' });
  }
  const typeLine = contentType === null || contentType === '' ? '' : `Content-Type: ${contentType}\r\n`;
  const parts: MultipartPart[] = [];
  let totalLength = 0;
  ranges.forEach(({ start, end }, i) => {
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end < size)) {
      throw new FlintError('FLINT_ERR_INTERNAL', `range ${start}-${end} outside a ${size}-byte representation`, { source: 'internal' });
    }
    // The CRLF ending the previous part's bytes belongs to this delimiter (RFC 2046 §5.1.1).
    const text = `${i === 0 ? '' : '\r\n'}--${boundary}\r\n${typeLine}Content-Range: ${contentRange(start, end, size)}\r\n\r\n`;
    // latin1 keeps header bytes as received from the origin (Node decodes header values as latin1).
    const head = Buffer.from(text, 'latin1');
    parts.push({ head, start, end });
    totalLength += head.length + (end - start + 1);
  });
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  return { parts, tail, totalLength: totalLength + tail.length };
}
