/**
 * @module origin/health-reporter
 * The worker's OriginOutcomeSink: collects what origin transactions ended like and sends them to the primary in
 * `origin-outcomes` batches, at most one IPC message per BATCH_MS, never one per request. The first outcome after
 * a quiet spell leaves on the next turn of the event loop (with whatever joined it meanwhile), so a failing origin
 * is reported without waiting out a timer; later ones wait for the rest of the BATCH_MS window. A healthy busy worker says
 * little: every failure is sent, but a success only when it is news (the first one after this worker saw that member
 * fail) or, at most once per OK_REFRESH_MS per member, to reset failure counts other workers' reports built up in
 * the primary. URLs whose fill found no member (router.ts negative caching) ride in the same batches, for the primary
 * to hand to every worker. Runs in workers.
 */
import type { FailedUrl, OriginOutcome, OriginOutcomeSink } from './health-view.js';

/** Shortest time between two batches, and so the longest an outcome waits. */
export const BATCH_MS = 100;
/** A member's successes are repeated to the primary at most this often. */
const OK_REFRESH_MS = 1000;
/** Most outcomes one batch carries; a burst beyond this adds nothing the primary needs (it counts to <Exclusion>). */
const MAX_BATCH = 1000;

export type OutcomeBatch = Array<readonly [string, string, OriginOutcome]>;

export class OutcomeReporter implements OriginOutcomeSink {
  readonly #send: (outcomes: OutcomeBatch, failed: FailedUrl[]) => void;
  #pending: OutcomeBatch = [];
  #failed: FailedUrl[] = [];
  #timer: NodeJS.Timeout | null = null;
  #lastSentAt = 0;
  /**
   * vhost -> member -> when an 'ok' was last queued (0 = the last thing this worker saw was a failure). Nested maps
   * rather than one joined key: every origin transaction looks here, and a key string per lookup costs an allocation
   * and a hash.
   */
  readonly #lastOk = new Map<string, Map<string, number>>();

  constructor(send: (outcomes: OutcomeBatch, failed: FailedUrl[]) => void) {
    this.#send = send;
  }

  report(vhost: string, member: string, outcome: OriginOutcome, trial = false): void {
    let lastOk = this.#lastOk.get(vhost);
    if (lastOk === undefined) {
      lastOk = new Map();
      this.#lastOk.set(vhost, lastOk);
    }
    if (outcome === 'ok') {
      const now = Date.now();
      const last = lastOk.get(member);
      if (!trial && last !== undefined && last !== 0 && now - last < OK_REFRESH_MS) return;
      lastOk.set(member, now);
    } else {
      lastOk.set(member, 0);
    }
    if (this.#pending.length >= MAX_BATCH) return;
    this.#pending.push([vhost, member, outcome]);
    this.#schedule();
  }

  rememberFailure(failed: FailedUrl): void {
    if (this.#failed.length >= MAX_BATCH) return;
    this.#failed.push(failed);
    this.#schedule();
  }

  #schedule(): void {
    this.#timer ??= setTimeout(this.#flush, Math.max(0, this.#lastSentAt + BATCH_MS - Date.now()));
  }

  readonly #flush = (): void => {
    this.#timer = null;
    if (this.#pending.length === 0 && this.#failed.length === 0) return;
    const batch = this.#pending;
    const failed = this.#failed;
    this.#pending = [];
    this.#failed = [];
    this.#lastSentAt = Date.now();
    this.#send(batch, failed);
  };

  /** Sends what is pending now (at shutdown). */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#flush();
  }
}
