// Unit tests of media/mp3/parse: real libmp3lame files (CBR with Info, VBR with Xing, MPEG-2 mono without Xing or
// tags; ID3v2 and ID3v1) against ffprobe; frame boundaries re-found near cut points from a small window; and a
// table of hostile files that must each end in a MediaFormatError (never another error, a hang or a read past the end).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFrameHeader } from '../../src/media/mp3/frame-header.js';
import { mp3FrameAt, parseMp3 } from '../../src/media/mp3/parse.js';
import type { Mp3Info } from '../../src/media/mp3/parse.js';
import { MediaFormatError } from '../../src/media/types.js';
import { bufferReader, makeMp3, probeMp3, readMp3 } from '../helpers/media-mp3.js';
import type { Mp3Kind } from '../helpers/media-mp3.js';

/** Offsets of every frame from audioStart to audioEnd, walked header by header. */
function walkFrames(buf: Buffer, info: Mp3Info): number[] {
  const starts: number[] = [];
  let at = info.audioStart;
  while (at < info.audioEnd) {
    const header = decodeFrameHeader(buf, at);
    assert.ok(header, `frame header at ${at}`);
    starts.push(at);
    at += header.length;
  }
  assert.equal(at, info.audioEnd, 'frames end exactly where the audio ends');
  return starts;
}

const KINDS: Array<{ kind: Mp3Kind; version: number; channels: number; sampleRate: number; header: string | null; id3v1: boolean }> = [
  { kind: 'cbr', version: 1, channels: 2, sampleRate: 44100, header: 'info', id3v1: false },
  { kind: 'vbr', version: 1, channels: 2, sampleRate: 44100, header: 'xing', id3v1: false },
  { kind: 'plain', version: 2, channels: 1, sampleRate: 22050, header: null, id3v1: false },
  { kind: 'cbr-mono48', version: 1, channels: 1, sampleRate: 48000, header: 'info', id3v1: true },
];

for (const k of KINDS) {
  test(`${k.kind}: stream parameters, tags and duration agree with ffprobe`, async () => {
    const buf = readMp3(k.kind);
    const info = await parseMp3(bufferReader(buf), buf.length);
    const probe = probeMp3(makeMp3(k.kind));
    assert.equal(info.version, k.version);
    assert.equal(info.layer, 3);
    assert.equal(info.sampleRate, k.sampleRate);
    assert.equal(info.channels, k.channels);
    assert.equal(info.headerFrame?.kind ?? null, k.header);
    assert.equal(info.audioEnd, k.id3v1 ? buf.length - 128 : buf.length);
    if (k.kind !== 'plain') assert.equal(buf.toString('latin1', 0, 3), 'ID3');
    assert.equal(info.tagsEnd, k.kind === 'plain' ? 0 : 10 + (buf[9] as number) + 128 * (buf[8] as number));
    const frames = walkFrames(buf, info);
    assert.equal(info.frames, frames.length, 'frame count');
    assert.equal(probe.frames, frames.length, 'ffprobe decodes as many frames');
    const secPerFrame = info.samplesPerFrame / info.sampleRate;
    assert.ok(Math.abs(info.durationSec - probe.duration) <= secPerFrame, `duration ${info.durationSec} vs ffprobe ${probe.duration}`);
    assert.ok(info.bitrate > 16000 && info.bitrate < 200000, `bitrate ${info.bitrate}`);
  });

  test(`${k.kind}: mp3FrameAt lands on a frame boundary near the time, reading a small window`, async () => {
    const buf = readMp3(k.kind);
    const info = await parseMp3(bufferReader(buf), buf.length);
    const starts = walkFrames(buf, info);
    const secPerFrame = info.samplesPerFrame / info.sampleRate;
    for (const sec of [0, 0.01, 1, 2.5, 3.3333, 5, 7.77, 9.9, 9.99, 10.5, 1e9]) {
      const reader = bufferReader(buf);
      const at = await mp3FrameAt(info, reader, sec);
      assert.ok(reader.bytesRead <= 32 * 1024, `read ${reader.bytesRead} bytes`);
      if (at.offset === info.audioEnd) {
        assert.ok(sec >= info.durationSec - secPerFrame, `${sec}: end`);
        continue;
      }
      const index = starts.indexOf(at.offset);
      assert.ok(index >= 0, `${sec}: ${at.offset} is a frame start`);
      const frameSec = index * secPerFrame;
      if (!info.vbr) {
        // CBR: exactly the frame holding `sec`, and the time it reports is that frame's.
        assert.equal(index, Math.min(Math.floor(sec / secPerFrame + 1e-9), starts.length), `${sec}: frame index`);
        assert.ok(Math.abs(at.sec - frameSec) < 1e-9);
      } else {
        // VBR: as close as the Xing seek table allows (this sine's frames vary little: within a few frames).
        assert.ok(Math.abs(frameSec - sec) <= 4 * secPerFrame, `${sec}: landed at ${frameSec}`);
        assert.ok(Math.abs(at.sec - frameSec) <= 4 * secPerFrame, `${sec}: reported ${at.sec} for ${frameSec}`);
      }
    }
  });
}

// --- hostile files -------------------------------------------------------------------------------------------

function syncsafe(n: number): number[] {
  return [(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f];
}

function id3(size: number, major = 4, flags = 0): Buffer {
  return Buffer.from([0x49, 0x44, 0x33, major, 0, flags, ...syncsafe(size)]);
}

/** Deterministic bytes with no 0xFF (so no sync at all) or with every byte random (LCG). */
function noise(length: number, seed: number, allowFF: boolean): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const byte = x >>> 24;
    out[i] = allowFF ? byte : byte === 0xff ? 0xfe : byte;
  }
  return out;
}

/** The VBR file with the Xing field at `field` (bytes after the tag: 4 flags, 8 frames, 12 bytes, 16 TOC) patched. */
function patchXing(patch: (buf: Buffer, xingAt: number) => void): Buffer {
  const buf = Buffer.from(readMp3('vbr'));
  const xingAt = buf.indexOf('Xing', 0, 'latin1');
  assert.ok(xingAt > 0);
  patch(buf, xingAt);
  return buf;
}

/** A 128 kbps 44.1 kHz MPEG-1 layer III frame header (417 bytes, no padding), with a given bitrate index. */
function frameHeader(bitrateIndex = 9): Buffer {
  return Buffer.from([0xff, 0xfb, (bitrateIndex << 4) | 0x00, 0x44]);
}

function frames(count: number, bitrateIndex = 9): Buffer {
  const one = Buffer.alloc(417);
  frameHeader(bitrateIndex).copy(one);
  return Buffer.concat(Array.from({ length: count }, () => one));
}

const HOSTILE: Array<[string, () => Buffer]> = [
  ['empty file', () => Buffer.alloc(0)],
  ['seven bytes', () => Buffer.from('ID3\x04\x00\x00\x00', 'latin1')],
  ['zeros', () => Buffer.alloc(100_000)],
  ['all 0xFF', () => Buffer.alloc(100_000, 0xff)],
  ['text', () => Buffer.from('<html><body>not audio</body></html>'.repeat(200))],
  ['noise without 0xFF', () => noise(200_000, 7, false)],
  ['noise', () => noise(200_000, 42, true)],
  ['ID3v2 size past the end', () => Buffer.concat([id3(0x0fffffff), frames(4)])],
  ['ID3v2 size exactly the file', () => Buffer.concat([id3(417 * 2), frames(2)])],
  ['ID3v2 size not syncsafe', () => Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0x81, 0x00]), frames(4)])],
  ['ID3v2.5', () => Buffer.concat([id3(10, 5), Buffer.alloc(10), frames(4)])],
  ['ID3v2.4 footer flag pushes the end past the file', () => Buffer.concat([id3(417 * 3 - 10, 4, 0x10), frames(3)])],
  ['eight stacked ID3v2 tags then nothing', () => Buffer.concat(Array.from({ length: 9 }, () => id3(0)))],
  ['one false sync, then zeros', () => Buffer.concat([frameHeader(), Buffer.alloc(50_000)])],
  ['false syncs every 100 bytes', () => Buffer.concat(Array.from({ length: 500 }, () => Buffer.concat([frameHeader(), Buffer.alloc(96)])))],
  ['free-format frames (bitrate index 0)', () => frames(50, 0)],
  ['bad bitrate index 15', () => frames(50, 15)],
  ['reserved sample rate', () => Buffer.concat(Array.from({ length: 50 }, () => Buffer.concat([Buffer.from([0xff, 0xfb, 0x9c, 0x44]), Buffer.alloc(413)])))],
  ['reserved version', () => Buffer.concat(Array.from({ length: 50 }, () => Buffer.concat([Buffer.from([0xff, 0xeb, 0x90, 0x44]), Buffer.alloc(413)])))],
  ['Xing frame count 0xFFFFFFFF', () => patchXing((b, x) => b.writeUInt32BE(0xffffffff, x + 8))],
  ['Xing frame count past the bytes', () => patchXing((b, x) => b.writeUInt32BE(b.length, x + 8))],
  ['Xing frame count 0', () => patchXing((b, x) => b.writeUInt32BE(0, x + 8))],
  ['Xing byte count 0', () => patchXing((b, x) => b.writeUInt32BE(0, x + 12))],
  ['Xing seek table decreasing', () => patchXing((b, x) => { b[x + 16 + 50] = 255; b[x + 16 + 51] = 0; })],
  ['Xing frame cut short', () => patchXing((b, x) => b.writeUInt32BE(0x0f, x + 4)).subarray(0, readMp3('vbr').indexOf('Xing', 0, 'latin1') + 30)],
  ['VBRI table longer than its frame', () => {
    const buf = frames(20);
    buf.write('VBRI', 36, 'latin1');
    buf.writeUInt32BE(417 * 19, 36 + 10);
    buf.writeUInt32BE(19, 36 + 14);
    buf.writeUInt16BE(65535, 36 + 18);
    buf.writeUInt16BE(1, 36 + 20);
    buf.writeUInt16BE(4, 36 + 22);
    buf.writeUInt16BE(1, 36 + 24);
    return buf;
  }],
  ['VBRI frame count 4 billion', () => {
    const buf = frames(20);
    buf.write('VBRI', 36, 'latin1');
    buf.writeUInt32BE(417 * 19, 36 + 10);
    buf.writeUInt32BE(0xfffffff0, 36 + 14);
    return buf;
  }],
  ['APE footer with a 2 GiB size', () => {
    const footer = Buffer.alloc(32);
    footer.write('APETAGEX', 0, 'latin1');
    footer.writeUInt32LE(2000, 8);
    footer.writeUInt32LE(0x7fffffff, 12);
    return Buffer.concat([frames(10), footer]);
  }],
  ['APE footer size below 32', () => {
    const footer = Buffer.alloc(32);
    footer.write('APETAGEX', 0, 'latin1');
    footer.writeUInt32LE(3, 12);
    return Buffer.concat([frames(10), footer]);
  }],
  ['Lyrics3v2 size not digits', () => Buffer.concat([frames(10), Buffer.from('LYRICSBEGINxx12a456LYRICS200', 'latin1')])],
  ['Lyrics3v2 size past the file', () => Buffer.concat([frames(10), Buffer.from('999999LYRICS200', 'latin1')])],
  ['ID3v1 only', () => Buffer.concat([Buffer.from('TAG'), Buffer.alloc(125)])],
  ['ID3v2 and ID3v1 with nothing between', () => Buffer.concat([id3(0), Buffer.from('TAG'), Buffer.alloc(125)])],
  ['truncated inside the ID3v2 tag', () => readMp3('cbr').subarray(0, 30)],
];

for (const [name, make] of HOSTILE) {
  test(`hostile: ${name} → MediaFormatError`, async () => {
    const buf = make();
    await assert.rejects(parseMp3(bufferReader(buf), buf.length), (err: unknown) => {
      assert.ok(err instanceof MediaFormatError, `got ${String(err)}`);
      return true;
    });
  });
}

test('hostile: mp3FrameAt over garbage in the middle of the audio → MediaFormatError', async () => {
  const buf = Buffer.from(readMp3('cbr'));
  const info = await parseMp3(bufferReader(buf), buf.length);
  const middle = Math.floor((info.audioStart + info.audioEnd) / 2);
  buf.fill(0, middle - 30_000, middle + 30_000);
  await assert.rejects(mp3FrameAt(info, bufferReader(buf), info.durationSec / 2), MediaFormatError);
});

test('hostile: 2,000 mutated copies of each real file parse or fail with MediaFormatError only', async () => {
  for (const kind of ['cbr', 'vbr', 'plain'] as const) {
    const original = readMp3(kind);
    let x = 12345;
    const rand = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    for (let round = 0; round < 2000; round++) {
      const buf = Buffer.from(round % 10 === 0 ? original.subarray(0, rand(original.length)) : original);
      for (let i = 0, n = 1 + rand(8); i < n; i++) buf[rand(Math.min(buf.length, 4096)) | 0] = rand(256);
      for (let i = 0, n = rand(4); i < n; i++) if (buf.length > 0) buf[rand(buf.length)] = rand(256);
      try {
        const info = await parseMp3(bufferReader(buf), buf.length);
        assert.ok(info.audioStart < info.audioEnd && info.audioEnd <= buf.length && info.durationSec > 0 && Number.isFinite(info.durationSec));
        for (const sec of [0.5, info.durationSec / 2, info.durationSec - 0.1]) {
          const at = await mp3FrameAt(info, bufferReader(buf), sec);
          assert.ok(at.offset >= info.audioStart && at.offset <= info.audioEnd);
        }
      } catch (err) {
        if (!(err instanceof MediaFormatError)) throw new Error(`${kind} round ${round}: ${String(err)}`, { cause: err });
      }
    }
  }
});
