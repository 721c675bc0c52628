/**
 * @module pipeline/deliver
 * Sends a body made of pieces -- literal bytes (multipart boundaries) and byte ranges of an object -- from a
 * BodySource to a client with backpressure: each chunk is handed to the ResponseWriter, and the next read waits
 * until the socket took the previous one, so memory per connection stays at one chunk. Runs in workers.
 */
import type { ResponseWriter } from '../http/respond.js';
import type { BodySource } from './body-source.js';

/** A literal buffer, or the object's bytes [start, end) (end exclusive). */
export type BodyPiece = Buffer | { readonly start: number; readonly end: number };

/** Largest slice handed to uWS at once (spikes.md item 1: 256-512 KiB chunks). */
const CHUNK = 256 * 1024;

export type DeliverOutcome = 'complete' | 'aborted' | 'failed';

/** Streams `pieces` from `source`; the response head must already be written. Releases the source at the end. */
export async function deliverBody(writer: ResponseWriter, source: BodySource, pieces: readonly BodyPiece[]): Promise<DeliverOutcome> {
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
        pos += chunk.length;
        if (!(await send(chunk))) return 'aborted';
      }
    }
    writer.end();
    return 'complete';
  } catch {
    // Headers are out: the only honest signal left is to drop the connection.
    writer.close();
    return 'failed';
  } finally {
    source.release();
  }
}
