/**
 * @module origin/router
 * Every origin transaction of a worker goes through here: pick a member (origin/selector.ts) among those the
 * health view does not call down, send the request to that member's pool (path prefix of its `<Address>`), report
 * the outcome to the health sink, and retry on another member while the transaction never started (`<Retry>`:
 * connect refused/failed/timed out; only requests without a body, which can be sent again). Only what the member
 * did is reported: a connectivity failure (fetch.ts OriginCharge), an answer, or a status `<Exclusion ResCode>`
 * lists; a request that failed on Flint's side (refused by undici, aborted, a client body) reports nothing. With
 * every member down a GET/HEAD may still be the vhost's one trial of its `<Recovery Cycle>` (granted by the primary
 * for all workers, health-view.ts TrialAsker); otherwise the answer is FLINT_ERR_ORIGIN_DOWN (503) at once, without
 * touching a socket. A fill's URL that found no member answering after trying is remembered for
 * `<TTL><ConnectTimeout>` seconds by every worker (shared through the primary: the origin sees one request for it
 * per window, not one per worker). Runs in workers.
 */
import type { Config, Vhost } from '../config/types.js';
import { FlintError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OriginHeaders, OriginRequest, OriginSink, OriginTransfer } from './fetch.js';
import { chargeOf, fetchFromOrigin } from './fetch.js';
import { tapOriginTransaction } from '../logs/origin-log.js';
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

export class OriginRouter {
  readonly members: MemberTable;
  readonly #pools: OriginPools;
  readonly #selector = new MemberSelector();
  readonly #health: OriginHealthView;
  readonly #outcomes: OriginOutcomeSink;

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
    this.#health.forgetFailed();
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
    const path = member.address.pathPrefix + request.path;
    // Origin log (logs/origin-log.ts): with <Log><Origin>, a tap around the sink writes this transaction's line.
    const tap = tapOriginTransaction(vhost, member.key, request, path, sink);
    if (tap !== null) return tap.attach(fetchFromOrigin(pool, member.key, request, path, tap));
    return fetchFromOrigin(pool, member.key, request, path, sink);
  }

  /** @internal The member of the vhost with this key, or null (it left with a reload or a DNS change). */
  member(vhost: Vhost, key: string): OriginMember | null {
    const set = this.members.members(vhost.name);
    return set.active.find((m) => m.key === key) ?? set.standby.find((m) => m.key === key) ?? null;
  }

  /** @internal Asks for the vhost's all-down trial (see health-view.ts TrialAsker). */
  askTrial(vhost: Vhost): Promise<string | null> | null {
    return this.#health.trials.ask(vhost.name);
  }

  /** @internal */
  report(vhost: Vhost, member: string, outcome: OriginOutcome, trial: boolean): void {
    this.#outcomes.report(vhost.name, member, outcome, trial);
  }

  /** @internal Whether `url` found no member answering less than `<TTL><ConnectTimeout>` ago, in any worker. */
  negativeHit(vhost: Vhost, url: string): boolean {
    return this.#health.failedRecently(vhost.name, url);
  }

  /** @internal Remembers `url` here at once and, through the primary, in every other worker. */
  rememberFailure(vhost: Vhost, url: string): void {
    const ttlSec = vhost.options.ttl.errorExtensionSec;
    if (ttlSec <= 0) return;
    const failed = [vhost.name, url, Date.now() + ttlSec * 1000] as const;
    this.#health.rememberFailed([failed]);
    this.#outcomes.rememberFailure(failed);
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
  /** This transaction is the vhost's all-down trial (its outcome is always reported: an answer re-admits). */
  #trial = false;

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
    if (member !== null) return this.#send(member);
    if (this.#tried.length === 0 && this.#request.body === null && IDEMPOTENT.has(this.#request.method)) {
      const asked = this.#router.askTrial(this.#vhost);
      if (asked !== null) {
        asked.then(this.#onTrial, () => this.#onTrial(null));
        return;
      }
    }
    this.#noMember();
  }

  /** No member to send to: 503; remembered for the URL only when members were tried (the origin was asked). */
  #noMember(): void {
    const detail = this.#lastError === null ? 'all members are down' : `no member could be reached; last: ${this.#lastError.message}`;
    this.#failLater(originDown(this.#vhost, detail), this.#tried.length > 0);
  }

  readonly #onTrial = (key: string | null): void => {
    if (this.#aborted || this.#done) return;
    const member = key === null ? null : this.#router.member(this.#vhost, key);
    if (member === null) return this.#noMember();
    this.#trial = true;
    this.#send(member);
  };

  #send(member: OriginMember): void {
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
    // Only the member's own failures count against it: never a request refused or dropped on Flint's side.
    const charge = chargeOf(error);
    if (charge !== 'none') this.#router.report(this.#vhost, member.key, charge === 'connect' ? 'connect-fail' : 'receive-fail', this.#trial);
    const connectFailed = this.#status === 0 && error.retryable;
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

  /** An answer: 'bad-status' when `<Exclusion ResCode>` lists its status, else 'ok' (the member is reachable). */
  #reportStatus(): void {
    if (this.#member === null || this.#status === 0) return;
    const outcome = this.#vhost.originOptions.exclusionResCodes.includes(this.#status) ? 'bad-status' : 'ok';
    this.#router.report(this.#vhost, this.#member.key, outcome, this.#trial);
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
