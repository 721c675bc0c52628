/**
 * @module origin/router
 * Every origin transaction of a worker goes through here: pick a member (origin/selector.ts) among those the
 * health view does not call down, send the request to that member's pool (path prefix of its `<Address>`), report
 * the outcome to the health sink, and retry on another member while the transaction never started (`<Retry>`:
 * connect refused/failed/timed out; only requests without a body, which can be sent again). With no member left
 * the answer is FLINT_ERR_ORIGIN_DOWN (503) at once, without touching a socket, and a GET's failure is remembered
 * for `<TTL><ConnectTimeout>` seconds (negative caching: the same URL fails fast meanwhile, protecting the origin).
 * Runs in workers.
 */
import type { Config, Vhost } from '../config/types.js';
import { FlintError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OriginHeaders, OriginRequest, OriginSink, OriginTransfer } from './fetch.js';
import { fetchFromOrigin } from './fetch.js';
import type { OriginHealthView, OriginOutcome, OriginOutcomeSink } from './health-view.js';
import type { OriginMember, Resolver } from './members.js';
import { MemberTable } from './members.js';
import { OriginPools } from './pool.js';
import type { Selection } from './selector.js';
import { MemberSelector, hashedUrl } from './selector.js';

/**
 * One origin transaction to route. `path` is the origin URL without any member's path prefix. The sink's optional
 * onMember hears each member chosen (the access log's origin).
 */
export interface RoutedRequest extends OriginRequest {
  /** Which member: balance mode and hash key. */
  readonly selection: Selection;
  /** Remember an all-down failure of this URL for `<TTL><ConnectTimeout>` (cache fills). */
  readonly negativeCache?: boolean;
}

/** Methods whose request may be sent again when a reused connection turned out closed before any answer. */
const IDEMPOTENT = new Set(['GET', 'HEAD']);

/** Most URLs remembered as failed at once, per worker (the oldest are forgotten first). */
const NEGATIVE_MAX = 10_000;

export class OriginRouter {
  readonly members: MemberTable;
  readonly #pools: OriginPools;
  readonly #selector = new MemberSelector();
  readonly #health: OriginHealthView;
  readonly #outcomes: OriginOutcomeSink;
  /** `vhost \n url` -> until when (ms) requests for it fail at once. */
  readonly #negative = new Map<string, number>();

  constructor(log: Logger, health: OriginHealthView, outcomes: OriginOutcomeSink, resolve?: Resolver) {
    this.#pools = new OriginPools(log);
    this.members = new MemberTable(log, resolve);
    this.members.onChange = () => this.#retainPools();
    this.#health = health;
    this.#outcomes = outcomes;
  }

  apply(config: Config): void {
    this.members.apply(config);
    this.#retainPools();
    this.#negative.clear();
  }

  /** Closes the pools of members that are gone (config reload, DNS change); in-flight requests finish first. */
  #retainPools(): void {
    this.#pools.retain([...this.members.all()].map(([vhost, member]) => [member.address, vhost.originOptions] as const));
  }

  /** Origin connections of this worker, open and busy (for /monitoring and /metrics). */
  sessions(): { open: number; active: number } {
    return this.#pools.sessions();
  }

  /** The selection for a cache fill of `url`: the vhost's BalanceMode over the URL (after `<IgnoreSuffix>`). */
  static forUrl(vhost: Vhost, url: string): Selection {
    const options = vhost.originOptions;
    return { mode: options.balanceMode, hashKey: options.balanceMode === 'Hash' ? hashedUrl(url, options.hashIgnoreSuffixes) : url };
  }

  /** The selection for a bypassed request: sticky per client IP with `<OriginAffinity>`, else as a fill. */
  static forBypass(vhost: Vhost, url: string, clientIp: string): Selection {
    return vhost.originOptions.originAffinity ? { mode: 'Hash', hashKey: clientIp } : OriginRouter.forUrl(vhost, url);
  }

  /** Starts `request` for `vhost` on a chosen member, streaming into `sink` (see fetch.ts for the sink order). */
  open(vhost: Vhost, request: RoutedRequest, sink: OriginSink): OriginTransfer {
    return new RoutedTransfer(this, vhost, request, sink).start();
  }

  /** Whether the vhost has no member left to try right now (every one down per the health view). */
  allDown(vhost: Vhost): boolean {
    const set = this.members.members(vhost.name);
    const up = (m: OriginMember): boolean => !this.#health.isDown(vhost.name, m.key);
    return !set.active.some(up) && !set.standby.some(up);
  }

  /** @internal The member for one attempt of a RoutedTransfer, or null. */
  pick(vhost: Vhost, selection: Selection, tried: readonly string[]): OriginMember | null {
    const usable = (m: OriginMember): boolean => !tried.includes(m.key) && !this.#health.isDown(vhost.name, m.key);
    const idle = (m: OriginMember): boolean => this.#pools.get(m.address, vhost.originOptions).stats.free > 0;
    return this.#selector.pick(vhost.name, this.members.members(vhost.name), selection, usable, idle);
  }

  /** @internal Whether a member is left that is neither down nor in `tried`. */
  hasCandidate(vhost: Vhost, tried: readonly string[]): boolean {
    const set = this.members.members(vhost.name);
    const usable = (m: OriginMember): boolean => !tried.includes(m.key) && !this.#health.isDown(vhost.name, m.key);
    return set.active.some(usable) || set.standby.some(usable);
  }

  /** @internal */
  dispatch(vhost: Vhost, member: OriginMember, request: OriginRequest, sink: OriginSink): OriginTransfer {
    const pool = this.#pools.get(member.address, vhost.originOptions);
    return fetchFromOrigin(pool, member.key, request, member.address.pathPrefix + request.path, sink);
  }

  /** @internal */
  report(vhost: Vhost, member: string, outcome: OriginOutcome): void {
    this.#outcomes.report(vhost.name, member, outcome);
  }

  /** @internal Whether `url` failed with every member down less than `<TTL><ConnectTimeout>` ago. */
  negativeHit(vhost: Vhost, url: string): boolean {
    const key = `${vhost.name}\n${url}`;
    const until = this.#negative.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#negative.delete(key);
    return false;
  }

  /** @internal */
  rememberFailure(vhost: Vhost, url: string): void {
    const ttlSec = vhost.options.ttl.errorExtensionSec;
    if (ttlSec <= 0) return;
    if (this.#negative.size >= NEGATIVE_MAX) {
      const oldest = this.#negative.keys().next();
      if (oldest.done !== true) this.#negative.delete(oldest.value);
    }
    this.#negative.set(`${vhost.name}\n${url}`, Date.now() + ttlSec * 1000);
  }

  async close(): Promise<void> {
    this.members.close();
    await this.#pools.destroyAll();
  }
}

function originDown(vhost: Vhost, detail: string): FlintError {
  return new FlintError('FLINT_ERR_ORIGIN_DOWN', `every origin of ${vhost.name} is unavailable: ${detail}`, { source: 'origin', retryable: false });
}

/** One routed origin transaction: its attempts, outcome reports and the transfer the caller controls. */
class RoutedTransfer implements OriginSink, OriginTransfer {
  readonly #router: OriginRouter;
  readonly #vhost: Vhost;
  readonly #request: RoutedRequest;
  readonly #sink: OriginSink;
  /** Member keys tried so far, in order (one in the common case: an array is cheaper than a Set). */
  readonly #tried: string[] = [];
  #member: OriginMember | null = null;
  /** The last connect failure (named in the 503 when no member is left). */
  #lastError: FlintError | null = null;
  #transfer: OriginTransfer | null = null;
  #status = 0;
  #paused = false;
  #done = false;
  #aborted = false;

  constructor(router: OriginRouter, vhost: Vhost, request: RoutedRequest, sink: OriginSink) {
    this.#router = router;
    this.#vhost = vhost;
    this.#request = request;
    this.#sink = sink;
  }

  start(): this {
    if (this.#request.negativeCache === true && this.#router.negativeHit(this.#vhost, this.#request.path)) {
      this.#failLater(originDown(this.#vhost, 'failed moments ago; retried after ConnectTimeout'));
    } else {
      this.#attempt();
    }
    return this;
  }

  #attempt(): void {
    const member = this.#router.pick(this.#vhost, this.#request.selection, this.#tried);
    if (member === null) {
      const detail = this.#lastError === null ? 'all members are down' : `no member could be reached; last: ${this.#lastError.message}`;
      this.#failLater(originDown(this.#vhost, detail), true);
      return;
    }
    this.#member = member;
    this.#tried.push(member.key);
    this.#sink.onMember?.(member.key);
    this.#transfer = this.#router.dispatch(this.#vhost, member, this.#request, this);
    if (this.#paused) this.#transfer.pause();
  }

  /** Errors reach the sink asynchronously, like undici's (callers set up state after starting). */
  #failLater(error: FlintError, remember = false): void {
    this.#done = true;
    if (remember && this.#request.negativeCache === true) this.#router.rememberFailure(this.#vhost, this.#request.path);
    queueMicrotask(() => {
      if (!this.#aborted) this.#sink.onError(error);
    });
  }

  onHeaders(status: number, headers: OriginHeaders, statusText: string): void {
    this.#status = status;
    this.#sink.onHeaders(status, headers, statusText);
  }

  onData(chunk: Buffer): void {
    this.#sink.onData(chunk);
  }

  onEnd(): void {
    this.#done = true;
    this.#reportStatus();
    this.#sink.onEnd();
  }

  onError(error: FlintError): void {
    const member = this.#member;
    this.#done = true;
    if (member === null) return this.#sink.onError(error);
    const connectFailed = this.#status === 0 && error.retryable;
    this.#router.report(this.#vhost, member.key, connectFailed ? 'connect-fail' : 'receive-fail');
    // A pooled keep-alive connection the member had already closed also never started a GET/HEAD: retry it too.
    const staleSocket = this.#status === 0 && error.code === 'FLINT_ERR_ORIGIN_RESET' && IDEMPOTENT.has(this.#request.method);
    if (!(connectFailed || staleSocket) || this.#request.body !== null) return this.#sink.onError(error);
    this.#lastError = error;
    if (this.#tried.length <= this.#vhost.originOptions.retries) {
      this.#done = false;
      this.#attempt();
      return;
    }
    // Out of retries: a 503 only when no member was left to try anyway, else this member's own error.
    if (this.#router.hasCandidate(this.#vhost, this.#tried)) this.#sink.onError(error);
    else this.#failLater(originDown(this.#vhost, `no member could be reached; last: ${error.message}`), true);
  }

  #reportStatus(): void {
    if (this.#member !== null && this.#status !== 0) this.#router.report(this.#vhost, this.#member.key, this.#status >= 500 ? '5xx' : 'ok');
  }

  pause(): void {
    this.#paused = true;
    this.#transfer?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#transfer?.resume();
  }

  abort(): void {
    if (!this.#done) this.#reportStatus();
    this.#done = true;
    this.#aborted = true;
    this.#transfer?.abort();
  }
}
