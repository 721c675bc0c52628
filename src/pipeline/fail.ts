/**
 * @module pipeline/fail
 * The one place where an error becomes a client response (STYLE convention 5): client errors are 4xx, origin
 * failures 502 (504 for timeouts, 503 when every origin member is down), anything else 500. Bodies are short plain text naming the problem, never
 * cacheable. Runs in workers.
 */
import type { ErrorCode } from '../errors.js';
import { FlintError } from '../errors.js';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  FLINT_ERR_ORIGIN_CONNECT: 502,
  FLINT_ERR_ORIGIN_RESET: 502,
  FLINT_ERR_ORIGIN_PROTOCOL: 502,
  FLINT_ERR_ORIGIN_CONNECT_TIMEOUT: 504,
  FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT: 504,
  FLINT_ERR_ORIGIN_DOWN: 503,
  FLINT_ERR_CLIENT_BODY_TOO_LARGE: 413,
  FLINT_ERR_CLIENT_BAD_REQUEST: 400,
};

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  413: 'Content Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Headers of every synthetic error response. */
export const ERROR_HEADERS: readonly string[] = ['content-type', 'text/plain; charset=utf-8', 'cache-control', 'no-store'];

export interface ErrorResponse {
  readonly status: number;
  readonly reason: string;
  readonly body: string;
}

/** Maps any error to the response a client gets. */
export function errorResponse(error: unknown): ErrorResponse {
  const flint = error instanceof FlintError ? error : null;
  const status = (flint !== null ? STATUS_BY_CODE[flint.code] : undefined) ?? 500;
  const reason = REASONS[status] ?? 'Error';
  const detail = flint !== null && flint.source !== 'internal' ? `${flint.message} (${flint.code})` : 'internal error';
  return { status, reason, body: `${status} ${reason}: ${detail}\n` };
}

/** The response for a Host no vhost serves. */
export function unknownHostResponse(host: string): ErrorResponse {
  return { status: 404, reason: REASONS[404] as string, body: `404 Not Found: no virtual host serves "${host}"\n` };
}
