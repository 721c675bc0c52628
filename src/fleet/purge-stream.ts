/**
 * @module fleet/purge-stream
 * Fleet purge on JetStream. Publishing side: one command per call into the stream FLINT_FLEET_PURGE, then the
 * edges' acknowledgements (core NATS, `flint.fleet.purge.ack.<id>`) are collected until every member of the target
 * group answered or the wait ran out; a slow or dead edge only costs the caller the wait. Edge side: one durable
 * pull consumer per node (named after it, its group in the description), max one unacknowledged message, so
 * commands are applied one at a time in stream order; each is applied through the local cache-control code
 * (primary/cache-control.ts, the same as /command/purge?url= or ?tag=), acknowledged to the caller, then acked to
 * JetStream. A command applied twice (redelivery after a crash) is harmless: the second run finds nothing more to
 * purge.
 * The stream keeps commands `<PurgeRetention>` long; a consumer idle that long is dropped by the server, which is
 * how a retired edge leaves the member list. The consumers are the fleet's member list (fleetMembers).
 * Runs only in the primary.
 */
import { randomBytes } from 'node:crypto';
import { AckPolicy, DeliverPolicy, nanos } from 'nats';
import type { ConsumerMessages, JetStreamManager, JsMsg, NatsConnection } from 'nats';
import type { ClusterConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { addressedTo, decodePurge, decodePurgeAck, encode } from './messages.js';
import type { FleetCommand, PurgeAck, PurgeMessage, PurgeTarget } from './messages.js';

export const PURGE_STREAM = 'FLINT_FLEET_PURGE';
const PURGE_SUBJECT = 'flint.fleet.purge';
const ACK_PREFIX = 'flint.fleet.purge-ack';
/** A command not acknowledged within this is delivered again (the edge signals progress on long ones). */
const ACK_WAIT_MS = 30_000;
/** While a command runs, the edge tells JetStream it is still working this often (well within ACK_WAIT_MS). */
const WORKING_EVERY_MS = 10_000;
/** Pause before a consumer whose message iterator ended is made again. */
const RESTART_DELAY_MS = 1000;

/** Creates or updates the purge stream (retention = `<PurgeRetention>`, file storage). */
export async function ensurePurgeStream(jsm: JetStreamManager, cluster: ClusterConfig): Promise<void> {
  const config = { name: PURGE_STREAM, subjects: [PURGE_SUBJECT], max_age: nanos(cluster.purgeRetentionSec * 1000) };
  try {
    await jsm.streams.info(PURGE_STREAM);
    await jsm.streams.update(PURGE_STREAM, config);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.streams.add(config);
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: string }).code === '404' || /not found/i.test((error as Error).message);
}

const groupDescription = (group: string | null): string => `group:${group ?? ''}`;

/** The fleet's members: node names (their durable consumers) of `group`, or all when null; sorted. */
export async function fleetMembers(jsm: JetStreamManager, group: string | null): Promise<string[]> {
  const names: string[] = [];
  for await (const info of jsm.consumers.list(PURGE_STREAM)) {
    const memberGroup = (info.config.description ?? '').replace(/^group:/, '') || null;
    if (info.config.durable_name !== undefined && addressedTo(group, memberGroup)) names.push(info.config.durable_name);
  }
  return names.sort();
}

/** What a fleet purge answered: the nodes that applied it (with their results) and those that did not in time. */
export interface FleetPurgeResult {
  readonly id: string;
  readonly command: FleetCommand;
  readonly group: string | null;
  /** Milliseconds from the publish to the last acknowledgement (or to the end of the wait). */
  readonly Time: number;
  readonly applied: readonly PurgeAck[];
  readonly missing: readonly string[];
}

/** Publishes one fleet purge and collects the acknowledgements of `group`'s members for at most `waitMs`. */
export async function publishPurge(
  nc: NatsConnection,
  jsm: JetStreamManager,
  request: { command: FleetCommand; target: PurgeTarget; group: string | null; from: string },
  waitMs: number,
): Promise<FleetPurgeResult> {
  const members = await fleetMembers(jsm, request.group);
  const id = randomBytes(9).toString('base64url');
  const acks = new Map<string, PurgeAck>();
  const sub = nc.subscribe(`${ACK_PREFIX}.${id}`);
  let started = 0;
  let lastAck = 0;
  const collected = (async () => {
    for await (const msg of sub) {
      const ack = decodePurgeAck(msg.data);
      if (!ack.ok || ack.value.id !== id || acks.has(ack.value.node)) continue;
      acks.set(ack.value.node, ack.value);
      lastAck = performance.now();
      if (members.every((m) => acks.has(m))) break;
    }
  })();
  const timer = setTimeout(() => sub.unsubscribe(), waitMs);
  try {
    const message: PurgeMessage = { id, command: request.command, ...request.target, group: request.group, from: request.from, time: Date.now() };
    started = performance.now();
    await nc.jetstream().publish(PURGE_SUBJECT, encode(message), { msgID: id });
    if (members.length === 0) sub.unsubscribe();
    await collected;
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
  const applied = [...acks.values()].sort((a, b) => a.node.localeCompare(b.node));
  const missing = members.filter((m) => !acks.has(m));
  const end = missing.length === 0 && lastAck > 0 ? lastAck : performance.now();
  return { id, command: request.command, group: request.group, Time: Math.round(end - started), applied, missing };
}

/** Applies one command on this edge (the primary's cache control: by URL as /command/purge?url=, by tag as ?tag=). */
export type ApplyPurge = (command: FleetCommand, target: PurgeTarget) => Promise<{ status: number; body: unknown }>;

/**
 * This edge's durable consumer: applies every command of the stream in order, including those published while it
 * was down or cut off (JetStream kept them and the consumer's position).
 */
export class PurgeConsumer {
  readonly #cluster: ClusterConfig;
  readonly #apply: ApplyPurge;
  readonly #log: Logger;
  #messages: ConsumerMessages | null = null;
  #nc: NatsConnection | null = null;
  #starting: Promise<void> | null = null;
  #stopped = false;
  #applied = 0;

  constructor(cluster: ClusterConfig, apply: ApplyPurge, log: Logger) {
    this.#cluster = cluster;
    this.#apply = apply;
    this.#log = log;
  }

  /** Commands applied since start. */
  get applied(): number {
    return this.#applied;
  }

  /**
   * Creates (or re-attaches to) this node's consumer and starts applying; resolves once every command that was
   * waiting for this node has been applied (at once when none was). Called again after every reconnect: when the
   * consumer is still there the client's pull simply resumes; when it is gone (a NATS server that lost its store)
   * the stream and consumer are made again.
   */
  start(nc: NatsConnection): Promise<void> {
    this.#starting ??= this.#start(nc).finally(() => {
      this.#starting = null;
    });
    return this.#starting;
  }

  async #start(nc: NatsConnection): Promise<void> {
    this.#nc = nc;
    const jsm = await nc.jetstreamManager();
    const name = this.#cluster.nodeName;
    if (this.#messages !== null) {
      try {
        await jsm.consumers.info(PURGE_STREAM, name);
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        this.#log.warn({ event: 'fleet.consumer_lost', node: name }, 'the purge consumer is gone from NATS (store lost?): making it again');
        const old = this.#messages;
        this.#messages = null;
        await old.close();
      }
    }
    await ensurePurgeStream(jsm, this.#cluster);
    const description = groupDescription(this.#cluster.group);
    const inactive = nanos(this.#cluster.purgeRetentionSec * 1000);
    let pending: number;
    try {
      const info = await jsm.consumers.info(PURGE_STREAM, name);
      if (info.config.description !== description) await jsm.consumers.update(PURGE_STREAM, name, { description, inactive_threshold: inactive });
      pending = info.num_pending + info.num_ack_pending;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // A new node starts from now: older purges concern objects it never fetched through the fleet.
      await jsm.consumers.add(PURGE_STREAM, {
        durable_name: name,
        description,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        max_ack_pending: 1,
        ack_wait: nanos(ACK_WAIT_MS),
        inactive_threshold: inactive,
      });
      this.#log.info({ event: 'fleet.joined', node: name, group: this.#cluster.group }, 'joined the fleet (new purge consumer)');
      pending = 0;
    }
    const consumer = await nc.jetstream().consumers.get(PURGE_STREAM, name);
    let caughtUp: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    if (pending === 0) caughtUp();
    else this.#log.info({ event: 'fleet.catching_up', pending }, `applying ${pending} fleet command(s) missed while away`);
    const messages = await consumer.consume({ max_messages: 1 });
    this.#messages = messages;
    void this.#loop(messages, caughtUp);
    await done;
  }

  /** Applies the messages of one consume() in order; `caughtUp` is called once the backlog is done (or it ended). */
  async #loop(messages: ConsumerMessages, caughtUp: () => void): Promise<void> {
    try {
      for await (const msg of messages) {
        await this.#handle(msg);
        if (msg.info.pending === 0) caughtUp();
      }
    } catch (error) {
      if (!this.#stopped) this.#log.error({ event: 'fleet.consumer_failed', err: error }, 'fleet purge consumer stopped');
    }
    caughtUp();
    if (this.#messages !== messages) return; // replaced by a new consumer (#start)
    this.#messages = null;
    // Ended on its own: make the consumer again and go on.
    const nc = this.#nc;
    if (!this.#stopped && nc !== null && !nc.isClosed()) {
      setTimeout(() => {
        if (this.#stopped || this.#messages !== null) return;
        this.start(nc).catch((error: unknown) => this.#log.error({ event: 'fleet.consumer_failed', err: error }, 'fleet purge consumer could not restart; retried at the next reconnect'));
      }, RESTART_DELAY_MS).unref();
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    const decoded = decodePurge(msg.data);
    if (!decoded.ok) {
      this.#log.warn({ event: 'fleet.bad_message', stream: PURGE_STREAM, seq: msg.seq, error: decoded.error }, 'dropped a malformed fleet purge');
      msg.term();
      return;
    }
    const command = decoded.value;
    if (!addressedTo(command.group, this.#cluster.group)) {
      msg.ack();
      return;
    }
    const working = setInterval(() => msg.working(), WORKING_EVERY_MS);
    let result: { status: number; body: unknown };
    try {
      result = await this.#apply(command.command, 'tags' in command ? { tags: command.tags, vhost: command.vhost } : { urls: command.urls });
    } finally {
      clearInterval(working);
    }
    this.#applied++;
    const body = (result.body ?? {}) as { Count?: number; Size?: number; Denied?: string[]; Errors?: string[] };
    const ack: PurgeAck = {
      id: command.id,
      node: this.#cluster.nodeName,
      status: result.status,
      Count: body.Count ?? 0,
      Size: body.Size ?? 0,
      ...(body.Denied === undefined ? {} : { Denied: body.Denied }),
      ...(body.Errors === undefined ? {} : { Errors: body.Errors }),
    };
    this.#log.info({ event: 'fleet.purge_applied', id: command.id, from: command.from, command: command.command, ...('tags' in command ? { tags: command.tags, vhost: command.vhost } : { urls: command.urls }), seq: msg.seq, result: ack }, 'fleet command applied');
    // JetStream first: once acked it is never applied again; the caller's acknowledgement is best effort.
    msg.ack();
    try {
      this.#nc?.publish(`${ACK_PREFIX}.${command.id}`, encode(ack));
    } catch {
      // Not connected: the caller reports this node as missing.
    }
  }

  /** Stops consuming (at stop). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#messages?.close();
  }
}
