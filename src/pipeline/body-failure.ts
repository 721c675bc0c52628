/**
 * @module pipeline/body-failure
 * What a failed read of a cached body (deliverBody's onFailure) means: the fill the body came from failed at its
 * origin (the origin's error is the cause, logged with its own code), or the cache itself could not produce the
 * bytes (a torn block, a followed fill that was abandoned: FLINT_ERR_CACHE_READ). Before the first body byte the
 * first kind becomes the origin's 502/504 and the second a new lookup (the torn object was dropped, the abandoned
 * fill is gone), once. Runs in workers.
 */
import { FlintError } from '../errors.js';

/** Why a body read failed, as its access-record error code and whether a new lookup may answer the request. */
export interface BodyFailure {
  /** The access record's `error`: the origin's code, or FLINT_ERR_CACHE_READ. */
  readonly code: string;
  /** The origin failed: its error is the answer (502/504); nothing in the cache can help. */
  readonly origin: boolean;
}

/** Classifies the error a BodySource read rejected with. */
export function bodyFailure(error: unknown): BodyFailure {
  if (error instanceof FlintError && error.source === 'origin') return { code: error.code, origin: true };
  return { code: 'FLINT_ERR_CACHE_READ', origin: false };
}
