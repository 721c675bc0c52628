/**
 * @module tls/connection-limits
 * Client limits of the TLS front engine (issue 20): `<MaxSockets>` admission of raw TCP connections (counted with
 * uWS's in stats/connections.ts, before any TLS work) and `<RequestHeaderTimeout>` against slow clients. node:http2's
 * compatibility server with `allowHTTP1` has no head timeout of its own (node:http's headersTimeout lives in
 * http.Server's connection tracking, which an http2 server never sets up), and its socket idle timeout restarts
 * with every byte, so a client trickling one header byte a second would hold a connection for ever. Here:
 * the handshake must finish within the timeout (tls `handshakeTimeout`), then the first request head (HTTP/1.x) or
 * stream (HTTP/2) must arrive within it, and on HTTP/1.x each next head within it after the previous response is
 * done. Runs in workers.
 */
import type { Http2SecureServer, ServerHttp2Session } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { clientConnections } from '../stats/connections.js';

/** Per TLS connection: the head timer while one runs, and HTTP/1.x requests in flight. */
interface HeadWatch {
  timer: NodeJS.Timeout | null;
  inFlight: number;
}

/** Installs both limits on `server` (the handshake part is the server's `handshakeTimeout` option, set by the caller). */
export function limitConnections(server: Http2SecureServer, headerTimeoutMs: number): void {
  const watches = new WeakMap<TLSSocket, HeadWatch>();
  const arm = (socket: TLSSocket, watch: HeadWatch): void => {
    watch.timer = setTimeout(() => socket.destroy(), headerTimeoutMs);
    watch.timer.unref();
  };
  const disarm = (watch: HeadWatch | undefined): void => {
    if (watch?.timer != null) clearTimeout(watch.timer);
    if (watch !== undefined) watch.timer = null;
  };
  // The raw TCP socket, before the TLS handshake: the earliest point node offers.
  server.on('connection', (socket: Socket) => {
    socket.once('close', () => clientConnections.closed());
    if (!clientConnections.opened()) socket.destroy();
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const watch: HeadWatch = { timer: null, inFlight: 0 };
    watches.set(socket, watch);
    arm(socket, watch);
    socket.once('close', () => disarm(watch));
  });
  server.on('session', (session: ServerHttp2Session) => {
    // HTTP/2: the first stream ends the head watch; after that <Http2><IdleTimeout> governs the session.
    session.once('stream', () => disarm(watches.get(session.socket as TLSSocket)));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.httpVersionMajor === 2) return;
    const socket = req.socket as TLSSocket;
    const watch = watches.get(socket);
    if (watch === undefined) return;
    disarm(watch);
    watch.inFlight++;
    res.once('close', () => {
      watch.inFlight--;
      if (watch.inFlight === 0 && !socket.destroyed) arm(socket, watch);
    });
  });
}
