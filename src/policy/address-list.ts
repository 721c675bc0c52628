/**
 * @module policy/address-list
 * Adds a validated `<Allow>` / ClientIp / `$IP[...]` entry (an IPv4/IPv6 address, CIDR range, or STON's IPv4
 * `a.b.c.x-y` range) to a node:net BlockList, the one way Flint matches client addresses. Pure apart from node:net.
 */
import type { BlockList } from 'node:net';
import { isIPv4 } from 'node:net';

export function addAddressOrRange(list: BlockList, entry: string): void {
  const range = /^(\d+\.\d+\.\d+\.)(\d+)-(\d+)$/.exec(entry);
  if (range !== null) {
    list.addRange(`${range[1]}${range[2]}`, `${range[1]}${range[3]}`, 'ipv4');
    return;
  }
  const [address = '', prefix] = entry.split('/');
  const family = isIPv4(address) ? 'ipv4' : 'ipv6';
  if (prefix === undefined) list.addAddress(address, family);
  else list.addSubnet(address, Number(prefix), family);
}
