/**
 * @module pipeline/request-body
 * Streams a client's request body (POST/PUT) to the origin with backpressure both ways: uWS delivers chunks into a
 * Readable that undici consumes; when the Readable's buffer is full the client socket is paused, and resumed when
 * undici reads again. Chunks are copied because uWS reuses the memory after the callback. Runs in workers.
 */
import { Readable } from 'node:stream';
import { FlintError } from '../errors.js';
import type { ClientWriter } from '../http/writer.js';

export class RequestBodyStream extends Readable {
  readonly #writer: ClientWriter;
  readonly #limit: number;
  #paused = false;
  /** Bytes received so far. */
  received = 0;

  /** `limit` in bytes, 0 = none; `onTooLarge` is called once if the body passes it. */
  constructor(writer: ClientWriter, limit: number, onTooLarge: (error: FlintError) => void) {
    super({ highWaterMark: 256 * 1024 });
    this.#writer = writer;
    this.#limit = limit;
    writer.onRequestBody((chunk, isLast) => {
      if (this.destroyed) return;
      this.received += chunk.byteLength;
      if (this.#limit > 0 && this.received > this.#limit) {
        const error = new FlintError('FLINT_ERR_CLIENT_BODY_TOO_LARGE', `request body exceeds ${this.#limit} bytes`, { source: 'client' });
        this.destroy(error);
        onTooLarge(error);
        return;
      }
      if (chunk.byteLength > 0 && !this.push(Buffer.copyBytesFrom(new Uint8Array(chunk)))) {
        this.#paused = true;
        this.#writer.pauseRequestBody();
      }
      if (isLast) this.push(null);
    });
  }

  override _read(): void {
    if (this.#paused) {
      this.#paused = false;
      this.#writer.resumeRequestBody();
    }
  }
}

/** True when the request head announces a body (RFC 9112 §6.3: Content-Length > 0 or Transfer-Encoding). */
export function hasRequestBody(contentLength: string | undefined, transferEncoding: string | undefined): boolean {
  if (transferEncoding !== undefined) return true;
  return contentLength !== undefined && contentLength !== '0';
}
