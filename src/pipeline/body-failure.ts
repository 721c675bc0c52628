/**
 * @module pipeline/body-failure
 * What a failed read of a cached body (deliverBody's onFailure) means: the fill the body came from failed at its
 * origin (the origin's error is the cause, with its own code), a fill followed in another worker ended without
 * its object (FLINT_ERR_FILL_ABANDONED: the cause is in that worker), or the cache itself could not produce the
 * bytes (a torn block: FLINT_ERR_CACHE_READ). Before the first body byte the first kind becomes the origin's
 * 502/504 and the others a new lookup (the torn object was dropped, the abandoned fill is gone), once. Runs in
 * workers.
 */
import { FlintError } from '../errors.js';
import { FollowedFillError } from './body-source.js';

/** Where a body read failed: at the origin, in a fill another worker ran, or in this worker's cache reads. */
export type BodyFailureSource = 'origin' | 'followed-fill' | 'cache';

/** Why a body read failed, as its access-record error code. */
export interface BodyFailure {
  /** The access record's `error`: the origin's code, FLINT_ERR_FILL_ABANDONED or FLINT_ERR_CACHE_READ. */
  readonly code: string;
  /** 'origin': its error is the answer (502/504), nothing in the cache can help. */
  readonly source: BodyFailureSource;
}

/** Classifies the error a BodySource read rejected with. */
export function bodyFailure(error: unknown): BodyFailure {
  if (error instanceof FlintError && error.source === 'origin') return { code: error.code, source: 'origin' };
  if (error instanceof FollowedFillError) return { code: 'FLINT_ERR_FILL_ABANDONED', source: 'followed-fill' };
  return { code: 'FLINT_ERR_CACHE_READ', source: 'cache' };
}
