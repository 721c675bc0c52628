/**
 * @module cache/blocks
 * Block files: object bodies in fixed-size blocks inside a few large sparse files under a disk's directory; the
 * only code touching block file descriptors. Reads and writes use callback fs.read/fs.write at offsets on fds kept
 * open for the process lifetime (spikes.md item 3: 3-4x faster than FileHandle). Which block belongs to whom is
 * cache/index.ts's business, not this file's.
 *
 * Size classes: a body of at most 3/4 of a block is stored whole in one smaller slot, the smallest that holds it of
 * blockSize/2, /4, /8 ... (classes 1, 2, 3 ...) and 3/4, 3/8, 3/16 ... of a block (classes THREE_QUARTER_BASE,
 * +1, +2 ...; only slots of whole pages), never below MIN_SLOT_BYTES. So a 20 KiB object costs 24 KiB of the disk
 * and of the quota, not a whole 1 MiB block: slots are 1.5x or 1.33x apart, so a body of at least MIN_SLOT_BYTES
 * wastes at most a third of its slot (in the zipf bench's size mix, slots charge 1.24x the bodies' bytes, the 4 KiB
 * slots of 1-4 KiB bodies included; bench/README.md). A block id carries its class:
 * id = class * CLASS_SPAN + n. Class 0 (whole blocks) keeps the ids and file names of caches written before classes
 * existed (`blocks-<n>.dat`); class c lives in `blocks-c<c>-<n>.dat`. Every file holds about 1 GiB of slots by
 * default (BLOCKS_PER_FILE whole blocks).
 * Runs in workers (read, write) and the primary (nothing yet).
 */
import { closeSync, mkdirSync, openSync, read, write } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** Blocks per file: 1024 x 1 MiB = 1 GiB files by default (sparse: only written blocks take disk). */
export const BLOCKS_PER_FILE = 1024;

/** Ids per size class (2^27: 128 TiB of 1 MiB blocks), so a class's ids form one range of uint32 keys. */
export const CLASS_SPAN = 2 ** 27;

/** The size class a block id carries (id = class * CLASS_SPAN + n). */
export function blockClass(id: number): number {
  return Math.floor(id / CLASS_SPAN);
}

/** The smallest slot a size class may have (one page). */
export const MIN_SLOT_BYTES = 4096;

/** The first class of the 3/4 family: class THREE_QUARTER_BASE + j has slots of 3/4 of blockSize / 2^j. */
export const THREE_QUARTER_BASE = 16;

/**
 * The size class of a body of `size` bytes stored in blocks of `blockSize`: 0 (whole blocks) for a body of unknown
 * size, one that stays inline (at most `inlineMaxBytes`) or one over 3/4 of a block; else the class of the smallest
 * slot that holds it (see the module doc).
 */
export function sizeClassFor(size: number, blockSize: number, inlineMaxBytes: number): number {
  if (size < 0 || size <= inlineMaxBytes || size > slotBytes(blockSize, THREE_QUARTER_BASE)) return 0;
  const needed = Math.max(size, MIN_SLOT_BYTES);
  let best = 0;
  for (const first of [1, THREE_QUARTER_BASE]) {
    for (let cls = first; slotBytes(blockSize, cls) >= needed; cls++) {
      if (slotBytes(blockSize, cls) % MIN_SLOT_BYTES === 0 && slotBytes(blockSize, cls) < slotBytes(blockSize, best)) best = cls;
    }
  }
  return best;
}

/** The slot size of a class. */
export function slotBytes(blockSize: number, cls: number): number {
  return cls < THREE_QUARTER_BASE ? blockSize / 2 ** cls : (3 * blockSize) / 2 ** (cls - THREE_QUARTER_BASE + 2);
}

/** How many slots of a class make the bytes of `blocks` whole blocks (its share of a file, or of a quota). */
export function slotsPerBlocks(blocks: number, blockSize: number, cls: number): number {
  return Math.floor((blocks * blockSize) / slotBytes(blockSize, cls));
}

export class BlockFiles {
  readonly #dir: string;
  readonly blockSize: number;
  readonly #fds = new Map<number, number>();

  constructor(dir: string, blockSize: number) {
    this.#dir = dir;
    this.blockSize = blockSize;
    mkdirSync(dir, { recursive: true });
  }

  /** Writes `data` (at most one slot) at the start of block `id`; rejects with the fs error (e.g. ENOSPC). */
  writeBlock(id: number, data: Uint8Array): Promise<void> {
    const { fd, position } = this.#locate(id);
    return new Promise((resolve, reject) => {
      let offset = 0;
      const step = (): void => {
        write(fd, data, offset, data.length - offset, position + offset, (error, written) => {
          if (error !== null) return reject(error);
          offset += written;
          if (offset < data.length) step();
          else resolve();
        });
      };
      step();
    });
  }

  /** Reads `length` bytes from offset `within` of block `id` into `into` at `at`; resolves with bytes read. */
  readBlock(id: number, within: number, length: number, into: Uint8Array, at: number): Promise<number> {
    const { fd, position } = this.#locate(id);
    return new Promise((resolve, reject) => {
      read(fd, into, at, length, position + within, (error, bytesRead) => (error !== null ? reject(error) : resolve(bytesRead)));
    });
  }

  /** The file and byte offset of block `id` (see the module doc for the id layout). */
  #locate(id: number): { fd: number; position: number } {
    const cls = blockClass(id);
    const n = id - cls * CLASS_SPAN;
    const perFile = slotsPerBlocks(BLOCKS_PER_FILE, this.blockSize, cls);
    const file = Math.floor(n / perFile);
    return { fd: this.#open(cls, file), position: (n - file * perFile) * slotBytes(this.blockSize, cls) };
  }

  #open(cls: number, file: number): number {
    const key = cls * 1_000_000 + file;
    let fd = this.#fds.get(key);
    if (fd === undefined) {
      const path = join(this.#dir, cls === 0 ? `blocks-${file}.dat` : `blocks-c${cls}-${file}.dat`);
      // 'a+' would force appends; open for read/write, creating the file when missing.
      try {
        fd = openSync(path, 'r+');
      } catch {
        fd = openSync(path, 'w+', 0o640);
      }
      this.#fds.set(key, fd);
    }
    return fd;
  }

  /** Closes every fd (process exit). */
  close(): void {
    for (const fd of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
  }
}

/** crc32 of a block's bytes, stored in the index and checked on read. */
export function blockChecksum(data: Uint8Array): number {
  return crc32(data);
}
