/**
 * @module test/helpers/media-hls
 * Test media for the HLS builders: files made with Debian's ffmpeg once per test process (cached in a temp dir), a
 * Movie from media/mp4's parseMovie or built from ffprobe's packet list (independent of src/media/mp4, to cross-check), a RangeReader over a
 * local file that records every read, and ffprobe/ffmpeg runs over produced segments and playlists.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { parseMovie } from '../../src/media/mp4/parse.js';
import type { Movie, RangeReader, Track } from '../../src/media/types.js';

let dir: string | null = null;
const made = new Map<string, string>();

/** The directory test media and outputs of this process go to (removed at exit). */
export function mediaDir(): string {
  if (dir === null) {
    const d = mkdtempSync(join(tmpdir(), 'flint-hls-'));
    dir = d;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

/** `name` made once with `ffmpeg -y <args> <path>`; returns its path. */
export function makeMedia(name: string, args: readonly string[]): string {
  const hit = made.get(name);
  if (hit) return hit;
  const path = join(mediaDir(), name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args, path], { stdio: ['ignore', 'ignore', 'pipe'] });
  made.set(name, path);
  return path;
}

/** H.264 (keyframe every 2 s, B-frames) + AAC LC, `sec` seconds at 25 fps. */
export function avcAacFile(sec = 14, size = '320x240'): string {
  return makeMedia(`avc-aac-${sec}-${size}.mp4`, [
    '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(sec), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-c:a', 'aac', '-b:a', '64k',
  ]);
}

/** Two video tracks (different sizes) and two audio tracks (eng, fra), `sec` seconds. */
export function multiTrackFile(sec = 9): string {
  return makeMedia(`multi-${sec}.mp4`, [
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440', '-f', 'lavfi', '-i', 'sine=frequency=880:sample_rate=48000',
    '-map', '0:v', '-map', '1:v', '-map', '2:a', '-map', '3:a', '-t', String(sec),
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-c:a', 'aac', '-ac', '2',
    '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fra',
  ]);
}

/** AAC only (an M4A), `sec` seconds. */
export function aacOnlyFile(sec = 13): string {
  return makeMedia(`aac-${sec}.m4a`, ['-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(sec), '-c:a', 'aac']);
}

/** HEVC (hvc1) + AAC, `sec` seconds. */
export function hevcFile(sec = 5): string {
  return makeMedia(`hevc-${sec}.mp4`, [
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(sec),
    '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'keyint=50:log-level=error', '-tag:v', 'hvc1', '-c:a', 'aac',
  ]);
}

interface ProbeStream {
  index: number;
  id?: string;
  codec_type: string;
  codec_tag_string: string;
  time_base: string;
  duration_ts?: number;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  extradata?: string;
  tags?: { language?: string };
}
interface ProbePacket {
  stream_index: number;
  dts: number;
  pts: number;
  duration: number;
  size: string;
  pos: string;
  flags: string;
}

function hexdump(text: string | undefined): Buffer | null {
  if (!text) return null;
  const bytes = text
    .split('\n')
    .filter((l) => l.includes(':'))
    .map((l) => (l.split(':')[1] ?? '').slice(0, 41).replace(/\s/g, ''))
    .join('');
  return Buffer.from(bytes, 'hex');
}

/** The raw top-level boxes of a file (type, offset, size). */
function topBoxes(file: Buffer): Array<{ type: string; offset: number; size: number }> {
  const out: Array<{ type: string; offset: number; size: number }> = [];
  for (let pos = 0; pos + 8 <= file.length; ) {
    let size = file.readUInt32BE(pos);
    if (size === 1) size = Number(file.readBigUInt64BE(pos + 8));
    if (size === 0) size = file.length - pos;
    out.push({ type: file.toString('latin1', pos + 4, pos + 8), offset: pos, size });
    pos += size;
  }
  return out;
}

/** A Movie of an MP4 file from ffprobe's packets (decode timestamps rebased to the raw stts start at 0). */
export function movieFromProbe(path: string): Movie {
  const json = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_data', '-show_packets', '-of', 'json', path], { maxBuffer: 1 << 28 }).toString()) as {
    streams: ProbeStream[];
    packets: ProbePacket[];
  };
  const file = readFileSync(path);
  const boxes = topBoxes(file);
  const moovBox = boxes.find((b) => b.type === 'moov');
  if (!moovBox) throw new Error(`${path}: no moov`);
  const moov = file.subarray(moovBox.offset, moovBox.offset + moovBox.size);
  const mvhdTimescale = moov.readUInt32BE(moov.indexOf('mvhd') + 4 + 4 + 8);
  const tracks: Track[] = json.streams.map((s) => {
    const packets = json.packets.filter((p) => p.stream_index === s.index);
    const n = packets.length;
    const first = packets[0]?.dts ?? 0;
    const samples = {
      count: n,
      offset: Float64Array.from(packets, (p) => Number(p.pos)),
      size: Uint32Array.from(packets, (p) => Number(p.size)),
      dts: Float64Array.from(packets, (p) => p.dts - first),
      ctsOffset: Int32Array.from(packets, (p) => p.pts - p.dts),
      duration: Uint32Array.from(packets, (p) => p.duration),
      sync: Uint8Array.from(packets, (p) => (p.flags.startsWith('K') ? 1 : 0)),
    };
    const timescale = Number(s.time_base.split('/')[1]);
    let bytes = 0;
    for (const p of packets) bytes += Number(p.size);
    const duration = s.duration_ts ?? 0;
    const kind = s.codec_type === 'video' ? 'video' : s.codec_type === 'audio' ? 'audio' : 'other';
    return {
      id: Number(s.id ?? s.index + 1),
      kind,
      codec: s.codec_tag_string,
      timescale,
      duration,
      decoderConfig: hexdump(s.extradata),
      width: s.width ?? 0,
      height: s.height ?? 0,
      sampleRate: Number(s.sample_rate ?? 0),
      channels: s.channels ?? 0,
      language: s.tags?.language ?? 'und',
      bitrate: duration > 0 ? Math.round((bytes * 8 * timescale) / duration) : 0,
      samples,
    };
  });
  const ftypBox = boxes.find((b) => b.type === 'ftyp');
  const firstMdat = boxes.find((b) => b.type === 'mdat');
  return {
    kind: tracks.some((t) => t.kind === 'video') ? 'mp4' : 'm4a',
    fileSize: file.length,
    timescale: mvhdTimescale,
    durationSec: Math.max(...tracks.map((t) => t.duration / t.timescale)),
    tracks,
    boxes: boxes.map((b) => ({ ...b })),
    moov,
    ftyp: ftypBox ? file.subarray(ftypBox.offset, ftypBox.offset + ftypBox.size) : null,
    faststart: firstMdat ? moovBox.offset < firstMdat.offset : true,
  };
}

/** The Movie of a file as the pipeline gets it: media/mp4's parseMovie over a file reader. */
export async function movieOf(path: string): Promise<Movie> {
  return parseMovie(fileReader(path), statSync(path).size);
}

/** A RangeReader over a local file; `reads` gets every [offset, length] asked. */
export function fileReader(path: string, reads: Array<[number, number]> = []): RangeReader {
  return async (offset, length) => {
    reads.push([offset, length]);
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, offset);
      if (n !== length) throw new Error(`range ${offset}+${length} passes the end`);
      return buf;
    } finally {
      closeSync(fd);
    }
  };
}

export interface ProbeResult {
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>;
  format: { duration?: string; format_name: string };
  frames: Array<{ media_type: string; key_frame: number; pict_type?: string; pts_time?: string; best_effort_timestamp_time?: string }>;
}

/** ffprobe of a file: streams, format and the first `frames` decoded frames. */
export function probeFile(path: string, frames = 3): ProbeResult {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-show_frames', '-read_intervals', `%+#${frames}`, '-of', 'json', path], { maxBuffer: 1 << 26 });
  return JSON.parse(out.toString()) as ProbeResult;
}

/** stderr of `ffmpeg -v error -i <input> -c copy -f null -` (empty when it played without an error). */
export function playErrors(input: string, extra: readonly string[] = []): string {
  const r = spawnSync('ffmpeg', ['-v', 'error', ...extra, '-i', input, '-c', 'copy', '-f', 'null', '-'], { encoding: 'utf8', timeout: 120_000 });
  return `${r.stderr}${r.status === 0 ? '' : `exit ${r.status}`}`;
}
