/**
 * @module origin/members
 * Which endpoints each vhost's origin requests may go to, and the DNS rules both process kinds share. Every
 * `<Address>` (and standby `<Address2>`) becomes one member per resolved IP, keyed `ip:port` (`[v6]:port`); DNS names
 * are resolved with every address (dns.lookup `all`) and re-resolved every `<DnsRefresh>` (the smallest of the vhosts
 * that have a DNS name: `dnsRefreshMs`). A failed or empty lookup keeps the last good IPs (`resolveName`), so the
 * member list never empties. A standby equal to an active member is that active member, listed once
 * (`standbyMembers`). Runs in both: workers keep a `MemberTable` (each resolves on its own; selection does not depend
 * on the order of answers; until a name's first answer arrives the name itself stands in as a member, undici resolves
 * it), the primary's OriginHealth uses `resolveMembers`. Keep this file free of worker-only imports.
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

/** A vhost's members: actives first, then standbys (none equal to an active member); each sorted by key. */
export interface MemberSet {
  readonly active: readonly OriginMember[];
  readonly standby: readonly OriginMember[];
}

/** One resolved endpoint of a vhost, as the primary judges it. */
export interface ResolvedMember {
  /** `ip:port` / `[v6]:port` (memberKey). */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  /** The `<Address>` it came from (its text, path prefix and, for a DNS name, the name to send as Host). */
  readonly address: OriginAddress;
  /** True when `address` is a DNS name (the member can come and go with DNS). */
  readonly fromDns: boolean;
}

/** Resolves a name to every address it has (IPv4 and IPv6). */
export type Resolver = (name: string) => Promise<readonly string[]>;

/** node:dns lookup of every address of `name` (what the OS resolver returns, /etc/hosts included). */
export const systemResolver: Resolver = async (name) => (await lookup(name, { all: true, verbatim: true })).map((a) => a.address);

export function memberKey(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True when `host` is a DNS name (not an IP literal). */
export function isDnsName(host: string): boolean {
  return isIP(host) === 0;
}

/** True when any `<Address>` or `<Address2>` of the vhost is a DNS name. */
export function usesDnsName(vhost: Vhost): boolean {
  return [...vhost.origins, ...vhost.standbyOrigins].some((a) => isDnsName(a.host));
}

/** Every DNS name of the config's `<Address>`/`<Address2>` lists. */
export function dnsNames(config: Config): Set<string> {
  const names = new Set<string>();
  for (const vhost of config.vhosts) {
    for (const address of [...vhost.origins, ...vhost.standbyOrigins]) if (isDnsName(address.host)) names.add(address.host);
  }
  return names;
}

/** The DNS refresh period in ms: the smallest `<DnsRefresh>` of the vhosts that have a DNS name; 0 = none has one. */
export function dnsRefreshMs(config: Config): number {
  const named = config.vhosts.filter(usesDnsName);
  return named.length === 0 ? 0 : Math.min(...named.map((v) => v.originOptions.dnsRefreshMs));
}

/** How one lookup of a name went: a new set of IPs, the same set, a failed lookup or an empty answer. */
export type NameOutcome = 'changed' | 'same' | 'failed' | 'empty';

/** What one lookup of a name gave. */
export interface NameResolution {
  readonly outcome: NameOutcome;
  /** The name's IPs now: the new answer, or the last good ones (empty if it never resolved). */
  readonly ips: readonly string[];
  /** Why the lookup gave nothing ('failed' or 'empty'); null otherwise. */
  readonly reason: string | null;
}

/**
 * Looks `name` up once. A good answer (duplicates dropped, lookup order kept) replaces the name's entry in `known`;
 * a failed or empty lookup keeps the last good IPs. 'changed' compares sets (order ignored).
 */
export async function resolveName(name: string, known: Map<string, readonly string[]>, resolve: Resolver = systemResolver): Promise<NameResolution> {
  const before = known.get(name);
  let ips: string[];
  try {
    ips = [...new Set(await resolve(name))];
  } catch (error) {
    return { outcome: 'failed', ips: before ?? [], reason: (error as Error).message };
  }
  if (ips.length === 0) return { outcome: 'empty', ips: before ?? [], reason: 'no addresses' };
  known.set(name, ips);
  const same = before !== undefined && [...before].sort().join(' ') === [...ips].sort().join(' ');
  return { outcome: same ? 'same' : 'changed', ips, reason: null };
}

/**
 * One member per (IP, port) of `addresses`, first address wins, in address then IP order. `ipsOf` gives the IPs of a
 * DNS name (an IP literal is itself).
 */
function expandAddresses<T>(
  addresses: readonly OriginAddress[],
  ipsOf: (name: string) => readonly string[],
  make: (key: string, ip: string, address: OriginAddress, fromDns: boolean) => T,
): T[] {
  const members = new Map<string, T>();
  for (const address of addresses) {
    const fromDns = isDnsName(address.host);
    for (const ip of fromDns ? ipsOf(address.host) : [address.host]) {
      const key = memberKey(ip, address.port);
      if (!members.has(key)) members.set(key, make(key, ip, address, fromDns));
    }
  }
  return [...members.values()];
}

/** The standby members that are not also active members: a standby equal to an active member is that member. */
export function standbyMembers<T extends { readonly key: string }>(active: readonly T[], standby: readonly T[]): T[] {
  const keys = new Set(active.map((m) => m.key));
  return standby.filter((m) => !keys.has(m.key));
}

/**
 * The members of `addresses`, each DNS name looked up now (resolveName). `previous` holds the last good IPs per DNS
 * name (updated in place); a name that fails to resolve keeps them, and `failures` gets one line per name that failed.
 */
export async function resolveMembers(
  addresses: readonly OriginAddress[],
  previous: Map<string, readonly string[]>,
  failures: string[],
  resolve: Resolver = systemResolver,
): Promise<ResolvedMember[]> {
  const ips = new Map<string, readonly string[]>();
  for (const address of addresses) {
    if (!isDnsName(address.host)) continue;
    const result = await resolveName(address.host, previous, resolve);
    if (result.reason !== null) failures.push(`${address.host}: ${result.reason}`);
    ips.set(address.host, result.ips);
  }
  return expandAddresses(addresses, (name) => ips.get(name) ?? [], (key, ip, address, fromDns) => ({ key, ip, port: address.port, address, fromDns }));
}

/** A vhost's active members and its standbys that are not active members (standbyMembers). */
export async function resolveMemberSet(
  vhost: Vhost,
  previous: Map<string, readonly string[]>,
  failures: string[],
  resolve: Resolver = systemResolver,
): Promise<{ active: ResolvedMember[]; standby: ResolvedMember[] }> {
  const active = await resolveMembers(vhost.origins, previous, failures, resolve);
  const standby = standbyMembers(active, await resolveMembers(vhost.standbyOrigins, previous, failures, resolve));
  return { active, standby };
}

const EMPTY: MemberSet = { active: [], standby: [] };

const byKey = (a: OriginMember, b: OriginMember): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export class MemberTable {
  readonly #log: Logger;
  readonly #resolve: Resolver;
  #config: Config | null = null;
  /** DNS name -> the last good set of addresses. */
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
    const refreshMs = dnsRefreshMs(config);
    if (refreshMs <= 0) return;
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
        const result = await resolveName(name, this.#resolved, this.#resolve);
        if (result.outcome === 'failed')
          this.#log.warn({ event: 'origin.dns_failed', name, err: result.reason }, 'origin DNS lookup failed: keeping the last good addresses');
        if (result.outcome !== 'changed') return;
        changed = true;
        this.#log.info({ event: 'origin.dns_resolved', name, addresses: [...result.ips].sort() }, 'origin name resolved');
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
    return this.#config === null ? new Set() : dnsNames(this.#config);
  }

  #rebuild(): void {
    const sets = new Map<string, MemberSet>();
    for (const vhost of this.#config?.vhosts ?? []) {
      const active = this.#expand(vhost.origins, false);
      sets.set(vhost.name, { active, standby: standbyMembers(active, this.#expand(vhost.standbyOrigins, true)) });
    }
    this.#sets = sets;
  }

  /** Until a name's first answer arrives the name itself stands in (undici resolves it). */
  #expand(addresses: readonly OriginAddress[], standby: boolean): OriginMember[] {
    const ipsOf = (name: string): readonly string[] => this.#resolved.get(name) ?? [name];
    return expandAddresses(addresses, ipsOf, (key, host, address): OriginMember => ({ key, address: { ...address, host }, standby })).sort(byKey);
  }
}
