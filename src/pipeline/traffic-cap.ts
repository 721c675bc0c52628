/**
 * @module pipeline/traffic-cap
 * `<TrafficCap Session>` (STON, issue 20): response body bandwidth per client connection (HTTP/2: per stream) and
 * per vhost, in Mbps (10^6 bit/s). A vhost with a cap gets its responses through a PacedWriter (a HeldBodyWriter,
 * http/held-body-writer.ts) that hands the engine body bytes only as fast as token buckets allow (one per
 * response, one per vhost shared by the worker's responses), in slices of about SLICE_MS worth of the rate, with a
 * timer per waiting response. The vhost cap is split evenly between workers (TrafficCap / Workers each):
 * connections spread evenly over workers, and no message per byte is needed. Runs in workers; vhosts without a
 * cap never reach this module.
 */
import type { Vhost } from '../config/types.js';
import { HeldBodyWriter } from '../http/held-body-writer.js';
import type { ClientWriter } from '../http/writer.js';

/** Bytes per millisecond of one Mbps. */
const MBPS_BYTES_PER_MS = 1e6 / 8 / 1000;
/** A slice is this many milliseconds of the rate (a timer per slice: 50 wake-ups a second per paced response). */
const SLICE_MS = 20;
/** Smallest slice, so very low caps do not send tiny writes. */
const MIN_SLICE = 1460;

/**
 * How much a bucket holds, in milliseconds of its rate: a response whose timer or drain came late (a busy event loop)
 * catches up with what it was owed, up to this much, so the average stays at the cap on a loaded machine (with 40 ms,
 * a TLS download ran 10-15% slow at load average 18 on 2 cores).
 */
const BUCKET_MS = 250;

/** A token bucket of bytes: it starts with two slices and holds BUCKET_MS of the rate at most. */
export class Pace {
  #bytesPerMs = 0;
  #size = 0;
  #tokens = 0;
  #at = 0;
  slice = 0;

  constructor(mbps: number, now: number) {
    this.setRate(mbps);
    this.#tokens = 2 * this.slice;
    this.#at = now;
  }

  setRate(mbps: number): void {
    this.#bytesPerMs = mbps * MBPS_BYTES_PER_MS;
    this.slice = Math.max(MIN_SLICE, Math.floor(this.#bytesPerMs * SLICE_MS));
    this.#size = Math.max(2 * this.slice, this.#bytesPerMs * BUCKET_MS);
  }

  /** Bytes that may go now. */
  available(now: number): number {
    this.#tokens = Math.min(this.#size, this.#tokens + (now - this.#at) * this.#bytesPerMs);
    this.#at = now;
    return this.#tokens;
  }

  take(bytes: number): void {
    this.#tokens -= bytes;
  }

  /** Milliseconds until `bytes` are available (call after `available`). */
  waitMs(bytes: number): number {
    return Math.max(1, Math.ceil((bytes - this.#tokens) / this.#bytesPerMs));
  }
}

/** The worker's vhost-wide buckets, by vhost name; rates follow reloads. */
export class TrafficCaps {
  readonly #vhostPaces = new Map<string, Pace>();
  #workers = 1;

  /** A config (at start and on reload): `workers` share every vhost cap. */
  configure(vhosts: readonly Vhost[], workers: number): void {
    this.#workers = workers;
    const now = performance.now();
    for (const vhost of vhosts) {
      const mbps = vhost.clientLimits.trafficCapMbps;
      const pace = this.#vhostPaces.get(vhost.name);
      if (mbps === 0) this.#vhostPaces.delete(vhost.name);
      else if (pace === undefined) this.#vhostPaces.set(vhost.name, new Pace(mbps / workers, now));
      else pace.setRate(mbps / workers);
    }
  }

  /** `writer` paced by `vhost`'s caps (call only for a vhost with a cap). */
  wrap(writer: ClientWriter, vhost: Vhost): PacedWriter {
    const limits = vhost.clientLimits;
    const session = limits.sessionCapMbps > 0 ? new Pace(limits.sessionCapMbps, performance.now()) : null;
    let shared: Pace | null = null;
    if (limits.trafficCapMbps > 0) {
      shared = this.#vhostPaces.get(vhost.name) ?? null;
      if (shared === null) this.#vhostPaces.set(vhost.name, (shared = new Pace(limits.trafficCapMbps / this.#workers, performance.now())));
    }
    return new PacedWriter(writer, session, shared);
  }
}

/** A ClientWriter whose body bytes leave no faster than its buckets allow; everything else goes straight through. */
export class PacedWriter extends HeldBodyWriter {
  readonly #session: Pace | null;
  readonly #shared: Pace | null;
  #timer: NodeJS.Timeout | null = null;

  constructor(inner: ClientWriter, session: Pace | null, shared: Pace | null) {
    super(inner);
    this.#session = session;
    this.#shared = shared;
  }

  /** What both buckets allow now, or 0 after setting a timer for when a slice will be there. */
  protected allowance(restLength: number, now: number): number {
    const session = this.#session;
    const shared = this.#shared;
    const allowed = Math.min(session === null ? Infinity : session.available(now), shared === null ? Infinity : shared.available(now));
    const slice = Math.min(session === null ? Infinity : session.slice, shared === null ? Infinity : shared.slice);
    const want = Math.min(restLength, slice);
    if (allowed < want) {
      const wait = Math.max(session === null ? 0 : session.waitMs(want), shared === null ? 0 : shared.waitMs(want));
      this.#timer = setTimeout(this.#wake, wait);
      return 0;
    }
    const bytes = Math.min(restLength, Math.floor(allowed));
    session?.take(bytes);
    shared?.take(bytes);
    return bytes;
  }

  readonly #wake = (): void => {
    this.#timer = null;
    this.resume(performance.now());
  };

  protected waiting(): boolean {
    return this.#timer !== null;
  }

  protected stopWaiting(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
