/**
 * @module cache/blocks
 * Block files: object bodies in fixed-size blocks inside a few large sparse files under a disk's directory
 * (`blocks-<n>.dat`, BLOCKS_PER_FILE blocks each); the only code touching block file descriptors. Reads and
 * writes use callback fs.read/fs.write at offsets on fds kept open for the process lifetime (spikes.md item 3:
 * 3-4x faster than FileHandle). Which block belongs to whom is cache/index.ts's business, not this file's.
 * Runs in workers (read, write) and the primary (nothing yet).
 */
import { closeSync, mkdirSync, openSync, read, write } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** Blocks per file: 1024 x 1 MiB = 1 GiB files by default (sparse: only written blocks take disk). */
export const BLOCKS_PER_FILE = 1024;

export class BlockFiles {
  readonly #dir: string;
  readonly blockSize: number;
  readonly #fds = new Map<number, number>();

  constructor(dir: string, blockSize: number) {
    this.#dir = dir;
    this.blockSize = blockSize;
    mkdirSync(dir, { recursive: true });
  }

  /** Writes `data` (at most one block) at the start of block `id`; rejects with the fs error (e.g. ENOSPC). */
  writeBlock(id: number, data: Uint8Array): Promise<void> {
    const fd = this.#openForWrite(Math.floor(id / BLOCKS_PER_FILE));
    const position = (id % BLOCKS_PER_FILE) * this.blockSize;
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

  #openForWrite(file: number): number {
    let fd = this.#fds.get(file);
    if (fd === undefined) {
      // 'a+' would force appends; open for read/write, creating the file when missing.
      try {
        fd = openSync(join(this.#dir, `blocks-${file}.dat`), 'r+');
      } catch {
        fd = openSync(join(this.#dir, `blocks-${file}.dat`), 'w+', 0o640);
      }
      this.#fds.set(file, fd);
    }
    return fd;
  }

  /** Reads `length` bytes from offset `within` of block `id` into `into` at `at`; resolves with bytes read. */
  readBlock(id: number, within: number, length: number, into: Uint8Array, at: number): Promise<number> {
    const fd = this.#openForWrite(Math.floor(id / BLOCKS_PER_FILE));
    const position = (id % BLOCKS_PER_FILE) * this.blockSize + within;
    return new Promise((resolve, reject) => {
      read(fd, into, at, length, position, (error, bytesRead) => (error !== null ? reject(error) : resolve(bytesRead)));
    });
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
