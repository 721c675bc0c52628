/**
 * @module policy/service-access
 * `<ServiceAccess Default>` (STON, server.xml) compiled once per config: an address in an `<Allow>` entry is
 * served, else one in a `<Deny>` entry is refused, else Default decides. An entry may be a country code (STON's
 * `<Deny>KR</Deny>`), looked up in the `GeoIP` database (policy/geoip.ts). It applies to every vhost and runs first
 * in the worker's request entry (pipeline/edge.ts #route), before routing; uWS.js offers no hook at accept time,
 * so a refused client still completes its TCP handshake and sends one request head. Pure; runs in workers.
 */
import type { ServiceAccessConfig } from '../config/types.js';
import { AddressSet, clientAddressOf } from './address-set.js';
import type { ClientAddressSource } from './address-set.js';
import { isCountry } from './country-codes.js';
import type { GeoIp } from './geoip.js';

/** One `<Allow>` or `<Deny>` list: its address ranges and its countries (STON's `<Deny>KR</Deny>`). */
interface EntryList {
  readonly addresses: AddressSet | null;
  readonly countries: ReadonlySet<string> | null;
}

export class ServiceAccess {
  readonly #allow: EntryList;
  readonly #deny: EntryList;
  readonly #defaultAllow: boolean;
  readonly #geo: GeoIp | null;

  /** `geo` answers country entries (validation makes sure a config with one names a database). */
  constructor(config: ServiceAccessConfig, geo: GeoIp | null = null) {
    this.#allow = listOf(config.allow);
    this.#deny = listOf(config.deny);
    this.#defaultAllow = config.defaultAction === 'allow';
    if (geo === null && (this.#allow.countries !== null || this.#deny.countries !== null)) throw new Error('country entries need a GeoIP database');
    this.#geo = geo;
  }

  /** True when the config refuses nobody: the request entry skips the check (and the peer-address read). */
  get open(): boolean {
    return this.#defaultAllow && this.#deny.addresses === null && this.#deny.countries === null;
  }

  /** True when `client` (a request head: its address value, no text round trip) may be served. */
  admits(client: ClientAddressSource): boolean {
    if (this.#holds(this.#allow, client)) return true;
    if (this.#holds(this.#deny, client)) return false;
    return this.#defaultAllow;
  }

  #holds(list: EntryList, client: ClientAddressSource): boolean {
    if (list.addresses !== null && list.addresses.hasValue(clientAddressOf(client))) return true;
    return list.countries !== null && list.countries.has((this.#geo as GeoIp).country(client.clientIp) ?? '');
  }
}

function listOf(entries: readonly string[]): EntryList {
  const addresses = entries.filter((e) => !isCountry(e));
  const countries = entries.filter(isCountry);
  return { addresses: addresses.length === 0 ? null : new AddressSet(addresses), countries: countries.length === 0 ? null : new Set(countries) };
}
