/**
 * @module http/held-body-writer
 * The base of the ClientWriters that pace a response's body (pipeline/traffic-cap.ts `<TrafficCap>`,
 * media/throttle/throttled-writer.ts bandwidth throttling): everything but the body goes straight to the inner
 * writer; body bytes are held and handed on only as fast as the subclass's allowance says, and writeBody answers
 * `false` while any are held, exactly like a full socket, so the pipeline (deliver.ts, pass.ts, stored delivery, the
 * hot tier; any engine) waits for `drain` and never reads ahead: memory is the chunk in hand, the event loop never
 * blocks. A subclass says how many bytes may go now (`allowance`), arranges its own wake-up when none may (a timer,
 * the timer wheel) and then calls `resume`. Runs in workers; responses that are not paced never get one.
 */
import type { ClientWriter, WriterState } from './writer.js';

export abstract class HeldBodyWriter implements ClientWriter {
  protected readonly inner: ClientWriter;
  /** Body bytes accepted from the pipeline and not yet handed to the inner writer. */
  #rest: Buffer | null = null;
  /** The pipeline's drain callback, owed once `#rest` is handed on and the inner writer took it. */
  #drain: (() => void) | null = null;
  /** The inner writer returned false: wait for its drain. */
  #innerBusy = false;
  /** end() came while bytes were still held: end once they are handed on. */
  #endPending = false;
  /** Whether the held chunk's caller never reuses its memory (ClientWriter.writeBody `stable`). */
  #restStable = false;
  /** Inside writeBody: a drain owed then is answered by its return value instead. */
  #inWrite = false;

  constructor(inner: ClientWriter) {
    this.inner = inner;
  }

  /**
   * How many of the `restLength` held bytes may go to the inner writer now (at most restLength); 0 after arranging
   * a later `resume` (the allowance is short of a slice).
   */
  protected abstract allowance(restLength: number, now: number): number;

  /** Cancels the wake-up `allowance` arranged, and anything else held for this response (abort, close). */
  protected abstract stopWaiting(): void;

  /** Whether a wake-up `allowance` arranged is still pending (the inner drain then leaves the handing-on to it). */
  protected abstract waiting(): boolean;

  /** Called with each body chunk before it is held (the throttle learns the media from the first bytes). */
  protected beforeBody(_chunk: Buffer): void {}

  /** A subclass's wake-up: hands on what the allowance now permits, unless the inner writer is still full. */
  protected resume(now: number): void {
    if (!this.#innerBusy) this.#pump(now);
  }

  get bytesSent(): number {
    return this.inner.bytesSent;
  }

  set bytesSent(bytes: number) {
    this.inner.bytesSent = bytes;
  }

  get state(): WriterState {
    return this.inner.state;
  }

  get headersSent(): boolean {
    return this.inner.headersSent;
  }

  discardHead(): boolean {
    return this.inner.discardHead();
  }

  armAbort(): void {
    this.inner.armAbort();
  }

  remoteAddress(): string {
    return this.inner.remoteAddress();
  }

  onAbort(callback: () => void): void {
    // The callback first: a pipeline waiting on drain (sendInMemory) must learn of the abort before the drain wakes it.
    this.inner.onAbort(() => {
      callback();
      this.#release();
    });
  }

  writeHead(status: number, reason: string, headers: readonly string[], totalSize: number): void {
    this.inner.writeHead(status, reason, headers, totalSize);
  }

  writeEncodedHead(encoded: Buffer, totalSize: number): void {
    this.inner.writeEncodedHead(encoded, totalSize);
  }

  endEncodedWithoutBody(encoded: Buffer): void {
    this.inner.endEncodedWithoutBody(encoded);
  }

  writeBody(chunk: Buffer, drain: () => void, stable = false): boolean {
    if (this.inner.state !== 'streaming') return this.inner.writeBody(chunk, drain, stable);
    this.beforeBody(chunk);
    this.#rest = chunk;
    this.#restStable = stable;
    this.#drain = drain;
    this.#inWrite = true;
    this.#pump(performance.now());
    this.#inWrite = false;
    if (this.#rest !== null || this.#innerBusy) return false;
    this.#drain = null;
    return true;
  }

  /** Hands held bytes on as the allowance permits; waits for the subclass's wake-up or the inner drain otherwise. */
  #pump(now: number): void {
    for (let rest = this.#rest; rest !== null; rest = this.#rest) {
      if (this.inner.state !== 'streaming') {
        this.#rest = null;
        break;
      }
      // An empty chunk goes on as it is (it asks for no allowance).
      const bytes = rest.length === 0 ? 0 : this.allowance(rest.length, now);
      if (bytes === 0 && rest.length > 0) return;
      this.#rest = bytes === rest.length ? null : rest.subarray(bytes);
      if (!this.inner.writeBody(bytes === rest.length ? rest : rest.subarray(0, bytes), this.#innerDrained, this.#restStable)) {
        this.#innerBusy = true;
        return;
      }
    }
    this.#handedOn();
  }

  readonly #innerDrained = (): void => {
    this.#innerBusy = false;
    if (!this.waiting()) this.#pump(performance.now());
  };

  /** Everything held went to the inner writer: a deferred end, then the pipeline's drain (unless writeBody answers). */
  #handedOn(): void {
    if (this.#endPending) {
      this.#endPending = false;
      this.inner.end();
    }
    if (this.#inWrite) return;
    const drain = this.#drain;
    this.#drain = null;
    drain?.();
  }

  /** The client went away or the response was closed: no more wake-ups, held bytes dropped, a waiting pipeline woken. */
  #release(): void {
    this.stopWaiting();
    this.#rest = null;
    this.#endPending = false;
    const drain = this.#drain;
    this.#drain = null;
    drain?.();
  }

  end(): void {
    if (this.#rest !== null || this.#innerBusy) this.#endPending = true;
    else this.inner.end();
  }

  endWithoutBody(status: number, reason: string, headers: readonly string[], contentLength: number): void {
    this.inner.endWithoutBody(status, reason, headers, contentLength);
  }

  endWithBody(status: number, reason: string, headers: readonly string[], body: string | Buffer, closeConnection?: boolean): void {
    this.inner.endWithBody(status, reason, headers, body, closeConnection);
  }

  close(): void {
    this.inner.close();
    this.#release();
  }

  onRequestBody(handler: (chunk: ArrayBuffer, isLast: boolean) => void): void {
    this.inner.onRequestBody(handler);
  }

  pauseRequestBody(): void {
    this.inner.pauseRequestBody();
  }

  resumeRequestBody(): void {
    this.inner.resumeRequestBody();
  }

  addHeader(name: string, value: string): void {
    this.inner.addHeader?.(name, value);
  }
}
