/**
 * @module fleet/fleet-node
 * This edge as a member of the fleet: owns the NATS connection (fleet/connection.ts) and, once connected, the purge
 * consumer (fleet/purge-stream.ts), the config watch (fleet/config-bucket.ts), the stats responder
 * (fleet/stats-reply.ts) and the status heartbeat (fleet/node-status.ts); and runs the fleet commands the
 * management API and the CLI send (publish a purge, push a config, gather stats, read status). `start` returns
 * once every purge this node missed has been applied (or when NATS did not answer within `<Wait>`), so the
 * primary starts its workers, and reports ready, only after that. The primary imports this module on demand, only
 * when `<Cluster><Nats>` is ON. Runs only in the primary.
 */
import type { NatsConnection } from 'nats';
import type { ClusterConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { ConfigWatcher } from './config-bucket.js';
import type { ApplyConfig, FleetPushResult } from './config-bucket.js';
import { pushConfig } from './config-bucket.js';
import { FleetConnection } from './connection.js';
import type { FleetCommand, PurgeTarget, PushedConfig } from './messages.js';
import { Heartbeat, readFleetStatus } from './node-status.js';
import type { NodeStatus } from './node-status.js';
import { PurgeConsumer, publishPurge } from './purge-stream.js';
import type { ApplyPurge, FleetPurgeResult } from './purge-stream.js';
import { StatsResponder, gatherStats } from './stats-reply.js';
import type { FleetStats } from './stats-reply.js';

/** What the fleet needs from the primary. */
export interface FleetHost {
  /** Runs a cache-control command locally (primary/cache-control.ts, as /command/purge?url= or ?tag=). */
  readonly applyPurge: ApplyPurge;
  /** Validates a pushed config against this node's server.xml, writes it with the config history, reloads. */
  readonly applyConfig: ApplyConfig;
  /** This node's /stats document. */
  stats(): Promise<unknown>;
  /** Health and the last second's figures, for the status record. */
  summary(): Promise<{ healthy: boolean; requestsPerSec: number; requestHitRatio: number }>;
  /** Where the last config version taken is remembered. */
  readonly stateFile: string;
}

export class FleetNode {
  readonly #cluster: ClusterConfig;
  readonly #log: Logger;
  readonly #connection: FleetConnection;
  readonly #purges: PurgeConsumer;
  readonly #configs: ConfigWatcher;
  readonly #stats: StatsResponder;
  readonly #heartbeat: Heartbeat;

  constructor(cluster: ClusterConfig, host: FleetHost, log: Logger) {
    this.#cluster = cluster;
    this.#log = log.child({ node: cluster.nodeName });
    this.#purges = new PurgeConsumer(cluster, host.applyPurge, this.#log);
    this.#configs = new ConfigWatcher(
      cluster,
      (config, version) => {
        const outcome = host.applyConfig(config, version);
        void this.#heartbeat.beat();
        return outcome;
      },
      host.stateFile,
      this.#log,
    );
    this.#stats = new StatsResponder(cluster, () => host.stats(), this.#log);
    this.#heartbeat = new Heartbeat(cluster, async () => {
      const summary = await host.summary();
      // Read after the await: a beat started while a config version is being taken shows its outcome.
      const state = this.#configs.state;
      return { ...summary, configVersion: state?.version ?? null, configResult: state?.result ?? null };
    });
    this.#connection = new FleetConnection(cluster, this.#log, (nc) => this.#up(nc));
  }

  /** Purges first (the caller is waiting for them before serving), then the rest. */
  async #up(nc: NatsConnection): Promise<void> {
    await this.#purges.start(nc);
    this.#log.info({ event: 'fleet.caught_up', applied: this.#purges.applied }, 'fleet purges caught up');
    this.#stats.start(nc);
    await this.#configs.start(nc);
    await this.#heartbeat.start(nc);
  }

  /** Connects and catches up; false when NATS was not reachable within `<Wait>` (it keeps trying). */
  start(): Promise<boolean> {
    return this.#connection.start(this.#cluster.waitMs);
  }

  get nodeName(): string {
    return this.#cluster.nodeName;
  }

  /** Whether NATS is reachable now. */
  get connected(): boolean {
    return this.#connection.up;
  }

  /** Publishes a fleet purge; throws FLINT_ERR_FLEET_UNAVAILABLE while NATS is away. */
  async purge(command: FleetCommand, target: PurgeTarget, group: string | null, waitMs: number | null): Promise<FleetPurgeResult> {
    const nc = this.#connection.connection;
    const result = await publishPurge(nc, await nc.jetstreamManager(), { command, target, group, from: this.#cluster.nodeName }, waitMs ?? this.#cluster.waitMs);
    this.#log.info({ event: 'fleet.purge_published', id: result.id, command, ...target, group, applied: result.applied.length, missing: result.missing, ms: result.Time }, 'fleet command published');
    return result;
  }

  /** Pushes a config (or re-pushes version `rollbackOf`) to `group`; throws FLINT_ERR_FLEET_UNAVAILABLE while NATS is away. */
  async push(config: PushedConfig | null, rollbackOf: number | null, group: string | null, waitMs: number | null): Promise<FleetPushResult> {
    const nc = this.#connection.connection;
    const result = await pushConfig(nc, await nc.jetstreamManager(), { config, rollbackOf, group, from: this.#cluster.nodeName }, waitMs ?? this.#cluster.waitMs);
    this.#log.info({ event: 'fleet.config_pushed', version: result.version, rollbackOf, group, applied: result.applied, refused: result.refused.map((r) => r.node), missing: result.missing }, 'fleet config pushed');
    return result;
  }

  /** Every member's /stats. */
  async gatherStats(group: string | null, waitMs: number | null): Promise<FleetStats> {
    const nc = this.#connection.connection;
    return gatherStats(nc, await nc.jetstreamManager(), group, waitMs ?? this.#cluster.waitMs);
  }

  /** Every node's last status record. */
  status(group: string | null): Promise<NodeStatus[]> {
    return readFleetStatus(this.#connection.connection, group);
  }

  async close(): Promise<void> {
    this.#heartbeat.stop();
    this.#stats.stop();
    this.#configs.stop();
    await this.#purges.stop();
    await this.#connection.close();
  }
}
