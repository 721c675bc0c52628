/**
 * @module test/helpers/origin
 * Scripted origin servers for integration tests: real node:http servers on 127.0.0.1:0 whose handler the test
 * writes, with a log of every request they received (method, url, headers, body length) so tests can assert on
 * what reached the origin.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: readonly string[];
}

export type OriginHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

export class TestOrigin {
  readonly seen: SeenRequest[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  handler: OriginHandler;

  private constructor(handler: OriginHandler, maxHeaderSize?: number) {
    this.handler = handler;
    this.#server = createServer(maxHeaderSize === undefined ? {} : { maxHeaderSize }, (req, res) => {
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
      Promise.resolve(this.handler(req, res)).catch((error: unknown) => {
        res.destroy(error as Error);
      });
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /**
   * Starts an origin on 127.0.0.1 (port 0 = any free port). `maxHeaderSize` raises node's 16 KiB request head
   * limit (past it node answers 431 itself).
   */
  static async start(handler: OriginHandler, port = 0, maxHeaderSize?: number): Promise<TestOrigin> {
    const origin = new TestOrigin(handler, maxHeaderSize);
    await new Promise<void>((resolve) => origin.#server.listen(port, '127.0.0.1', resolve));
    return origin;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
