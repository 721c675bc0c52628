/**
 * @module pipeline/edge
 * The worker's request entry and its config-derived state. Each request takes the runtime current when it arrives
 * and keeps it to the end, so a reload swaps configs atomically between requests: in-flight transactions finish
 * on the old config, new ones start on the new. Steps today: recv (copy head, route vhost) -> pass (origin) ->
 * deliver -> log; the cache engine adds lookup/hit/miss between recv and pass. Runs in workers.
 */
import type { Config } from '../config/types.js';
import type { HttpRequest, HttpResponse } from '../http/uws.js';
import { readRequestHead } from '../http/request.js';
import { ResponseWriter } from '../http/respond.js';
import type { Logger } from '../log.js';
import { OriginPools } from '../origin/pool.js';
import { VhostRouter, buildRouters } from '../policy/vhost.js';
import { C, bump, cacheResultIndex } from '../stats/counters.js';
import { WorkerCounters } from '../stats/worker-counters.js';
import { AccessLogs, writeAccessRecord } from './access-log.js';
import type { TransactionStatus } from './context.js';
import { RequestCtx } from './context.js';
import { ERROR_HEADERS, unknownHostResponse } from './fail.js';
import { PassTransaction } from './pass.js';

/** Everything derived from one config; replaced whole on reload. */
interface Runtime {
  readonly config: Config;
  readonly routers: ReadonlyMap<string, VhostRouter>;
}

const EMPTY_ROUTER = new VhostRouter([], null);

export class Edge {
  readonly counters: WorkerCounters;
  readonly #pools = new OriginPools();
  readonly #accessLogs = new AccessLogs();
  readonly #log: Logger;
  #runtime: Runtime;
  /** Resolves the in-flight wait of a draining shutdown. */
  #idle: (() => void) | null = null;

  constructor(config: Config, workerIndex: number, log: Logger) {
    this.counters = new WorkerCounters(workerIndex);
    this.#log = log;
    this.#runtime = { config, routers: buildRouters(config) };
  }

  get config(): Config {
    return this.#runtime.config;
  }

  /** Swaps in a new config for requests that arrive from now on. */
  apply(config: Config): void {
    this.#runtime = { config, routers: buildRouters(config) };
    this.#pools.retain(config.vhosts.flatMap((v) => v.origins.map((o) => [o, v.originOptions] as const)));
  }

  /** The uWS handler for one listen address. */
  handlerFor(listenKey: string): (res: HttpResponse, req: HttpRequest) => void {
    return (res, req) => this.#handle(listenKey, res, req);
  }

  #handle(listenKey: string, res: HttpResponse, req: HttpRequest): void {
    const startedAt = performance.now();
    const writer = new ResponseWriter(res);
    const head = readRequestHead(req, res);
    const runtime = this.#runtime;
    const vhost = (runtime.routers.get(listenKey) ?? EMPTY_ROUTER).route(head.host);
    if (vhost === null) {
      const response = unknownHostResponse(head.host);
      writer.endWithBody(response.status, response.reason, ERROR_HEADERS, response.body);
      this.#log.debug({ event: 'vhost.unknown', host: head.host }, 'no vhost for host');
      return;
    }
    const ctx = new RequestCtx(head, vhost, startedAt);
    bump(this.counters.forVhost(vhost.name), C.requests);
    this.counters.activeRequests++;
    const origin = vhost.origins[0];
    if (origin === undefined) throw new Error(`vhost ${vhost.name} has no origin (config validation guarantees one)`);
    new PassTransaction(ctx, writer, this.#finish).start(this.#pools.get(origin, vhost.originOptions), origin.text);
  }

  readonly #finish = (ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void => {
    const now = performance.now();
    const c = this.counters.forVhost(ctx.vhost.name);
    if (ctx.status > 0) bump(c, C.responses1xx + Math.min(Math.max(Math.floor(ctx.status / 100), 1), 5) - 1);
    if (status === 'aborted') bump(c, C.aborted);
    bump(c, C.clientInBytes, ctx.requestBodyBytes);
    bump(c, C.clientOutBytes, bytesSent);
    if (ctx.origin !== '') bump(c, C.originRequests);
    if (ctx.errorCode.startsWith('FLINT_ERR_ORIGIN')) bump(c, C.originErrors);
    bump(c, C.originInBytes, ctx.originBodyBytes);
    if (ctx.firstByteAt !== 0) bump(c, C.ttfbMsSum, ctx.firstByteAt - ctx.startedAt);
    bump(c, C.totalMsSum, now - ctx.startedAt);
    bump(c, cacheResultIndex(ctx.cacheResult));
    const logger = this.#accessLogs.get(ctx.vhost.log.accessPath);
    if (logger !== null) writeAccessRecord(logger, ctx, status, bytesSent, now);
    if (--this.counters.activeRequests === 0) this.#idle?.();
  };

  /** Resolves when no transaction is in flight, or after `timeoutMs`; returns how many were still running. */
  drain(timeoutMs: number): Promise<number> {
    if (this.counters.activeRequests === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.counters.activeRequests), timeoutMs);
      this.#idle = () => {
        clearTimeout(timer);
        resolve(0);
      };
    });
  }

  async close(): Promise<void> {
    await this.#pools.destroyAll();
  }
}
