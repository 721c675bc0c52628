/**
 * @module fleet/stats-reply
 * Fleet stats over NATS request/reply (core NATS, nothing stored): a caller publishes one request on
 * `flint.fleet.stats` with a private reply subject; every edge of the addressed group answers with its own /stats
 * document; the caller collects answers until every member answered or the wait ran out, and returns them per node
 * with totals over the nodes that answered and the list of members that did not. Runs only in the primary.
 */
import { createInbox } from 'nats';
import type { JetStreamManager, NatsConnection, Subscription } from 'nats';
import type { ClusterConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { addressedTo, decodeStatsRequest, encode } from './messages.js';
import { fleetMembers } from './purge-stream.js';

const STATS_SUBJECT = 'flint.fleet.stats';

/** The parts of a node's /stats the totals add up (primary/stats-collector.ts document). */
interface NodeStats {
  readonly totals?: Record<string, unknown>;
  readonly realtime?: { readonly host?: { readonly perSecond?: Record<string, unknown> } };
}

/** /fleet/stats: each node's /stats, totals, and the members that did not answer within the wait. */
export interface FleetStats {
  readonly group: string | null;
  readonly nodes: Record<string, unknown>;
  readonly missing: readonly string[];
  readonly total: {
    readonly nodes: number;
    readonly totals: Record<string, number>;
    readonly cacheResults: Record<string, number>;
    readonly perSecond: Record<string, number>;
    readonly requestHitRatio: number;
  };
}

/** Asks every member of `group` for its /stats and waits at most `waitMs`. */
export async function gatherStats(nc: NatsConnection, jsm: JetStreamManager, group: string | null, waitMs: number): Promise<FleetStats> {
  const members = await fleetMembers(jsm, group);
  const inbox = createInbox();
  const nodes: Record<string, unknown> = {};
  const sub = nc.subscribe(inbox);
  const timer = setTimeout(() => sub.unsubscribe(), waitMs);
  nc.publish(STATS_SUBJECT, encode({ group }), { reply: inbox });
  for await (const msg of sub) {
    let answer: { node?: unknown; stats?: unknown };
    try {
      answer = msg.json();
    } catch {
      continue;
    }
    if (typeof answer.node !== 'string' || typeof answer.stats !== 'object' || answer.stats === null) continue;
    nodes[answer.node] = answer.stats;
    if (members.every((m) => m in nodes)) break;
  }
  clearTimeout(timer);
  sub.unsubscribe();
  return { group, nodes, missing: members.filter((m) => !(m in nodes)), total: addUp(Object.values(nodes) as NodeStats[]) };
}

/** Sums the numeric counters of `totals` and of the last second's rates; the hit ratio (every *_HIT, as STON) over all requests. */
function addUp(stats: readonly NodeStats[]): FleetStats['total'] {
  const totals: Record<string, number> = {};
  const cacheResults: Record<string, number> = {};
  const perSecond: Record<string, number> = {};
  const add = (into: Record<string, number>, from: Record<string, unknown> | undefined): void => {
    for (const [name, value] of Object.entries(from ?? {})) if (typeof value === 'number') into[name] = (into[name] ?? 0) + value;
  };
  for (const s of stats) {
    add(totals, s.totals);
    const results = s.totals?.cacheResults;
    add(cacheResults, typeof results === 'object' && results !== null ? (results as Record<string, unknown>) : undefined);
    add(perSecond, s.realtime?.host?.perSecond);
  }
  const requests = totals.requests ?? 0;
  let hits = 0;
  for (const [result, count] of Object.entries(cacheResults)) if (result.endsWith('_HIT')) hits += count;
  return { nodes: stats.length, totals, cacheResults, perSecond, requestHitRatio: requests === 0 ? 0 : Math.round((hits / requests) * 10_000) / 10_000 };
}

/** This edge's side: answers stats requests addressed to its group with its /stats document. */
export class StatsResponder {
  readonly #cluster: ClusterConfig;
  readonly #stats: () => Promise<unknown>;
  readonly #log: Logger;
  #sub: Subscription | null = null;

  constructor(cluster: ClusterConfig, stats: () => Promise<unknown>, log: Logger) {
    this.#cluster = cluster;
    this.#stats = stats;
    this.#log = log;
  }

  /** Subscribes (once: the client re-subscribes by itself after a reconnect). */
  start(nc: NatsConnection): void {
    if (this.#sub !== null) return;
    const sub = nc.subscribe(STATS_SUBJECT);
    this.#sub = sub;
    void (async () => {
      for await (const msg of sub) {
        const request = decodeStatsRequest(msg.data);
        if (!request.ok || msg.reply === undefined || !addressedTo(request.value.group, this.#cluster.group)) continue;
        const reply = msg.reply;
        this.#stats().then(
          (stats) => nc.publish(reply, encode({ node: this.#cluster.nodeName, stats })),
          (error: unknown) => this.#log.error({ event: 'fleet.stats_failed', err: error }, 'could not answer a fleet stats request'),
        );
      }
    })();
  }

  stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = null;
  }
}
