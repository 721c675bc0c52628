/**
 * @module media/throttle/throttled-writer
 * A ClientWriter that paces one response's body for bandwidth throttling (STON bandwidth_control.html): the media
 * header and Boost seconds' worth of the bandwidth go at once, the rest at bandwidth x Ratio %, from a token bucket
 * woken by the worker's timer wheel (media/throttle/pace-wheel.ts). Like pipeline/traffic-cap.ts it is a
 * HeldBodyWriter (http/held-body-writer.ts): it holds body bytes and answers writeBody `false` meanwhile, so the
 * pipeline waits for `drain` and never reads ahead, on any engine. The
 * bitrate of a `1000x` rule comes from `setMedia` (a pipeline that parsed the file) or else from the body's first
 * bytes (media/throttle/sniff.ts): the first chunk, or up to SNIFF_MAX gathered while the start goes at full speed.
 * Runs in workers; responses that are not throttled never get one.
 */
import { HeldBodyWriter } from '../../http/held-body-writer.js';
import type { ClientWriter } from '../../http/writer.js';
import { paceWheel } from './pace-wheel.js';
import type { PaceWheel, WheelClient } from './pace-wheel.js';
import { sniffMedia } from './sniff.js';
import type { ThrottleSpec } from './throttle-policy.js';

/** A wake hands on at least this many milliseconds of the rate (fewer, larger writes; 10 per second). */
const SLICE_MS = 100;
/** Smallest write worth a wake. */
const MIN_SLICE = 1460;
/**
 * The bucket holds at most this much of the rate: a client whose socket was full (or a wake that came late on a busy
 * event loop) catches up with what it was owed, up to one second, so the average stays at the rate.
 */
const BUCKET_MS = 1000;

/**
 * How much of the body's start is gathered to find the bitrate when the first chunk does not tell (a plan whose
 * first part is only the ftyp box or the ID3 tag: pipeline/media-plan-source.ts reads part by part).
 */
const SNIFF_MAX = 64 * 1024;

/** Where the writer reports the bytes it paced (the vhost's counters). */
export type PacedBytesSink = (bytes: number) => void;

export class ThrottledWriter extends HeldBodyWriter implements WheelClient {
  readonly #spec: ThrottleSpec;
  readonly #wheel: PaceWheel;
  readonly #paced: PacedBytesSink;
  wheelSlot = -1;
  /** Set by the pipeline before the body when it knows the file (overrides sniffing). */
  #media: { bitrateBps: number | null; headerBytes: number } | null = null;
  #totalSize = -1;
  /** 'start': no body byte yet; 'free': header and boost going at full speed; 'paced'. */
  #phase: 'start' | 'free' | 'paced' = 'start';
  #freeLeft = 0;
  /** Bytes sent at full speed so far (to re-plan the allowance when a later chunk reveals the media). */
  #freeSent = 0;
  /** The body's first bytes while the bitrate is still unknown (at most SNIFF_MAX), else null. */
  #prefix: Buffer | null = null;
  #bytesPerMs = 0;
  #slice = MIN_SLICE;
  #tokens = 0;
  #at = 0;

  constructor(inner: ClientWriter, spec: ThrottleSpec, paced: PacedBytesSink, wheel: PaceWheel = paceWheel) {
    super(inner);
    this.#spec = spec;
    this.#paced = paced;
    this.#wheel = wheel;
  }

  /** The bitrate (bits/s, null = unknown) and media header length of the body, when the pipeline parsed the file. */
  setMedia(bitrateBps: number | null, headerBytes: number): void {
    this.#media = { bitrateBps, headerBytes };
  }

  /** Bits per second the paced part goes at (0 before the first body byte). */
  get rateBps(): number {
    return this.#bytesPerMs * 8000;
  }

  override writeHead(status: number, reason: string, headers: readonly string[], totalSize: number): void {
    this.#totalSize = totalSize;
    super.writeHead(status, reason, headers, totalSize);
  }

  override writeEncodedHead(encoded: Buffer, totalSize: number): void {
    this.#totalSize = totalSize;
    super.writeEncodedHead(encoded, totalSize);
  }

  protected override beforeBody(chunk: Buffer): void {
    if (this.#phase === 'start') this.#begin(chunk);
    else if (this.#prefix !== null) this.#gather(chunk);
  }

  /** Fixes the rate and the bytes that go at full speed, from the pipeline's media facts or the first chunk. */
  #begin(first: Buffer): void {
    this.#phase = 'free';
    if (this.#media !== null) {
      this.#plan(this.#media.bitrateBps, this.#media.headerBytes);
      return;
    }
    const sniffed = sniffMedia(first, this.#totalSize);
    this.#plan(sniffed.bitrateBps, sniffed.headerBytes);
    if (sniffed.bitrateBps === null && sniffed.headerBytes === 0 && first.length < SNIFF_MAX) this.#prefix = Buffer.from(first);
  }

  /** Adds a chunk to the gathered start of the body; re-plans once it tells the media (while still at full speed). */
  #gather(chunk: Buffer): void {
    const prefix = Buffer.concat([this.#prefix as Buffer, chunk.subarray(0, SNIFF_MAX - (this.#prefix as Buffer).length)]);
    const sniffed = sniffMedia(prefix, this.#totalSize);
    const known = sniffed.bitrateBps !== null || sniffed.headerBytes > 0;
    this.#prefix = known || prefix.length >= SNIFF_MAX ? null : prefix;
    if (known && this.#phase === 'free') this.#plan(sniffed.bitrateBps, sniffed.headerBytes);
  }

  /** The paced rate and the full-speed allowance (header + Boost seconds of the bitrate) less what already went. */
  #plan(bitrateBps: number | null, headerBytes: number): void {
    const spec = this.#spec;
    const bitrate = spec.fromFile && bitrateBps !== null && bitrateBps > 0 ? bitrateBps : spec.bandwidthBps;
    this.#freeLeft = Math.max(0, headerBytes + Math.floor((bitrate / 8) * spec.boostSec) - this.#freeSent);
    this.#bytesPerMs = (bitrate * spec.ratioPercent) / 100 / 8000;
    this.#slice = Math.max(MIN_SLICE, Math.floor(this.#bytesPerMs * SLICE_MS));
  }

  /** The free allowance first, then the bucket; 0 after scheduling a wake on the wheel for when a slice is there. */
  protected allowance(restLength: number, now: number): number {
    if (this.#freeLeft > 0) {
      const bytes = Math.min(restLength, this.#freeLeft);
      this.#freeLeft -= bytes;
      this.#freeSent += bytes;
      return bytes;
    }
    if (this.#phase !== 'paced') {
      this.#phase = 'paced';
      this.#at = now;
      this.#tokens = 0;
    }
    this.#tokens = Math.min(this.#tokens + (now - this.#at) * this.#bytesPerMs, Math.max(this.#slice, this.#bytesPerMs * BUCKET_MS));
    this.#at = now;
    const want = Math.min(restLength, this.#slice);
    if (this.#tokens < want) {
      this.#wheel.schedule(this, now + (want - this.#tokens) / this.#bytesPerMs, now);
      return 0;
    }
    const bytes = Math.min(restLength, Math.floor(this.#tokens));
    this.#tokens -= bytes;
    this.#paced(bytes);
    return bytes;
  }

  /** The wheel's call: the bucket has (about) a slice again. */
  wake(now: number): void {
    this.resume(now);
  }

  protected waiting(): boolean {
    return this.wheelSlot >= 0;
  }

  protected stopWaiting(): void {
    this.#wheel.cancel(this);
    this.#prefix = null;
  }
}

/** The throttled writer behind `writer`, for a pipeline that knows the file's bitrate (`setMedia`); null when not throttled. */
export function throttleOf(writer: ClientWriter): ThrottledWriter | null {
  return writer instanceof ThrottledWriter ? writer : null;
}
