/**
 * @module policy/address-list
 * Adds a validated `<Allow>` / ClientIp entry (an IPv4/IPv6 address or CIDR range) to a node:net BlockList, the one
 * way Flint matches client addresses. Pure apart from node:net.
 */
import type { BlockList } from 'node:net';
import { isIPv4 } from 'node:net';

export function addAddressOrRange(list: BlockList, entry: string): void {
  const [address = '', prefix] = entry.split('/');
  const family = isIPv4(address) ? 'ipv4' : 'ipv6';
  if (prefix === undefined) list.addAddress(address, family);
  else list.addSubnet(address, Number(prefix), family);
}
