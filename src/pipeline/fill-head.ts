/**
 * @module pipeline/fill-head
 * What a fill (pipeline/fill.ts) is told once the origin's head arrives: the states of a fill, the policy the cache
 * flow supplies (pipeline/fill-policy.ts), the stored-object template it returns, and how the template becomes the
 * record to store once the body's location is known. Run in workers.
 */
import { crc32 } from 'node:zlib';
import type { Admission } from '../cache/index.js';
import type { ObjectMeta, ObjectRef } from '../cache/store.js';
import type { OriginHeaders } from '../origin/fetch.js';

export type FillState = 'waiting-head' | 'streaming' | 'complete' | 'failed' | 'uncacheable';

/** What the fill needs decided once the origin's head is known; supplied by the cache flow (policy lives there). */
export interface FillPolicy {
  /**
   * Decide whether and how to store; returns the metadata template (without body location) or null when the
   * response must not be stored.
   */
  onHead(status: number, headers: OriginHeaders, requestTime: number, responseTime: number): FillHead | null;
  /**
   * True when an answer onHead declined validates (304) or stands in for (5xx under TTL extension) the stored copy
   * this fill revalidates: the stored copy stays in use, so no hit-for-pass marker is left behind.
   */
  keepsStoredCopy(status: number): boolean;
  /**
   * True when onHead declined for the request alone (its no-store, Authorization or Cookie: policy/cacheable.ts
   * REQUEST_NO_CACHE_REASONS): no hit-for-pass marker is left and the lease is released at once, so other requests
   * fill the object themselves.
   */
  declinedForRequest(): boolean;
  /** The admission filter the commit applies (vhost <Admission>); null when the object is stored whatever its count. */
  readonly admission: Admission | null;
}

export interface FillHead {
  /** The reference to store under (its Vary may differ from the lookup's). */
  readonly ref: ObjectRef;
  /** The object's metadata but for its body (see withBody); a new response is never purged. */
  readonly meta: Omit<ObjectMeta, BodyField | 'purged'>;
  /** Body length from Content-Length, or -1. */
  readonly size: number;
}

/** The ObjectMeta fields that describe where the body is, known once it has been received. */
type BodyField = 'size' | 'inline' | 'blocks' | 'crcs' | 'blockSize' | 'complete';

/**
 * A fill head's metadata with its body fields: the record to store. Written field by field on purpose: an object
 * spread of the ~20-field template (`{ ...meta, size, ... }`) takes V8's slow path, ~7 µs per object on Node 20,
 * ~4% of a worker's CPU per miss on the `miss` bench.
 */
export function withBody(meta: FillHead['meta'], body: Pick<ObjectMeta, BodyField>): ObjectMeta {
  const stored: ObjectMeta = {
    key: meta.key,
    status: meta.status,
    headers: meta.headers,
    size: body.size,
    etag: meta.etag,
    lastModifiedMs: meta.lastModifiedMs,
    requestTime: meta.requestTime,
    responseTime: meta.responseTime,
    dateMs: meta.dateMs,
    ageHeaderSec: meta.ageHeaderSec,
    ttlSec: meta.ttlSec,
    staleWhileRevalidateSec: meta.staleWhileRevalidateSec,
    staleIfErrorSec: meta.staleIfErrorSec,
    revalidate: meta.revalidate,
    mustRevalidate: meta.mustRevalidate,
    ttlSource: meta.ttlSource,
    extendedSec: meta.extendedSec,
    inline: body.inline,
    blocks: body.blocks,
    blockSize: body.blockSize,
    complete: body.complete,
    crcs: body.crcs,
    generation: meta.generation,
    // Set by the index's commit (cache/index-recency.ts); listed here so the record keeps one shape.
    storedMs: 0,
  };
  // Cache tags only when the response had some: untagged records keep their shape (and msgpack structure).
  if (meta.tags !== undefined) (stored as { tags?: readonly string[] }).tags = meta.tags;
  // The inline body's checksum, last as CacheIndex.commit would add it (cache/inline-crc.ts), which then keeps
  // this record instead of copying it.
  if (body.inline !== null) (stored as { inlineCrc?: number }).inlineCrc = crc32(body.inline);
  return stored;
}
