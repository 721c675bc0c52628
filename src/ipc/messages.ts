/**
 * @module ipc/messages
 * The single contract between the primary and its workers: a typed union per direction, discriminated by `type`.
 * Types only; payloads are plain JSON (they cross node:cluster IPC). `isWorkerMessage` narrows `unknown` at the
 * primary's boundary, `isPrimaryMessage` at the worker's.
 */
import type { Config } from '../config/types.js';
import type { FailedUrl, OriginOutcome } from '../origin/health-view.js';
import type { PurgeScope, TaggedScope } from '../policy/purge-target.js';
import type { VhostCounterValues } from '../stats/counters.js';
import type { LatencyCounts } from '../stats/latency.js';
import type { GcTotals } from '../stats/gc-watch.js';
import type { RateUsage } from '../pipeline/rate-limit.js';

/** What one worker reports about itself; counters are monotonic since the worker started. */
export interface WorkerSnapshot {
  readonly workerIndex: number;
  readonly pid: number;
  readonly startedAt: number;
  /** Transactions in flight right now (gauge owned by the worker). */
  readonly activeRequests: number;
  /** Client connections open on this worker's service ports right now (gauge, stats/connections.ts). */
  readonly clientConnections: number;
  /** Connections this worker closed at once because its <MaxSockets> share was full (monotonic). */
  readonly refusedConnections: number;
  /** True while this worker refuses new connections (until its count falls below <MaxSockets Reopen>). */
  readonly refusingConnections: boolean;
  readonly configHash: string;
  readonly vhosts: Readonly<Record<string, VhostCounterValues>>;
  /** The worker's hot tier: hits and misses are monotonic, bytes and objects are gauges. */
  readonly hot: { readonly hits: number; readonly misses: number; readonly bytes: number; readonly objects: number };
  /** The worker's block memory (cache/block-memory.ts), counted the same way. */
  readonly blockMemory: { readonly hits: number; readonly misses: number; readonly bytes: number; readonly blocks: number };
  /** Origin fills this worker runs now (gauge). */
  readonly fills: number;
  /** Per-vhost latency histograms (stats/latency.ts), monotonic like the counters. */
  readonly latency: Readonly<Record<string, LatencyCounts>>;
  /** Per vhost, the most requested paths with their counts since the worker started (stats/top-urls.ts). */
  readonly topUrls?: Readonly<Record<string, ReadonlyArray<readonly [string, number]>>>;
  /** Origin connections of this worker now (gauges): open, and busy with a request. */
  readonly originSessions: { readonly open: number; readonly active: number };
  /**
   * This worker process: CPU time since it started (monotonic, microseconds), resident memory (gauge), and its
   * garbage collections (monotonic, stats/gc-watch.ts).
   */
  readonly process: { readonly cpuUserUs: number; readonly cpuSystemUs: number; readonly rssBytes: number; readonly gc: GcTotals };
}

export type PrimaryMessage =
  /** Apply this config (first one at start, then on every successful reload). */
  | { readonly type: 'config'; readonly config: Config }
  /** Reply with a `stats` message carrying the same `requestId`. */
  | { readonly type: 'stats-request'; readonly requestId: number }
  /** Stop accepting, finish in-flight transactions within `timeoutMs`, send a final `stats`, exit 0. */
  | { readonly type: 'shutdown'; readonly timeoutMs: number }
  /** The complete set of origin members that are down now, per vhost (see origin/health-view.ts). */
  | { readonly type: 'origin-health'; readonly down: Readonly<Record<string, readonly string[]>> }
  /** URLs whose fill found no member, reported by any worker: fail them at once until their time (health-view.ts). */
  | { readonly type: 'origin-failed-urls'; readonly failed: ReadonlyArray<FailedUrl> }
  /** The answer to an `origin-trial-request`: the member to try (null = none), and when the worker may ask again. */
  | { readonly type: 'origin-trial'; readonly requestId: number; readonly vhost: string; readonly member: string | null; readonly retryAt: number }
  /** A purge/expire changed the index: drop hot-tier entries these scopes match, then answer `cache-control-done`. */
  | {
      readonly type: 'cache-control';
      readonly requestId: number;
      readonly scopes: readonly PurgeScope[];
      /** A tag purge: the primary keys it reached (hot-tier entries to drop) and the vhosts whose fills it marked. */
      readonly tagged?: TaggedScope;
    }
  /** The answer to a `cache-control-request` (the HTTP status and JSON body to send the client). */
  | { readonly type: 'cache-control-result'; readonly requestId: number; readonly status: number; readonly body: unknown }
  /** Reopen every log file at its path (SIGUSR1, SIGHUP, a rotation), then answer `logs-reopened`. */
  | { readonly type: 'logs-reopen'; readonly requestId: number }
  /** Requests other workers admitted under <RateLimit> since their last report (pipeline/rate-limit.ts). */
  | { readonly type: 'rate-charge'; readonly usage: RateUsage };

export type WorkerMessage =
  /**
   * The worker is ready to receive messages. Sent first: an ESM worker attaches its IPC listener only after its
   * modules load, and node drops messages that arrive before that, so the primary sends `config` on `hello`.
   */
  | { readonly type: 'hello'; readonly workerIndex: number }
  /** The worker listens on every service address of the config it was given. */
  | { readonly type: 'listening'; readonly workerIndex: number; readonly configHash: string }
  /** Listening failed (port taken, permission); the worker exits after sending this. */
  | { readonly type: 'listen-failed'; readonly workerIndex: number; readonly message: string }
  /** A counters snapshot: periodic (`requestId` null) or the answer to a `stats-request`. */
  | { readonly type: 'stats'; readonly requestId: number | null; readonly snapshot: WorkerSnapshot }
  /**
   * Origin transaction outcomes observed since the last report, in order: [vhost, member key, outcome]; and the URLs
   * whose fill found no member since then, for the primary to share with every worker.
   */
  | { readonly type: 'origin-outcomes'; readonly outcomes: ReadonlyArray<readonly [string, string, OriginOutcome]>; readonly failed: ReadonlyArray<FailedUrl> }
  /** Every member of the vhost is down in this worker's view: may a request try one (origin/trial-gate.ts)? */
  | { readonly type: 'origin-trial-request'; readonly requestId: number; readonly vhost: string }
  /** The hot tier dropped what a `cache-control` asked for. */
  | { readonly type: 'cache-control-done'; readonly requestId: number }
  /** Every log file of the worker now writes to the file at its path (no record goes to the old one any more). */
  | { readonly type: 'logs-reopened'; readonly requestId: number }
  /** Requests this worker admitted under <RateLimit> per vhost and address since its last report; relayed to the others. */
  | { readonly type: 'rate-usage'; readonly usage: RateUsage }
  /**
   * A PURGE/EXPIRE/HARDPURGE request arrived on the service port: the primary checks the address (and token) against
   * <Manager>, runs it and answers with `cache-control-result`. `url` is `vhost/path[?query]`.
   */
  | {
      readonly type: 'cache-control-request';
      readonly requestId: number;
      readonly method: string;
      readonly url: string;
      readonly address: string;
      readonly authorization: string | null;
    };

const PRIMARY_TYPES = new Set(['config', 'stats-request', 'shutdown', 'origin-health', 'origin-failed-urls', 'origin-trial', 'cache-control', 'cache-control-result', 'logs-reopen', 'rate-charge']);
const WORKER_TYPES = new Set(['hello', 'listening', 'listen-failed', 'stats', 'origin-outcomes', 'origin-trial-request', 'cache-control-done', 'cache-control-request', 'logs-reopened', 'rate-usage']);

function hasType(value: unknown, types: ReadonlySet<string>): boolean {
  return typeof value === 'object' && value !== null && types.has((value as { type?: unknown }).type as string);
}

/** Narrows a message received by a worker. */
export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return hasType(value, PRIMARY_TYPES);
}

/** Narrows a message received by the primary. */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return hasType(value, WORKER_TYPES);
}
