/**
 * @module media/mp3/tags
 * Where the audio of an MP3 file lies between its tags: ID3v2 tags in front (ID3v2.4 §3.1: syncsafe size, footer
 * flag), and at the end ID3v1 (with an Enhanced "TAG+" block), APEv1/v2, Lyrics3v2 and an appended ID3v2.4 footer.
 * Pure over a RangeReader; run by workers. A size that points past the file is a MediaFormatError; reads never pass
 * `fileSize` and each is a few bytes.
 */
import { MediaFormatError } from '../types.js';
import type { RangeReader } from '../types.js';

/** At most this many tags are stacked at either end (a loop bound against crafted chains of tiny tags). */
const MAX_STACKED_TAGS = 8;

function syncsafe(buf: Buffer, at: number): number {
  let size = 0;
  for (let i = 0; i < 4; i++) {
    const byte = buf[at + i] as number;
    if (byte & 0x80) throw new MediaFormatError('ID3v2 size is not syncsafe');
    size = size * 128 + byte;
  }
  return size;
}

/** Offset where the ID3v2 tags in front end (0 when there is none). */
export async function leadingTagsEnd(read: RangeReader, fileSize: number): Promise<number> {
  let pos = 0;
  for (let i = 0; i < MAX_STACKED_TAGS && pos + 10 <= fileSize; i++) {
    const head = await read(pos, 10);
    if (head.toString('latin1', 0, 3) !== 'ID3') return pos;
    const major = head[3] as number;
    if (major < 2 || major > 4 || head[4] === 0xff) throw new MediaFormatError(`ID3v2.${major} tag not supported`);
    const footer = major === 4 && ((head[5] as number) & 0x10) !== 0 ? 10 : 0;
    const end = pos + 10 + syncsafe(head, 6) + footer;
    if (end >= fileSize) throw new MediaFormatError('ID3v2 tag passes the end of the file');
    pos = end;
  }
  return pos;
}

/** Offset where the tags at the end start (`fileSize` when there is none); never below `floor`. */
export async function trailingTagsStart(read: RangeReader, fileSize: number, floor: number): Promise<number> {
  let end = fileSize;
  for (let i = 0; i < MAX_STACKED_TAGS; i++) {
    const room = end - floor;
    const cut = await trailingTagLength(read, end, room);
    if (cut === 0) break;
    if (cut > room) throw new MediaFormatError('a tag at the end of the file is larger than the file');
    end -= cut;
  }
  return end;
}

/** Length of the tag that ends at `end`, 0 when none does. */
async function trailingTagLength(read: RangeReader, end: number, room: number): Promise<number> {
  if (room >= 128) {
    const v1 = await read(end - 128, 4);
    if (v1.toString('latin1', 0, 3) === 'TAG') {
      // An Enhanced ID3v1 block ("TAG+", 227 bytes) sits right before the classic tag.
      if (room >= 128 + 227 && (await read(end - 128 - 227, 4)).toString('latin1') === 'TAG+') return 128 + 227;
      return 128;
    }
  }
  if (room >= 32) {
    const footer = await read(end - 32, 32);
    if (footer.toString('latin1', 0, 8) === 'APETAGEX') {
      // APEv2 footer: tag size (items + footer, without the optional header) LE at 12, flags LE at 20 (bit 31: header).
      const size = footer.readUInt32LE(12);
      const hasHeader = (footer.readUInt32LE(20) & 0x80000000) !== 0;
      if (size < 32) throw new MediaFormatError('APE tag size below its footer');
      return size + (hasHeader ? 32 : 0);
    }
  }
  if (room >= 15) {
    const tail = await read(end - 15, 15);
    if (tail.toString('latin1', 6, 15) === 'LYRICS200') {
      const digits = tail.toString('latin1', 0, 6);
      if (!/^[0-9]{6}$/.test(digits)) throw new MediaFormatError('Lyrics3v2 size is not 6 digits');
      const total = Number(digits) + 15;
      if (total > room || (await read(end - total, 11)).toString('latin1') !== 'LYRICSBEGIN') {
        throw new MediaFormatError('Lyrics3v2 tag does not start where its size says');
      }
      return total;
    }
  }
  if (room >= 10) {
    const footer = await read(end - 10, 10);
    if (footer.toString('latin1', 0, 3) === '3DI') return syncsafe(footer, 6) + 20;
  }
  return 0;
}
