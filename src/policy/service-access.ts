/**
 * @module policy/service-access
 * `<ServiceAccess Default>` (STON, server.xml) compiled once per config: an address in an `<Allow>` entry is
 * served, else one in a `<Deny>` entry is refused, else Default decides. It applies to every vhost and runs first
 * in the worker's request entry (pipeline/edge.ts #route), before routing; uWS.js offers no hook at accept time,
 * so a refused client still completes its TCP handshake and sends one request head. Pure; runs in workers.
 */
import { BlockList } from 'node:net';
import type { ServiceAccessConfig } from '../config/types.js';
import { addAddressOrRange } from './address-list.js';

export class ServiceAccess {
  readonly #allow: BlockList | null;
  readonly #deny: BlockList | null;
  readonly #defaultAllow: boolean;

  constructor(config: ServiceAccessConfig) {
    this.#allow = listOf(config.allow);
    this.#deny = listOf(config.deny);
    this.#defaultAllow = config.defaultAction === 'allow';
  }

  /** True when the config refuses nobody: the request entry skips the check (and the peer-address read). */
  get open(): boolean {
    return this.#defaultAllow && this.#deny === null;
  }

  /** True when the client at `ip` may be served. */
  admits(ip: string): boolean {
    const family = ip.includes(':') ? 'ipv6' : 'ipv4';
    if (this.#allow !== null && this.#allow.check(ip, family)) return true;
    if (this.#deny !== null && this.#deny.check(ip, family)) return false;
    return this.#defaultAllow;
  }
}

function listOf(entries: readonly string[]): BlockList | null {
  if (entries.length === 0) return null;
  const list = new BlockList();
  for (const e of entries) addAddressOrRange(list, e);
  return list;
}
