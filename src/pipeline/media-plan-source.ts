/**
 * @module pipeline/media-plan-source
 * A Plan (media/types.ts: new bytes and ranges of the original) as a BodySource, so the deliver step
 * (pipeline/stored-delivery.ts) serves it like any stored body, Range, multi-range and HEAD included, without
 * materialising it: new bytes are sliced, source ranges streamed from the original's blocks a window at a time
 * (pipeline/media-reader.ts). Runs in workers.
 */
import type { Plan } from '../media/types.js';
import type { BodySource } from './body-source.js';
import type { CachedRangeReader } from './media-reader.js';

const END_OF_BODY = Buffer.alloc(0);

export class PlanSource implements BodySource {
  readonly #plan: Plan;
  readonly #reader: CachedRangeReader;
  /** Body offset where each part starts; one more entry: the size. */
  readonly #starts: Float64Array;
  /** The part the last read fell in (reads are mostly sequential). */
  #part = 0;

  constructor(plan: Plan, reader: CachedRangeReader) {
    this.#plan = plan;
    this.#reader = reader;
    this.#starts = new Float64Array(plan.parts.length + 1);
    let at = 0;
    plan.parts.forEach((part, i) => {
      this.#starts[i] = at;
      at += 'data' in part ? part.data.length : part.length;
    });
    this.#starts[plan.parts.length] = at;
    if (at !== plan.size) throw new Error(`the plan's parts add up to ${at} bytes, not its size ${plan.size}`);
  }

  read(pos: number, max: number): Promise<Buffer> {
    if (pos >= this.#plan.size) return Promise.resolve(END_OF_BODY);
    const i = this.#partAt(pos);
    const part = this.#plan.parts[i];
    const start = this.#starts[i] as number;
    const end = this.#starts[i + 1] as number;
    if (part === undefined) return Promise.reject(new Error(`no plan part at ${pos}`));
    const within = pos - start;
    const n = Math.min(max, end - pos);
    if ('data' in part) return Promise.resolve(part.data.subarray(within, within + n));
    return this.#reader.readSome(part.offset + within, n, part.offset + part.length);
  }

  #partAt(pos: number): number {
    const starts = this.#starts;
    let i = this.#part;
    if (!((starts[i] as number) <= pos && pos < (starts[i + 1] as number))) {
      // Binary search for the last part starting at or before pos: it holds pos (an empty part there would make the
      // next one start at or before pos too).
      let lo = 0;
      let hi = this.#plan.parts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((starts[mid] as number) <= pos) lo = mid;
        else hi = mid - 1;
      }
      i = lo;
    }
    this.#part = i;
    return i;
  }

  release(): void {
    this.#reader.release();
  }
}
