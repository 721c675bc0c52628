/**
 * @module http/server
 * The worker's client-facing listeners: one uWS App per listen address, all workers binding the same ports
 * (uWS sets SO_REUSEPORT by default on Linux, so the kernel spreads connections). Knows nothing about caching:
 * the caller supplies one request handler per address. Counts the open client connections (stats/connections.ts).
 * Runs in workers.
 */
import type { ListenAddress } from '../config/types.js';
import { FlintError } from '../errors.js';
import { clientConnections } from '../stats/connections.js';
import type { HttpRequest, HttpResponse, us_listen_socket } from './uws.js';
import { loadNativeUws } from './uws.js';

export type RequestHandler = (res: HttpResponse, req: HttpRequest) => void;

const uws = loadNativeUws();

/** The open listen sockets of this worker, keyed by `host:port`. */
export class Listeners {
  readonly #sockets = new Map<string, us_listen_socket>();

  /** Listens on `address` with `handler`; rejects with FLINT_ERR_LISTEN if the port cannot be bound. */
  listen(key: string, address: ListenAddress, handler: RequestHandler): Promise<void> {
    const app = uws.App();
    app.filter((_res, count) => clientConnections.change(Number(count)));
    app.any('/*', handler);
    return new Promise((resolve, reject) => {
      app.listen(address.host, address.port, (socket: us_listen_socket | false) => {
        if (socket === false) {
          reject(new FlintError('FLINT_ERR_LISTEN', `cannot listen on ${address.host}:${address.port}`, { source: 'internal' }));
          return;
        }
        this.#sockets.set(key, socket);
        resolve();
      });
    });
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
