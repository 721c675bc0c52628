/**
 * @module policy/service-access
 * `<ServiceAccess Default>` (STON, server.xml) compiled once per config: an address in an `<Allow>` entry is
 * served, else one in a `<Deny>` entry is refused, else Default decides. It applies to every vhost and runs first
 * in the worker's request entry (pipeline/edge.ts #route), before routing; uWS.js offers no hook at accept time,
 * so a refused client still completes its TCP handshake and sends one request head. Pure; runs in workers.
 */
import type { ServiceAccessConfig } from '../config/types.js';
import { AddressSet, clientAddressOf } from './address-set.js';
import type { ClientAddressSource } from './address-set.js';

export class ServiceAccess {
  readonly #allow: AddressSet | null;
  readonly #deny: AddressSet | null;
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

  /** True when `client` (a request head: its address value, no text round trip) may be served. */
  admits(client: ClientAddressSource): boolean {
    const v = clientAddressOf(client);
    if (this.#allow !== null && this.#allow.hasValue(v)) return true;
    if (this.#deny !== null && this.#deny.hasValue(v)) return false;
    return this.#defaultAllow;
  }
}

function listOf(entries: readonly string[]): AddressSet | null {
  return entries.length === 0 ? null : new AddressSet(entries);
}
