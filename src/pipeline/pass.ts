/**
 * @module pipeline/pass
 * A pass-through transaction: the client's request goes to the vhost's origin and the answer streams back with
 * backpressure both ways (the origin read pauses while the client socket is full; the client read pauses while
 * undici's request body buffer is full). A client abort aborts the origin request. An origin failure before the
 * first body byte becomes a 502/503/504 (503: no origin member available), unless the vhost's <VhostLink> takes the
 * request; after it, the client connection is closed (the only honest signal: the body is visibly cut short).
 * Runs in workers. `finish` is called exactly once.
 */
import type { Vhost } from '../config/types.js';
import type { FlintError } from '../errors.js';
import type { ClientWriter } from '../http/writer.js';
import type { OriginHeaders, OriginSink, OriginTransfer } from '../origin/fetch.js';
import type { OriginRouter } from '../origin/router.js';
import type { Selection } from '../origin/selector.js';
import type { RequestCtx, TransactionStatus } from './context.js';
import { errorResponse } from './fail.js';
import { endWithError } from './error-page.js';
import { clientResponseHead, originRequestHeaders } from './headers.js';
import { RequestBodyStream, hasRequestBody } from './request-body.js';
import { headerValue } from '../http/request.js';
import type { LinkOutcome } from '../policy/vhost-link.js';

/**
 * What a pass transaction needs from the worker around it: one object per worker, so a request allocates no
 * closures for it.
 */
export interface PassServices {
  /** Ends the transaction (access record, counters); `bytesSent` is the body bytes handed to the client socket. */
  finish(ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void;
  /** Counts the head of an origin response to a request this transaction sent itself. */
  originResponded(ctx: RequestCtx, status: number): void;
  /** The vhost the request's <VhostLink> hands it to for this origin outcome (status, or `fail` before any head), or null. */
  linkTarget(ctx: RequestCtx, outcome: LinkOutcome): Vhost | null;
  /** Starts the request over on the linked vhost `target` (it answers and finishes the transaction). */
  handOn(ctx: RequestCtx, writer: ClientWriter, target: Vhost): void;
}

/** Statuses whose responses never carry a body (RFC 9110 §6.4.1). */
function isBodyless(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || status < 200;
}

export class PassTransaction implements OriginSink {
  readonly #ctx: RequestCtx;
  readonly #writer: ClientWriter;
  readonly #services: PassServices;
  #transfer: OriginTransfer | null = null;
  #body: RequestBodyStream | null = null;
  #finished = false;
  /** True when this transaction sent the origin request itself (start), false when it adopted a fill's. */
  #own = false;

  constructor(ctx: RequestCtx, writer: ClientWriter, services: PassServices) {
    this.#ctx = ctx;
    this.#writer = writer;
    this.#services = services;
    writer.onAbort(() => {
      this.#transfer?.abort();
      this.#body?.destroy();
      this.#end('aborted');
    });
  }

  /**
   * Takes over an origin response already under way (a cache fill that turned out not storable): the fill calls
   * this transaction's sink methods from now on and `transfer` controls the origin read.
   */
  adopt(transfer: OriginTransfer, origin: string): void {
    this.#transfer = transfer;
    this.#ctx.origin = origin;
    this.#ctx.originCounted = true;
  }

  /**
   * Sends the request through `origins` (the worker's origin router: it picks the member by `selection`, adds its
   * path prefix and reports it through onMember); must run synchronously inside the uWS handler.
   */
  start(origins: Pick<OriginRouter, 'open'>, selection: Selection): void {
    const ctx = this.#ctx;
    const { head, vhost } = ctx;
    this.#own = true;
    if (hasRequestBody(headerValue(head, 'content-length'), headerValue(head, 'transfer-encoding'))) {
      this.#body = new RequestBodyStream(this.#writer, vhost.options.maxRequestBodyBytes, (error) => this.#fail(error));
    }
    const headers = originRequestHeaders(head, vhost);
    ctx.headerRules?.rewriteRequest(headers, head, ctx.path);
    this.#transfer = origins.open(vhost, { method: head.method, path: ctx.originUrl, headers, body: this.#body, selection }, this);
  }

  onMember(member: string): void {
    this.#ctx.origin = member;
  }

  onHeaders(status: number, headers: OriginHeaders, statusText: string): void {
    if (this.#own) this.#services.originResponded(this.#ctx, status);
    if (this.#handedOn(status)) return;
    const ctx = this.#ctx;
    ctx.status = status;
    ctx.firstByteAt = performance.now();
    if (ctx.head.method !== 'GET' && ctx.head.method !== 'HEAD') ctx.responseLocations = locationsOf(headers);
    const head = clientResponseHead(headers, ctx.vhost.options);
    // RFC 9211: the cache was configured not to handle this request (a bypass rule or default).
    if (ctx.bypassReason !== null) head.headers.push('cache-status', 'flint; fwd=bypass');
    ctx.headerRules?.rewriteResponse(head.headers, ctx, status);
    if (isBodyless(ctx.head.method, status)) {
      this.#writer.endWithoutBody(status, statusText, head.headers, status === 304 ? -1 : head.contentLength);
    } else {
      this.#writer.writeHead(status, statusText, head.headers, head.contentLength);
    }
  }

  onData(chunk: Buffer): void {
    this.#ctx.originBodyBytes += chunk.length;
    // An origin chunk is a buffer of its own (undici does not reuse it): `stable`.
    if (!this.#writer.writeBody(chunk, this.#drained, true)) this.#transfer?.pause();
  }

  readonly #drained = (): void => {
    this.#transfer?.resume();
  };

  onEnd(): void {
    this.#writer.end();
    this.#end('complete');
  }

  onError(error: FlintError): void {
    this.#fail(error);
  }

  #fail(error: FlintError): void {
    if (this.#finished) return;
    const ctx = this.#ctx;
    ctx.errorCode = error.code;
    ctx.errorDetail = error.message;
    this.#transfer?.abort();
    // Until the first body byte the origin's head is only held (ClientWriter.writeHead): drop it and answer with
    // the error, rather than a head the client would read as an empty success.
    const unsent = this.#writer.discardHead();
    if (unsent && error.source === 'origin' && this.#handedOn('fail')) return;
    if (unsent) {
      const response = errorResponse(error);
      ctx.status = response.status;
      ctx.firstByteAt = performance.now();
      endWithError(this.#writer, ctx.vhost, response.status, response.reason, response.body);
      this.#end('complete');
    } else {
      this.#writer.close();
      this.#end('aborted');
    }
  }

  /**
   * Hands the request to the linked vhost when the outcome meets this vhost's <VhostLink> (never with a request
   * body: it went to this origin already). This transaction then ends without an access record: the linked one
   * writes it, with the chain.
   */
  #handedOn(outcome: LinkOutcome): boolean {
    if (!this.#own || this.#body !== null || this.#finished) return false;
    const target = this.#services.linkTarget(this.#ctx, outcome);
    if (target === null) return false;
    this.#finished = true;
    this.#transfer?.abort();
    this.#services.handOn(this.#ctx, this.#writer, target);
    return true;
  }

  #end(status: TransactionStatus): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#body !== null) this.#ctx.requestBodyBytes = this.#body.received;
    this.#services.finish(this.#ctx, status, this.#writer.bytesSent);
  }
}

/** The Location and Content-Location values of a response. */
function locationsOf(headers: OriginHeaders): string[] {
  const out: string[] = [];
  for (const name of ['location', 'content-location']) {
    const value = headers[name];
    if (typeof value === 'string') out.push(value);
    else if (value !== undefined) out.push(...value);
  }
  return out;
}
