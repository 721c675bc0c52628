/**
 * @module pipeline/rate-limit
 * `<RateLimit Burst>` (issue 20): a token bucket per (vhost, client address), refilled at the vhost's rate; a
 * request finding less than one token gets 429 with Retry-After (seconds until one token is back). Counted across
 * workers: each worker decides locally (no round trip per request) and every EXCHANGE_MS reports the requests it
 * admitted per address to the primary, which relays them to the other workers; they take those tokens from their
 * own buckets (a bucket may go below zero: the debt is paid back at the rate). So every worker's bucket sees every
 * admitted request, its own at once and the others' at most EXCHANGE_MS plus one IPC hop late. Bound: at any
 * moment the cluster has admitted at most (workers - 1) x (Burst + Rate x EXCHANGE_MS/1000) requests more than one
 * exact bucket would have (what the other workers admitted in the window this worker has not heard of yet); it does
 * not grow with time, since late charges are still charged.
 * Memory is bounded: at most MAX_TRACKED addresses per worker (all vhosts together); a bucket that has refilled is
 * the same as none and is dropped by a sweep, and a bucket lasts until MAX_TRACKED newer addresses were seen, then
 * its slot goes to a new one (an attacker with more addresses than that resets earlier addresses' buckets: the
 * limit then errs towards admitting). Runs in workers; a vhost without RateLimit never reaches this module.
 */
import { STATUS_CODES } from 'node:http';
import type { Vhost } from '../config/types.js';
import type { ClientWriter } from '../http/writer.js';
import type { RequestCtx } from './context.js';

/** How often a worker reports the requests it admitted (the error bound above scales with it). */
export const EXCHANGE_MS = 100;
/** Addresses tracked per worker (about 100 bytes each: ~10 MB at the cap). */
export const MAX_TRACKED = 100_000;
/** How often buckets that have refilled are dropped. */
const SWEEP_MS = 5_000;

/** Requests admitted per vhost and address since the last report: [vhost, address, count]. */
export type RateUsage = ReadonlyArray<readonly [string, string, number]>;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms, performance.now()). */
  at: number;
  /** Requests admitted here since the last report. */
  pending: number;
  readonly vhost: string;
  readonly address: string;
  /** The vhost's address map it lives in (a dropped bucket is no longer there). */
  readonly home: Map<string, Bucket>;
}

/** The rate of one vhost: requests per second and the bucket size (0 = one second's worth). */
export interface RateSpec {
  readonly perSec: number;
  readonly burst: number;
}

const bucketSize = (spec: RateSpec): number => (spec.burst > 0 ? spec.burst : spec.perSec);

export class RateLimiter {
  /** vhost name -> address -> bucket. */
  readonly #buckets = new Map<string, Map<string, Bucket>>();
  /** The rate of each vhost that has one in the current config (remote charges and sweeps refill with it). */
  readonly #specs = new Map<string, RateSpec>();
  /**
   * Every bucket in the order it was created, in a ring of MAX_TRACKED slots: a new bucket takes the next slot and
   * drops the bucket still in it (the oldest), so eviction is O(1) (deleting from the front of a Map is not: V8
   * walks its tombstones, measured 168 us per request at the cap).
   */
  #ring: Array<Bucket | undefined> = [];
  readonly #maxTracked: number;
  #next = 0;
  /** Buckets that admitted requests since the last report. */
  #dirty: Bucket[] = [];
  #tracked = 0;
  readonly #report: (usage: RateUsage) => void;
  #timers: NodeJS.Timeout[] | null = null;

  /** `report` sends this worker's admitted requests to the primary. */
  constructor(report: (usage: RateUsage) => void, maxTracked = MAX_TRACKED) {
    this.#report = report;
    this.#maxTracked = maxTracked;
  }

  /** Addresses tracked now (all vhosts). */
  get tracked(): number {
    return this.#tracked;
  }

  /**
   * One request of `address` to `vhost`: 0 = admitted (a token taken), else the whole seconds until a token is
   * back (Retry-After, at least 1). `now` is performance.now().
   */
  take(vhost: string, spec: RateSpec, address: string, now: number): number {
    if (this.#timers === null) this.#start();
    const bucket = this.#bucket(vhost, spec, address, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      if (bucket.pending++ === 0) this.#dirty.push(bucket);
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / spec.perSec));
  }

  /** Requests other workers admitted (relayed by the primary): taken from this worker's buckets too. */
  charge(usage: RateUsage, now: number): void {
    if (this.#timers === null) this.#start();
    for (const [vhost, address, count] of usage) {
      const spec = this.#specs.get(vhost);
      if (spec === undefined) continue;
      this.#bucket(vhost, spec, address, now).tokens -= count;
    }
  }

  /** The bucket of `address`, refilled up to `now` (a new one is full). */
  #bucket(vhost: string, spec: RateSpec, address: string, now: number): Bucket {
    let home = this.#buckets.get(vhost);
    if (home === undefined) this.#buckets.set(vhost, (home = new Map()));
    const size = bucketSize(spec);
    let bucket = home.get(address);
    if (bucket === undefined) {
      const slot = this.#next;
      this.#next = slot + 1 === this.#ring.length ? 0 : slot + 1;
      const oldest = this.#ring[slot];
      if (oldest !== undefined && oldest.home.get(oldest.address) === oldest) this.#drop(oldest);
      bucket = { tokens: size, at: now, pending: 0, vhost, address, home };
      this.#ring[slot] = bucket;
      home.set(address, bucket);
      this.#tracked++;
      return bucket;
    }
    bucket.tokens = Math.min(size, bucket.tokens + ((now - bucket.at) * spec.perSec) / 1000);
    bucket.at = now;
    return bucket;
  }

  #drop(bucket: Bucket): void {
    bucket.home.delete(bucket.address);
    this.#tracked--;
  }

  /** Drops buckets that are full again (the same as no bucket) and those of vhosts without a limit now. */
  sweep(now: number): void {
    for (const [vhost, home] of this.#buckets) {
      const spec = this.#specs.get(vhost);
      for (const bucket of home.values()) {
        if (spec !== undefined && bucket.tokens + ((now - bucket.at) * spec.perSec) / 1000 < bucketSize(spec)) continue;
        this.#drop(bucket);
      }
    }
  }

  /** Sends this worker's admitted requests since the last flush. */
  flush(): void {
    if (this.#dirty.length === 0) return;
    const usage: Array<readonly [string, string, number]> = [];
    for (const bucket of this.#dirty) {
      usage.push([bucket.vhost, bucket.address, bucket.pending]);
      bucket.pending = 0;
    }
    this.#dirty = [];
    this.#report(usage);
  }

  /** The rates of a config (at start and on reload); buckets of vhosts that lost their limit go at the next sweep. */
  configure(vhosts: readonly Vhost[]): void {
    this.#specs.clear();
    for (const vhost of vhosts) if (vhost.clientLimits.rateLimit.perSec > 0) this.#specs.set(vhost.name, vhost.clientLimits.rateLimit);
  }

  /** Timers and the ring start with the first limited request: a worker whose vhosts have no RateLimit has neither. */
  #start(): void {
    this.#ring = new Array<Bucket | undefined>(this.#maxTracked);
    this.#timers = [setInterval(() => this.flush(), EXCHANGE_MS), setInterval(() => this.sweep(performance.now()), SWEEP_MS)];
    for (const timer of this.#timers) timer.unref();
  }

  close(): void {
    for (const timer of this.#timers ?? []) clearInterval(timer);
    this.#timers = null;
  }
}

const LIMITED_HEADERS_BASE: readonly string[] = ['content-type', 'text/plain; charset=utf-8', 'cache-control', 'no-store'];

/** Answers a request over its address's rate: 429 with Retry-After (RFC 6585 §4); recorded as TCP_DENIED. */
export function answerRateLimited(writer: ClientWriter, ctx: RequestCtx, retryAfterSec: number, close: boolean): void {
  ctx.cacheResult = 'TCP_DENIED';
  ctx.status = 429;
  ctx.firstByteAt = performance.now();
  writer.endWithBody(429, STATUS_CODES[429] ?? 'Too Many Requests', [...LIMITED_HEADERS_BASE, 'retry-after', String(retryAfterSec)], '429 Too Many Requests: request rate limit\n', close);
}
