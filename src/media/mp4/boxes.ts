/**
 * @module media/mp4/boxes
 * ISO BMFF (ISO/IEC 14496-12) box reading and writing over in-memory buffers, for the MP4 parser and rewriters.
 * Runs in workers. Invariant: every box returned lies inside its parent's bounds; anything else is a MediaFormatError.
 */
import { MediaFormatError } from '../types.js';

/** A box inside a buffer: `start` is its header, `body` the first byte after the header, `end` one past its last. */
export interface BoxRef {
  readonly type: string;
  readonly start: number;
  readonly body: number;
  readonly end: number;
}

/** Largest value a box size may take here: offsets stay exact in a double. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The boxes laid end to end in `buf[start, end)` (a container's body). Size 0 means "to the end of the parent". */
export function childBoxes(buf: Buffer, start: number, end: number): BoxRef[] {
  const out: BoxRef[] = [];
  let off = start;
  while (off < end) {
    if (end - off < 8) throw new MediaFormatError('truncated box header');
    const size32 = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    let size: number;
    let header = 8;
    if (size32 === 1) {
      if (end - off < 16) throw new MediaFormatError('truncated 64-bit box header');
      size = buf.readUInt32BE(off + 8) * 2 ** 32 + buf.readUInt32BE(off + 12);
      header = 16;
      if (size > MAX_SAFE) throw new MediaFormatError('box size out of range');
    } else if (size32 === 0) {
      size = end - off;
    } else {
      size = size32;
    }
    if (size < header) throw new MediaFormatError(`box '${printable(type)}' smaller than its header`);
    if (size > end - off) throw new MediaFormatError(`box '${printable(type)}' passes the end of its parent`);
    out.push({ type, start: off, body: off + header, end: off + size });
    off += size;
  }
  return out;
}

/** The first child of type `type`, or null. */
export function findChild(children: readonly BoxRef[], type: string): BoxRef | null {
  for (const c of children) if (c.type === type) return c;
  return null;
}

/** A four-cc made safe for an error message (bytes outside printable ASCII shown as '?'). */
export function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, '?');
}

/** True when the four-cc is made of printable ASCII, as every registered box type is. */
export function isPrintableType(type: string): boolean {
  return /^[\x20-\x7e]{4}$/.test(type);
}

/** A bounds-checked reader over `buf[start, end)`: a read past `end` is a MediaFormatError, never a RangeError. */
export class BoxCursor {
  #buf: Buffer;
  #pos: number;
  #end: number;
  constructor(buf: Buffer, start: number, end: number) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }
  get pos(): number {
    return this.#pos;
  }
  get remaining(): number {
    return this.#end - this.#pos;
  }
  need(n: number, what: string): void {
    if (n > this.#end - this.#pos) throw new MediaFormatError(`truncated ${what}`);
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.#pos += n;
  }
  u8(what: string): number {
    this.need(1, what);
    return this.#buf[this.#pos++] as number;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.#buf.readUInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.#buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.#buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }
  /** An unsigned 64-bit value; above 2^53 it is a MediaFormatError (no MP4 field needs that range). */
  u64(what: string): number {
    this.need(8, what);
    const v = this.#buf.readUInt32BE(this.#pos) * 2 ** 32 + this.#buf.readUInt32BE(this.#pos + 4);
    this.#pos += 8;
    if (v > MAX_SAFE) throw new MediaFormatError(`${what} out of range`);
    return v;
  }
  /** A signed 64-bit value (edit list media_time); outside ±2^53 it is a MediaFormatError. */
  i64(what: string): number {
    this.need(8, what);
    const v = this.#buf.readInt32BE(this.#pos) * 2 ** 32 + this.#buf.readUInt32BE(this.#pos + 4);
    this.#pos += 8;
    if (!Number.isSafeInteger(v)) throw new MediaFormatError(`${what} out of range`);
    return v;
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const b = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return b;
  }
}

/** A box with a 32-bit size header (64-bit when the content needs it) around `parts`. */
export function makeBox(type: string, parts: readonly Buffer[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const large = len + 8 > 0xffffffff;
  const head = Buffer.alloc(large ? 16 : 8);
  if (large) {
    head.writeUInt32BE(1, 0);
    head.writeUInt32BE(Math.floor((len + 16) / 2 ** 32), 8);
    head.writeUInt32BE((len + 16) >>> 0, 12);
  } else {
    head.writeUInt32BE(len + 8, 0);
  }
  head.write(type, 4, 4, 'latin1');
  return Buffer.concat([head, ...parts], head.length + len);
}

/** A full box (version + 24-bit flags) around `body`. */
export function makeFullBox(type: string, version: number, flags: number, body: Buffer): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE((((version & 0xff) << 24) | (flags & 0xffffff)) >>> 0, 0);
  return makeBox(type, [vf, body]);
}

/** Boxes whose bodies are only child boxes, walked by `rebuildBox` (ISO/IEC 14496-12 §8). */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts', 'dinf']);

/**
 * A copy of the box `ref` of `buf` in which `edit` may replace any box (container or leaf): it returns the new bytes
 * (an empty buffer drops the box), or undefined to keep it (containers are then rebuilt from their edited children).
 * Every container's size is recomputed; headers are written 32-bit.
 */
export function rebuildBox(buf: Buffer, ref: BoxRef, edit: (box: BoxRef) => Buffer | undefined): Buffer {
  const replaced = edit(ref);
  if (replaced) return replaced;
  if (!CONTAINERS.has(ref.type)) return buf.subarray(ref.start, ref.end);
  const parts = childBoxes(buf, ref.body, ref.end).map((c) => rebuildBox(buf, c, edit));
  return makeBox(ref.type, parts);
}
