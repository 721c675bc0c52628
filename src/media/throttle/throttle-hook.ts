/**
 * @module media/throttle/throttle-hook
 * Where bandwidth throttling meets the request path (pipeline/edge.ts, before the cache flow or pass-through): the
 * throttling query parameters leave the query the cache key and the origin see, and a response the policy paces
 * gets a ThrottledWriter in front of the client's writer (covering every delivery path and engine), counted per
 * vhost. Vhosts without `<Throttling>ON` never call it. Runs in workers.
 */
import type { ClientWriter } from '../../http/writer.js';
import type { RequestCtx } from '../../pipeline/context.js';
import { C, bump } from '../../stats/counters.js';
import type { ThrottlePolicy } from './throttle-policy.js';
import { ThrottledWriter } from './throttled-writer.js';

/** `writer`, or a ThrottledWriter around it when `ctx`'s request is throttled; strips the query parameters first. */
export function applyThrottling(ctx: RequestCtx, writer: ClientWriter, policy: ThrottlePolicy, counters: Float64Array): ClientWriter {
  const sent = ctx.head.query;
  if (sent !== '') {
    ctx.query = policy.strip(ctx.query);
    ctx.keyQuery = policy.strip(ctx.keyQuery);
  }
  const spec = policy.decide(ctx.head, ctx.path, sent);
  if (spec === null) return writer;
  bump(counters, C.throttledResponses);
  return new ThrottledWriter(writer, spec, (bytes) => bump(counters, C.throttledBytes, bytes));
}
