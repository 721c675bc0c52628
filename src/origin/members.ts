/**
 * @module origin/members
 * Which endpoints each vhost's origin requests may go to. Every `<Address>` (and standby `<Address2>`) becomes one
 * member per resolved IP, keyed `ip:port` (`[v6]:port`); DNS names are resolved with every address (dns.lookup
 * `all`) and re-resolved every `<DnsRefresh>`. A failed or empty re-resolution keeps the last good set, so the
 * member list never empties; until a name's first answer arrives the name itself stands in as a member (undici
 * resolves it). Runs in workers (each resolves on its own; selection does not depend on the order of answers).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Config, OriginAddress, Vhost } from '../config/types.js';
import type { Logger } from '../log.js';

/** One endpoint an origin transaction can go to. */
export interface OriginMember {
  /** `ip:port` or `[v6]:port`: the name health, stats and logs use. */
  readonly key: string;
  /** The configured address with `host` replaced by the resolved IP. */
  readonly address: OriginAddress;
  /** An `<Address2>` member: used only while every `<Address>` member is down. */
  readonly standby: boolean;
}

/** A vhost's members: actives first, then standbys; each list without duplicates, sorted by key. */
export interface MemberSet {
  readonly active: readonly OriginMember[];
  readonly standby: readonly OriginMember[];
}

/** Resolves a name to every address it has (IPv4 and IPv6). */
export type Resolver = (name: string) => Promise<string[]>;

const systemResolver: Resolver = async (name) => (await lookup(name, { all: true, verbatim: true })).map((a) => a.address);

export function memberKey(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

const EMPTY: MemberSet = { active: [], standby: [] };

export class MemberTable {
  readonly #log: Logger;
  readonly #resolve: Resolver;
  #config: Config | null = null;
  /** DNS name -> the last good set of addresses (sorted). */
  readonly #resolved = new Map<string, readonly string[]>();
  #sets = new Map<string, MemberSet>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Called after a DNS answer changed the members (the router drops pools of addresses that left). */
  onChange: () => void = () => undefined;

  constructor(log: Logger, resolve: Resolver = systemResolver) {
    this.#log = log;
    this.#resolve = resolve;
  }

  /** Rebuilds the member lists for a (new) config and (re)starts the re-resolution timer. */
  apply(config: Config): void {
    this.#config = config;
    this.#rebuild();
    const names = this.#names();
    for (const name of [...this.#resolved.keys()]) if (!names.has(name)) this.#resolved.delete(name);
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    if (names.size === 0) return;
    const refreshMs = Math.min(...config.vhosts.filter((v) => hasName(v)).map((v) => v.originOptions.dnsRefreshMs));
    this.#timer = setInterval(() => void this.refresh(), refreshMs);
    this.#timer.unref();
    void this.refresh([...names].filter((n) => !this.#resolved.has(n)));
  }

  members(vhost: string): MemberSet {
    return this.#sets.get(vhost) ?? EMPTY;
  }

  /** Every member of every vhost with that vhost (pool retention). */
  *all(): Iterable<readonly [Vhost, OriginMember]> {
    for (const vhost of this.#config?.vhosts ?? []) {
      const set = this.members(vhost.name);
      for (const member of [...set.active, ...set.standby]) yield [vhost, member];
    }
  }

  /** Re-resolves `names` (default: every DNS name of the config); resolves when done. */
  async refresh(names: Iterable<string> = this.#names()): Promise<void> {
    let changed = false;
    await Promise.all(
      [...names].map(async (name) => {
        let addresses: string[];
        try {
          addresses = [...new Set(await this.#resolve(name))].sort();
        } catch (error) {
          this.#log.warn({ event: 'origin.dns_failed', name, err: (error as Error).message }, 'origin DNS lookup failed: keeping the last good addresses');
          return;
        }
        if (addresses.length === 0) return;
        const before = this.#resolved.get(name);
        if (before !== undefined && before.join(' ') === addresses.join(' ')) return;
        this.#resolved.set(name, addresses);
        changed = true;
        this.#log.info({ event: 'origin.dns_resolved', name, addresses }, 'origin name resolved');
      }),
    );
    if (changed && !this.#closed) {
      this.#rebuild();
      this.onChange();
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #names(): Set<string> {
    const names = new Set<string>();
    for (const vhost of this.#config?.vhosts ?? []) {
      for (const address of [...vhost.origins, ...vhost.standbyOrigins]) if (isIP(address.host) === 0) names.add(address.host);
    }
    return names;
  }

  #rebuild(): void {
    const sets = new Map<string, MemberSet>();
    for (const vhost of this.#config?.vhosts ?? []) {
      sets.set(vhost.name, { active: this.#expand(vhost.origins, false), standby: this.#expand(vhost.standbyOrigins, true) });
    }
    this.#sets = sets;
  }

  #expand(addresses: readonly OriginAddress[], standby: boolean): OriginMember[] {
    const members = new Map<string, OriginMember>();
    for (const address of addresses) {
      const hosts = isIP(address.host) === 0 ? (this.#resolved.get(address.host) ?? [address.host]) : [address.host];
      for (const host of hosts) {
        const key = memberKey(host, address.port);
        if (!members.has(key)) members.set(key, { key, address: { ...address, host }, standby });
      }
    }
    return [...members.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

function hasName(vhost: Vhost): boolean {
  return [...vhost.origins, ...vhost.standbyOrigins].some((a) => isIP(a.host) === 0);
}
