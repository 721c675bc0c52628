/**
 * @module http/peer-address
 * The client address as uWS gives it in binary (getRemoteAddress: 4 bytes for IPv4, 16 for IPv6), turned into the
 * value the address matchers compare (policy/address-set.ts: a number for IPv4 and IPv4-mapped IPv6, a bigint for
 * IPv6) and, only when something asks for text, into text. Reading the binary form and converting it here costs
 * about 0.74 us per request against 1.2 us for getRemoteAddressAsText plus a Buffer round trip and a re-parse
 * (measured in a uWS handler, 2026-12-06): a `$IP` acl line pays this on every request. Runs in workers.
 */
import type { AddressValue } from '../policy/address-set.js';

/** The value of a uWS binary address, or null (an empty buffer: uWS could not tell, or the response is over). */
export function peerValue(binary: ArrayBuffer): AddressValue | null {
  const b = new Uint8Array(binary);
  if (b.length === 4) return ((b[0] as number) * 0x1000000 + (((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number))) as number;
  if (b.length !== 16) return null;
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (b[i] !== 0) mapped = false;
  if (mapped) return (b[12] as number) * 0x1000000 + (((b[13] as number) << 16) | ((b[14] as number) << 8) | (b[15] as number));
  const view = new DataView(binary);
  return (view.getBigUint64(0) << 64n) | view.getBigUint64(8);
}

/**
 * The text of an address value: dotted IPv4 (an IPv4-mapped peer shows as plain IPv4), IPv6 in its RFC 5952 form
 * (lower-case, no leading zeros, the longest run of two or more zero groups as `::`), the form node:net gives the
 * TLS front end and operators write in `flint sign-url --client-ip`, so logs, X-Forwarded-For, `#CLIENTIP` and a
 * signed URL's bound address read the same on both front ends.
 */
export function peerText(value: AddressValue | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return `${Math.floor(value / 0x1000000)}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestAt = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]): string => list.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLength))}`;
}
