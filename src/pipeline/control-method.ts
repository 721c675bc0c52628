/**
 * @module pipeline/control-method
 * The worker's side of cache control: PURGE / EXPIRE / HARDPURGE requests on the service port (uWS v20.50+ passes
 * them to the handler) are forwarded to the primary, which checks the peer address against <Manager><Allow> (Admin
 * role) and the Authorization header against <Manager Token>, runs the command as /command/* does and answers with
 * the same JSON body, or 403. A purge notice from the primary drops matching hot-tier entries and detaches matching
 * fills in flight (for a tag purge: the URLs it reached, and every fill of its vhosts). Nothing here touches the index. Runs in workers.
 */
import type { RequestHead } from '../http/request.js';
import { headerValue } from '../http/request.js';
import type { ClientWriter } from '../http/writer.js';
import type { WorkerMessage } from '../ipc/messages.js';
import type { PurgeScope, TaggedScope } from '../policy/purge-target.js';
import { scopeMatcher } from '../policy/purge-target.js';
import type { HotTier } from './hot-tier.js';

/** HTTP methods STON accepts for cache control on the service port. */
export const CONTROL_METHODS: ReadonlySet<string> = new Set(['PURGE', 'EXPIRE', 'HARDPURGE']);

/** How long a forwarded command may take before the client gets 504 (a glob purge of millions of keys). */
const FORWARD_TIMEOUT_MS = 120_000;

const JSON_HEADERS = ['content-type', 'application/json', 'cache-control', 'no-store'];

interface Pending {
  readonly resolve: (result: { status: number; body: unknown }) => void;
  readonly timer: NodeJS.Timeout;
}

/** Forwards control-method requests to the primary and routes its answers back by request id. */
export class ControlForwarder {
  readonly #send: (message: WorkerMessage) => void;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(send: (message: WorkerMessage) => void) {
    this.#send = send;
  }

  /** Answers one control-method request; `url` is `vhost/path[?query]`. */
  handle(writer: ClientWriter, head: RequestHead, url: string): void {
    const requestId = this.#nextId++;
    const answered = new Promise<{ status: number; body: unknown }>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        resolve({ status: 504, body: { error: 'the primary did not answer in time' } });
      }, FORWARD_TIMEOUT_MS);
      this.#pending.set(requestId, { resolve, timer });
    });
    writer.onAbort(() => undefined);
    this.#send({ type: 'cache-control-request', requestId, method: head.method, url, address: head.clientIp, authorization: headerValue(head, 'authorization') ?? null });
    void answered.then((result) => writer.endWithBody(result.status, '', JSON_HEADERS, `${JSON.stringify(result.body)}\n`));
  }

  /** A `cache-control-result` from the primary. */
  receive(requestId: number, status: number, body: unknown): void {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return;
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    pending.resolve({ status, body });
  }
}

/** What a `cache-control` notice acts on in a worker (Edge wires the hot tier and the cache flow). */
export interface ControlNoticeTargets {
  readonly hot: HotTier;
  /** Stops new requests joining this worker's fills of matching URLs (the primary marked their lease records). */
  detachFills(matches: (primary: string) => boolean): number;
}

/**
 * Applies a `cache-control` notice: drops the hot-tier entries of the purged scopes and detaches this worker's
 * fills of them, so a request that arrives once the purge returned neither hits an old entry nor joins a fill
 * that started before the purge. Returns how many URLs were dropped from the hot tier.
 */
export function applyControlNotice(targets: ControlNoticeTargets, scopes: readonly PurgeScope[], tagged?: TaggedScope): number {
  const matchers = scopes.map(scopeMatcher);
  const matches = (primary: string): boolean => matchers.some((m) => m(primary));
  if (tagged === undefined) {
    targets.detachFills(matches);
    return targets.hot.invalidateMatching(matches);
  }
  // A tag purge: the primary keys it reached (a Set: thousands of them), and every fill of its vhosts (a fill's
  // tags are known only when it commits; the primary marked them all).
  const keys = new Set(tagged.primaries);
  const vhosts = tagged.vhosts.map((name) => `${name}\n`);
  targets.detachFills((primary) => matches(primary) || vhosts.some((prefix) => primary.startsWith(prefix)));
  return targets.hot.invalidateMatching((primary) => keys.has(primary) || matches(primary));
}
