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
 * The text of an address value: dotted IPv4 (an IPv4-mapped peer shows as plain IPv4, as RequestHead.clientIp
 * promises), IPv6 as uWS's getRemoteAddressAsText writes it (eight groups of four lower-case hex digits).
 */
export function peerText(value: AddressValue | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return `${Math.floor(value / 0x1000000)}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
  let out = '';
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    out += ((value >> shift) & 0xffffn).toString(16).padStart(4, '0');
    if (shift > 0n) out += ':';
  }
  return out;
}
