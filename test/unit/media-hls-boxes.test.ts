// Hostile-input table for the boxes HLS reads itself (media/hls/moov-track.ts: trak by tkhd id, stsd, elst shift)
// and for the decoder configurations (codecs.ts: avcC, hvcC, AudioSpecificConfig): every malformed input is a
// MediaFormatError, never a RangeError from a read past the buffer, never a wrong answer; well-formed edge cases
// (64-bit sizes, elst v1, empty edit then media time) read right; the box walk is media/mp4's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aacConfig, videoConfig } from '../../src/media/hls/codecs.js';
import { trackBoxes } from '../../src/media/hls/moov-track.js';
import { MediaFormatError } from '../../src/media/types.js';
import type { Movie, Track } from '../../src/media/types.js';

function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}
const u32 = (...v: number[]): Buffer => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i));
  return b;
};
const tkhd = (id: number): Buffer => box('tkhd', u32(0, 0, 0, id), Buffer.alloc(68));
const stsd = box('stsd', u32(0, 0));
const stbl = (): Buffer => box('mdia', box('minf', box('stbl', stsd)));
const elst = (entries: Array<[number, number]>, count = entries.length): Buffer =>
  box('edts', box('elst', u32(0, count), ...entries.map(([d, t]) => u32(d, t, 0x10000))));
const movieOf = (moov: Buffer): Movie => ({ kind: 'mp4', fileSize: 0, timescale: 1000, durationSec: 0, tracks: [], boxes: [], moov, ftyp: null, faststart: true });

test('trackBoxes: the trak of the id, its stsd and the first non-empty edit media_time', () => {
  const moov = box('moov', box('trak', tkhd(1), stbl()), box('trak', tkhd(2), elst([[500, 0xffffffff], [1000, 1024]]), stbl()));
  assert.equal(trackBoxes(movieOf(moov), 1).shift, 0);
  assert.equal(trackBoxes(movieOf(moov), 2).shift, 1024, 'an empty edit (in dts already) then the media time');
  assert.ok(trackBoxes(movieOf(moov), 2).stsd.equals(stsd));
  // elst version 1 (64-bit duration and media time) and a 64-bit box size.
  const v1 = box('edts', box('elst', u32(0x01000000, 1), u32(0, 1000), u32(0, 2048), u32(0x10000)));
  const big = Buffer.concat([u32(1), Buffer.from('trak'), u32(0, 16 + tkhd(3).length + v1.length + stbl().length), tkhd(3), v1, stbl()]);
  assert.equal(trackBoxes(movieOf(box('moov', big)), 3).shift, 2048);
});

test('trackBoxes: hostile moov boxes are MediaFormatError', () => {
  const ok = box('trak', tkhd(1), stbl());
  const table: Array<[string, Buffer]> = [
    ['empty buffer', Buffer.alloc(0)],
    ['no moov', box('free', ok)],
    ['no trak of that id', box('moov', box('trak', tkhd(2), stbl()))],
    ['child size below its header', box('moov', Buffer.from([0, 0, 0, 4, 0x74, 0x72, 0x61, 0x6b]))],
    ['child passes its parent', box('moov', u32(4096), Buffer.from('trak'), tkhd(1))],
    ['64-bit size truncated', box('moov', u32(1), Buffer.from('trak'), u32(0))],
    ['64-bit size past the end', box('moov', u32(1), Buffer.from('trak'), u32(1, 0))],
    ['tkhd too short', box('moov', box('trak', box('tkhd', u32(0)), stbl()))],
    ['tkhd v1 too short for its id', box('moov', box('trak', box('tkhd', u32(0x01000000, 0, 0, 0)), stbl()))],
    ['no stsd', box('moov', box('trak', tkhd(1), box('mdia', box('minf', box('stbl')))))],
    ['no mdia', box('moov', box('trak', tkhd(1)))],
  ];
  for (const [name, moov] of table) assert.throws(() => trackBoxes(movieOf(moov), 1), MediaFormatError, name);
  // Edit lists that say nothing usable are read as no shift (media/mp4's reading): bounded, never past the box.
  const lenient: Array<[string, Buffer]> = [
    ['elst count passes the box', box('moov', box('trak', tkhd(1), elst([[1, 2]], 1_000_000), stbl()))],
    ['elst media_time -2', box('moov', box('trak', tkhd(1), elst([[1, 0xfffffffe]]), stbl()))],
    ['elst without its count', box('moov', box('trak', tkhd(1), box('edts', box('elst', u32(0))), stbl()))],
  ];
  for (const [name, moov] of lenient) assert.equal(trackBoxes(movieOf(moov), 1).shift, name === 'elst count passes the box' ? 2 : 0, name);
});

const track = (patch: Partial<Track>): Track => ({
  id: 1, kind: 'video', codec: 'avc1', timescale: 1000, duration: 0, decoderConfig: null, width: 0, height: 0, sampleRate: 0, channels: 0,
  language: 'und', bitrate: 0, samples: { count: 0, offset: new Float64Array(0), size: new Uint32Array(0), dts: new Float64Array(0), ctsOffset: new Int32Array(0), duration: new Uint32Array(0), sync: new Uint8Array(0) },
  ...patch,
});

test('decoder configurations: good ones read right, hostile ones are MediaFormatError', () => {
  const avcC = Buffer.from([1, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x02, 0x67, 0x64, 0x01, 0x00, 0x02, 0x68, 0xeb]);
  const v = videoConfig(track({ decoderConfig: avcC }));
  assert.equal(v.codecString, 'avc1.64001f');
  assert.equal(v.lengthSize, 4);
  assert.deepEqual(v.parameterSets.map((b) => b.toString('hex')), ['6764', '68eb']);
  // hvcC: Main profile, level 93, one array of one VPS; the codec string per ISO/IEC 14496-15 Annex E.
  const hvcC = Buffer.alloc(23 + 3 + 2 + 2);
  hvcC.set([1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93], 0);
  hvcC[21] = 0x03;
  hvcC[22] = 1;
  hvcC.set([0x20, 0, 1, 0, 2, 0x40, 0x01], 23);
  const h = videoConfig(track({ codec: 'hvc1', decoderConfig: hvcC }));
  assert.equal(h.codecString, 'hvc1.1.6.L93.90');
  assert.equal(h.parameterSets.length, 1);
  assert.equal(aacConfig(track({ kind: 'audio', codec: 'mp4a', decoderConfig: Buffer.from([0x12, 0x10]) })).codecString, 'mp4a.40.2');
  // HE-AAC with explicit SBR signalling: object type 5, core AAC LC in ADTS.
  const he = aacConfig(track({ kind: 'audio', codec: 'mp4a', decoderConfig: Buffer.from([0x2b, 0x92, 0x08, 0x00]) }));
  assert.deepEqual([he.codecString, he.adtsProfile], ['mp4a.40.5', 1]);

  const badVideo: Array<[string, string, Buffer | null]> = [
    ['avcC empty', 'avc1', Buffer.alloc(0)],
    ['avcC no PPS count', 'avc1', Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe1, 0x00, 0x02, 0x67, 0x64])],
    ['avcC PPS passes', 'avc1', Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe0, 0x01, 0x00, 0x09, 0x68])],
    ['hvcC short', 'hvc1', Buffer.alloc(22, 1)],
    ['hvcC array passes', 'hvc1', Buffer.concat([Buffer.from([1]), Buffer.alloc(20), Buffer.from([3, 5, 0x20, 0, 9])])],
    ['hvcC NAL passes', 'hev1', Buffer.concat([Buffer.from([1]), Buffer.alloc(20), Buffer.from([3, 1, 0x20, 0, 1, 0x7f, 0xff, 1])])],
    ['vp09', 'vp09', Buffer.alloc(8)],
  ];
  for (const [name, codec, cfg] of badVideo) assert.throws(() => videoConfig(track({ codec, decoderConfig: cfg })), MediaFormatError, name);
  const badAudio: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([0x12])],
    ['object type 0', Buffer.from([0x00, 0x10])],
    ['escape object type truncated', Buffer.from([0xf8, 0x00])],
    ['HE-AAC whose core object type is 0', Buffer.from([0x2a, 0x8a, 0x80, 0x00])],
  ];
  for (const [name, cfg] of badAudio) assert.throws(() => aacConfig(track({ kind: 'audio', codec: 'mp4a', decoderConfig: cfg })), MediaFormatError, name);
});
