/**
 * @module origin/pool
 * The only importer of undici (runs in workers). One keep-alive undici Pool per origin address and option set, per
 * worker. Pools survive config reloads when their address and options are unchanged; pools no longer referenced are
 * closed gracefully (in-flight requests finish first).
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { OriginAddress, OriginOptions } from '../config/types.js';

export type { Dispatcher };

/** What the pool of one origin address is keyed by: a change to any of these needs a new Pool. */
function poolKey(address: OriginAddress, options: OriginOptions): string {
  return `${address.host}|${address.port}|${options.connectTimeoutMs}|${options.receiveTimeoutMs}|${options.reuseTimeoutMs}|${options.maxConnections}`;
}

function createPool(address: OriginAddress, options: OriginOptions): Pool {
  const host = address.host.includes(':') && !address.host.startsWith('[') ? `[${address.host}]` : address.host;
  return new Pool(`http://${host}:${address.port}`, {
    connections: options.maxConnections,
    pipelining: 1,
    keepAliveTimeout: options.reuseTimeoutMs,
    keepAliveMaxTimeout: options.reuseTimeoutMs,
    connect: { timeout: options.connectTimeoutMs },
    headersTimeout: options.receiveTimeoutMs,
    bodyTimeout: options.receiveTimeoutMs,
  });
}

/** The set of origin pools of one worker. */
export class OriginPools {
  #pools = new Map<string, Pool>();
  /**
   * The same pools by the identity of their (options, address) objects, which stay the same for as long as a config
   * and a member list do: every request looks its pool up here without building the key string. Dropped whenever
   * the pool set changes (retain); the next lookups fill it again from `#pools`.
   */
  #byIdentity = new WeakMap<OriginOptions, WeakMap<OriginAddress, Pool>>();

  /** The pool for an address under the given options (created on first use). */
  get(address: OriginAddress, options: OriginOptions): Pool {
    let byAddress = this.#byIdentity.get(options);
    const known = byAddress?.get(address);
    if (known !== undefined) return known;
    const key = poolKey(address, options);
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = createPool(address, options);
      this.#pools.set(key, pool);
    }
    if (byAddress === undefined) {
      byAddress = new WeakMap();
      this.#byIdentity.set(options, byAddress);
    }
    byAddress.set(address, pool);
    return pool;
  }

  /** Keeps only the pools `wanted` still uses (address + options pairs); closes the rest gracefully. */
  retain(wanted: Iterable<readonly [OriginAddress, OriginOptions]>): void {
    const keep = new Set<string>();
    for (const [address, options] of wanted) keep.add(poolKey(address, options));
    this.#byIdentity = new WeakMap();
    for (const [key, pool] of this.#pools) {
      if (!keep.has(key)) {
        this.#pools.delete(key);
        void pool.close().catch(() => undefined);
      }
    }
  }

  /** Origin connections of this worker (STON's OriginSession / OriginActiveSession): open, and busy with a request. */
  sessions(): { open: number; active: number } {
    let open = 0;
    let active = 0;
    for (const pool of this.#pools.values()) {
      open += pool.stats.connected;
      active += pool.stats.connected - pool.stats.free;
    }
    return { open, active };
  }

  /** Closes every pool; in-flight requests are destroyed (used at exit). */
  async destroyAll(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    this.#byIdentity = new WeakMap();
    await Promise.allSettled(pools.map((p) => p.destroy()));
  }
}
