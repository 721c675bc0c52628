/**
 * @module test/helpers/media
 * Test media made at test time with Debian's ffmpeg (never checked in), cached per test run in a temp directory;
 * ffprobe on files and buffers; a padded MP4 (zeros at the start of mdat, chunk offsets shifted) served
 * virtually so a "200 MiB" file costs no memory or disk; and an origin that serves media with Range and counts the
 * body bytes it sent per path (what the origin byte counts are measured with).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestOrigin } from './origin.js';

const run = promisify(execFile);
const DIR = mkdtempSync(join(tmpdir(), 'flint-media-'));
process.on('exit', () => rmSync(DIR, { recursive: true, force: true }));

export type MediaKind = 'mp4-moov-end' | 'mp4-faststart' | 'm4a-moov-end' | 'mp3-cbr' | 'mp3-vbr';

/** ffmpeg arguments per kind (H.264 + AAC, keyframe every 2 s; MP3 CBR 128k or VBR q4). */
function args(kind: MediaKind, seconds: number, out: string): string[] {
  const video = ['-f', 'lavfi', '-i', `testsrc=size=160x120:rate=25:duration=${seconds}`];
  const audio = ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${seconds}`];
  const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-pix_fmt', 'yuv420p'];
  switch (kind) {
    case 'mp4-moov-end':
      return [...video, ...audio, ...h264, '-c:a', 'aac', '-b:a', '64k', '-shortest', out];
    case 'mp4-faststart':
      return [...video, ...audio, ...h264, '-c:a', 'aac', '-b:a', '64k', '-shortest', '-movflags', '+faststart', out];
    case 'm4a-moov-end':
      return [...audio, '-c:a', 'aac', '-b:a', '64k', out];
    case 'mp3-cbr':
      return [...audio, '-c:a', 'libmp3lame', '-b:a', '128k', out];
    case 'mp3-vbr':
      return [...audio, '-c:a', 'libmp3lame', '-q:a', '4', out];
  }
}

const EXTENSION: Record<MediaKind, string> = { 'mp4-moov-end': 'mp4', 'mp4-faststart': 'mp4', 'm4a-moov-end': 'm4a', 'mp3-cbr': 'mp3', 'mp3-vbr': 'mp3' };

/** The bytes of a `seconds`-long test file of `kind` (made once per run). */
export async function makeMedia(kind: MediaKind, seconds = 20): Promise<Buffer> {
  const out = join(DIR, `${kind}-${seconds}.${EXTENSION[kind]}`);
  if (!existsSync(out)) await run('ffmpeg', ['-v', 'error', '-y', ...args(kind, seconds, out)], { timeout: 120_000 });
  return readFileSync(out);
}

export interface Probe {
  readonly streams: ReadonlyArray<{ codec_type: string; codec_name: string; duration?: string; nb_frames?: string }>;
  readonly format: { duration?: string; format_name: string; nb_streams: number };
}

/** ffprobe of a file path, an http URL, or bytes (written to a temp file); rejects when ffprobe reports an error. */
export async function probe(input: string | Buffer, extension = 'mp4'): Promise<Probe> {
  let target = input as string;
  if (Buffer.isBuffer(input)) {
    target = join(DIR, `probe-${process.hrtime.bigint()}.${extension}`);
    writeFileSync(target, input);
  }
  const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', target], { timeout: 60_000 });
  if (stderr.trim() !== '') throw new Error(`ffprobe: ${stderr.trim()}`);
  return JSON.parse(stdout) as Probe;
}

/** Presentation timestamps of the first video frame and whether it is a keyframe (ffprobe -show_frames on bytes). */
export async function firstVideoFrame(input: Buffer, extension: string): Promise<{ keyframe: boolean; pts: number } | null> {
  const target = join(DIR, `frame-${process.hrtime.bigint()}.${extension}`);
  writeFileSync(target, input);
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_frames', '-read_intervals', '%+#1', '-show_entries', 'frame=key_frame,pts_time', '-of', 'json', target], { timeout: 60_000 });
  const frame = (JSON.parse(stdout) as { frames?: Array<{ key_frame: number; pts_time: string }> }).frames?.[0];
  return frame === undefined ? null : { keyframe: frame.key_frame === 1, pts: Number(frame.pts_time) };
}

/** Runs ffmpeg reading `url` and discarding the output; resolves with its stderr (errors only), rejects on a failure exit. */
export async function playThrough(url: string, extra: readonly string[] = []): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', ...extra, '-i', url, '-c', 'copy', '-f', 'null', '-'], { timeout: 120_000 });
  return stderr;
}

/** Top-level boxes of an MP4: type, offset, size. */
export function topBoxes(file: Buffer): Array<{ type: string; offset: number; size: number }> {
  const boxes: Array<{ type: string; offset: number; size: number }> = [];
  let at = 0;
  while (at + 8 <= file.length) {
    let size = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    if (size === 1) size = Number(file.readBigUInt64BE(at + 8));
    else if (size === 0) size = file.length - at;
    boxes.push({ type, offset: at, size });
    at += size;
  }
  return boxes;
}

/**
 * A body read by ranges without being in memory: `read(start, end)` gives bytes [start, end).
 */
export interface VirtualBody {
  readonly size: number;
  read(start: number, end: number): Buffer;
}

export function realBody(data: Buffer): VirtualBody {
  return { size: data.length, read: (start, end) => data.subarray(start, end) };
}

/**
 * `file` (an MP4 with moov after mdat) with `padding` zero bytes inserted at the start of the mdat payload (its size
 * and every stco/co64 entry shifted to match): a large moov-at-end file whose padding is made on demand.
 */
export function paddedMp4(file: Buffer, padding: number): VirtualBody {
  const boxes = topBoxes(file);
  const mdat = boxes.find((b) => b.type === 'mdat');
  const moov = boxes.find((b) => b.type === 'moov');
  if (mdat === undefined || moov === undefined || moov.offset < mdat.offset) throw new Error('paddedMp4: needs mdat then moov');
  if (file.readUInt32BE(mdat.offset) !== mdat.size || mdat.size + padding >= 2 ** 32) throw new Error('paddedMp4: needs a 32-bit mdat header');
  const patched = Buffer.from(file);
  patched.writeUInt32BE(mdat.size + padding, mdat.offset);
  // Chunk offset tables: found by their four-cc inside moov (test media only: ffmpeg output has no such bytes elsewhere).
  for (let at = moov.offset + 8; at + 16 <= moov.offset + moov.size; at++) {
    const type = patched.toString('latin1', at + 4, at + 8);
    if (type !== 'stco' && type !== 'co64') continue;
    const count = patched.readUInt32BE(at + 12);
    for (let i = 0; i < count; i++) {
      if (type === 'stco') patched.writeUInt32BE(patched.readUInt32BE(at + 16 + i * 4) + padding, at + 16 + i * 4);
      else patched.writeBigUInt64BE(patched.readBigUInt64BE(at + 16 + i * 8) + BigInt(padding), at + 16 + i * 8);
    }
  }
  const head = patched.subarray(0, mdat.offset + 8);
  const tail = patched.subarray(mdat.offset + 8);
  const size = head.length + padding + tail.length;
  return {
    size,
    read(start, end) {
      const out = Buffer.alloc(end - start);
      const copy = (src: Buffer, srcStart: number): void => {
        // src occupies [srcStart, srcStart + src.length) of the virtual file; the padding stays zeros.
        const from = Math.max(start, srcStart);
        const to = Math.min(end, srcStart + src.length);
        if (from < to) src.copy(out, from - start, from - srcStart, to - srcStart);
      };
      copy(head, 0);
      copy(tail, head.length + padding);
      return out;
    },
  };
}

/** An origin serving `files` (path -> body, content type) with single-range support, counting body bytes per path. */
export class MediaOrigin {
  readonly origin: TestOrigin;
  readonly files = new Map<string, { body: VirtualBody; type: string; etag: string; cacheControl: string }>();
  /** Body bytes sent per path (query excluded). */
  readonly sent = new Map<string, number>();
  /** Request URLs as the origin saw them (query included). */
  readonly urls: string[] = [];

  private constructor(origin: TestOrigin) {
    this.origin = origin;
  }

  static async start(): Promise<MediaOrigin> {
    let self: MediaOrigin | null = null;
    const origin = await TestOrigin.start((req, res) => (self as MediaOrigin).handle(req.url ?? '/', req.headers.range, res, req.headers['if-none-match']));
    self = new MediaOrigin(origin);
    return self;
  }

  get address(): string {
    return this.origin.address;
  }

  /** Serves `body` at `path`; `etag` (default from the path and size) changes with a new version. */
  add(path: string, body: Buffer | VirtualBody, type: string, cacheControl = 'max-age=3600', etag?: string): void {
    const size = Buffer.isBuffer(body) ? body.length : body.size;
    this.files.set(path, { body: Buffer.isBuffer(body) ? realBody(body) : body, type, etag: etag ?? `"${path.length}-${size}"`, cacheControl });
  }

  sentFor(path: string): number {
    return this.sent.get(path) ?? 0;
  }

  handle(url: string, range: string | undefined, res: ServerResponse, ifNoneMatch?: string): void {
    this.urls.push(url);
    const path = url.split('?')[0] ?? url;
    const file = this.files.get(path);
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain', 'content-length': '10' });
      res.end('not found\n');
      return;
    }
    const headers = { 'content-type': file.type, etag: file.etag, 'cache-control': file.cacheControl, 'accept-ranges': 'bytes', 'last-modified': 'Mon, 07 Dec 2026 00:00:00 GMT' };
    if (ifNoneMatch === file.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const size = file.body.size;
    const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    let start = 0;
    let end = size;
    let status = 200;
    const extra: Record<string, string> = {};
    if (match !== null) {
      start = Number(match[1]);
      end = match[2] === '' ? size : Math.min(size, Number(match[2]) + 1);
      if (start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': '0' });
        res.end();
        return;
      }
      status = 206;
      extra['content-range'] = `bytes ${start}-${end - 1}/${size}`;
    }
    res.writeHead(status, { ...headers, ...extra, 'content-length': String(end - start) });
    this.sent.set(path, (this.sent.get(path) ?? 0) + (end - start));
    // In 1 MiB pieces with backpressure: a virtual body is never materialised whole.
    const piece = 1024 * 1024;
    let at = start;
    const pump = (): void => {
      while (at < end) {
        const next = Math.min(end, at + piece);
        const ok = res.write(file.body.read(at, next));
        at = next;
        if (!ok) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  }

  async close(): Promise<void> {
    await this.origin.close();
  }
}
