/**
 * @module admin/access
 * Who may call the management API: the client address must match an <Allow> entry (address or CIDR), and when a
 * token is configured the request must carry `Authorization: Bearer <token>`. Pure apart from node:net's
 * BlockList. Runs in the primary.
 */
import { BlockList, isIPv4 } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { ManagerConfig } from '../config/types.js';

export type AccessDecision = 'allowed' | 'address-denied' | 'token-required';

export class ManagerAccess {
  readonly #allow = new BlockList();
  readonly #token: Buffer | null;

  constructor(manager: ManagerConfig) {
    for (const entry of manager.allow) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const family = isIPv4(address) ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.#allow.addAddress(address, family);
      else this.#allow.addSubnet(address, Number(prefix), family);
    }
    this.#token = manager.token === null ? null : Buffer.from(`Bearer ${manager.token}`);
  }

  /** Decides for a peer address (as node reports it) and the Authorization header. */
  check(remoteAddress: string | undefined, authorization: string | undefined): AccessDecision {
    if (remoteAddress === undefined) return 'address-denied';
    const address = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
    if (!this.#allow.check(address, isIPv4(address) ? 'ipv4' : 'ipv6')) return 'address-denied';
    if (this.#token === null) return 'allowed';
    const given = Buffer.from(authorization ?? '');
    return given.length === this.#token.length && timingSafeEqual(given, this.#token) ? 'allowed' : 'token-required';
  }
}
