/**
 * @module fleet/node-status
 * `flint fleet status`: every edge writes a small status record into the key-value bucket flint-fleet-nodes
 * (key = node name) every HEARTBEAT_MS: group, config version taken and how, health, requests/s and hit ratio of
 * the last second, and the time. Reading the bucket gives each node's last record, so an edge that stopped
 * writing shows with its last-seen time, and as not healthy once three beats are missing. Records of nodes gone
 * for a day are dropped by the bucket's max age.
 * Runs only in the primary.
 */
import type { KV, NatsConnection } from 'nats';
import type { ClusterConfig } from '../config/types.js';
import { addressedTo, encode } from './messages.js';
import type { ConfigResult } from './messages.js';

const BUCKET = 'flint-fleet-nodes';
/** How often an edge writes its record; `lastSeen` is at most this old for a live edge. */
export const HEARTBEAT_MS = 5000;
/**
 * A record older than this (three missed beats) no longer speaks for its edge: status shows it not healthy, whatever
 * it last said. An edge that crashed, was stopped or is cut off from NATS writes nothing more, so its last record
 * (written while it served) would otherwise read "healthy" for a day.
 */
export const SILENT_AFTER_MS = 3 * HEARTBEAT_MS;
/** A record older than this is dropped (a retired edge leaves the list). */
const RECORD_MAX_AGE_MS = 24 * 3600 * 1000;

/** One node's record. */
export interface NodeStatus {
  readonly node: string;
  readonly group: string | null;
  readonly configVersion: number | null;
  readonly configResult: ConfigResult | null;
  readonly healthy: boolean;
  readonly requestsPerSec: number;
  readonly requestHitRatio: number;
  /** ISO time the record was written. */
  readonly lastSeen: string;
  /** Read side only: no record for SILENT_AFTER_MS (then `healthy` is false). */
  readonly silent?: boolean;
}

/** `status` as read at `nowMs`: a silent edge is not healthy, whatever its last record said. */
export function withLiveness(status: NodeStatus, nowMs: number): NodeStatus {
  const seen = Date.parse(status.lastSeen);
  const silent = !(nowMs - seen <= SILENT_AFTER_MS);
  return { ...status, healthy: status.healthy && !silent, silent };
}

async function openBucket(nc: NatsConnection): Promise<KV> {
  return nc.jetstream().views.kv(BUCKET, { history: 1, ttl: RECORD_MAX_AGE_MS });
}

/** Every node's last record (of `group`, or all), by node name. */
export async function readFleetStatus(nc: NatsConnection, group: string | null): Promise<NodeStatus[]> {
  const kv = await openBucket(nc);
  const out: NodeStatus[] = [];
  // Keys first, then the values: awaiting inside the keys iterator ends it early.
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  for (const key of keys) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== 'PUT') continue;
    let status: NodeStatus;
    try {
      status = entry.json<NodeStatus>();
    } catch {
      continue;
    }
    if (typeof status.node === 'string' && addressedTo(group, status.group ?? null)) out.push(withLiveness(status, Date.now()));
  }
  return out.sort((a, b) => a.node.localeCompare(b.node));
}

/** Writes this edge's record every HEARTBEAT_MS while connected. */
export class Heartbeat {
  readonly #cluster: ClusterConfig;
  readonly #read: () => Promise<Omit<NodeStatus, 'node' | 'group' | 'lastSeen'>>;
  #timer: NodeJS.Timeout | null = null;
  #kv: KV | null = null;
  #nc: NatsConnection | null = null;

  constructor(cluster: ClusterConfig, read: () => Promise<Omit<NodeStatus, 'node' | 'group' | 'lastSeen'>>) {
    this.#cluster = cluster;
    this.#read = read;
  }

  async start(nc: NatsConnection): Promise<void> {
    this.#nc = nc;
    this.#kv = await openBucket(nc);
    await this.beat();
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** Writes the record now (also after a config version was taken). Never throws: a missed beat is harmless. */
  async beat(): Promise<void> {
    const nc = this.#nc;
    if (nc === null) return;
    try {
      // Opened again after a failure: the bucket may be gone with a NATS server that lost its store.
      this.#kv ??= await openBucket(nc);
      const status: NodeStatus = { node: this.#cluster.nodeName, group: this.#cluster.group, ...(await this.#read()), lastSeen: new Date().toISOString() };
      await this.#kv.put(this.#cluster.nodeName, encode(status));
    } catch {
      // NATS away: the record keeps its last time, which is what status should show.
      this.#kv = null;
    }
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
