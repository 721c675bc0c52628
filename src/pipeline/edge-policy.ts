/**
 * @module pipeline/edge-policy
 * The request-time step of `<Cors>` and `<SignedUrl>` (issue 20), run by pipeline/edge.ts after routing and before
 * the cache or pass: answers CORS preflights at the edge (204 or 403, never sent to the origin), adds the CORS
 * response headers for an allowed Origin to whatever the response turns out to be (ClientWriter.addHeader: at
 * delivery, never stored), and refuses a request under a signed Path without a valid signature (403, nothing
 * fetched), else cuts the signature parameters from the query the cache key and the origin use (ctx.query).
 * A vhost with neither setting costs two property reads per request. Policies are compiled once per Vhost object
 * (a config is frozen and replaced whole on reload, so the WeakMap entry dies with it). Runs in workers.
 */
import type { Vhost } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import type { CacheResult } from '../stats/counters.js';
import { headerValue } from '../http/request.js';
import type { ClientWriter } from '../http/writer.js';
import { CorsPolicy } from '../policy/cors.js';
import { SignedUrlPolicy } from '../policy/signed-url.js';
import type { RequestCtx } from './context.js';
import { endWithError } from './error-page.js';
import { refusalResponse } from './fail.js';

interface Compiled {
  readonly cors: CorsPolicy | null;
  readonly signed: SignedUrlPolicy | null;
}

const COMPILED = new WeakMap<Vhost, Compiled>();

function compiled(vhost: Vhost): Compiled {
  let c = COMPILED.get(vhost);
  if (c === undefined) {
    c = { cors: vhost.cors === null ? null : new CorsPolicy(vhost.cors), signed: vhost.signedUrl === null ? null : new SignedUrlPolicy(vhost.signedUrl) };
    COMPILED.set(vhost, c);
  }
  return c;
}

/** True when `vhost` has a policy this step applies (checked before calling answerByPolicy). */
export function hasEdgePolicy(vhost: Vhost): boolean {
  return vhost.cors !== null || vhost.signedUrl !== null;
}

/**
 * Applies the vhost's CORS and signed-URL policy to a routed request. True when the request was answered here (a
 * preflight, a refusal): ctx.status is set and the caller finishes the transaction; false when it goes on (with
 * CORS headers added and ctx.query stripped as needed).
 */
export function answerByPolicy(ctx: RequestCtx, writer: ClientWriter): boolean {
  const policy = compiled(ctx.vhost);
  const head = ctx.head;
  if (policy.cors !== null) {
    const cors = policy.cors;
    const origin = headerValue(head, 'origin');
    if (head.method === 'OPTIONS') {
      const asked = headerValue(head, 'access-control-request-headers');
      const verdict = cors.preflight(origin, headerValue(head, 'access-control-request-method'), asked);
      if (verdict === 'allowed') {
        answer(ctx, 204, ctx.cacheResult);
        writer.endWithoutBody(204, '', cors.preflightHeaders(cors.allowOrigin(origin) as string, asked), -1);
        return true;
      }
      if (verdict === 'refused') {
        refuse(ctx, writer, 'FLINT_ERR_CLIENT_CORS', 'CORS preflight not allowed for this origin or method');
        return true;
      }
    }
    const allow = cors.allowOrigin(origin);
    if (allow !== null) writer.addHeader?.('access-control-allow-origin', allow);
    // The answer depends on Origin for every listed-origin vhost (allowed or not), so shared caches downstream must key on it.
    if (allow !== '*') writer.addHeader?.('vary', 'Origin');
  }
  const signed = policy.signed;
  if (signed !== null && signed.covers(ctx.path)) {
    const check = signed.check(ctx.path, head.query, signed.bindClientIp ? head.clientIp : '', Math.floor(Date.now() / 1000));
    if (check.refusal !== null) {
      ctx.errorDetail = `signed URL ${check.refusal}`;
      refuse(ctx, writer, 'FLINT_ERR_CLIENT_SIGNED_URL', 'a valid signed link is required');
      return true;
    }
    ctx.query = check.query;
    ctx.keyQuery = check.query;
  }
  return false;
}

function answer(ctx: RequestCtx, status: number, result: CacheResult): void {
  ctx.status = status;
  ctx.cacheResult = result;
  ctx.firstByteAt = performance.now();
}

/** A 403 made here (the vhost's error page for 403 when it has one); the access log keeps `code`. */
function refuse(ctx: RequestCtx, writer: ClientWriter, code: ErrorCode, detail: string): void {
  const response = refusalResponse(403, detail);
  answer(ctx, 403, 'TCP_DENIED');
  ctx.errorCode = code;
  endWithError(writer, ctx.vhost, response.status, response.reason, response.body);
}
