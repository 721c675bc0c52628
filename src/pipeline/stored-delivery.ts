/**
 * @module pipeline/stored-delivery
 * The cache flow's deliver step (pipeline/cache-flow.ts): answers a request from an object whose head is known (a
 * stored object, a derived copy, a fill under way) with a 304/412 for a precondition, a 206/416 for a Range, the
 * head alone for HEAD, else the 200 body from its BodySource; in-memory bodies leave with their head in one write.
 * Module functions over a small services object CacheFlow builds once; run in workers.
 */
import type { CacheStore, ObjectMeta } from '../cache/store.js';
import { evaluateConditional, ifRangeMatches } from '../http/conditional.js';
import { buildMultipartParts, contentRange, parseRange, unsatisfiedRange } from '../http/range.js';
import { headerValue } from '../http/request.js';
import type { ClientWriter } from '../http/writer.js';
import type { Logger } from '../log.js';
import type { CacheResult } from '../stats/counters.js';
import type { BodySource } from './body-source.js';
import { BlockSource, InlineSource } from './body-source.js';
import { bodyFailure } from './body-failure.js';
import { headerOf, notModifiedHeaders, responseHeaders } from './cache-headers.js';
import type { RequestCtx, TransactionStatus } from './context.js';
import type { BodyPiece } from './deliver.js';
import { UNKNOWN_END, deliverBody } from './deliver.js';
import { endWithError } from './error-page.js';

/** What delivery needs from the cache flow. */
export interface DeliveryServices {
  readonly store: CacheStore;
  readonly log: Logger;
  /** Ends the transaction (access log, counters). */
  finish(ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void;
  /** The body failed before its first byte went out (CacheFlow.#failedBeforeBody: looked up again, or failed). */
  failedBeforeBody(ctx: RequestCtx, writer: ClientWriter, error: unknown): void;
}

/** Serves a stored object: conditional -> 304/412, Range -> 206/416, HEAD, else 200 from storage. */
export function deliverStored(s: DeliveryServices, ctx: RequestCtx, writer: ClientWriter, meta: ObjectMeta, ageSec: number, result: CacheResult, cacheStatus: string): void {
  const { store } = s;
  ctx.cacheResult = result;
  const source: BodySource = meta.inline !== null ? new InlineSource(meta.inline) : new BlockSource(store, meta);
  deliverObject(s, ctx, writer, meta.status, meta.headers, meta.size, meta, source, ageSec, cacheStatus);
}

/** Sends an in-memory body (hot tier, inline object) after the head: both leave in one write, no async loop. */
export function sendInMemory(s: DeliveryServices, ctx: RequestCtx, writer: ClientWriter, body: Buffer): void {
  // When the socket takes only part of it, the rest goes from onWritable; an abort then wakes the drain callback
  // too, so the transaction finishes once, as whichever comes first.
  let finished = false;
  const done = (status: TransactionStatus): void => {
    if (finished) return;
    finished = true;
    s.finish(ctx, status, writer.bytesSent);
  };
  // Hot-tier and inline bodies are never reused: `stable`.
  if (writer.writeBody(body, () => done('complete'), true)) done('complete');
  else writer.onAbort(() => done('aborted'));
}

/**
 * Answers from an object whose head is known: `size` -1 means unknown (a fill without Content-Length: only a
 * plain 200 is possible). `validators` (a stored or to-be-stored meta) drive conditional requests and If-Range.
 */
export function deliverObject(
  s: DeliveryServices,
  ctx: RequestCtx,
  writer: ClientWriter,
  status: number,
  stored: readonly string[],
  size: number,
  validators: Pick<ObjectMeta, 'etag' | 'lastModifiedMs'> | null,
  source: BodySource,
  ageSec: number,
  cacheStatus: string,
): void {
  const head = ctx.head;
  const headers = responseHeaders(stored, ctx.vhost, ageSec, cacheStatus);
  // $RES header rules on this copy: the stored object keeps the origin's headers (policy/edge-rules/headers.ts).
  ctx.headerRules?.rewriteResponse(headers, ctx, status);
  if (validators !== null && status === 200) {
    const condition = evaluateConditional(head.method, head.headers, { etag: validators.etag, lastModifiedMs: validators.lastModifiedMs });
    if (condition === 'not-modified') {
      source.release();
      if (ctx.cacheResult === 'TCP_HIT') ctx.cacheResult = 'TCP_IMS_HIT';
      respondEmpty(s, ctx, writer, 304, notModifiedHeaders(headers), -1);
      return;
    }
    if (condition === 'precondition-failed') {
      source.release();
      synthetic(s, ctx, writer, 412, 'Precondition Failed', '412 Precondition Failed\n');
      return;
    }
  }
  let pieces: BodyPiece[] = [{ start: 0, end: size }];
  let outStatus = status;
  let length = size;
  // Range applies to GET only (RFC 9110 §14.2): a HEAD with Range gets the 200 head.
  const range = head.method === 'GET' ? headerValue(head, 'range') : undefined;
  if (range !== undefined && status === 200 && size >= 0) {
    // <IfRange>OFF ignores If-Range (STON): the range is served from whatever is stored.
    const ifRange = ctx.vhost.options.ifRange.enabled ? headerValue(head, 'if-range') : undefined;
    const honour = ifRange === undefined || (validators !== null && ifRangeMatches(ifRange, { etag: validators.etag, lastModifiedMs: validators.lastModifiedMs }));
    const parsed = honour ? parseRange(range, size) : ({ kind: 'none' } as const);
    if (parsed.kind === 'unsatisfiable') {
      source.release();
      ctx.status = 416;
      respondWithBody(s, ctx, writer, 416, [...headers, 'content-range', unsatisfiedRange(size)], Buffer.alloc(0));
      return;
    }
    if (parsed.kind === 'ranges') {
      outStatus = 206;
      const only = parsed.ranges.length === 1 ? parsed.ranges[0] : undefined;
      if (only !== undefined) {
        headers.push('content-range', contentRange(only.start, only.end, size));
        pieces = [{ start: only.start, end: only.end + 1 }];
        length = only.end - only.start + 1;
      } else {
        const boundary = `flint-${ctx.startedAt.toString(36).replace('.', '')}`;
        const contentType = headerOf(stored, 'content-type') ?? 'application/octet-stream';
        const multipart = buildMultipartParts(parsed.ranges, size, contentType, boundary);
        pieces = [];
        for (const part of multipart.parts) pieces.push(part.head, { start: part.start, end: part.end + 1 });
        pieces.push(multipart.tail);
        length = multipart.totalLength;
        for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'content-type') headers[i + 1] = `multipart/byteranges; boundary=${boundary}`;
        if (headerOf(headers, 'content-type') === undefined) headers.push('content-type', `multipart/byteranges; boundary=${boundary}`);
      }
    }
  }
  ctx.status = outStatus;
  ctx.firstByteAt = performance.now();
  if (head.method === 'HEAD' || status === 204 || status === 304) {
    source.release();
    writer.endWithoutBody(outStatus, '', headers, length);
    s.finish(ctx, 'complete', 0);
    return;
  }
  writer.writeHead(outStatus, '', headers, length);
  if (length === 0) {
    source.release();
    writer.end();
    s.finish(ctx, 'complete', 0);
    return;
  }
  const only = pieces.length === 1 ? pieces[0] : undefined;
  if (source instanceof InlineSource && only !== undefined && !Buffer.isBuffer(only)) {
    sendInMemory(s, ctx, writer, source.bytes(only.start, only.end));
    return;
  }
  if (length < 0) pieces = [{ start: 0, end: UNKNOWN_END }];
  let failure: unknown = null;
  const onFailure = (error: unknown): void => {
    failure = error;
    const { code, source } = bodyFailure(error);
    ctx.errorCode = code;
    if (source !== 'cache') return;
    s.log.warn(
      { event: 'cache.read_failed', url: ctx.url, vhost: ctx.vhost.name, err: (error as Error).message },
      'a cached body could not be read (a torn block also drops its object)',
    );
  };
  void deliverBody(writer, source, pieces, onFailure).then((outcome) => {
    if (outcome === 'unsent') s.failedBeforeBody(ctx, writer, failure);
    else s.finish(ctx, outcome === 'complete' ? 'complete' : 'aborted', writer.bytesSent);
  });
}

export function synthetic(s: DeliveryServices, ctx: RequestCtx, writer: ClientWriter, status: number, reason: string, body: string): void {
  ctx.status = status;
  ctx.firstByteAt = performance.now();
  endWithError(writer, ctx.vhost, status, reason, body);
  s.finish(ctx, 'complete', writer.bytesSent);
}

function respondEmpty(s: DeliveryServices, ctx: RequestCtx, writer: ClientWriter, status: number, headers: readonly string[], length: number): void {
  ctx.status = status;
  ctx.firstByteAt = performance.now();
  writer.endWithoutBody(status, '', headers, length);
  s.finish(ctx, 'complete', 0);
}

function respondWithBody(s: DeliveryServices, ctx: RequestCtx, writer: ClientWriter, status: number, headers: readonly string[], body: Buffer): void {
  ctx.status = status;
  ctx.firstByteAt = performance.now();
  writer.endWithBody(status, '', headers, body);
  s.finish(ctx, 'complete', writer.bytesSent);
}
