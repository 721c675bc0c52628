/**
 * @module test/helpers/media-mp3
 * Real MP3 files for the MP3 parser, trimming and throttling tests, made once per test process with ffmpeg
 * (libmp3lame) in a temp dir; a RangeReader over a Buffer that counts what it reads; ffprobe of a produced file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RangeReader } from '../../src/media/types.js';

/**
 * cbr: 128 kbps 44.1 kHz stereo with ID3v2.4 and a LAME "Info" frame; vbr: -q:a 4 with a "Xing" frame and TOC;
 * plain: 32 kbps 22.05 kHz mono MPEG-2, no Xing, no tags; cbr-mono48: 64 kbps 48 kHz
 * mono with ID3v2, Info and ID3v1.
 */
export type Mp3Kind = 'cbr' | 'vbr' | 'plain' | 'cbr-mono48';

const ARGS: Record<Mp3Kind, string[]> = {
  cbr: ['-ac', '2', '-b:a', '128k'],
  vbr: ['-ac', '2', '-q:a', '4'],
  plain: ['-ac', '1', '-ar', '22050', '-b:a', '32k', '-write_xing', '0', '-id3v2_version', '0'],
  'cbr-mono48': ['-ac', '1', '-ar', '48000', '-b:a', '64k', '-write_id3v1', '1', '-metadata', 'title=flint'],
};

let dir: string | null = null;
const made = new Map<string, string>();

/** Path of an MP3 of `kind`, `seconds` long (a 440 Hz sine with a rising tone so VBR frames vary). */
export function makeMp3(kind: Mp3Kind, seconds = 10): string {
  const key = `${kind}-${seconds}`;
  const known = made.get(key);
  if (known) return known;
  if (dir === null) {
    const made = mkdtempSync(join(tmpdir(), 'flint-mp3-'));
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    dir = made;
  }
  const path = join(dir, `${key}.mp3`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=4:duration=${seconds}`, '-c:a', 'libmp3lame', ...ARGS[kind], path]);
  made.set(key, path);
  return path;
}

/** A reader over `buf` that refuses reads past its end (as the pipeline's does) and counts the bytes read. */
export function bufferReader(buf: Buffer): RangeReader & { bytesRead: number; calls: number } {
  const reader = Object.assign(
    async (offset: number, length: number): Promise<Buffer> => {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > buf.length) {
        throw new RangeError(`read ${offset}+${length} outside ${buf.length}`);
      }
      reader.bytesRead += length;
      reader.calls++;
      return buf.subarray(offset, offset + length);
    },
    { bytesRead: 0, calls: 0 },
  );
  return reader;
}

export function readMp3(kind: Mp3Kind, seconds = 10): Buffer {
  return readFileSync(makeMp3(kind, seconds));
}

export interface Probe {
  readonly duration: number;
  readonly frames: number;
  readonly sampleRate: number;
  readonly channels: number;
}

/** ffprobe's duration (format), decoded frame count and stream parameters of the file at `path`. */
export function probeMp3(path: string): Probe {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'format=duration:stream=nb_read_frames,sample_rate,channels', '-of', 'json', path]).toString();
  const json = JSON.parse(out) as { format: { duration: string }; streams: Array<{ nb_read_frames: string; sample_rate: string; channels: number }> };
  const stream = json.streams[0];
  if (!stream) throw new Error(`ffprobe found no stream in ${path}`);
  return { duration: Number(json.format.duration), frames: Number(stream.nb_read_frames), sampleRate: Number(stream.sample_rate), channels: stream.channels };
}

/** stderr of decoding the whole file with `ffmpeg -v error` (empty when clean). */
export function decodeErrors(path: string): string {
  const run = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-'], { encoding: 'utf8' });
  return `${run.status === 0 ? '' : `exit ${run.status}\n`}${run.stderr}`;
}
