/**
 * @module stats/connections
 * The worker's count of open client connections on its service ports, and `<MaxSockets>` admission (issue 20).
 * uWS's `app.filter` callback (http/server.ts) and the TLS server's `connection` event (tls/h2-server.ts) report
 * every accepted connection here; `opened()` says whether to keep it. Each worker admits its share of MaxSockets
 * (limit / workers): connections reach workers through the kernel (SO_REUSEPORT) or the primary's round-robin, so
 * the shares fill evenly and the sum never passes MaxSockets, with no message per connection. Once a worker's share
 * is full it refuses until its count falls below `Reopen`% of the share (STON's hysteresis); both changes are
 * told to `onChange` (the worker logs them, workers/edge.ts). Each worker reports its
 * counts in its stats snapshot; the primary sums them for /stats, /metrics and /monitoring. Runs in workers.
 */

/** Open client connections of this worker and its MaxSockets state (module state: uWS's callback is per process anyway). */
export const clientConnections = {
  /** Connections open now, including refused ones until their close is reported (uWS reports those too). */
  open: 0,
  /** Connections closed at once because the share was full (monotonic). */
  refused: 0,
  /** True from the moment the share is full until the count falls below the reopen mark. */
  refusing: false,
  /** This worker's share of MaxSockets; 0 = no limit. */
  limit: 0,
  /** Refusing stops when `open` is at most this. */
  reopenAt: 0,
  /** Told when `refusing` changes (the worker logs it); null = nobody listens. */
  onChange: null as ((refusing: boolean) => void) | null,

  /** Applies `<MaxSockets Reopen>` (at start and on reload) for a worker that is one of `workers`. */
  configure(maxSockets: number, reopenPercent: number, workers: number): void {
    this.limit = maxSockets === 0 ? 0 : Math.max(1, Math.floor(maxSockets / workers));
    this.reopenAt = Math.floor((this.limit * reopenPercent) / 100);
    if (this.refusing && (this.limit === 0 || this.open <= this.reopenAt)) setRefusing(false);
  },

  /** A connection was accepted: false = refuse it (the caller closes it; its close is still reported to `closed`). */
  opened(): boolean {
    this.open++;
    if (this.limit === 0) return true;
    if (!this.refusing && this.open <= this.limit) return true;
    this.refused++;
    if (!this.refusing) setRefusing(true);
    return false;
  },

  closed(): void {
    this.open--;
    if (this.refusing && this.open <= this.reopenAt) setRefusing(false);
  },
};

function setRefusing(refusing: boolean): void {
  clientConnections.refusing = refusing;
  clientConnections.onChange?.(refusing);
}
