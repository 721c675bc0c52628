/**
 * @module pipeline/deliver
 * Sends a body made of pieces -- literal bytes (multipart boundaries) and byte ranges of an object -- from a
 * BodySource to a client with backpressure: each chunk is handed to the ClientWriter, and the next read waits
 * until the socket took the previous one, so memory per connection stays at one chunk. Runs in workers.
 */
import type { ClientWriter } from '../http/writer.js';
import type { BodySource } from './body-source.js';

/** The `end` of a piece whose length is not known: it runs to the end of the body. */
export const UNKNOWN_END = Number.MAX_SAFE_INTEGER;

/** A literal buffer, or the object's bytes [start, end) (end exclusive; UNKNOWN_END for a body of unknown length). */
export type BodyPiece = Buffer | { readonly start: number; readonly end: number };

/** Largest slice handed to uWS at once (spikes.md item 1: 256-512 KiB chunks). */
const CHUNK = 256 * 1024;

/**
 * How a delivery ended. 'failed': a read failed after body bytes went out, the connection is closed (a client sees
 * the body cut short). 'unsent': a read failed before the first body byte; the held head was dropped and nothing
 * reached the client, so the caller answers the request (an error response, or another try).
 */
export type DeliverOutcome = 'complete' | 'aborted' | 'failed' | 'unsent';

/**
 * Streams `pieces` from `source`; the response head must already be written (writeHead: held until the first
 * body bytes). Releases the source at the end. `onFailure` learns why a read failed (the outcome is then 'failed'
 * or 'unsent').
 */
export async function deliverBody(writer: ClientWriter, source: BodySource, pieces: readonly BodyPiece[], onFailure?: (error: unknown) => void): Promise<DeliverOutcome> {
  let drained: (() => void) | null = null;
  const onDrain = (): void => drained?.();
  const send = async (chunk: Buffer): Promise<boolean> => {
    if (writer.state !== 'streaming') return writer.state === 'ended';
    if (!writer.writeBody(chunk, onDrain)) await new Promise<void>((resolve) => (drained = resolve));
    return writer.state === 'streaming' || writer.state === 'ended';
  };
  try {
    for (const piece of pieces) {
      if (Buffer.isBuffer(piece)) {
        if (!(await send(piece))) return 'aborted';
        continue;
      }
      let pos = piece.start;
      while (pos < piece.end) {
        const chunk = await source.read(pos, Math.min(CHUNK, piece.end - pos));
        if (writer.state === 'aborted') return 'aborted';
        if (chunk.length === 0) {
          // The end of a body of unknown length (UNKNOWN_END); anything else ended early.
          if (piece.end !== UNKNOWN_END) throw new Error(`the body ended at ${pos} bytes, before ${piece.end}`);
          break;
        }
        pos += chunk.length;
        if (!(await send(chunk))) return 'aborted';
      }
    }
    writer.end();
    return 'complete';
  } catch (error) {
    onFailure?.(error);
    if (writer.discardHead()) return 'unsent';
    // The head and some body bytes are out: the only honest signal left is to drop the connection, which leaves the
    // client a body shorter than its Content-Length, or chunked without its last chunk.
    writer.close();
    return 'failed';
  } finally {
    source.release();
  }
}
