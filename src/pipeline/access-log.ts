/**
 * @module pipeline/access-log
 * One JSON access record per transaction, written when it completes or is aborted (STON log.html fields, named in
 * JSON). Loggers are opened once per distinct path and shared by vhosts. Runs in workers.
 */
import type { Logger } from '../log.js';
import { createAccessLogger } from '../log.js';
import type { RequestCtx, TransactionStatus } from './context.js';

export class AccessLogs {
  readonly #byPath = new Map<string, Logger>();

  /** The logger for `path` (opened on first use), or null when logging is off. */
  get(path: string | null): Logger | null {
    if (path === null) return null;
    let logger = this.#byPath.get(path);
    if (logger === undefined) {
      logger = createAccessLogger(path);
      this.#byPath.set(path, logger);
    }
    return logger;
  }
}

/** Writes the access record of a finished transaction. `now` is performance.now() at the end. */
export function writeAccessRecord(logger: Logger, ctx: RequestCtx, status: TransactionStatus, bytesSent: number, now: number): void {
  logger.info({
    vhost: ctx.vhostChain,
    clientIp: ctx.head.clientIp,
    method: ctx.head.method,
    url: ctx.url,
    status: ctx.status,
    bytesSent,
    requestBytes: ctx.requestBodyBytes,
    ttfbMs: ctx.firstByteAt === 0 ? null : round(ctx.firstByteAt - ctx.startedAt),
    totalMs: round(now - ctx.startedAt),
    origin: ctx.origin === '' ? null : ctx.origin,
    cacheResult: ctx.cacheResult,
    // STON's cs-reqinfo: the request bypassed the cache (BypassNoCacheRequest, a bypass rule or the method default).
    reqInfo: ctx.bypassReason === null ? undefined : 'Bypass',
    bypassReason: ctx.bypassReason ?? undefined,
    transactionStatus: status,
    error: ctx.errorCode === '' ? undefined : ctx.errorCode,
    errorDetail: ctx.errorDetail === '' ? undefined : ctx.errorDetail,
  });
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
