/**
 * @module primary/origin-members
 * Turns a vhost's `<Origin><Address>` list into members: an IP literal is one member as written; a DNS name is one
 * member per address it resolves to (node:dns lookup, every address). A failed lookup keeps the addresses the name
 * had before, so a DNS outage never empties a vhost. Runs only in the primary.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { OriginAddress } from '../config/types.js';
import { memberKey } from '../origin/members.js';

/** One resolved endpoint of a vhost. */
export interface ResolvedMember {
  /** `ip:port` / `[v6]:port` (origin/members.ts). */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  /** The `<Address>` it came from (its text, path prefix and, for a DNS name, the name to send as Host). */
  readonly address: OriginAddress;
  /** True when `address` is a DNS name (the member can come and go with DNS). */
  readonly fromDns: boolean;
}

export type Resolver = (host: string) => Promise<readonly string[]>;

/** node:dns lookup of every address of `host` (what the OS resolver returns, /etc/hosts included). */
export const dnsResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The members of `addresses`. `previous` holds the last good IPs per DNS name (updated in place); a name that fails
 * to resolve keeps them, and `failures` gets one line per name that failed.
 */
export async function resolveMembers(
  addresses: readonly OriginAddress[],
  previous: Map<string, readonly string[]>,
  failures: string[],
  resolve: Resolver = dnsResolver,
): Promise<ResolvedMember[]> {
  const members = new Map<string, ResolvedMember>();
  for (const address of addresses) {
    let ips: readonly string[];
    const fromDns = isIP(address.host) === 0;
    if (!fromDns) ips = [address.host];
    else {
      try {
        ips = await resolve(address.host);
        if (ips.length === 0) throw new Error('no addresses');
        previous.set(address.host, ips);
      } catch (error) {
        failures.push(`${address.host}: ${(error as Error).message}`);
        ips = previous.get(address.host) ?? [];
      }
    }
    for (const ip of ips) {
      const key = memberKey(ip, address.port);
      if (!members.has(key)) members.set(key, { key, ip, port: address.port, address, fromDns });
    }
  }
  return [...members.values()];
}
