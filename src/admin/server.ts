/**
 * @module admin/server
 * The management HTTP server (node:http: low request rate, and it keeps uWS out of the primary). Binds to the
 * manager address (127.0.0.1 by default; a port still held by a process that is going away is retried, as nginx
 * does) and checks every request before routing, in this order: the address (<Allow>, else 403), Host and browser
 * origin (admin/request-guard.ts: 421 / 403), the token (401; not for the dashboard page's static files), the role (401), the method of state-changing
 * endpoints (405), the body size (413). Answers to roles below Admin carry no file paths (admin/redact.ts).
 * Runs in the primary.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Config, ManagerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { ManagerAccess, requiredRole, roleCovers } from './access.js';
import type { AdminViews } from './routes.js';
import { routeAdmin } from './routes.js';
import { redactAnswer, sendJson } from './send-json.js';
import { BodyTooLargeError, MAX_BODY_BYTES, purgeMethod } from './cache-routes.js';
import { browserRefusal, methodRefusal } from './request-guard.js';
import type { Refusal } from './request-guard.js';
import { PathRedactor } from './redact.js';
import { isDashboardAsset } from '../dashboard/routes.js';

/** Bind attempts when the port is in use (nginx: 5 tries, 500 ms apart), for a predecessor still releasing it. */
const LISTEN_TRIES = 5;
const LISTEN_RETRY_MS = 500;

export class AdminServer {
  readonly #server: Server;
  readonly #views: AdminViews;
  readonly #log: Logger;
  #manager: ManagerConfig;
  #access: ManagerAccess;
  #redactor: PathRedactor;

  constructor(config: Config, views: AdminViews, log: Logger) {
    this.#views = views;
    this.#log = log;
    this.#manager = config.server.manager;
    this.#access = new ManagerAccess(this.#manager);
    this.#redactor = new PathRedactor(config);
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 5000;
  }

  /** The current access rules (the PURGE methods on the service port are checked against them too). */
  get access(): ManagerAccess {
    return this.#access;
  }

  /** Applies a reloaded allow list / token / paths (the port needs a restart). */
  update(config: Config): void {
    this.#manager = config.server.manager;
    this.#access = new ManagerAccess(this.#manager);
    this.#redactor = new PathRedactor(config);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const log = this.#log;
    const address = req.socket.remoteAddress;
    const decision = this.#access.check(address, req.headers.authorization);
    if (decision === 'address-denied') {
      log.warn({ event: 'admin.denied', address, url: req.url }, 'management request from a non-allowed address');
      sendJson(res, 403, { error: `address ${address ?? '?'} is not in <Manager><Allow>` });
      return;
    }
    const browser = browserRefusal(req.headersDistinct, this.#manager);
    if (browser !== null) {
      log.warn({ event: 'admin.refused', address, url: req.url, host: req.headers.host, origin: req.headers.origin, status: browser.status }, 'management request from a browser page or for another host');
      refuse(res, browser);
      return;
    }
    const path = new URL(req.url ?? '/', 'http://manager').pathname;
    // The dashboard page and its static files hold no data; the page sends the token on every API call it makes.
    if (decision === 'token-required' && !((req.method === 'GET' || req.method === 'HEAD') && isDashboardAsset(path))) {
      sendJson(res, 401, { error: 'missing or wrong token: send Authorization: Bearer <Manager Token>' });
      return;
    }
    const needed = req.method === 'PURGE' ? 'Admin' : requiredRole(path);
    const role = this.#access.roleOf(address) ?? 'Looker';
    if (!roleCovers(role, needed)) {
      // STON answers a call outside the caller's role with 401.
      sendJson(res, 401, { error: `role ${role} may not call this endpoint (it needs ${needed}); see <Manager><Allow Role>` });
      return;
    }
    if (role !== 'Admin') {
      const redactor = this.#redactor;
      redactAnswer(res, (text) => redactor.redact(text));
    }
    const method = methodRefusal(req.method, path, this.#manager.token !== null);
    if (method !== null) {
      refuse(res, method);
      return;
    }
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > MAX_BODY_BYTES) {
      refuse(res, tooLarge());
      return;
    }
    const handled = req.method === 'PURGE' ? purgeMethod(req, res, this.#views, this.#manager.httpMethod) : routeAdmin(req, res, this.#views);
    handled.catch((error: unknown) => {
      if (res.headersSent) return;
      if (error instanceof BodyTooLargeError) {
        refuse(res, tooLarge());
        return;
      }
      log.error({ event: 'admin.error', err: error, url: req.url }, 'management request failed');
      sendJson(res, 500, { error: 'internal error' });
    });
  }

  /** Binds the manager port; "address in use" is retried LISTEN_TRIES times before the error is thrown. */
  async listen(manager: ManagerConfig): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#listenOnce(manager);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= LISTEN_TRIES) throw error;
        this.#log.warn({ event: 'admin.listen_retry', port: manager.port, attempt }, `management port ${manager.host}:${manager.port} in use, retrying in ${LISTEN_RETRY_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, LISTEN_RETRY_MS));
      }
    }
  }

  #listenOnce(manager: ManagerConfig): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(manager.port, manager.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

function tooLarge(): Refusal {
  return { status: 413, error: `request body over ${MAX_BODY_BYTES} bytes` };
}

/** Answers a refusal; a refused request's body is never read, so its connection is closed rather than reused. */
function refuse(res: ServerResponse, refusal: Refusal): void {
  for (const [name, value] of Object.entries(refusal.headers ?? {})) res.setHeader(name, value);
  if (refusal.status === 413 || refusal.status === 405) res.setHeader('connection', 'close');
  sendJson(res, refusal.status, { error: refusal.error });
}
