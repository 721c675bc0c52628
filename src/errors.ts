/**
 * @module errors
 * The one error shape of Flint (STYLE.md convention 5): a stable `code`, the `source` that caused it and whether a
 * retry can help. Runs in every process. Mapping an error to an HTTP response lives in pipeline/fail.ts only.
 */

export const ERROR_SOURCES = ['client', 'origin', 'cache', 'config', 'internal'] as const;
export type ErrorSource = (typeof ERROR_SOURCES)[number];

export const ERROR_CODES = [
  'FLINT_ERR_CONFIG',
  'FLINT_ERR_UWS_NATIVE',
  'FLINT_ERR_LISTEN',
  'FLINT_ERR_ORIGIN_CONNECT',
  'FLINT_ERR_ORIGIN_CONNECT_TIMEOUT',
  'FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT',
  'FLINT_ERR_ORIGIN_RESET',
  'FLINT_ERR_ORIGIN_PROTOCOL',
  'FLINT_ERR_ORIGIN_DOWN',
  'FLINT_ERR_CLIENT_BODY_TOO_LARGE',
  'FLINT_ERR_CLIENT_BAD_REQUEST',
  'FLINT_ERR_CLIENT_ABORTED',
  'FLINT_ERR_CLIENT_SIGNED_URL',
  'FLINT_ERR_CLIENT_CORS',
  'FLINT_ERR_CLIENT_REWRITE',
  'FLINT_ERR_INTERNAL',
  'FLINT_ERR_FLEET_UNAVAILABLE',
  'FLINT_ERR_FLEET_REQUEST',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FlintErrorOptions {
  readonly source: ErrorSource;
  readonly retryable?: boolean;
  readonly cause?: unknown;
}

export class FlintError extends Error {
  readonly code: ErrorCode;
  readonly source: ErrorSource;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: FlintErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlintError';
    this.code = code;
    this.source = options.source;
    this.retryable = options.retryable ?? false;
  }
}

/** A configuration error; `path` names the file and element, e.g. `vhosts.xml: Vhosts/Vhost[Name=a.com]/Listen`. */
export class ConfigError extends FlintError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('FLINT_ERR_CONFIG', problems.join('\n'), { source: 'config' });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
