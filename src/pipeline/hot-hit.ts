/**
 * @module pipeline/hot-hit
 * Fresh hits from the hot tier (pipeline/hot-tier.ts): served with no index read and no I/O, with heads encoded once
 * per second (pipeline/hot-head.ts); and the hit that brings an object into the tier, answered from the bytes it
 * reads once. Steps of the cache flow (pipeline/cache-flow.ts). Runs in workers.
 */
import type { ObjectMeta, ObjectRef } from '../cache/store.js';
import { ageHeaderSeconds, currentAge, remainingTtl } from '../cache/freshness.js';
import type { CompressionEncoding } from '../config/types.js';
import { evaluateConditional } from '../http/conditional.js';
import type { ClientWriter } from '../http/writer.js';
import { NO_EDITS } from '../policy/edge-rules/headers.js';
import { BlockSource, InlineSource } from './body-source.js';
import { hotRequestKind, notModifiedHeaders, readWhole, responseHeaders } from './cache-headers.js';
import type { CacheFlowServices } from './cache-flow.js';
import { hotEncoded, storedEncodingTransform } from './compressed-hit.js';
import type { RequestCtx } from './context.js';
import type { HotObject } from './hot-tier.js';
import { deliverObject, deliverStored, sendInMemory } from './stored-delivery.js';
import type { DeliveryServices } from './stored-delivery.js';

/** A hit from the hot tier: no index read, no I/O. False when the entry is not fresh (the slow path decides). */
export function serveHot(services: CacheFlowServices, delivery: DeliveryServices, ctx: RequestCtx, writer: ClientWriter, original: HotObject, now: number): boolean {
  const fresh = original.meta;
  const ageSec = currentAge(fresh, now);
  if (fresh.revalidate !== 'normal' || ageSec >= fresh.ttlSec + fresh.extendedSec) return false;
  // <Compression>: the encoded copy is served instead when it is in the tier too; else the index path finds or makes it.
  let entry = original;
  if (ctx.vhost.options.compression.enabled) {
    const transform = storedEncodingTransform(ctx, services.compressed, fresh);
    if (transform !== null) {
      const encoded = hotEncoded(services.hot, original, transform.tag, now);
      if (encoded === undefined) return false;
      ctx.contentEncoding = transform.tag as CompressionEncoding;
      services.touch(encoded.hex);
      entry = encoded;
    }
  }
  const meta = entry.meta;
  services.touch(original.hex);
  ctx.cacheResult = 'TCP_HIT';
  const ttl = remainingTtl(fresh.ttlSec + fresh.extendedSec, ageSec);
  const kind = hotRequestKind(ctx.head);
  // $RES header rules that apply the same to everyone go into the pre-encoded head; others build each head.
  const edits = ctx.headerRules === null ? NO_EDITS : ctx.headerRules.hitEdits(ctx, meta.status);
  if (kind === 'other' || meta.size === 0 || edits === null) {
    deliverObject(delivery, ctx, writer, meta.status, meta.headers, meta.size, meta, new InlineSource(entry.body), ageSec, `hit; ttl=${ttl}`);
    return true;
  }
  // The common cases, with heads encoded once per second (pipeline/hot-head.ts): a plain GET gets head and body
  // in one write, a revalidation that matches gets its 304 the same way.
  const vhost = ctx.vhost;
  const age = ageHeaderSeconds(ageSec);
  const headers = (): string[] => {
    const list = responseHeaders(meta.headers, vhost, ageSec, `hit; ttl=${ttl}`);
    edits.apply(list);
    return list;
  };
  if (kind === 'conditional' && meta.status === 200 && evaluateConditional('GET', ctx.head.headers, meta) === 'not-modified') {
    ctx.cacheResult = 'TCP_IMS_HIT';
    ctx.status = 304;
    ctx.firstByteAt = performance.now();
    writer.endEncodedWithoutBody(entry.notModifiedHead.get(vhost, edits, age, ttl, 304, () => notModifiedHeaders(headers())));
    services.finish(ctx, 'complete', 0);
    return true;
  }
  ctx.status = meta.status;
  ctx.firstByteAt = performance.now();
  writer.writeEncodedHead(entry.head.get(vhost, edits, age, ttl, meta.status, headers), meta.size);
  sendInMemory(delivery, ctx, writer, entry.body);
  return true;
}

/**
 * A fresh hit on an object the hot tier takes but does not hold: it enters the tier, and this request is answered
 * from the same bytes. A block-stored body is read once, whole (reading it for the response and again for the tier
 * cost two block reads per such hit, 8% of the worker in the zipf bench). False when the tier does not take it.
 */
export function serveWarming(services: CacheFlowServices, delivery: DeliveryServices, ctx: RequestCtx, writer: ClientWriter, ref: ObjectRef, meta: ObjectMeta, ageSec: number, cacheStatus: string): boolean {
  const { hot, store } = services;
  if (!hot.admits(meta.size) || meta.revalidate !== 'normal') return false;
  if (meta.inline !== null) {
    hot.put(ref.primary, ref.vary, ref.hex, meta, Buffer.from(meta.inline.buffer, meta.inline.byteOffset, meta.inline.length), Date.now());
    return false;
  }
  // A purge that reaches this worker while the blocks are read must not see the old copy come back.
  const epoch = hot.epoch;
  const serve = (body: Buffer | null): void => {
    if (writer.state === 'aborted') services.finish(ctx, 'aborted', 0);
    // A failed read (a torn block) is retried by the streaming path, which reports it as any read error.
    else if (body === null) deliverStored(delivery, ctx, writer, meta, ageSec, 'TCP_HIT', cacheStatus);
    else {
      ctx.cacheResult = 'TCP_HIT';
      deliverObject(delivery, ctx, writer, meta.status, meta.headers, meta.size, meta, new InlineSource(body), ageSec, cacheStatus);
    }
  };
  void readWhole(new BlockSource(store, meta), meta.size).then((body) => {
    if (hot.epoch === epoch) hot.put(ref.primary, ref.vary, ref.hex, meta, body, Date.now());
    serve(body);
  }, () => serve(null));
  return true;
}
