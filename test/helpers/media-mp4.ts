/**
 * @module test/helpers/media-mp4
 * Test media for the MP4 builders: small H.264/AAC files made once per test process with Debian's ffmpeg (cached in a
 * temp dir removed at exit), a file-backed RangeReader, a Plan written out as a file, and ffprobe/ffmpeg readers of the results.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan, RangeReader } from '../../src/media/types.js';

let dir: string | null = null;
const made = new Map<string, string>();

function mediaDir(): string {
  if (dir === null) {
    const made = mkdtempSync(join(tmpdir(), 'flint-mp4-'));
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    dir = made;
  }
  return dir;
}

/** The test files by name: what ffmpeg makes for each. */
const RECIPES: Record<string, string[]> = {
  // 20 s, GOP 2 s (50 frames at 25 fps), B-frames + AAC (of noise: no two audio packets alike), moov at the end.
  'av.mp4': ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-f', 'lavfi', '-i', 'anoisesrc=color=white:amplitude=0.2:seed=7:sample_rate=44100', '-t', '20',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k'],
  'av-faststart.mp4': ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-f', 'lavfi', '-i', 'anoisesrc=color=white:amplitude=0.2:seed=7:sample_rate=44100', '-t', '20',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-movflags', '+faststart'],
  'audio.m4a': ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '20', '-c:a', 'aac', '-b:a', '64k'],
  'video.mp4': ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p'],
  // Audio starts 1 s late: ffmpeg writes a leading empty edit (976 ms after its AAC priming shift) in the audio elst.
  'delayed.mp4': ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-itsoffset', '1', '-f', 'lavfi', '-i', 'anoisesrc=amplitude=0.2:seed=3:sample_rate=44100',
    '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-shortest'],
  // ctts version 1 with negative composition offsets.
  'negcts.mp4': ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '25', '-pix_fmt', 'yuv420p',
    '-movflags', '+negative_cts_offsets'],
  // Video + a mov_text subtitle track (hdlr 'sbtl': an "other" track for AllTracks); the cues file is written first.
  'subs.mp4': ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-i', '{dir}/cues.srt', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25',
    '-pix_fmt', 'yuv420p', '-c:s', 'mov_text'],
  'hevc.mp4': ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '4', '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=none', '-tag:v', 'hvc1', '-pix_fmt', 'yuv420p'],
};

/** Path of the named test file, made on first use. */
export function mediaFile(name: keyof typeof RECIPES | string): string {
  const have = made.get(name);
  if (have) return have;
  const recipe = RECIPES[name];
  if (!recipe) throw new Error(`no recipe for ${name}`);
  const out = join(mediaDir(), name);
  writeFileSync(join(mediaDir(), 'cues.srt'), '1\n00:00:00,500 --> 00:00:02,500\none\n\n2\n00:00:03,000 --> 00:00:05,000\ntwo\n\n');
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...recipe.map((a) => a.replace('{dir}', mediaDir())), out], { stdio: ['ignore', 'ignore', 'pipe'] });
  made.set(name, out);
  return out;
}

/** A RangeReader over a file on disk (rejects a range past the end, as the pipeline's does). */
export function fileReader(path: string): { read: RangeReader; size: number; reads: Array<[number, number]> } {
  const size = statSync(path).size;
  const reads: Array<[number, number]> = [];
  const read: RangeReader = async (offset, length) => {
    if (offset < 0 || length < 0 || offset + length > size) throw new RangeError(`read ${offset}+${length} past ${size}`);
    reads.push([offset, length]);
    const buf = Buffer.alloc(length);
    const fd = openSync(path, 'r');
    try {
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    return buf;
  };
  return { read, size, reads };
}

/** A RangeReader over bytes in memory (hostile, synthetic files). */
export function bufferReader(bytes: Buffer): RangeReader {
  return async (offset, length) => {
    if (offset < 0 || length < 0 || offset + length > bytes.length) throw new RangeError('read past the end');
    return Buffer.from(bytes.subarray(offset, offset + length));
  };
}

/** Writes a plan's body to `name` in the media dir (source parts read from `source`) and returns its path. */
export function writePlan(plan: Plan, source: string, name: string): string {
  const out = join(mediaDir(), name);
  const fd = openSync(source, 'r');
  const bufs: Buffer[] = [];
  try {
    for (const p of plan.parts) {
      if ('data' in p) bufs.push(p.data);
      else {
        const b = Buffer.alloc(p.length);
        readSync(fd, b, 0, p.length, p.offset);
        bufs.push(b);
      }
    }
  } finally {
    closeSync(fd);
  }
  const body = Buffer.concat(bufs);
  if (body.length !== plan.size) throw new Error(`plan size ${plan.size} but parts sum to ${body.length}`);
  writeFileSync(out, body);
  return out;
}

export interface ProbedStream {
  readonly codec_type: string;
  readonly codec_name: string;
  readonly duration?: string;
  readonly nb_frames?: string;
}

/** ffprobe's streams and format duration of a file. */
export function probe(path: string): { streams: ProbedStream[]; duration: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', path], { encoding: 'utf8' });
  const j = JSON.parse(out) as { streams: ProbedStream[]; format: { duration: string } };
  return { streams: j.streams, duration: Number(j.format.duration) };
}

/** Per-packet lines of `ffmpeg -f framemd5` without the header comments: stream, dts, pts, duration, size, md5. */
export function frameMd5(path: string): string[] {
  const out = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-map', '0', '-c', 'copy', '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return out.split('\n').filter((l) => l && !l.startsWith('#'));
}

/** Errors `ffmpeg -v error -i path -f null -` prints while decoding the whole file ('' when none). */
export function decodeErrors(path: string): string {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-'], { encoding: 'utf8' });
  return `${r.status === 0 ? '' : `exit ${r.status}\n`}${r.stderr}`;
}

/** Video packets of a file in decode order: pts seconds and keyframe flag. */
export function videoPackets(path: string): Array<{ pts: number; key: boolean }> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => {
    const [pts, flags] = l.split(',');
    return { pts: Number(pts), key: (flags ?? '').includes('K') };
  });
}
