/**
 * @module fleet/connection
 * The primary's one connection to the NATS servers of `<Cluster><Nats Url>`: connects (start-up waits at most
 * `<Wait>`, then goes on without it), reconnects by itself forever, and tracks whether it is up so fleet commands
 * fail fast with a clear message instead of waiting while NATS is away. `onUp` runs after the first connection and
 * after every reconnect (the purge consumer catches up there). Runs only in the primary, only when clustered: the
 * nats client is imported by the fleet modules alone, which the primary loads on demand.
 */
import { connect } from 'nats';
import type { NatsConnection } from 'nats';
import type { ClusterConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { FlintError } from '../errors.js';


/** Time between reconnect attempts (the nats client adds jitter). */
const RECONNECT_WAIT_MS = 1000;
/** How often the client pings the server: a cut link is noticed within about two intervals. */
const PING_INTERVAL_MS = 5000;
/** Longest a stop waits for the connection to drain. */
const CLOSE_WAIT_MS = 2000;

export class FleetConnection {
  readonly #cluster: ClusterConfig;
  readonly #log: Logger;
  readonly #onUp: (nc: NatsConnection) => Promise<void>;
  #nc: NatsConnection | null = null;
  #up = false;
  #closing = false;

  constructor(cluster: ClusterConfig, log: Logger, onUp: (nc: NatsConnection) => Promise<void>) {
    this.#cluster = cluster;
    this.#log = log;
    this.#onUp = onUp;
  }

  /**
   * Connects; resolves true once connected (within `waitMs`) and `onUp` has finished, however long that takes (the
   * catch-up); false when NATS did not answer within `waitMs`: the client keeps trying in the background, and
   * `onUp` runs when it gets through.
   */
  async start(waitMs: number): Promise<boolean> {
    const connecting = connect({
      servers: [...this.#cluster.urls],
      name: `flint-${this.#cluster.nodeName}`,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      pingInterval: PING_INTERVAL_MS,
    }).then(async (nc) => {
      this.#nc = nc;
      if (this.#closing) {
        await nc.close();
        return null;
      }
      this.#up = true;
      this.#log.info({ event: 'fleet.connected', server: nc.getServer() }, 'connected to NATS');
      void this.#watch(nc);
      return nc;
    });
    connecting.catch((error: unknown) => this.#log.error({ event: 'fleet.connect_failed', err: error }, 'NATS connection failed'));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), waitMs);
    });
    const first = await Promise.race([connecting.catch(() => null), timeout]);
    clearTimeout(timer);
    if (first === 'timeout') {
      this.#log.warn({ event: 'fleet.nats_unreachable', servers: this.#cluster.urls, waitMs }, 'NATS not reachable: serving without the fleet, reconnecting in the background');
      void connecting.then((nc) => (nc === null ? undefined : this.#runOnUp(nc)), () => undefined);
      return false;
    }
    if (first === null) return false;
    await this.#runOnUp(first);
    return true;
  }

  async #runOnUp(nc: NatsConnection): Promise<void> {
    try {
      await this.#onUp(nc);
    } catch (error) {
      this.#log.error({ event: 'fleet.setup_failed', err: error }, 'fleet setup on NATS failed; retried at the next reconnect');
    }
  }

  /** Follows the connection's status: down on disconnect, up (and `onUp` again) on reconnect. */
  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.#up = false;
        this.#log.warn({ event: 'fleet.disconnected', server: String(status.data) }, 'lost the NATS connection; reconnecting');
      } else if (status.type === 'reconnect') {
        this.#up = true;
        this.#log.info({ event: 'fleet.reconnected', server: String(status.data) }, 'reconnected to NATS');
        void this.#runOnUp(nc);
      }
    }
  }

  /** Whether NATS is reachable now. */
  get up(): boolean {
    return this.#up;
  }

  /** The connection, for a fleet command; throws FLINT_ERR_FLEET_UNAVAILABLE while NATS is away. */
  get connection(): NatsConnection {
    if (this.#nc === null || !this.#up || this.#nc.isClosed()) {
      throw new FlintError('FLINT_ERR_FLEET_UNAVAILABLE', `NATS is not reachable (${this.#cluster.urls.join(', ')}): fleet commands need it; this edge keeps serving and purging locally, and catches up when NATS is back`, { source: 'internal', retryable: true });
    }
    return this.#nc;
  }

  /** Drains and closes the connection (at stop); at most CLOSE_WAIT_MS, so a stop never waits on an absent NATS. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#up = false;
    const nc = this.#nc;
    if (nc === null || nc.isClosed()) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([nc.drain().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    if (!nc.isClosed()) await nc.close().catch(() => undefined);
  }
}
