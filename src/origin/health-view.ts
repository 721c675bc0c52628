/**
 * @module origin/health-view
 * The contract between origin health (owned by the primary) and member selection (in workers). A member is one
 * resolved origin endpoint of one vhost, named by its key `host:port` (an IP literal once DNS names are resolved;
 * `[v6]:port` for IPv6). The primary decides which members are down and pushes the whole set to every worker in an
 * `origin-health` message; workers report what they observed (`origin-outcomes`), batched, never one IPC message
 * per request. Runs in workers. Imports nothing.
 */

/** What a worker observed of one origin transaction with a member. */
export type OriginOutcome = 'ok' | 'connect-fail' | 'receive-fail' | '5xx';

/** Receives outcomes as they happen (implemented by the worker's health reporter; a no-op until it exists). */
export interface OriginOutcomeSink {
  report(vhost: string, member: string, outcome: OriginOutcome): void;
}

export const IGNORE_OUTCOMES: OriginOutcomeSink = { report: () => undefined };

/** The worker's copy of the primary's verdict: which members of which vhost are down right now. */
export class OriginHealthView {
  /** vhost name -> member keys that are down. Replaced whole on every update. */
  #down: ReadonlyMap<string, ReadonlySet<string>> = new Map();

  /** Applies the primary's latest verdict (the complete set of down members, per vhost). */
  apply(down: Readonly<Record<string, readonly string[]>>): void {
    const next = new Map<string, ReadonlySet<string>>();
    for (const [vhost, members] of Object.entries(down)) if (members.length > 0) next.set(vhost, new Set(members));
    this.#down = next;
  }

  isDown(vhost: string, member: string): boolean {
    return this.#down.get(vhost)?.has(member) ?? false;
  }
}
