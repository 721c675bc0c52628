/**
 * @module policy/vhost
 * Host header -> vhost, as STON does: the vhost Name, then an exact <Alias>, then the longest matching `*.suffix`
 * wildcard alias, then the <Default> vhost, else none (the caller answers 404). The Host is matched in its
 * normal form (lower case, no port, no trailing dot); whatever Host matched, the origin is sent the vhost's
 * Name (or <OriginOptions><Host>: pipeline/headers.ts), the same name the cache key holds. Pure; built once per config and
 * listen address, so a lookup is one Map.get in the common case. Runs in workers.
 */
import type { Config, ListenAddress, Vhost } from '../config/types.js';

export class VhostRouter {
  readonly #exact = new Map<string, Vhost>();
  /** [suffix including the dot, vhost], longest suffix first so the most specific wildcard wins. */
  readonly #wildcards: Array<[string, Vhost]> = [];
  readonly #fallback: Vhost | null;

  /** Routes among `vhosts`; `fallback` serves unknown hosts (null = 404). */
  constructor(vhosts: readonly Vhost[], fallback: Vhost | null) {
    for (const vhost of vhosts) {
      this.#exact.set(vhost.name, vhost);
      for (const alias of vhost.aliases) {
        if (alias.startsWith('*.')) this.#wildcards.push([alias.slice(1), vhost]);
        else this.#exact.set(alias, vhost);
      }
    }
    this.#wildcards.sort((a, b) => b[0].length - a[0].length);
    this.#fallback = fallback;
  }

  /** The vhost for a raw Host header value (any case, optional :port), or null. */
  route(hostHeader: string): Vhost | null {
    const host = normaliseHost(hostHeader);
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    for (const [suffix, vhost] of this.#wildcards) {
      if (host.length > suffix.length && host.endsWith(suffix)) return vhost;
    }
    return this.#fallback;
  }
}

/**
 * Lower-cases a Host header, drops its port and one trailing dot (`SITE.TEST.:8080` = `site.test`: the absolute
 * DNS form names the same host); `[v6]:port` keeps the brackets. The value was checked by http/framing.ts.
 */
export function normaliseHost(hostHeader: string): string {
  let host = hostHeader;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
    if (host.endsWith('.')) host = host.slice(0, -1);
  }
  // Host headers are nearly always lower case already; skip the copy then.
  return host === host.toLowerCase() ? host : host.toLowerCase();
}

/** `host:port` key of a listen address. */
export function listenKey(listen: ListenAddress): string {
  return `${listen.host}:${listen.port}`;
}

/**
 * One router per distinct listen address, plain or Https: each serves the vhosts that listen there. The <Default> vhost catches
 * unknown hosts only on the addresses it listens on itself.
 */
export function buildRouters(config: Config): Map<string, VhostRouter> {
  const byListen = new Map<string, Vhost[]>();
  for (const vhost of config.vhosts) {
    // An <Https Listen> address routes by Host like a plain one (validation keeps the two sets of addresses apart).
    for (const listen of vhost.https === null ? vhost.listen : [...vhost.listen, vhost.https.listen]) {
      const key = listenKey(listen);
      const list = byListen.get(key) ?? [];
      list.push(vhost);
      byListen.set(key, list);
    }
  }
  const routers = new Map<string, VhostRouter>();
  for (const [key, vhosts] of byListen) {
    const fallback = vhosts.find((v) => v.name === config.defaultVhost) ?? null;
    routers.set(key, new VhostRouter(vhosts, fallback));
  }
  return routers;
}
