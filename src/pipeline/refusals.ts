/**
 * @module pipeline/refusals
 * Answers a request Flint refuses before routing or any origin work (bad framing or Host: http/framing.ts; bad
 * target; declared body over <MaxRequestBodySize>) with its 4xx/501 and a closed connection, and refuses the
 * requests pipelined behind it. Runs in workers.
 *
 * uWS closes a connection after `end(body, true)` only once it has parsed what it already read: a request that
 * came in the same packet behind the refused one (`Content-Length: 5`, `Content-Length: 6`, `hello`, `GET /victim`)
 * is still dispatched to the handler (measured, uWS v20.51), and closing the socket from that handler drops the
 * refusal not yet flushed. uWS.js gives no connection identity (no peer port), so a refusal remembers the peer IP
 * until the current event-loop turn ends (setImmediate: every read of this poll phase has been parsed by then),
 * and a request from that IP in the same turn gets the same answer and close instead of reaching an origin. Only
 * other connections from the same IP read in the same turn can be caught too; the common path pays one size check.
 */
import type { ClientWriter } from '../http/writer.js';
import type { RequestHead } from '../http/request.js';
import { ERROR_HEADERS, refusalResponse } from './fail.js';

export class Refusals {
  /** Peer IPs refused in this event-loop turn. */
  #peers = new Set<string>();
  #clearing = false;

  /** True when `head` may be a request pipelined behind one refused in this turn: refuse it with `refuse`. */
  follows(head: RequestHead): boolean {
    return this.#peers.size !== 0 && this.#peers.has(head.clientIp);
  }

  /** Ends the response with `status` and a general `detail`, closes the connection, remembers the peer for this turn. */
  refuse(writer: ClientWriter, head: RequestHead, status: number, detail: string): void {
    const response = refusalResponse(status, detail);
    // The peer address must be read while the response is open.
    this.#peers.add(head.clientIp);
    writer.endWithBody(response.status, response.reason, ERROR_HEADERS, response.body, true);
    if (!this.#clearing) {
      this.#clearing = true;
      setImmediate(() => {
        this.#clearing = false;
        this.#peers.clear();
      });
    }
  }
}
