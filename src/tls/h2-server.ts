/**
 * @module tls/h2-server
 * The TLS front engine: one node:http2 secure server per `<Https Listen>` address, with `allowHTTP1`, so ALPN `h2`
 * gets HTTP/2 and `http/1.1` (or no ALPN) gets HTTP/1.1 and 1.0. The only importer of node:http2 and node:tls.
 * SNI picks the certificate of the vhost whose Name, exact Alias or `*.wildcard` Alias matches the server name
 * (policy/vhost.ts VhostRouter, the same matching as Host); no or an unknown name gets the `<Default>` vhost's
 * certificate when it is on this address, else the first vhost's. Requests go to the same pipeline as uWS's
 * (Edge.serve) through tls/h2-request.ts and a writer: tls/h2-writer.ts for HTTP/2 streams (node:http2's core
 * stream API), tls/h1-writer.ts for HTTP/1.x (node:http's response). A reload swaps the secure contexts only: new
 * handshakes see the new certificates, open connections are untouched. Stopping sends every HTTP/2 session a
 * GOAWAY and lets its streams finish.
 * Workers run it inside node:cluster: `listen()` goes through the primary, which binds the port once and hands each
 * accepted connection to a worker in turn (round-robin, one IPC message per connection); Node 20 has no
 * `reusePort` for net servers, so uWS's per-worker SO_REUSEPORT sockets have no equivalent here.
 */
import { createSecureServer } from 'node:http2';
import type { Http2SecureServer, Http2Session, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureContext } from 'node:tls';
import type { SecureContext, SecureContextOptions, TLSSocket } from 'node:tls';
import type { Config, Http2Config, HttpsConfig, HttpsEngine, ListenAddress, ServerClientLimits, Vhost } from '../config/types.js';
import { FlintError } from '../errors.js';
import type { RequestHead, TlsFacts } from '../http/request.js';
import type { ClientWriter } from '../http/writer.js';
import { VhostRouter, listenKey } from '../policy/vhost.js';
import { limitConnections } from './connection-limits.js';
import { Tls1ResponseWriter } from './h1-writer.js';
import { tlsFacts, tlsRequestHead } from './h2-request.js';
import { Tls2StreamWriter } from './h2-writer.js';

/** What the engine hands to the pipeline: one request head and its writer. */
export type TlsRequestHandler = (head: RequestHead, writer: ClientWriter) => void;

/** Bind attempts and the pause between them, as for uWS listeners (http/server.ts). */
const LISTEN_TRIES = 5;
const LISTEN_RETRY_MS = 500;

/** The vhosts of one Https address and the certificate for a connection without (or with an unknown) SNI name. */
export interface TlsSite {
  readonly address: ListenAddress;
  /** `<Https Engine>` of the address (validation makes its vhosts agree). */
  readonly engine: HttpsEngine;
  readonly vhosts: readonly Vhost[];
  readonly fallback: Vhost;
}

/** Every Https address of a config, keyed like the vhost routers (`host:port`). */
export function tlsSites(config: Config): Map<string, TlsSite> {
  const byKey = new Map<string, { address: ListenAddress; vhosts: Vhost[] }>();
  for (const vhost of config.vhosts) {
    if (vhost.https === null) continue;
    const key = listenKey(vhost.https.listen);
    const entry = byKey.get(key) ?? { address: vhost.https.listen, vhosts: [] };
    entry.vhosts.push(vhost);
    byKey.set(key, entry);
  }
  const sites = new Map<string, TlsSite>();
  for (const [key, { address, vhosts }] of byKey) {
    const fallback = vhosts.find((v) => v.name === config.defaultVhost) ?? (vhosts[0] as Vhost);
    sites.set(key, { address, vhosts, fallback, engine: (fallback.https as HttpsConfig).engine });
  }
  return sites;
}

/** The protocol settings all vhosts of one address share (validation makes them agree). */
function protocolOptions(https: HttpsConfig): SecureContextOptions {
  const options: SecureContextOptions = { minVersion: https.minVersion, maxVersion: https.maxVersion };
  if (https.ciphers !== null) options.ciphers = https.ciphers;
  return options;
}

/** SNI name -> secure context for one address; rebuilt on reload, contexts shared while their PEM text is unchanged. */
class SniTable {
  readonly #router: VhostRouter;
  readonly #contexts: Map<string, SecureContext>;
  readonly fallback: HttpsConfig;

  constructor(site: TlsSite, previous: SniTable | null) {
    // A vhost with no Https on this address never reaches here: tlsSites() collects only vhosts that have one.
    this.#router = new VhostRouter(site.vhosts, site.fallback);
    this.fallback = site.fallback.https as HttpsConfig;
    this.#contexts = new Map();
    for (const vhost of site.vhosts) {
      const https = vhost.https as HttpsConfig;
      const id = contextId(https);
      if (this.#contexts.has(id)) continue;
      this.#contexts.set(id, (previous === null ? undefined : previous.#contexts.get(id)) ?? createSecureContext({ cert: https.certPem, key: https.keyPem, ...protocolOptions(https) }));
    }
  }

  /** The context for an SNI server name (fallback vhost's for unknown names). */
  contextFor(serverName: string): SecureContext | undefined {
    const vhost = this.#router.route(serverName);
    return vhost?.https === null || vhost === null ? undefined : this.#contexts.get(contextId(vhost.https));
  }
}

function contextId(https: HttpsConfig): string {
  return `${https.certPem}\0${https.keyPem}\0${https.minVersion}\0${https.maxVersion}\0${https.ciphers ?? ''}`;
}

interface OpenServer {
  readonly server: Http2SecureServer;
  sni: SniTable;
  readonly sessions: Set<ServerHttp2Session>;
}

/** The client address and TLS facts of an HTTP/2 connection, read once per session (its socket is a proxy). */
interface Peer {
  readonly ip: string;
  readonly facts: TlsFacts;
}
const PEERS = new WeakMap<Http2Session, Peer>();

function peerOf(session: Http2Session): Peer {
  let peer = PEERS.get(session);
  if (peer === undefined) {
    const socket = session.socket as TLSSocket;
    const ip = socket.remoteAddress ?? '';
    peer = { ip: ip.startsWith('::ffff:') ? ip.slice(7) : ip, facts: tlsFacts(socket) };
    PEERS.set(session, peer);
  }
  return peer;
}

/** This worker's TLS listeners, keyed like the vhost routers. */
export class TlsListeners {
  readonly #open = new Map<string, OpenServer>();

  /** Listens on `site.address`; rejects with FLINT_ERR_LISTEN after LISTEN_TRIES failed binds. */
  async listen(key: string, site: TlsSite, http2: Http2Config, limits: ServerClientLimits, maxHeaderBytes: number, handler: TlsRequestHandler, onRetry?: (attempt: number) => void): Promise<void> {
    const sni = new SniTable(site, null);
    const fallback = sni.fallback;
    const entry: OpenServer = {
      sni,
      sessions: new Set(),
      server: createSecureServer({
        allowHTTP1: true,
        cert: fallback.certPem,
        key: fallback.keyPem,
        ...protocolOptions(fallback),
        SNICallback: (name, done) => done(null, entry.sni.contextFor(name)),
        // <RequestHeaderTimeout> bounds the handshake too (node's default is 120 s): tls/connection-limits.ts.
        handshakeTimeout: limits.headerTimeoutMs,
        settings: { maxConcurrentStreams: http2.maxConcurrentStreams, initialWindowSize: http2.initialWindowSize, maxHeaderListSize: maxHeaderBytes },
      }),
    };
    const server = entry.server;
    // HTTP/1.x over TLS is parsed by node:http's connection listener, which reads the head limit from the server's
    // `maxHeaderSize` property (default 16 KiB); node:http2's options do not pass it on, so set it here, so that
    // <MaxRequestHeaderSize> means the same on every port (a 16 KiB Cookie passes).
    Object.assign(server, { maxHeaderSize: maxHeaderBytes });
    server.setTimeout(http2.idleTimeoutMs);
    server.on('session', (session: ServerHttp2Session) => {
      entry.sessions.add(session);
      session.once('close', () => entry.sessions.delete(session));
    });
    // HTTP/2 on the core stream API (tls/h2-writer.ts). node:http2 wraps every stream in its compatibility layer
    // as soon as a 'request' listener is added (its 'newListener' hook, `setupCompat`); that hook is removed so
    // 'request' carries only the HTTP/1.x requests allowHTTP1 parses, and checked below.
    for (const hook of server.listeners('newListener')) {
      if (hook.name === 'setupCompat') server.off('newListener', hook as (...args: unknown[]) => void);
    }
    // After the hook is gone: it adds a 'request' listener too.
    limitConnections(server, limits.headerTimeoutMs);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket as TLSSocket;
      const writer = new Tls1ResponseWriter(req, res);
      handler(tlsRequestHead(req.rawHeaders, false, req.method ?? 'GET', req.url ?? '', tlsFacts(socket), writer.remoteAddress()), writer);
    });
    server.on('stream', (stream: ServerHttp2Stream, fields: IncomingHttpHeaders, _flags: number, raw: string[]) => {
      const session = stream.session;
      if (session === undefined) return;
      const peer = peerOf(session);
      // RFC 9110 §10.1.1: the compatibility layer sent 100 Continue itself; a client waits for it before a body.
      if (fields.expect === '100-continue') stream.additionalHeaders({ ':status': 100 });
      const writer = new Tls2StreamWriter(stream, peer.ip);
      handler(tlsRequestHead(raw, true, String(fields[':method'] ?? ''), String(fields[':path'] ?? ''), peer.facts, peer.ip), writer);
      // A response completed within the handler (a hot hit) needs no 'close' listener: saves one closure and
      // listener per stream (bench/README.md "HTTP/2 hit path").
      const state = writer.state;
      if (state !== 'ended' && state !== 'aborted') writer.watchClose();
    });
    if (server.listenerCount('stream') !== 1) {
      throw new FlintError('FLINT_ERR_LISTEN', 'node:http2 attached its compatibility layer to HTTP/2 streams; this Node version is not supported by src/tls/h2-server.ts', { source: 'internal' });
    }
    for (let attempt = 1; ; attempt++) {
      const error = await new Promise<Error | null>((resolve) => {
        const failed = (err: Error): void => resolve(err);
        server.once('error', failed);
        server.listen({ host: site.address.host, port: site.address.port }, () => {
          server.off('error', failed);
          resolve(null);
        });
      });
      if (error === null) break;
      if (attempt >= LISTEN_TRIES) {
        throw new FlintError('FLINT_ERR_LISTEN', `cannot listen on ${key} for HTTPS (tried ${LISTEN_TRIES} times, ${LISTEN_RETRY_MS} ms apart)`, { source: 'internal', cause: error });
      }
      onRetry?.(attempt);
      await new Promise((resolve) => setTimeout(resolve, LISTEN_RETRY_MS));
    }
    this.#open.set(key, entry);
  }

  /** Keys of the addresses listened on. */
  keys(): IterableIterator<string> {
    return this.#open.keys();
  }

  /**
   * A reload: new secure contexts for new handshakes (SNI and the no-SNI default); open connections keep theirs.
   * Addresses added or removed by the reload need a restart (as plain <Listen>).
   */
  apply(sites: ReadonlyMap<string, TlsSite>): void {
    for (const [key, entry] of this.#open) {
      const site = sites.get(key);
      if (site === undefined || site.engine !== 'node') continue;
      entry.sni = new SniTable(site, entry.sni);
      const fallback = entry.sni.fallback;
      entry.server.setSecureContext({ cert: fallback.certPem, key: fallback.keyPem, ...protocolOptions(fallback) });
    }
  }

  /** Stops accepting; every HTTP/2 session gets a GOAWAY and closes once its open streams are done. */
  closeAll(): void {
    for (const entry of this.#open.values()) {
      entry.server.close();
      for (const session of entry.sessions) session.close();
    }
    this.#open.clear();
  }
}
