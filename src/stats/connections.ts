/**
 * @module stats/connections
 * The worker's count of open client connections on its service ports, kept by uWS's `app.filter` callback (+1 when
 * a connection opens, -1 when it closes; http/server.ts). Each worker reports its count in its stats snapshot and
 * the primary sums them for /stats, /metrics and /monitoring. Counts only what uWS accepted: it replaced a scan of
 * /proc/net/tcp, which cost a read of every socket on the box per /stats call, also counted other processes bound
 * to the same ports, and worked only on Linux. Runs in workers.
 */

/** Open client connections of this worker (a gauge; module state because uWS's callback is per process anyway). */
export const clientConnections = {
  open: 0,
  /** uWS's filter callback: `count` is +1 on open and -1 on close. */
  change(count: number): void {
    this.open += count;
  },
};
