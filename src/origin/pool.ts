/**
 * @module origin/pool
 * The only importer of undici (runs in workers). One keep-alive undici Pool per origin address and option set, per
 * worker. Pools survive config reloads when their address and options are unchanged; pools no longer referenced are
 * closed gracefully (in-flight requests finish first). `<Origin Protocol="HTTPS">` pools connect with TLS
 * (origin/tls.ts: SNI, CAs, verification); their TLS failures are logged here, at most once per pool per
 * TLS_LOG_INTERVAL_MS, since clients only ever see "origin unreachable".
 */
import { Pool, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import type { OriginAddress, OriginOptions } from '../config/types.js';
import type { Logger } from '../log.js';
import { isTlsError, originTlsOptions } from './tls.js';

export type { Dispatcher };

/** A pool's TLS failures are logged at most this often (each failed connection would otherwise be one line). */
const TLS_LOG_INTERVAL_MS = 10_000;

/** What the pool of one origin address is keyed by: a change to any of these needs a new Pool. */
function poolKey(address: OriginAddress, options: OriginOptions): string {
  const base = `${address.host}|${address.port}|${options.connectTimeoutMs}|${options.receiveTimeoutMs}|${options.reuseTimeoutMs}|${options.maxConnections}`;
  const tls = options.tls;
  if (tls === null) return base;
  // The SNI name comes from the configured address text and <Host>, so both belong in the key.
  return `${base}|https|${address.text}|${options.hostHeader ?? ''}|${tls.verify}|${tls.caPem ?? ''}`;
}

/**
 * An HTTPS pool. undici gives each request the SNI name of its Host header and reconnects when it changes; the
 * origin's name is fixed per pool here (origin/tls.ts), so every request carries the same token and the connector
 * ignores it.
 */
class HttpsPool extends Pool {
  readonly #token: string;

  constructor(url: string, options: Pool.Options, token: string) {
    super(url, options);
    this.#token = token;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    (options as { servername?: string }).servername = this.#token;
    return super.dispatch(options, handler);
  }
}

function createPool(address: OriginAddress, options: OriginOptions, log: Logger | undefined): Pool {
  const host = address.host.includes(':') && !address.host.startsWith('[') ? `[${address.host}]` : address.host;
  const common: Pool.Options = {
    connections: options.maxConnections,
    pipelining: 1,
    keepAliveTimeout: options.reuseTimeoutMs,
    keepAliveMaxTimeout: options.reuseTimeoutMs,
    headersTimeout: options.receiveTimeoutMs,
    bodyTimeout: options.receiveTimeoutMs,
  };
  if (options.tls === null) return new Pool(`http://${host}:${address.port}`, { ...common, connect: { timeout: options.connectTimeoutMs } });
  const tls = originTlsOptions(address, options, options.tls);
  const connector = buildConnector({
    timeout: options.connectTimeoutMs,
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca === undefined ? {} : { ca: [...tls.ca] }),
  });
  const connect: buildConnector.connector = (opts, callback) => connector({ ...opts, servername: tls.servername }, callback);
  const pool = new HttpsPool(`https://${host}:${address.port}`, { ...common, connect }, tls.servername ?? address.host);
  if (log !== undefined) {
    let loggedAt = 0;
    let unlogged = 0;
    pool.on('connectionError', (_origin, _targets, error: Error & { code?: string }) => {
      if (!isTlsError(error.code ?? '')) return;
      const now = Date.now();
      if (now - loggedAt < TLS_LOG_INTERVAL_MS) {
        unlogged++;
        return;
      }
      log.warn(
        { event: 'origin.tls_failed', origin: `${host}:${address.port}`, servername: tls.servername ?? null, code: error.code, err: error.message, unlogged },
        `TLS to origin ${host}:${address.port} failed: ${error.message}`,
      );
      loggedAt = now;
      unlogged = 0;
    });
  }
  return pool;
}

/** The set of origin pools of one worker. */
export class OriginPools {
  readonly #log: Logger | undefined;
  #pools = new Map<string, Pool>();
  /**
   * The same pools by the identity of their (options, address) objects, which stay the same for as long as a config
   * and a member list do: every request looks its pool up here without building the key string. Dropped whenever
   * the pool set changes (retain); the next lookups fill it again from `#pools`.
   */
  #byIdentity = new WeakMap<OriginOptions, WeakMap<OriginAddress, Pool>>();

  /** `log` receives the HTTPS pools' TLS failures (event origin.tls_failed). */
  constructor(log?: Logger) {
    this.#log = log;
  }

  /** The pool for an address under the given options (created on first use). */
  get(address: OriginAddress, options: OriginOptions): Pool {
    let byAddress = this.#byIdentity.get(options);
    const known = byAddress?.get(address);
    if (known !== undefined) return known;
    const key = poolKey(address, options);
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = createPool(address, options, this.#log);
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
