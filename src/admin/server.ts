/**
 * @module admin/server
 * The management HTTP server (node:http: low request rate, and it keeps uWS out of the primary). Binds to the
 * manager address (127.0.0.1 by default), checks access on every request (403 for addresses outside <Allow>,
 * 401 without the token), then routes. Runs in the primary.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { ManagerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { ManagerAccess, requiredRole, roleCovers } from './access.js';
import type { AdminViews } from './routes.js';
import { routeAdmin } from './routes.js';
import { sendJson } from './send-json.js';
import { purgeMethod } from './cache-routes.js';

export class AdminServer {
  readonly #server: Server;
  #access: ManagerAccess;
  #httpMethod: boolean;

  constructor(manager: ManagerConfig, views: AdminViews, log: Logger) {
    this.#access = new ManagerAccess(manager);
    this.#httpMethod = manager.httpMethod;
    this.#server = createServer((req, res) => {
      const decision = this.#access.check(req.socket.remoteAddress, req.headers.authorization);
      if (decision === 'address-denied') {
        log.warn({ event: 'admin.denied', address: req.socket.remoteAddress, url: req.url }, 'management request from a non-allowed address');
        sendJson(res, 403, { error: `address ${req.socket.remoteAddress ?? '?'} is not in <Manager><Allow>` });
        return;
      }
      if (decision === 'token-required') {
        sendJson(res, 401, { error: 'missing or wrong token: send Authorization: Bearer <Manager Token>' });
        return;
      }
      const needed = req.method === 'PURGE' ? 'Admin' : requiredRole(new URL(req.url ?? '/', 'http://manager').pathname);
      const role = this.#access.roleOf(req.socket.remoteAddress) ?? 'Looker';
      if (!roleCovers(role, needed)) {
        // STON answers a call outside the caller's role with 401.
        sendJson(res, 401, { error: `role ${role} may not call this endpoint (it needs ${needed}); see <Manager><Allow Role>` });
        return;
      }
      const handled = req.method === 'PURGE' ? purgeMethod(req, res, views, this.#httpMethod) : routeAdmin(req, res, views);
      handled.catch((error: unknown) => {
        log.error({ event: 'admin.error', err: error, url: req.url }, 'management request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      });
    });
    this.#server.keepAliveTimeout = 5000;
  }

  /** The current access rules (the PURGE methods on the service port are checked against them too). */
  get access(): ManagerAccess {
    return this.#access;
  }

  /** Applies a reloaded allow list / token (the port needs a restart). */
  update(manager: ManagerConfig): void {
    this.#access = new ManagerAccess(manager);
    this.#httpMethod = manager.httpMethod;
  }

  listen(manager: ManagerConfig): Promise<void> {
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
