/**
 * @module pipeline/fail
 * The one place where an error becomes a client response (STYLE convention 5): client errors are 4xx, origin
 * failures 502 (504 for timeouts, 503 when every origin member is down), anything else 500. Bodies are short plain
 * text saying what failed in general terms (`502 Bad Gateway: origin unreachable`), never cacheable: the origin's
 * address and the library's error code go to the access log (`error`, `errorDetail`, `origin`), never to a client.
 * Runs in workers.
 */
import type { ErrorCode } from '../errors.js';
import { FlintError } from '../errors.js';

interface ClientText {
  readonly status: number;
  readonly text: string;
}

const BY_CODE: Partial<Record<ErrorCode, ClientText>> = {
  FLINT_ERR_ORIGIN_CONNECT: { status: 502, text: 'origin unreachable' },
  FLINT_ERR_ORIGIN_RESET: { status: 502, text: 'origin connection reset' },
  FLINT_ERR_ORIGIN_PROTOCOL: { status: 502, text: 'invalid response from origin' },
  FLINT_ERR_ORIGIN_CONNECT_TIMEOUT: { status: 504, text: 'origin connect timed out' },
  FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT: { status: 504, text: 'origin response timed out' },
  FLINT_ERR_ORIGIN_DOWN: { status: 503, text: 'no origin available' },
  FLINT_ERR_CLIENT_BODY_TOO_LARGE: { status: 413, text: 'request body too large' },
  FLINT_ERR_CLIENT_BAD_REQUEST: { status: 400, text: 'bad request' },
};

const INTERNAL: ClientText = { status: 500, text: 'internal error' };

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  411: 'Length Required',
  413: 'Content Too Large',
  414: 'URI Too Long',
  500: 'Internal Server Error',
  501: 'Not Implemented',
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

/** Maps any error to the response a client gets: the status and a fixed text per error code, nothing from the error itself. */
export function errorResponse(error: unknown): ErrorResponse {
  const known = error instanceof FlintError ? BY_CODE[error.code] : undefined;
  const { status, text } = known ?? INTERNAL;
  return refusalResponse(status, text);
}

/** A response Flint makes itself for a request it refuses (`detail` in general terms, nothing the client sent). */
export function refusalResponse(status: number, detail: string): ErrorResponse {
  const reason = REASONS[status] ?? 'Error';
  return { status, reason, body: `${status} ${reason}: ${detail}\n` };
}

/** The response for a Host no vhost serves (the Host passed http/framing.ts: letters, digits, `-._:[]` only). */
export function unknownHostResponse(host: string): ErrorResponse {
  return refusalResponse(404, `no virtual host serves "${host}"`);
}
