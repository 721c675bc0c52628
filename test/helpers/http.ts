/**
 * @module test/helpers/http
 * A plain HTTP/1.1 client for tests (node:http, so it is independent of the undici Flint uses), plus a raw-socket
 * sender for requests no well-behaved client would make.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders , Agent } from 'node:http';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';

export interface TestResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export interface TestRequest {
  readonly port: number;
  readonly path?: string;
  readonly method?: string;
  readonly host?: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: Buffer | string | Readable;
  readonly agent?: Agent | false;
  readonly localAddress?: string;
}

/** Sends one request and buffers the whole response. */
export function request(r: TestRequest): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: r.port,
        path: r.path ?? '/',
        method: r.method ?? 'GET',
        headers: { host: r.host ?? 'example.com', ...r.headers },
        agent: r.agent ?? false,
        localAddress: r.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (r.body === undefined) req.end();
    else if (typeof r.body === 'string' || Buffer.isBuffer(r.body)) req.end(r.body);
    else r.body.pipe(req);
  });
}

/** What a raw exchange produced: the bytes received and whether the server closed the connection. */
export interface RawExchange {
  readonly received: string;
  readonly closedByServer: boolean;
}

/**
 * Writes `parts` to a new connection, `gapMs` apart (so they arrive in separate reads), then collects what comes
 * back until the server closes or `waitMs` passes.
 */
export function rawExchange(port: number, parts: readonly (string | Buffer)[], gapMs = 50, waitMs = 1000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let closedByServer = false;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') closedByServer = true;
      else reject(error);
    });
    socket.on('end', () => (closedByServer = true));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, closedByServer });
    });
    const timer = setTimeout(() => socket.destroy(), waitMs + gapMs * parts.length);
    socket.once('connect', async () => {
      for (const part of parts) {
        if (socket.destroyed) break;
        socket.write(part);
        await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}
