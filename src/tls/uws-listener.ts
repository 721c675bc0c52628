/**
 * @module tls/uws-listener
 * The other TLS front engine, for `<Https Engine="uws">`: uWS's SSLApp, HTTP/1.1 only, answered by the same uWS
 * request handler as plain HTTP (Edge.handlerFor with the connection marked TLS). Each worker binds its own listen
 * socket (SO_REUSEPORT, as plain uWS listeners), so no primary sits on the accept path. About half the CPU per TLS
 * request of node:http2 (bench/README.md "TLS front door"), at the price of what uWS cannot do: no ALPN and so no
 * HTTP/2, no HTTP/1.0 (uWS answers 505), no TLS version bounds or cipher list, no per-connection TLS facts.
 *
 * SNI: the fallback vhost's certificate (the `<Default>` vhost's on this address, else the first) is the app's own,
 * served to clients with no or an unknown server name; every vhost Name and Alias (`*.x` matching one label, as a
 * wildcard certificate does) gets `addServerName` with its vhost's certificate. uWS keeps one request router per
 * server name, so the handler is attached to each (`domain(name).any`); without one, uWS closes such connections.
 * uWS reads certificates from files only: the PEM text the primary checked is written to a private temporary
 * directory, handed to uWS, and removed at once, so what is served is exactly what was validated.
 *
 * Reload: a server name whose certificate changed is removed and added again (new handshakes see the new one; open
 * connections keep their session, and uWS looks a connection's router up by name per request, so they keep being
 * served); names added or dropped by the reload are added or removed. The no-SNI certificate belongs to the app and
 * cannot change, so when it changes a new app listens on the same port beside the old one, and the old listen
 * socket is closed: its open connections stay served by the old app, which is released once the last one closes.
 * Runs in workers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpsConfig } from '../config/types.js';
import { FlintError } from '../errors.js';
import type { RequestHandler } from '../http/server.js';
import type { TemplatedApp, us_listen_socket } from '../http/uws.js';
import { loadNativeUws } from '../http/uws.js';
import type { TlsFacts } from '../http/request.js';
import { clientConnections } from '../stats/connections.js';
import type { TlsSite } from './h2-server.js';

const uws = loadNativeUws();

/** What the access log gets for a request over this engine: uWS.js exposes no protocol, cipher or ALPN. */
export const UWS_TLS_FACTS: TlsFacts = { protocol: '-', cipher: '-', alpn: 'http/1.1' };

/** Bind attempts and the pause between them, as for plain uWS listeners (http/server.ts). */
const LISTEN_TRIES = 5;
const LISTEN_RETRY_MS = 500;
/** Server names added in another case than configured, per app (see #build). */
const CASE_VARIANTS = 32;
/** How long an app replaced by a reload keeps its listen socket beside the new one (see apply). */
const RETIRE_DELAY_MS = 100;

/** Identity of a certificate and key pair (the PEM text the primary read). */
function pairId(https: HttpsConfig): string {
  return `${https.certPem}\0${https.keyPem}`;
}

/**
 * Runs `use` with the pair written to files (mode 0600 in a fresh 0700 directory), removed when `use` returns:
 * uWS reads them synchronously while building the context.
 */
function withPemFiles<T>(https: HttpsConfig, use: (options: { cert_file_name: string; key_file_name: string }) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'flint-tls-'));
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    writeFileSync(cert, https.certPem, { mode: 0o600 });
    writeFileSync(key, https.keyPem, { mode: 0o600 });
    return use({ cert_file_name: cert, key_file_name: key });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Server name (lower case, as clients send it) -> certificate pair of the vhost it names. */
function serverNames(site: TlsSite): Map<string, HttpsConfig> {
  const names = new Map<string, HttpsConfig>();
  for (const vhost of site.vhosts) {
    const https = vhost.https as HttpsConfig;
    for (const name of [vhost.name, ...vhost.aliases]) {
      const lower = name.toLowerCase();
      if (!names.has(lower)) names.set(lower, https);
    }
  }
  return names;
}

/** One SSLApp and its listen socket. */
interface UwsApp {
  readonly app: TemplatedApp;
  socket: us_listen_socket | null;
  /** Open client connections (from uWS's filter): a retired app is released when it reaches 0. */
  connections: number;
  /** Server name added to uWS -> pairId of its certificate. */
  readonly names: Map<string, string>;
  /** The configured server names (lower case) and their certificates; replaced by a reload. */
  configured: Map<string, HttpsConfig>;
  readonly fallbackId: string;
}

interface OpenSite {
  readonly address: TlsSite['address'];
  current: UwsApp;
}

/** This worker's `<Https Engine="uws">` listeners, keyed like the vhost routers. */
export class UwsTlsListeners {
  readonly #open = new Map<string, OpenSite>();
  readonly #handlers = new Map<string, RequestHandler>();
  /** Apps whose listen socket was closed by a reload and that still serve open connections. */
  readonly #retired = new Set<UwsApp>();

  /** Listens on `site.address`; rejects with FLINT_ERR_LISTEN after LISTEN_TRIES failed binds. */
  async listen(key: string, site: TlsSite, handler: RequestHandler, onRetry?: (attempt: number) => void): Promise<void> {
    this.#handlers.set(key, handler);
    const app = this.#build(site, handler);
    for (let attempt = 1; ; attempt++) {
      if (await listenOn(app, site)) break;
      if (attempt >= LISTEN_TRIES) {
        throw new FlintError('FLINT_ERR_LISTEN', `cannot listen on ${key} for HTTPS (tried ${LISTEN_TRIES} times, ${LISTEN_RETRY_MS} ms apart)`, { source: 'internal' });
      }
      onRetry?.(attempt);
      await new Promise((resolve) => setTimeout(resolve, LISTEN_RETRY_MS));
    }
    this.#open.set(key, { address: site.address, current: app });
  }

  /** A new SSLApp for `site`: the fallback certificate as its own, every server name added, the handler on each. */
  #build(site: TlsSite, handler: RequestHandler): UwsApp {
    const fallback = site.fallback.https as HttpsConfig;
    let app: TemplatedApp;
    try {
      app = withPemFiles(fallback, (files) => uws.SSLApp(files));
    } catch (cause) {
      throw new FlintError('FLINT_ERR_LISTEN', `uWS could not use the certificate of vhost ${site.fallback.name} for HTTPS on ${site.address.host}:${site.address.port}`, { source: 'internal', cause });
    }
    const entry: UwsApp = { app, socket: null, connections: 0, names: new Map(), configured: serverNames(site), fallbackId: pairId(fallback) };
    app.filter((res, count) => {
      const change = Number(count);
      entry.connections += change;
      // <MaxSockets> as on the plain uWS port (http/server.ts): a refused connection's close is still reported.
      if (change < 0) clientConnections.closed();
      else if (!clientConnections.opened()) res.close();
      // Released outside uWS's close callback.
      if (entry.connections === 0 && this.#retired.delete(entry)) setImmediate(() => app.close());
    });
    app.any('/*', handler);
    for (const [name, https] of entry.configured) this.#addName(entry, name, https, handler);
    // uWS matches server names case-sensitively; RFC 6066 §3 names are not. A name known in another case is added
    // as sent, at most CASE_VARIANTS per app (each costs a context): past that it gets the fallback certificate.
    let variants = 0;
    app.missingServerName((name) => {
      const lower = name.toLowerCase();
      if (lower === name || variants >= CASE_VARIANTS) return;
      const dot = lower.indexOf('.');
      const https = entry.configured.get(lower) ?? (dot > 0 ? entry.configured.get(`*${lower.slice(dot)}`) : undefined);
      if (https === undefined) return;
      variants++;
      this.#addName(entry, name, https, handler);
    });
    return entry;
  }

  #addName(entry: UwsApp, name: string, https: HttpsConfig, handler: RequestHandler): void {
    withPemFiles(https, (files) => entry.app.addServerName(name, files));
    entry.app.domain(name).any('/*', handler);
    entry.names.set(name, pairId(https));
  }

  /** Keys of the addresses listened on. */
  keys(): IterableIterator<string> {
    return this.#open.keys();
  }

  /**
   * A reload: new handshakes see the new certificates; open connections keep theirs. Addresses added or removed by
   * the reload need a restart (as plain <Listen>). Resolves once a replacement app (fallback certificate changed)
   * listens; if it cannot, the old app keeps serving and the error is thrown.
   */
  async apply(sites: ReadonlyMap<string, TlsSite>): Promise<void> {
    for (const [key, open] of this.#open) {
      const site = sites.get(key);
      const handler = this.#handlers.get(key);
      if (site === undefined || handler === undefined || site.fallback.https?.engine !== 'uws') continue;
      const current = open.current;
      if (pairId(site.fallback.https) !== current.fallbackId) {
        const next = this.#build(site, handler);
        if (!(await listenOn(next, site))) {
          next.app.close();
          throw new FlintError('FLINT_ERR_LISTEN', `cannot open a second listen socket on ${key} for the reloaded default certificate; the old one stays`, { source: 'internal' });
        }
        open.current = next;
        // Closing a SO_REUSEPORT socket resets the connections still in its accept queue: those that arrived while
        // this worker was busy building the new app. A moment later the event loop has accepted them.
        setTimeout(() => this.#retire(current), RETIRE_DELAY_MS);
        continue;
      }
      const wanted = serverNames(site);
      current.configured = wanted;
      for (const name of current.names.keys()) {
        if (!wanted.has(name)) {
          current.app.removeServerName(name);
          current.names.delete(name);
        }
      }
      for (const [name, https] of wanted) {
        const had = current.names.get(name);
        if (had === pairId(https)) continue;
        if (had !== undefined) current.app.removeServerName(name);
        this.#addName(current, name, https, handler);
      }
    }
  }

  /** Closes an app's listen socket; the app goes once its last connection closed (at once if it has none). */
  #retire(entry: UwsApp): void {
    if (entry.socket !== null) uws.us_listen_socket_close(entry.socket);
    entry.socket = null;
    if (entry.connections === 0) entry.app.close();
    else this.#retired.add(entry);
  }

  /** Stops accepting new connections on every address; open connections stay until they finish. */
  closeAll(): void {
    for (const open of this.#open.values()) {
      const socket = open.current.socket;
      if (socket !== null) uws.us_listen_socket_close(socket);
      open.current.socket = null;
    }
    this.#open.clear();
  }
}

/** One bind attempt of `entry` on the site's address (SO_REUSEPORT: beside other workers' and an older app's socket). */
async function listenOn(entry: UwsApp, site: TlsSite): Promise<boolean> {
  const socket = await new Promise<us_listen_socket | false>((resolve) => entry.app.listen(site.address.host, site.address.port, resolve));
  if (socket === false) return false;
  entry.socket = socket;
  return true;
}
