/**
 * @module origin/health-view
 * The contract between origin health (owned by the primary) and member selection (in workers). A member is one
 * resolved origin endpoint of one vhost, named by its key `host:port` (an IP literal once DNS names are resolved;
 * `[v6]:port` for IPv6). The primary decides which members are down and pushes the whole set to every worker in an
 * `origin-health` message; workers report what they observed (`origin-outcomes`), batched, never one IPC message
 * per request. The view also holds what the primary shares besides the down set: URLs whose fill found no member
 * (negative caching, shared so N workers do not each retry them), and the way to ask for a vhost's all-down trial
 * (origin/trial-gate.ts). Runs in workers. Imports nothing.
 */

/**
 * What a worker observed of one origin transaction with a member: an answer ('ok'), an answer whose status the
 * vhost's `<Exclusion ResCode>` lists ('bad-status'), or a connectivity failure of the member (origin/fetch.ts
 * OriginCharge). A transaction that failed on Flint's side (a request undici refused, an abort, a client body that
 * failed) is not an outcome: it is never reported.
 */
export type OriginOutcome = 'ok' | 'connect-fail' | 'receive-fail' | 'bad-status';

/**
 * One URL whose fill found no member to answer, remembered by every worker until `until` (epoch ms) so the origin
 * sees one request for it per `<TTL><ConnectTimeout>`, not one per worker: [vhost, url, until].
 */
export type FailedUrl = readonly [string, string, number];

/** Receives outcomes as they happen (implemented by the worker's health reporter; a no-op until it exists). */
export interface OriginOutcomeSink {
  /** `trial`: the transaction was the vhost's all-down trial (always sent: the primary re-admits on its 'ok'). */
  report(vhost: string, member: string, outcome: OriginOutcome, trial?: boolean): void;
  /** Shares a failed URL with the other workers (through the primary). */
  rememberFailure(failed: FailedUrl): void;
}

/** Where the router asks for a vhost's all-down trial (origin/trial-gate.ts). */
export interface TrialAsker {
  /**
   * A promise of the member key to try (null = not granted), or null at once when this worker may not ask now (a
   * question is in flight, or the last answer said to wait).
   */
  ask(vhost: string): Promise<string | null> | null;
}

/** Never grants a trial (a worker without a primary: tests and tools). */
export const NO_TRIALS: TrialAsker = { ask: () => null };

/** Most URLs remembered as failed at once, per worker (the oldest are forgotten first). */
const FAILED_MAX = 10_000;

export const IGNORE_OUTCOMES: OriginOutcomeSink = { report: () => undefined, rememberFailure: () => undefined };

/** The worker's copy of the primary's verdict: which members of which vhost are down right now. */
export class OriginHealthView {
  /** vhost name -> member keys that are down. Replaced whole on every update. */
  #down: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  /** `vhost \n url` -> until when (epoch ms) requests for it fail at once: every worker's failed fills. */
  readonly #failed = new Map<string, number>();
  /** Asks the primary for all-down trials (set by the worker's wiring). */
  trials: TrialAsker = NO_TRIALS;

  /** Applies the primary's latest verdict (the complete set of down members, per vhost). */
  apply(down: Readonly<Record<string, readonly string[]>>): void {
    const next = new Map<string, ReadonlySet<string>>();
    for (const [vhost, members] of Object.entries(down)) if (members.length > 0) next.set(vhost, new Set(members));
    this.#down = next;
  }

  isDown(vhost: string, member: string): boolean {
    return this.#down.get(vhost)?.has(member) ?? false;
  }

  /** Remembers failed URLs (this worker's and, through the primary, every other worker's). */
  rememberFailed(failed: ReadonlyArray<FailedUrl>): void {
    const now = Date.now();
    for (const [vhost, url, until] of failed) {
      if (until <= now) continue;
      if (this.#failed.size >= FAILED_MAX) {
        const oldest = this.#failed.keys().next();
        if (oldest.done !== true) this.#failed.delete(oldest.value);
      }
      this.#failed.set(`${vhost}\n${url}`, until);
    }
  }

  /** Whether a fill of `url` found no member less than `<TTL><ConnectTimeout>` ago, in any worker. */
  failedRecently(vhost: string, url: string): boolean {
    if (this.#failed.size === 0) return false;
    const key = `${vhost}\n${url}`;
    const until = this.#failed.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#failed.delete(key);
    return false;
  }

  /** Forgets the failed URLs (a new config may have new members or another ConnectTimeout). */
  forgetFailed(): void {
    this.#failed.clear();
  }
}
