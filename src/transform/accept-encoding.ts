/**
 * @module transform/accept-encoding
 * Content negotiation on Accept-Encoding (RFC 9110 §12.5.3): which of the encodings a vhost offers a request gets.
 * A coding's weight is its own entry's q, else the `*` entry's, else 0 (not listed = not acceptable; `x-gzip` is
 * gzip, §8.4.1.3); the highest weight above 0 wins, ties going to the vhost's order. Strict and bounded: an entry
 * that is not `token *(; param)` or whose q is not a valid qvalue counts as absent, the first entry of a coding
 * counts (a later repeat cannot raise it), and a header longer than MAX_HEADER_CHARS or with more than MAX_ENTRIES
 * entries gets identity: no client needs that, and parsing it costs every request. No header, or nothing
 * acceptable, is identity (null); `identity;q=0` alone is answered with identity too (Flint never sends 406).
 * Pure; runs in workers.
 */
import type { CompressionEncoding } from '../config/types.js';

/** Longest Accept-Encoding value considered (characters); browsers send about 30. */
export const MAX_HEADER_CHARS = 512;
/** Most comma-separated entries considered. */
export const MAX_ENTRIES = 32;

/** RFC 9110 token (tchar run). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** RFC 9110 §12.4.2 qvalue. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The encoding `header` (the request's Accept-Encoding, repeated fields joined by ',') selects among `offered`
 * (preferred first), or null for identity.
 */
export function chooseEncoding(header: string | undefined, offered: readonly CompressionEncoding[]): CompressionEncoding | null {
  if (header === undefined || header.length === 0 || header.length > MAX_HEADER_CHARS) return null;
  const entries = header.split(',');
  if (entries.length > MAX_ENTRIES) return null;
  const weights = new Map<string, number>();
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if (parsed === null) continue;
    const coding = parsed.coding === 'x-gzip' ? 'gzip' : parsed.coding;
    if (!weights.has(coding)) weights.set(coding, parsed.q);
  }
  const any = weights.get('*');
  let best: CompressionEncoding | null = null;
  let bestQ = 0;
  for (const encoding of offered) {
    const q = weights.get(encoding) ?? any ?? 0;
    if (q > bestQ) {
      best = encoding;
      bestQ = q;
    }
  }
  return best;
}

/** `coding[;q=x][;other=y]` -> coding (lower-case) and weight, or null when malformed. */
function parseEntry(entry: string): { coding: string; q: number } | null {
  const parts = entry.split(';');
  const coding = (parts[0] as string).trim().toLowerCase();
  if (coding === '') return null;
  if (!TOKEN.test(coding)) return null;
  let q = 1;
  for (let i = 1; i < parts.length; i++) {
    const param = (parts[i] as string).trim();
    const eq = param.indexOf('=');
    if (eq <= 0) return null;
    const name = param.slice(0, eq).trim().toLowerCase();
    const value = param.slice(eq + 1).trim();
    if (name !== 'q') {
      if (!TOKEN.test(name)) return null;
      continue;
    }
    if (!QVALUE.test(value)) return null;
    q = Number(value);
  }
  return { coding, q };
}
