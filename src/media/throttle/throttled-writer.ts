/**
 * @module media/throttle/throttled-writer
 * A ClientWriter that paces one response's body for bandwidth throttling (STON bandwidth_control.html): the media
 * header and Boost seconds' worth of the bandwidth go at once, the rest at bandwidth x Ratio %, from a token bucket
 * woken by the worker's timer wheel (media/throttle/pace-wheel.ts). Like pipeline/traffic-cap.ts it answers
 * writeBody with `false` while bytes are held, so the pipeline (deliver.ts, pass.ts, stored delivery, the hot tier,
 * any writer: uWS, TLS HTTP/1.1, HTTP/2) waits for `drain` and never reads ahead: memory is the chunk in hand. The
 * bitrate of a `1000x` rule comes from `setMedia` (a pipeline that parsed the file) or else from the body's first
 * bytes (media/throttle/sniff.ts): the first chunk, or up to SNIFF_MAX gathered while the start goes at full speed. Runs in workers; responses that are not
 * throttled never get one.
 */
import type { ClientWriter, WriterState } from '../../http/writer.js';
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

export class ThrottledWriter implements ClientWriter, WheelClient {
  readonly #inner: ClientWriter;
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
  /** Body bytes accepted from the pipeline and not yet handed to the inner writer. */
  #rest: Buffer | null = null;
  #drain: (() => void) | null = null;
  #innerBusy = false;
  #endPending = false;
  #inWrite = false;

  constructor(inner: ClientWriter, spec: ThrottleSpec, paced: PacedBytesSink, wheel: PaceWheel = paceWheel) {
    this.#inner = inner;
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

  get bytesSent(): number {
    return this.#inner.bytesSent;
  }

  set bytesSent(bytes: number) {
    this.#inner.bytesSent = bytes;
  }

  get state(): WriterState {
    return this.#inner.state;
  }

  get headersSent(): boolean {
    return this.#inner.headersSent;
  }

  discardHead(): boolean {
    return this.#inner.discardHead();
  }

  armAbort(): void {
    this.#inner.armAbort();
  }

  remoteAddress(): string {
    return this.#inner.remoteAddress();
  }

  onAbort(callback: () => void): void {
    // The callback first: a pipeline waiting on drain (sendInMemory) must learn of the abort before the drain wakes it.
    this.#inner.onAbort(() => {
      callback();
      this.#release();
    });
  }

  writeHead(status: number, reason: string, headers: readonly string[], totalSize: number): void {
    this.#totalSize = totalSize;
    this.#inner.writeHead(status, reason, headers, totalSize);
  }

  writeEncodedHead(encoded: Buffer, totalSize: number): void {
    this.#totalSize = totalSize;
    this.#inner.writeEncodedHead(encoded, totalSize);
  }

  endEncodedWithoutBody(encoded: Buffer): void {
    this.#inner.endEncodedWithoutBody(encoded);
  }

  writeBody(chunk: Buffer, drain: () => void): boolean {
    if (this.#inner.state !== 'streaming') return this.#inner.writeBody(chunk, drain);
    if (this.#phase === 'start') this.#begin(chunk);
    else if (this.#prefix !== null) this.#gather(chunk);
    this.#rest = chunk;
    this.#drain = drain;
    this.#inWrite = true;
    this.#pump(performance.now());
    this.#inWrite = false;
    if (this.#rest !== null || this.#innerBusy) return false;
    this.#drain = null;
    return true;
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

  /** Hands held bytes on as the free allowance and then the bucket allow; waits on the wheel or the inner drain. */
  #pump(now: number): void {
    for (let rest = this.#rest; rest !== null; rest = this.#rest) {
      if (this.#inner.state !== 'streaming') {
        this.#rest = null;
        break;
      }
      let bytes: number;
      if (this.#freeLeft > 0) {
        bytes = Math.min(rest.length, this.#freeLeft);
        this.#freeLeft -= bytes;
        this.#freeSent += bytes;
      } else {
        if (this.#phase !== 'paced') {
          this.#phase = 'paced';
          this.#at = now;
          this.#tokens = 0;
        }
        this.#tokens = Math.min(this.#tokens + (now - this.#at) * this.#bytesPerMs, Math.max(this.#slice, this.#bytesPerMs * BUCKET_MS));
        this.#at = now;
        const want = Math.min(rest.length, this.#slice);
        if (this.#tokens < want) {
          this.#wheel.schedule(this, now + (want - this.#tokens) / this.#bytesPerMs, now);
          return;
        }
        bytes = Math.min(rest.length, Math.floor(this.#tokens));
        this.#tokens -= bytes;
        this.#paced(bytes);
      }
      this.#rest = bytes === rest.length ? null : rest.subarray(bytes);
      if (!this.#inner.writeBody(bytes === rest.length ? rest : rest.subarray(0, bytes), this.#innerDrained)) {
        this.#innerBusy = true;
        return;
      }
    }
    this.#handedOn();
  }

  /** The wheel's call: the bucket has (about) a slice again. */
  wake(now: number): void {
    if (!this.#innerBusy) this.#pump(now);
  }

  readonly #innerDrained = (): void => {
    this.#innerBusy = false;
    if (this.wheelSlot < 0) this.#pump(performance.now());
  };

  /** Everything held went to the inner writer: a deferred end, then the pipeline's drain (unless writeBody answers). */
  #handedOn(): void {
    if (this.#endPending) {
      this.#endPending = false;
      this.#inner.end();
    }
    if (this.#inWrite) return;
    const drain = this.#drain;
    this.#drain = null;
    drain?.();
  }

  /** The client went away or the response was closed: off the wheel, held bytes dropped, a waiting pipeline woken. */
  #release(): void {
    this.#wheel.cancel(this);
    this.#rest = null;
    this.#prefix = null;
    this.#endPending = false;
    const drain = this.#drain;
    this.#drain = null;
    drain?.();
  }

  end(): void {
    if (this.#rest !== null || this.#innerBusy) this.#endPending = true;
    else this.#inner.end();
  }

  endWithoutBody(status: number, reason: string, headers: readonly string[], contentLength: number): void {
    this.#inner.endWithoutBody(status, reason, headers, contentLength);
  }

  endWithBody(status: number, reason: string, headers: readonly string[], body: string | Buffer, closeConnection?: boolean): void {
    this.#inner.endWithBody(status, reason, headers, body, closeConnection);
  }

  close(): void {
    this.#inner.close();
    this.#release();
  }

  onRequestBody(handler: (chunk: ArrayBuffer, isLast: boolean) => void): void {
    this.#inner.onRequestBody(handler);
  }

  pauseRequestBody(): void {
    this.#inner.pauseRequestBody();
  }

  resumeRequestBody(): void {
    this.#inner.resumeRequestBody();
  }

  addHeader(name: string, value: string): void {
    this.#inner.addHeader?.(name, value);
  }
}

/** The throttled writer behind `writer`, for a pipeline that knows the file's bitrate (`setMedia`); null when not throttled. */
export function throttleOf(writer: ClientWriter): ThrottledWriter | null {
  return writer instanceof ThrottledWriter ? writer : null;
}
