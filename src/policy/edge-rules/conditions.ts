/**
 * @module policy/edge-rules/conditions
 * Compiles the request conditions of one edge rule (EdgeCondition data) into a matcher built once per config:
 * methods in a Set, addresses in an AddressSet (sorted intervals), header value globs as anchored case-insensitive
 * regexes, countries in a Set looked up through the config's GeoIP database (policy/geoip.ts).
 * The URL condition is not checked here: the rule lists index it in a UrlGlobSet (policy/edge-rules/rule-list.ts), so
 * only rules whose glob matched the path are ever tested. Pure; runs in workers.
 */
import type { EdgeCondition } from '../../config/types.js';
import type { RequestHead } from '../../http/request.js';
import { AddressSet, clientAddressOf } from '../address-set.js';
import type { GeoIp } from '../geoip.js';
import { globSource } from '../url-glob.js';

interface HeaderTest {
  /** Lower-case name (uWS gives names lower-case). */
  readonly name: string;
  /** Anchored value test; null = presence is enough. */
  readonly value: RegExp | null;
}

/** The non-URL conditions of one rule, compiled; `holds(head)` is true when all of them hold. */
export class RequestConditions {
  readonly #methods: ReadonlySet<string> | null;
  readonly #clients: AddressSet | null;
  readonly #header: HeaderTest | null;
  readonly #countries: ReadonlySet<string> | null;
  readonly #geo: GeoIp | null;

  /** `conditions` all must hold. `geo` answers `geo` conditions (validation makes sure a config with one names a database). */
  constructor(conditions: readonly EdgeCondition[], geo: GeoIp | null = null) {
    let methods: Set<string> | null = null;
    let clients: AddressSet | null = null;
    let header: HeaderTest | null = null;
    let countries: Set<string> | null = null;
    for (const c of conditions) {
      if (c.kind === 'geo') {
        if (geo === null) throw new Error('a $GEO condition needs a GeoIP database');
        countries = new Set(c.countries);
      }
      if (c.kind === 'method') methods = new Set(c.methods);
      else if (c.kind === 'ip') {
        clients = new AddressSet([c.range]);
      } else if (c.kind === 'header') {
        // Case-insensitive values: host names in Referer/Origin are, and a deny rule must not be dodged by case.
        header = { name: c.name, value: c.value === null ? null : new RegExp(`^${globSource(c.value)}$`, 'i') };
      }
    }
    this.#methods = methods;
    this.#clients = clients;
    this.#header = header;
    this.#countries = countries;
    this.#geo = geo;
  }

  /** True when every condition holds for `head` (a rule without conditions always holds). */
  holds(head: RequestHead): boolean {
    if (this.#methods !== null && !this.#methods.has(head.method)) return false;
    if (this.#header !== null && !headerHolds(this.#header, head.headers)) return false;
    // Last: the peer address is a syscall on first use (http/request.ts), read only when the rest held.
    if (this.#clients !== null && !this.#clients.hasValue(clientAddressOf(head))) return false;
    if (this.#countries !== null && !this.#countries.has((this.#geo as GeoIp).country(head.clientIp) ?? '')) return false;
    return true;
  }
}

function headerHolds(test: HeaderTest, headers: readonly string[]): boolean {
  const name = test.name;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== name) continue;
    if (test.value === null || test.value.test(headers[i + 1] as string)) return true;
  }
  return false;
}

/** The URL glob of a rule's conditions, or null (any URL). */
export function urlGlobOf(conditions: readonly EdgeCondition[]): string | null {
  for (const c of conditions) if (c.kind === 'url') return c.glob;
  return null;
}
