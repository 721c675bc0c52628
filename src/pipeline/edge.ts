/**
 * @module pipeline/edge
 * The worker's request entry and its config-derived state (pipeline/edge-runtime.ts). Each request takes the
 * runtime current when it arrives and keeps it to the end, so a reload swaps configs atomically between requests:
 * in-flight transactions finish on the old config, new ones start on the new. Steps: recv (<ServiceAccess>, copy
 * head, <URLRewrite>, route vhost, <Sub>: pipeline/url-rewrite.ts, normalise path, <AccessControl>:
 * pipeline/access-control.ts) -> dispatch: the vhost's bypass rules and cache key (policy/rules.ts) send GET/HEAD
 * on a caching vhost to the cache flow (pipeline/cache-flow.ts) of the disk its key lives on (cache/disks.ts),
 * anything else to pass (pipeline/pass.ts); origin requests of both go through the origin router (member choice,
 * retry, health outcomes: origin/router.ts), and an origin answer matching the vhost's <VhostLink> hands the
 * request on to the linked vhost -> deliver -> log (one access record, counters; a successful unsafe request
 * invalidates its targets: pipeline/invalidation.ts). Runs in workers.
 */
import { totalmem } from 'node:os';
import type { Config, Vhost } from '../config/types.js';
import { normalisePath, primaryKey } from '../cache/key.js';
import { DiskSet } from '../cache/disks.js';
import type { CacheStore } from '../cache/store.js';
import type { HttpRequest, HttpResponse } from '../http/uws.js';
import { PIPELINED, checkFraming, declaredLength } from '../http/framing.js';
import type { RequestHead, TlsFacts } from '../http/request.js';
import { readRequestHead } from '../http/request.js';
import { ResponseWriter } from '../http/respond.js';
import type { ClientWriter } from '../http/writer.js';
import type { WorkerSnapshot } from '../ipc/messages.js';
import type { Logger } from '../log.js';
import type { OriginSink, OriginTransfer } from '../origin/fetch.js';
import type { OriginOutcomeSink } from '../origin/health-view.js';
import { IGNORE_OUTCOMES, OriginHealthView } from '../origin/health-view.js';
import { OriginRouter } from '../origin/router.js';
import { VhostRouter, normaliseHost } from '../policy/vhost.js';
import type { UrlRewriter } from '../policy/url-rewrite.js';
import { RewrittenHead, subTarget } from './url-rewrite.js';
import { VhostRuleSet } from '../policy/rules.js';
import type { LinkOutcome } from '../policy/vhost-link.js';
import { linkApplies } from '../policy/vhost-link.js';
import { C, bump, cacheResultIndex } from '../stats/counters.js';
import { WorkerCounters } from '../stats/worker-counters.js';
import { AccessLogs, writeAccessRecord } from './access-log.js';
import { CacheFlow } from './cache-flow.js';
import { runtimeOf } from './edge-runtime.js';
import type { Runtime } from './edge-runtime.js';
import { invalidateTargets } from './invalidation.js';
import type { TransactionStatus } from './context.js';
import { RequestCtx } from './context.js';
import { answerByPolicy, hasEdgePolicy } from './edge-policy.js';
import { ERROR_HEADERS, refusalResponse, unknownHostResponse } from './fail.js';
import { Refusals } from './refusals.js';
import { redirectToHttps } from './https-redirect.js';
import { originRequestHeaders } from './headers.js';
import { HotTier } from './hot-tier.js';
import { PassTransaction } from './pass.js';
import type { PassServices } from './pass.js';
import type { ControlForwarder } from './control-method.js';
import { CONTROL_METHODS, applyControlNotice } from './control-method.js';

import type { PurgeScope, TaggedScope } from '../policy/purge-target.js';
import { hasHeaderPolicy } from '../policy/edge-rules/headers.js';
import { answerAclVerdict, mayHaveBody, refuseService } from './access-control.js';
import { RateLimiter, answerRateLimited } from './rate-limit.js';
import type { RateUsage } from './rate-limit.js';
import { TrafficCaps } from './traffic-cap.js';
import { applyThrottling } from '../media/throttle/throttle-hook.js';
import { DimsService } from '../transform/dims/service.js';
import type { DimsReading } from '../transform/dims/service.js';
import { MEDIA_BUILDERS } from './media-builders.js';
import { readMediaRequest } from './media-request.js';
import type { MediaLabel, MediaReading } from './media-request.js';
import { MediaService } from './media-service.js';

const EMPTY_ROUTER = new VhostRouter([], null);

/** Client request fields never forwarded on a cache fill: the fill fetches the whole representation for everyone. */
const FILL_DROPPED = new Set(['range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since']);

/** Methods that invalidate the target URI when they succeed (RFC 9111 §4.4). */
const UNSAFE = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** How often a draining shutdown checks for running transactions and fills. */
const DRAIN_POLL_MS = 20;

/** The counter of each media request kind (stats/counters.ts). */
const MEDIA_COUNTERS: Readonly<Record<MediaLabel, number>> = {
  relocate: C.mediaRelocate,
  trim: C.mediaTrim,
  'hls-playlist': C.mediaHlsPlaylist,
  'hls-segment': C.mediaHlsSegment,
  'mp3-trim': C.mediaMp3Trim,
  'mp3-hls-playlist': C.mediaMp3HlsPlaylist,
  'mp3-hls-segment': C.mediaMp3HlsSegment,
};

/** How often batched LRU touches are written to the index (one small transaction per worker per interval). */
const TOUCH_FLUSH_MS = 1000;

export class Edge {
  readonly counters: WorkerCounters;
  /** Every disk's store; a URL's objects live on the one its primary key picks (cache/disks.ts). */
  readonly disks: DiskSet;
  readonly hot: HotTier;
  /** DIMS conversions of this worker: limiter, counters, image log (transform/dims/service.ts). */
  readonly dims: DimsService;
  /** Media builders, parsed indexes and counters of this worker (pipeline/media-service.ts). */
  readonly media: MediaService;
  /** One cache flow per disk (its fills, leases and lookups all on that disk's index), in `disks` order. */
  readonly #flows: readonly CacheFlow[];
  readonly #passServices: PassServices;
  /** The primary's verdict on which origin members are down (updated by `origin-health` messages). */
  readonly originHealth = new OriginHealthView();
  readonly #origins: OriginRouter;
  readonly #accessLogs = new AccessLogs();
  readonly #refusals = new Refusals();
  readonly #log: Logger;
  #runtime: Runtime;
  /** Per disk: object hash hex -> access time (ms), written to the index in batches (no LMDB write per hit). */
  #touches: Array<Map<string, number>>;
  readonly #touchTimer: NodeJS.Timeout;
  /** Per disk: hits per object hash hex since the last flush (the inspector's hit count; no LMDB write per hit). */
  #hitCounts: Array<Map<string, number>>;
  /** Per-address request rates of the vhosts with <RateLimit> (pipeline/rate-limit.ts); reports go through `rateReport`. */
  readonly rates = new RateLimiter((usage) => this.rateReport(usage));
  /** The vhost-wide <TrafficCap> buckets of this worker (pipeline/traffic-cap.ts). */
  readonly #caps = new TrafficCaps();
  /** Where admitted-request counts go (the worker sends them to the primary); dropped until set. */
  rateReport: (usage: RateUsage) => void = () => undefined;
  /** Forwards PURGE/EXPIRE/HARDPURGE requests to the primary; null = those methods are proxied like any other. */
  control: ControlForwarder | null = null;

  constructor(config: Config, workerIndex: number, log: Logger, outcomes: OriginOutcomeSink = IGNORE_OUTCOMES) {
    this.counters = new WorkerCounters(workerIndex);
    this.#log = log;
    this.#origins = new OriginRouter(log, this.originHealth, outcomes);
    this.#origins.apply(config);
    this.#runtime = runtimeOf(config, this.#log);
    this.rates.configure(config.vhosts);
    this.#caps.configure(config.vhosts, config.server.workers);
    if (config.server.storage.disks.length === 0) throw new Error('config has no <Disk> (validation guarantees one)');
    // This worker's share of <ContentMemoryRatio>, half for whole hot bodies, half for blocks of larger ones.
    const memory = config.server.memory;
    const contentBytes = Math.floor((totalmem() * memory.contentMemoryPercent) / 100 / config.server.workers);
    this.disks = new DiskSet(config.server.storage, Math.floor(contentBytes / 2), log);
    this.hot = new HotTier(Math.floor(contentBytes / 2), memory.hotObjectMaxBytes);
    this.#touches = this.disks.stores.map(() => new Map());
    this.#hitCounts = this.disks.stores.map(() => new Map());
    this.dims = new DimsService(config.server.dims, log, {
      conversion: (vhost, ms) => {
        const c = this.counters.forVhost(vhost);
        bump(c, C.dimsConversions);
        bump(c, C.dimsMsSum, ms);
      },
      failure: (vhost) => bump(this.counters.forVhost(vhost), C.dimsFailures),
      refused: (vhost) => bump(this.counters.forVhost(vhost), C.dimsRefused),
    });
    this.media = new MediaService(MEDIA_BUILDERS, log, {
      request: (vhost, label) => bump(this.counters.forVhost(vhost), MEDIA_COUNTERS[label]),
      segmentBuilt: (vhost) => bump(this.counters.forVhost(vhost), C.mediaSegmentsBuilt),
      failure: (vhost) => bump(this.counters.forVhost(vhost), C.mediaFailures),
      refused: (vhost) => bump(this.counters.forVhost(vhost), C.mediaRefused),
    });
    this.#flows = this.disks.stores.map((store, disk) => this.#cacheFlow(store, disk, log));
    this.#passServices = {
      finish: this.#finish,
      originResponded: (ctx, status) => bumpOriginStatus(this.counters.forVhost(ctx.vhost.name), status),
      linkTarget: (ctx, outcome) => this.#linkTarget(ctx, outcome),
      handOn: (ctx, writer, target) => this.#handOn(ctx, writer, target),
    };
    this.#touchTimer = setInterval(() => {
      this.disks.check();
      void this.flushTouches();
    }, TOUCH_FLUSH_MS);
    this.#touchTimer.unref();
  }

  /** The cache flow of the disk at `disk` in `disks` (the hot tier is shared: its entries are keyed by object). */
  #cacheFlow(store: CacheStore, disk: number, log: Logger): CacheFlow {
    return new CacheFlow({
      store,
      hot: this.hot,
      log,
      // <Compression> (STON): the origin is asked for identity; Flint encodes the stored copy itself.
      fetch: (ctx, extra, sink) => this.#fetchForCache(ctx, ctx.vhost.options.compression.enabled ? { ...extra, 'accept-encoding': 'identity' } : extra, sink),
      pass: (ctx, writer) => this.#pass(ctx, writer),
      passAdopting: (ctx, writer) => new PassTransaction(ctx, writer, this.#passServices),
      finish: this.#finish,
      dims: this.dims,
      media: this.media,
      compressed: (vhostName, encoding, inBytes, outBytes) => {
        const c = this.counters.forVhost(vhostName);
        bump(c, encoding === 'br' ? C.brCompressions : C.gzipCompressions);
        bump(c, encoding === 'br' ? C.brInBytes : C.gzipInBytes, inBytes);
        bump(c, encoding === 'br' ? C.brOutBytes : C.gzipOutBytes, outBytes);
      },
      notAdmitted: (vhostName) => bump(this.counters.forVhost(vhostName), C.notAdmitted),
      tagsDropped: (vhostName, count) => bump(this.counters.forVhost(vhostName), C.tagsDropped, count),
      touch: (hex) => {
        const hits = this.#hitCounts[disk] as Map<string, number>;
        (this.#touches[disk] as Map<string, number>).set(hex, Date.now());
        hits.set(hex, (hits.get(hex) ?? 0) + 1);
      },
      link: (ctx, writer, outcome) => {
        const target = this.#linkTarget(ctx, outcome);
        if (target !== null) this.#handOn(ctx, writer, target);
        return target !== null;
      },
    });
  }

  /** The cache flow of the disk a request's object lives on (one disk: the only one, nothing computed). */
  #flowFor(ctx: RequestCtx): CacheFlow {
    if (this.#flows.length === 1) return this.#flows[0] as CacheFlow;
    return this.#flows[this.disks.pick(primaryKey(ctx.vhost.name, ctx.keyPath, ctx.keyQuery))] as CacheFlow;
  }

  /** Fills running on every disk. */
  get #activeFills(): number {
    let fills = 0;
    for (const flow of this.#flows) fills += flow.activeFills;
    return fills;
  }

  get config(): Config {
    return this.#runtime.config;
  }

  /** This worker's counters and cache gauges, for the primary. */
  snapshot(): WorkerSnapshot {
    const hot = this.hot;
    return this.counters.snapshot(this.config.hash, {
      hot: { hits: hot.hits, misses: hot.misses, bytes: hot.bytes, objects: hot.size },
      blockMemory: this.disks.memory(),
      fills: this.#activeFills,
      originSessions: this.#origins.sessions(),
    });
  }

  /** A `cache-control` notice from the primary: hot-tier entries and fills of the purged scopes (control-method.ts). */
  applyControlNotice(scopes: readonly PurgeScope[], tagged?: TaggedScope): void {
    const detachFills = (matches: (primary: string) => boolean): number => this.#flows.reduce((n, flow) => n + flow.detachFills(matches), 0);
    applyControlNotice({ hot: this.hot, detachFills }, scopes, tagged);
  }

  /** Swaps in a new config for requests that arrive from now on. */
  apply(config: Config): void {
    this.#runtime = runtimeOf(config, this.#log);
    this.rates.configure(config.vhosts);
    this.#caps.configure(config.vhosts, config.server.workers);
    this.#origins.apply(config);
    this.dims.apply(config.server.dims);
  }

  /** The uWS handler for one listen address; `tls` marks an SSLApp's (tls/uws-listener.ts) requests as over TLS. */
  handlerFor(listenKey: string, tls?: TlsFacts): (res: HttpResponse, req: HttpRequest) => void {
    return (res, req) => this.#handle(listenKey, res, req, tls);
  }

  #handle(listenKey: string, res: HttpResponse, req: HttpRequest, tls: TlsFacts | undefined): void {
    const writer = new ResponseWriter(res);
    try {
      const startedAt = performance.now();
      this.#route(listenKey, writer, readRequestHead(req, writer, tls), startedAt, true);
    } finally {
      writer.armAbort();
    }
  }

  /**
   * The entry of every other front engine (tls/h2-server.ts): a request head and its writer, engine-blind from
   * here on. The engine parsed and framed the request itself (node:http2 / node:http), so uWS's pipelining guard
   * does not apply; Flint's own framing and Host checks still do.
   */
  serve(listenKey: string, head: RequestHead, writer: ClientWriter): void {
    this.#route(listenKey, writer, head, performance.now(), false);
  }

  /** `uwsParsed`: uWS framed the request (plain or SSLApp), so its pipelining guard applies (pipeline/refusals.ts). */
  #route(listenKey: string, writer: ClientWriter, clientHead: RequestHead, startedAt: number, uwsParsed: boolean): void {
    const runtime = this.#runtime;
    let head = clientHead;
    // <ServiceAccess> first: uWS.js has no accept hook, so this is the earliest a worker can refuse an address.
    if (!runtime.service.open && !runtime.service.admits(head)) {
      refuseService(writer);
      return;
    }
    // Framing and Host before anything else (http/framing.ts); a refusal closes: the body was not read.
    const refused = uwsParsed && this.#refusals.follows(head) ? PIPELINED : checkFraming(head.headers, head.path, head.badValue === true);
    if (refused !== null) {
      this.#refusals.refuse(writer, head, refused.status, refused.detail);
      return;
    }
    const router = runtime.routers.get(listenKey) ?? EMPTY_ROUTER;
    // <URLRewrite> before the vhost is chosen (pipeline/url-rewrite.ts); without rules this is one null check.
    if (runtime.rewriter !== null) {
      const rewritten = this.#rewrite(runtime.rewriter, router, writer, head, startedAt);
      if (rewritten === null) return;
      head = rewritten;
    }
    let vhost = router.route(head.host);
    // <Sub>: a path of this vhost another vhost serves (one hop; validated to exist and to have no <Sub> itself).
    if (vhost !== null && vhost.sub.length > 0) {
      const subPath = normalisePath(head.path);
      const target = subPath === null ? null : subTarget(vhost, subPath);
      if (target !== null) vhost = runtime.byName.get(target) ?? vhost;
    }
    if (vhost === null) {
      const response = unknownHostResponse(head.host);
      writer.endWithBody(response.status, response.reason, ERROR_HEADERS, response.body);
      return;
    }
    if (head.tls === undefined) {
      if (vhost.redirectHttpToHttps !== null && redirectToHttps(vhost, head, writer)) return;
    } else if (vhost.https !== null && vhost.https.hsts !== null) {
      writer.addHeader?.('strict-transport-security', vhost.https.hsts);
    }
    const path = normalisePath(head.path);
    if (path === null) {
      this.#refusals.refuse(writer, head, 400, 'the request target must be an absolute path');
      return;
    }
    const bodyLimit = vhost.options.maxRequestBodyBytes;
    if (bodyLimit > 0 && declaredLength(head.headers) > bodyLimit) {
      this.#refusals.refuse(writer, head, 413, `request body larger than ${bodyLimit} bytes`);
      return;
    }
    if (this.control !== null && CONTROL_METHODS.has(head.method)) {
      this.control.handle(writer, head, `${vhost.name}${path}${head.query === '' ? '' : `?${head.query}`}`);
      return;
    }
    // The access log is written after the response ended, when uWS can no longer tell the peer address.
    if (vhost.log.accessPath !== null) void head.clientIp;
    // <Dims>: `<original>/dims/<chain>` is a request for the original's variant; the flow runs on the original's path.
    const dims: DimsReading | null = vhost.dims === null || (head.method !== 'GET' && head.method !== 'HEAD') ? null : this.dims.read(vhost.dims, path, head);
    // <Media>: relocation, trimming, `<original>/mp4hls/<name>`; trim parameters leave the query (and so the cache key).
    const media: MediaReading | null = dims !== null || (head.method !== 'GET' && head.method !== 'HEAD') ? null : readMediaRequest(vhost.media, path, head.query);
    const ctx = new RequestCtx(head, vhost, dims !== null && dims.kind === 'dims' ? dims.originalPath : media !== null && media.kind === 'media' ? media.path : path, startedAt);
    if (dims !== null && dims.kind === 'dims') ctx.dims = dims.request;
    if (media !== null && media.kind === 'media') {
      ctx.media = media.request;
      ctx.query = media.query;
      ctx.keyQuery = media.query;
    }
    bump(this.counters.forVhost(vhost.name), C.requests);
    this.counters.activeRequests++;
    // <RateLimit>: per client address, before any policy, cache or origin work (pipeline/rate-limit.ts).
    const rate = vhost.clientLimits.rateLimit;
    if (rate.perSec > 0) {
      const retryAfter = this.rates.take(vhost.name, rate, head.clientIp, startedAt);
      if (retryAfter > 0) {
        bump(this.counters.forVhost(vhost.name), C.rateLimited);
        answerRateLimited(writer, ctx, retryAfter, mayHaveBody(head.headers));
        this.#finish(ctx, 'complete', writer.bytesSent);
        return;
      }
    }
    // <AccessControl>: decided before any cache or origin work (pipeline/access-control.ts); logged as TCP_DENIED.
    const access = runtime.access.get(vhost.name);
    const verdict = access === undefined ? null : access.verdict(head, path);
    if (verdict !== null) {
      answerAclVerdict(writer, ctx, verdict);
      this.#finish(ctx, 'complete', writer.bytesSent);
      return;
    }
    // <Cors>, <SignedUrl> (pipeline/edge-policy.ts): a preflight or a refusal is answered here, before any origin work.
    if (hasEdgePolicy(vhost) && answerByPolicy(ctx, writer)) {
      this.#finish(ctx, 'complete', writer.bytesSent);
      return;
    }
    if (dims !== null && dims.kind === 'invalid') {
      // A malformed chain: 400 before any cache or origin work (the problem goes to the access log only).
      const response = refusalResponse(400, 'malformed image operation chain');
      ctx.status = 400;
      ctx.errorCode = 'FLINT_ERR_DIMS_URL';
      ctx.errorDetail = dims.problem;
      ctx.firstByteAt = performance.now();
      writer.endWithBody(response.status, response.reason, ERROR_HEADERS, response.body);
      this.#finish(ctx, 'complete', Buffer.byteLength(response.body));
      return;
    }
    if (media !== null && media.kind === 'invalid') {
      // Malformed trim parameters or HLS name: 400 before any cache or origin work (the problem goes to the access log).
      const response = refusalResponse(400, 'malformed media parameters');
      bump(this.counters.forVhost(vhost.name), C.mediaRefused);
      ctx.status = 400;
      ctx.errorCode = 'FLINT_ERR_MEDIA_REQUEST';
      ctx.errorDetail = media.problem;
      ctx.firstByteAt = performance.now();
      writer.endWithBody(response.status, response.reason, ERROR_HEADERS, response.body);
      this.#finish(ctx, 'complete', Buffer.byteLength(response.body));
      return;
    }
    // <TrafficCap Session>: body bytes paced through the writer's backpressure (pipeline/traffic-cap.ts).
    const limits = vhost.clientLimits;
    const capped = limits.trafficCapMbps === 0 && limits.sessionCapMbps === 0 ? writer : this.#caps.wrap(writer, vhost);
    // <BandwidthThrottling> (media/throttle/): outermost, so a media pipeline finds it (throttleOf) to set the bitrate.
    const throttle = vhost.throttling === null ? undefined : runtime.throttles.get(vhost.name);
    this.#dispatch(ctx, throttle === undefined ? capped : applyThrottling(ctx, capped, throttle, this.counters.forVhost(vhost.name)));
  }

  /**
   * `<URLRewrite>`: the rewritten head, the client's head when no rule matched, or null when the request was
   * answered here (a result too long or not a URL: 414/400, in the access log of the vhost the client named, if
   * any, with FLINT_ERR_CLIENT_REWRITE; the connection closes as for every refusal before routing).
   */
  #rewrite(rewriter: UrlRewriter, router: VhostRouter, writer: ClientWriter, head: RequestHead, startedAt: number): RequestHead | null {
    const path = normalisePath(head.path);
    // A path that is no absolute path is refused with 400 after routing, as without rules.
    if (path === null) return head;
    const result = rewriter.rewrite(normaliseHost(head.host), path, head.query);
    if (result === null) return head;
    if (result.kind === 'rewritten') return new RewrittenHead(head, result.host, result.path, result.query, result.from, result.to);
    const response = refusalResponse(result.status, 'the request URL cannot be rewritten to a valid one');
    const vhost = router.route(head.host);
    if (vhost === null) {
      this.#refusals.refuse(writer, head, result.status, 'the request URL cannot be rewritten to a valid one');
      return null;
    }
    if (vhost.log.accessPath !== null) void head.clientIp;
    const ctx = new RequestCtx(head, vhost, path, startedAt);
    bump(this.counters.forVhost(vhost.name), C.requests);
    this.counters.activeRequests++;
    ctx.status = result.status;
    ctx.cacheResult = 'TCP_ERROR';
    ctx.errorCode = 'FLINT_ERR_CLIENT_REWRITE';
    ctx.errorDetail = `${result.detail}: ${result.from}`;
    ctx.firstByteAt = performance.now();
    writer.endWithBody(response.status, response.reason, ERROR_HEADERS, response.body, true);
    this.#finish(ctx, 'complete', writer.bytesSent);
    return null;
  }

  /** Cache flow or pass-through for a request on its (possibly linked) vhost: bypass rules and the cache key apply here. */
  #dispatch(ctx: RequestCtx, writer: ClientWriter): void {
    const vhost = ctx.vhost;
    if (hasHeaderPolicy(vhost)) ctx.headerRules = this.#runtime.headers.get(vhost.name) ?? null;
    if (vhost.options.caching) {
      const rules = this.#runtime.rules.get(vhost.name) ?? new VhostRuleSet(vhost);
      ctx.rules = rules;
      const decision = rules.bypass(ctx.head, ctx.path);
      if (!decision.bypass) {
        if (!rules.plainKey) {
          const key = rules.keyParts(ctx.path, ctx.query);
          ctx.keyPath = key.path;
          ctx.keyQuery = key.query;
        }
        this.#flowFor(ctx).handle(ctx, writer);
        return;
      }
      ctx.bypassReason = decision.reason;
    }
    this.#pass(ctx, writer, true);
  }

  /** The vhost `ctx`'s vhost links to for this origin outcome, or null (no link, or it would revisit a vhost). */
  #linkTarget(ctx: RequestCtx, outcome: LinkOutcome): Vhost | null {
    const link = ctx.vhost.link;
    if (link === null || !linkApplies(link.condition, outcome)) return null;
    // The current config: a reload between hops links along the new one (validated acyclic as a whole).
    const target = this.#runtime.byName.get(link.target);
    if (target === undefined || target.name === ctx.vhost.name || ctx.linkedFrom.includes(target.name)) return null;
    return target;
  }

  /**
   * Starts the request over on the linked vhost (policy/vhost-link.ts): a new context on the same client request,
   * which records the chain for the access log. The request counts for each vhost it enters; the response, bytes
   * and timings count for the vhost that answered.
   */
  #handOn(ctx: RequestCtx, writer: ClientWriter, target: Vhost): void {
    const next = new RequestCtx(ctx.head, target, ctx.path, ctx.startedAt);
    next.query = ctx.query;
    next.keyQuery = ctx.query;
    next.linkedFrom = [...ctx.linkedFrom, ctx.vhost.name];
    bump(this.counters.forVhost(target.name), C.requests);
    // The first vhost's abort handler must not finish the transaction: the linked one registers its own.
    writer.onAbort(() => undefined);
    this.#dispatch(next, writer);
  }

  /**
   * A pass-through origin transaction. `bypass`: the request is not for the cache at all (method, Caching OFF), so
   * `<OriginAffinity>` keeps the client on one member; the cache flow's passes (hit-for-pass) balance like fills.
   */
  #pass(ctx: RequestCtx, writer: ClientWriter, bypass = false): void {
    const vhost = ctx.vhost;
    bump(this.counters.forVhost(vhost.name), C.originRequests);
    ctx.originCounted = false;
    const url = ctx.originUrl;
    const selection = bypass ? OriginRouter.forBypass(vhost, url, ctx.head.clientIp) : OriginRouter.forUrl(vhost, url);
    new PassTransaction(ctx, writer, this.#passServices).start(this.#origins, selection);
  }

  /** The origin request of a cache fill: the client's headers minus conditionals and Range, plus `extra` (validators, Range). */
  #fetchForCache(ctx: RequestCtx, extra: Record<string, string>, sink: OriginSink): OriginTransfer {
    const vhost = ctx.vhost;
    const extraNames = Object.keys(extra);
    const dropped = extraNames.every((name) => FILL_DROPPED.has(name)) ? FILL_DROPPED : new Set([...FILL_DROPPED, ...extraNames]);
    const headers = originRequestHeaders(ctx.head, vhost, dropped);
    ctx.headerRules?.rewriteRequest(headers, ctx.head, ctx.path);
    for (const name of extraNames) headers.push(name, extra[name] as string);
    const counters = this.counters.forVhost(vhost.name);
    bump(counters, C.originRequests);
    const path = ctx.originUrl;
    // Origin bytes of a fill count for the vhost, whichever clients end up reading them.
    const counting: OriginSink = {
      onHeaders: (status, h, text) => {
        bumpOriginStatus(counters, status);
        sink.onHeaders(status, h, text);
      },
      onData: (chunk) => {
        bump(counters, C.originInBytes, chunk.length);
        sink.onData(chunk);
      },
      onEnd: () => sink.onEnd(),
      onError: (error) => {
        bump(counters, C.originErrors);
        sink.onError(error);
      },
      onMember: (member) => {
        ctx.origin = member;
      },
    };
    return this.#origins.open(vhost, { method: 'GET', path, headers, body: null, selection: OriginRouter.forUrl(vhost, path), negativeCache: true }, counting);
  }

  readonly #finish = (ctx: RequestCtx, status: TransactionStatus, bytesSent: number): void => {
    const now = performance.now();
    const c = this.counters.forVhost(ctx.vhost.name);
    if (ctx.status > 0) bump(c, C.responses1xx + statusClass(ctx.status));
    if (status === 'aborted') bump(c, C.aborted);
    bump(c, C.clientInBytes, ctx.requestBodyBytes);
    bump(c, C.clientOutBytes, bytesSent);
    if (!ctx.originCounted) {
      if (ctx.errorCode.startsWith('FLINT_ERR_ORIGIN')) bump(c, C.originErrors);
      bump(c, C.originInBytes, ctx.originBodyBytes);
    }
    if (ctx.firstByteAt !== 0) bump(c, C.ttfbMsSum, ctx.firstByteAt - ctx.startedAt);
    bump(c, C.totalMsSum, now - ctx.startedAt);
    this.counters.observe(ctx.vhost.name, ctx.firstByteAt === 0 ? -1 : ctx.firstByteAt - ctx.startedAt, now - ctx.startedAt);
    // The dashboard's most requested paths (stats/top-urls.ts): one Map lookup and store per request.
    this.counters.observePath(ctx.vhost.name, ctx.path);
    bump(c, cacheResultIndex(ctx.cacheResult));
    if (ctx.contentEncoding !== '' && ctx.status < 300) bump(c, ctx.contentEncoding === 'br' ? C.brResponses : C.gzipResponses);
    if (UNSAFE.has(ctx.head.method) && ctx.status >= 200 && ctx.status < 400 && ctx.vhost.options.unsafeInvalidation) invalidateTargets(ctx, this.hot, this.disks, this.#log);
    const access = this.#accessLogs.get(ctx.vhost.log);
    if (access !== null) writeAccessRecord(access, ctx, status, bytesSent, now);
    this.counters.activeRequests--;
  };

  /** Writes the batched access times to the index. */
  async flushTouches(): Promise<void> {
    const writes: Array<Promise<unknown>> = [];
    this.disks.stores.forEach((store, disk) => {
      const touches = this.#touches[disk] as Map<string, number>;
      if (touches.size === 0) return;
      const hits = this.#hitCounts[disk] as Map<string, number>;
      this.#touches[disk] = new Map();
      this.#hitCounts[disk] = new Map();
      writes.push(
        store.index.touchMany(touches, hits).catch((error: unknown) => {
          this.#log.warn({ event: 'cache.touch_failed', disk: store.diskPath, err: (error as Error).message }, 'LRU touch failed');
        }),
      );
    });
    await Promise.all(writes);
  }

  /**
   * Resolves when no client transaction and no cache fill is in flight (a fill can outlive its clients: its last
   * block and the commit follow the last byte sent), or after `timeoutMs`; returns how many were still running.
   */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const running = (): number => this.counters.activeRequests + this.#activeFills;
    while (running() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    return running();
  }

  async close(): Promise<void> {
    clearInterval(this.#touchTimer);
    this.rates.close();
    // The last touches must be committed before the environment closes: exiting with a write transaction pending
    // blocks the process inside LMDB.
    await this.flushTouches();
    await this.#origins.close();
    this.dims.close();
    await this.disks.close();
  }
}

/** 0 for 1xx .. 4 for 5xx: the offset of a status's counter from its `...1xx` counter. */
function statusClass(status: number): number {
  return Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1;
}

/** Counts an origin response head by status class (STON's OriginRes2xx ...). */
function bumpOriginStatus(counters: Float64Array, status: number): void {
  bump(counters, C.originResponses1xx + statusClass(status));
}
