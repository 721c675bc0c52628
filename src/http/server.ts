/**
 * @module http/server
 * The worker's client-facing listeners: one uWS App per listen address, all workers binding the same ports
 * (uWS sets SO_REUSEPORT by default on Linux, so the kernel spreads connections). Knows nothing about caching:
 * the caller supplies one request handler per address. Counts the open client connections and refuses those past
 * <MaxSockets> (stats/connections.ts).
 * Runs in workers.
 */
import type { ListenAddress } from '../config/types.js';
import { FlintError } from '../errors.js';
import { clientConnections } from '../stats/connections.js';
import type { HttpRequest, HttpResponse, us_listen_socket } from './uws.js';
import { loadNativeUws } from './uws.js';

export type RequestHandler = (res: HttpResponse, req: HttpRequest) => void;

const uws = loadNativeUws();

/** Bind attempts per listen address, and the pause between them (see Listeners.listen). */
const LISTEN_TRIES = 5;
const LISTEN_RETRY_MS = 500;

/** The open listen sockets of this worker, keyed by `host:port`. */
export class Listeners {
  readonly #sockets = new Map<string, us_listen_socket>();

  /**
   * Listens on `address` with `handler`; rejects with FLINT_ERR_LISTEN if the port cannot be bound after
   * LISTEN_TRIES attempts LISTEN_RETRY_MS apart (a previous server may still be releasing it: nginx retries 5 x
   * 500 ms). uWS reports a failed bind without its reason, so every failure is retried; `onRetry` hears each one.
   */
  async listen(key: string, address: ListenAddress, handler: RequestHandler, onRetry?: (attempt: number) => void): Promise<void> {
    const app = uws.App();
    // uWS has no accept hook: its filter callback is the first thing that sees a new connection, and closing it there
    // is the soonest a worker can refuse one (<MaxSockets>; measured 2-3 ms from connect to the client seeing the
    // close, before any request byte is read). uWS reports the close of a refused connection too.
    app.filter((res, count) => {
      if (Number(count) < 0) clientConnections.closed();
      else if (!clientConnections.opened()) res.close();
    });
    app.any('/*', handler);
    for (let attempt = 1; ; attempt++) {
      const socket = await new Promise<us_listen_socket | false>((resolve) => app.listen(address.host, address.port, resolve));
      if (socket !== false) {
        this.#sockets.set(key, socket);
        return;
      }
      if (attempt >= LISTEN_TRIES) {
        throw new FlintError('FLINT_ERR_LISTEN', `cannot listen on ${address.host}:${address.port} (tried ${LISTEN_TRIES} times, ${LISTEN_RETRY_MS} ms apart)`, { source: 'internal' });
      }
      onRetry?.(attempt);
      await new Promise((resolve) => setTimeout(resolve, LISTEN_RETRY_MS));
    }
  }

  /** Keys of the addresses listened on. */
  keys(): IterableIterator<string> {
    return this.#sockets.keys();
  }

  /** Stops accepting new connections on every address; open connections stay until they finish. */
  closeAll(): void {
    for (const socket of this.#sockets.values()) uws.us_listen_socket_close(socket);
    this.#sockets.clear();
  }
}
