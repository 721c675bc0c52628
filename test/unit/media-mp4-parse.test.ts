// Unit tests of media/mp4/parse: real ffmpeg files checked packet by packet against ffprobe (offsets, sizes, times,
// keyframes), only the moov read (never the mdat), and a table of hostile inputs that must each end in a
// MediaFormatError, quickly and without a large allocation.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { makeBox, makeFullBox } from '../../src/media/mp4/boxes.js';
import { MAX_SAMPLES, parseMovie } from '../../src/media/mp4/parse.js';
import { MediaFormatError } from '../../src/media/types.js';
import type { Movie } from '../../src/media/types.js';
import { bufferReader, fileReader, mediaFile } from '../helpers/media-mp4.js';
import { FTYP, synthFile, u32 } from '../helpers/mp4-synth.js';

interface Packet { stream_index: number; pos: string; size: string; dts: string; duration: string; flags: string }

function packets(path: string): Packet[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pos,size,dts,duration,flags', '-of', 'json', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return (JSON.parse(out) as { packets: Packet[] }).packets;
}

async function parseFile(name: string): Promise<{ movie: Movie; path: string; reads: Array<[number, number]> }> {
  const path = mediaFile(name);
  const r = fileReader(path);
  return { movie: await parseMovie(r.read, r.size), path, reads: r.reads };
}

function assertMatchesFfprobe(movie: Movie, path: string): void {
  const all = packets(path);
  movie.tracks.forEach((t, ti) => {
    const ps = all.filter((p) => p.stream_index === ti);
    const s = t.samples;
    assert.equal(s.count, ps.length, `track ${t.id} sample count`);
    const d0 = Number(ps[0]?.dts);
    for (let i = 0; i < s.count; i++) {
      const p = ps[i] as Packet;
      assert.equal(s.offset[i], Number(p.pos), `track ${t.id} sample ${i} offset`);
      assert.equal(s.size[i], Number(p.size), `track ${t.id} sample ${i} size`);
      assert.equal((s.dts[i] as number) - (s.dts[0] as number), Number(p.dts) - d0, `track ${t.id} sample ${i} dts`);
      assert.equal(s.sync[i] === 1, p.flags.includes('K'), `track ${t.id} sample ${i} keyframe`);
    }
  });
}

test('H.264 + AAC with moov at the end: tracks, codecs, decoder configs and every sample as ffprobe sees them', async () => {
  const { movie, path } = await parseFile('av.mp4');
  assert.equal(movie.kind, 'mp4');
  assert.equal(movie.faststart, false);
  assert.deepEqual(movie.boxes.map((b) => b.type).filter((t) => t !== 'free'), ['ftyp', 'mdat', 'moov']);
  assert.ok(Math.abs(movie.durationSec - 20) < 0.1, String(movie.durationSec));
  const [v, a] = movie.tracks;
  assert.ok(v && a);
  assert.equal(v.kind, 'video');
  assert.equal(v.codec, 'avc1');
  assert.equal(v.width, 160);
  assert.equal(v.height, 120);
  assert.equal(v.decoderConfig?.[0], 1, 'avcC configurationVersion');
  assert.equal(v.samples.count, 500);
  assert.ok(v.samples.ctsOffset.some((x) => x !== 0), 'B-frames give composition offsets');
  assert.equal(a.kind, 'audio');
  assert.equal(a.codec, 'mp4a');
  assert.equal(a.sampleRate, 44100);
  assert.equal(a.channels, 1);
  assert.deepEqual([...(a.decoderConfig ?? [])].slice(0, 2), [0x12, 0x08], 'AAC-LC 44.1 kHz mono AudioSpecificConfig');
  assert.equal(a.language, 'und');
  assert.ok(a.bitrate > 30_000 && a.bitrate < 100_000, String(a.bitrate));
  assert.equal(movie.ftyp?.toString('latin1', 4, 8), 'ftyp');
  assert.equal(movie.moov.toString('latin1', 4, 8), 'moov');
  assertMatchesFfprobe(movie, path);
});

test('reads only box headers and the moov, never the mdat', async () => {
  const { movie, reads } = await parseFile('av.mp4');
  const mdat = movie.boxes.find((b) => b.type === 'mdat');
  assert.ok(mdat);
  for (const [off, len] of reads) {
    const inBody = off + len > mdat.offset + 16 && off < mdat.offset + mdat.size;
    assert.ok(!inBody, `read ${off}+${len} inside the mdat`);
  }
  const total = reads.reduce((s, [, l]) => s + l, 0);
  assert.ok(total <= movie.moov.length + (movie.ftyp?.length ?? 0) + 16 * movie.boxes.length, String(total));
});

test('faststart file, M4A and HEVC', async () => {
  const fast = await parseFile('av-faststart.mp4');
  assert.equal(fast.movie.faststart, true);
  assertMatchesFfprobe(fast.movie, fast.path);
  const m4a = await parseFile('audio.m4a');
  assert.equal(m4a.movie.kind, 'm4a');
  assert.equal(m4a.movie.tracks.length, 1);
  assertMatchesFfprobe(m4a.movie, m4a.path);
  const hevc = await parseFile('hevc.mp4');
  assert.equal(hevc.movie.tracks[0]?.codec, 'hvc1');
  assert.equal(hevc.movie.tracks[0]?.decoderConfig?.[0], 1, 'hvcC configurationVersion');
  assertMatchesFfprobe(hevc.movie, hevc.path);
});

test('ctts version 1 (negative offsets) and a leading empty edit in a real file', async () => {
  const neg = await parseFile('negcts.mp4');
  assert.ok(neg.movie.tracks[0]?.samples.ctsOffset.some((x) => x < 0), 'negative composition offsets read signed');
  assertMatchesFfprobe(neg.movie, neg.path);
  const delayed = await parseFile('delayed.mp4');
  const audio = delayed.movie.tracks.find((t) => t.kind === 'audio');
  assert.ok(audio);
  const start = Number(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', delayed.path], { encoding: 'utf8' }));
  assert.ok(start > 0.9, String(start));
  assert.ok(Math.abs((audio.samples.dts[0] as number) / audio.timescale - start) < 0.002, `audio starts at ${(audio.samples.dts[0] as number) / audio.timescale}, ffprobe ${start}`);
  assertMatchesFfprobe(delayed.movie, delayed.path);
});

test('synthetic file: tables expanded, chunk offsets applied, size 0 on the last box means "to the end"', async () => {
  const file = synthFile({ layout: 'start' });
  const m = await parseMovie(bufferReader(file), file.length);
  const s = m.tracks[0]?.samples;
  assert.ok(s);
  assert.equal(m.kind, 'm4a');
  assert.deepEqual([...(m.tracks[0]?.decoderConfig ?? [])], [0x12, 0x10]);
  assert.equal(s.count, 10);
  const mdat = m.boxes.find((b) => b.type === 'mdat');
  assert.ok(mdat);
  assert.deepEqual([...s.offset], Array.from({ length: 10 }, (_, i) => mdat.offset + 8 + i * 100));
  assert.deepEqual([...s.dts], Array.from({ length: 10 }, (_, i) => i * 100));
  assert.ok(s.sync.every((x) => x === 1));
  // The same file with the trailing mdat's size written as 0.
  const zero = Buffer.from(file);
  zero.writeUInt32BE(0, mdat.offset);
  const z = await parseMovie(bufferReader(zero), zero.length);
  assert.equal(z.boxes.at(-1)?.size, mdat.size);
  // A leading empty edit of 0.5 s delays every dts by 500 (timescale 1000).
  const edts = makeBox('edts', [makeFullBox('elst', 0, 0, u32(2, 500, 0xffffffff, 0x10000, 1000, 0, 0x10000))]);
  const delayed = synthFile({ replace: { edts } });
  const d = await parseMovie(bufferReader(delayed), delayed.length);
  assert.equal(d.tracks[0]?.samples.dts[0], 500);
  // A 64-bit largesize mdat header.
  const big = synthFile({ layout: 'start' });
  const bm = await parseMovie(bufferReader(big), big.length);
  const bmd = bm.boxes.find((b) => b.type === 'mdat');
  assert.ok(bmd);
  const head = Buffer.alloc(16);
  head.writeUInt32BE(1, 0);
  head.write('mdat', 4, 'latin1');
  head.writeUInt32BE(0, 8);
  head.writeUInt32BE(bmd.size + 8, 12);
  const withLarge = Buffer.concat([big.subarray(0, bmd.offset), head, big.subarray(bmd.offset + 8)]);
  // (The chunk offsets now point 8 bytes early, still inside the file: only the box walk is checked here.)
  const lm = await parseMovie(bufferReader(withLarge), withLarge.length);
  assert.equal(lm.boxes.at(-1)?.size, bmd.size + 8);
});

// ---- hostile inputs -------------------------------------------------------------------------------------------

const stbl = (type: string, version: number, ...v: number[]): Buffer => makeFullBox(type, version, 0, u32(...v));

const HOSTILE: Array<[string, () => Buffer]> = [
  ['empty file', () => Buffer.alloc(0)],
  ['7 bytes', () => Buffer.from('ftypiso')],
  ['not an MP4 (text)', () => Buffer.from('<html><body>hello</body></html>\n'.repeat(4))],
  ['top-level box size 4', () => { const f = synthFile(); f.writeUInt32BE(4, 0); return f; }],
  ['top-level box size past the end', () => { const f = synthFile(); f.writeUInt32BE(f.length + 1, FTYP.length); return f; }],
  ['64-bit size past the end', () => Buffer.concat([FTYP, Buffer.from([0, 0, 0, 1]), Buffer.from('mdat'), u32(0x10000, 0)])],
  ['64-bit size beyond 2^53', () => Buffer.concat([FTYP, Buffer.from([0, 0, 0, 1]), Buffer.from('mdat'), u32(0xffffffff, 0xffffffff)])],
  ['truncated 64-bit header at the end', () => Buffer.concat([FTYP, Buffer.from([0, 0, 0, 1]), Buffer.from('mdat'), u32(0)])],
  ['truncated in the middle of the moov', () => { const f = synthFile(); return f.subarray(0, f.length - 40); }],
  ['truncated header at the end', () => Buffer.concat([synthFile(), Buffer.from([0, 0, 0])])],
  ['no moov', () => Buffer.concat([FTYP, makeBox('mdat', [Buffer.alloc(100)])])],
  ['two moovs', () => { const f = synthFile(); const moov = f.subarray(FTYP.length + 1008); return Buffer.concat([f, moov]); }],
  ['too many top-level boxes', () => Buffer.concat([synthFile(), ...Array.from({ length: 2000 }, () => makeBox('free', []))])],
  ['fragmented (moof)', () => Buffer.concat([synthFile(), makeBox('moof', [Buffer.alloc(8)])])],
  ['fragmented (mvex)', () => synthFile({ moovExtra: [makeBox('mvex', [])] })],
  ['moov child size 3', () => synthFile({ moovExtra: [Buffer.from([0, 0, 0, 3, 0x75, 0x64, 0x74, 0x61])] })],
  ['moov child size past its parent', () => synthFile({ moovExtra: [Buffer.from([0, 0, 1, 0, 0x75, 0x64, 0x74, 0x61])] })],
  ['trak nested in trak (no tkhd)', () => {
    let t = makeBox('trak', []);
    for (let i = 0; i < 50; i++) t = makeBox('trak', [t]);
    return synthFile({ replace: { trak: t } });
  }],
  ['no mvhd', () => synthFile({ replace: { mvhd: null } })],
  ['mvhd timescale 0', () => synthFile({ replace: { mvhd: makeFullBox('mvhd', 0, 0, Buffer.concat([u32(0, 0, 0, 1000), Buffer.alloc(80)])) } })],
  ['mvhd truncated', () => synthFile({ replace: { mvhd: makeFullBox('mvhd', 0, 0, u32(0, 0)) } })],
  ['mdhd timescale 0', () => synthFile({ replace: { mdhd: makeFullBox('mdhd', 0, 0, Buffer.concat([u32(0, 0, 0, 1000), Buffer.from([0x55, 0xc4, 0, 0])])) } })],
  ['no stco', () => synthFile({ replace: { stco: null } })],
  ['no stsz', () => synthFile({ replace: { stsz: null } })],
  ['no stsd', () => synthFile({ replace: { stsd: null } })],
  ['stsd entry_count 0', () => synthFile({ replace: { stsd: stbl('stsd', 0, 0) } })],
  ['stsd entry_count absurd', () => synthFile({ replace: { stsd: stbl('stsd', 0, 0xffffffff) } })],
  ['encrypted sample entry (encv)', () => synthFile({ handler: 'vide', entry: 'encv' })],
  ['protection info (sinf) in the entry', () => synthFile({ replace: { esds: makeBox('sinf', [makeBox('frma', [Buffer.from('mp4a')])]) } })],
  ['avc1 without avcC', () => synthFile({ handler: 'vide', replace: { avcC: null } })],
  ['esds descriptor length past its box', () => synthFile({ replace: { esds: makeFullBox('esds', 0, 0, Buffer.from([0x03, 0x7f, 0, 1, 0])) } })],
  ['esds descriptor length 4 continuation bytes', () => synthFile({ replace: { esds: makeFullBox('esds', 0, 0, Buffer.from([0x03, 0xff, 0xff, 0xff, 0x7f])) } })],
  ['stts entry_count absurd', () => synthFile({ replace: { stts: stbl('stts', 0, 0xffffffff, 10, 100) } })],
  ['stts one entry of 2^32-1 samples', () => synthFile({ replace: { stts: stbl('stts', 0, 1, 0xffffffff, 1) } })],
  ['stts covers fewer samples', () => synthFile({ replace: { stts: stbl('stts', 0, 1, 9, 100) } })],
  ['stsz sample_count absurd', () => synthFile({ replace: { stsz: stbl('stsz', 0, 0, 0xffffffff, 100) } })],
  ['stsz fixed size, count 2^32-1', () => synthFile({ replace: { stsz: stbl('stsz', 0, 1, 0xffffffff), stts: stbl('stts', 0, 1, 0xffffffff, 1) } })],
  ['stsz fixed size, samples larger than the file', () => synthFile({ replace: { stsz: stbl('stsz', 0, 0x100000, 10) } })],
  ['more samples than the limit (fixed size 1)', () => {
    const n = MAX_SAMPLES + 1;
    const f = synthFile({ replace: { stsz: stbl('stsz', 0, 1, n), stts: stbl('stts', 0, 1, n, 1), stsc: stbl('stsc', 0, 1, 1, n, 1) } });
    return Buffer.concat([f, makeBox('free', [Buffer.alloc(n)])]);
  }],
  ['stz2 (unsupported)', () => synthFile({ replace: { ctts: makeFullBox('stz2', 0, 0, u32(8, 10)) } })],
  ['ctts entry_count absurd', () => synthFile({ replace: { ctts: stbl('ctts', 0, 0xfffffff0, 10, 0) } })],
  ['stss entry_count absurd', () => synthFile({ replace: { stss: stbl('stss', 0, 0x7fffffff, 1) } })],
  ['stss sample 0', () => synthFile({ replace: { stss: stbl('stss', 0, 1, 0) } })],
  ['stss sample past the count', () => synthFile({ replace: { stss: stbl('stss', 0, 1, 11) } })],
  ['stsc entry_count absurd', () => synthFile({ replace: { stsc: stbl('stsc', 0, 0x20000000, 1, 5, 1) } })],
  ['stsc empty', () => synthFile({ replace: { stsc: stbl('stsc', 0, 0) } })],
  ['stsc references chunks beyond stco', () => synthFile({ replace: { stsc: stbl('stsc', 0, 2, 1, 5, 1, 3, 5, 1) } })],
  ['stsc first chunk 0', () => synthFile({ replace: { stsc: stbl('stsc', 0, 1, 0, 5, 1) } })],
  ['stsc chunks out of order', () => synthFile({ replace: { stsc: stbl('stsc', 0, 2, 1, 5, 1, 1, 5, 1) } })],
  ['stsc places more samples than stsz', () => synthFile({ replace: { stsc: stbl('stsc', 0, 1, 1, 6, 1) } })],
  ['stsc places fewer samples than stsz', () => synthFile({ replace: { stsc: stbl('stsc', 0, 1, 1, 4, 1) } })],
  ['stsc 2^32-1 samples per chunk', () => synthFile({ replace: { stsc: stbl('stsc', 0, 1, 1, 0xffffffff, 1) } })],
  ['stco entry_count absurd', () => synthFile({ replace: { stco: stbl('stco', 0, 0xffffffff, 32) } })],
  ['stco offset past the end of the file', () => synthFile({ replace: { stco: stbl('stco', 0, 2, 32, 0xfffffff0) } })],
  ['co64 offset beyond 2^53', () => synthFile({ replace: { stco: makeFullBox('co64', 0, 0, u32(2, 0, 32, 0xffffffff, 0xffffffff)) } })],
  ['elst entry_count absurd', () => synthFile({ replace: { edts: makeBox('edts', [stbl('elst', 0, 0x40000000, 500, 0xffffffff, 0x10000)]) } })],
  ['elst v1 media_time beyond 2^53', () => synthFile({ replace: { edts: makeBox('edts', [stbl('elst', 1, 1, 0, 500, 0x7fffffff, 0xffffffff, 0x10000)]) } })],
  ['hdlr truncated', () => synthFile({ replace: { hdlr: makeFullBox('hdlr', 0, 0, u32(0)) } })],
  ['only an "other" track', () => synthFile({ replace: { hdlr: makeFullBox('hdlr', 0, 0, Buffer.concat([u32(0), Buffer.from('text'), Buffer.alloc(13)])) } })],
];

test('hostile inputs: each one a MediaFormatError, fast', async () => {
  for (const [name, make] of HOSTILE) {
    const file = make();
    const t0 = performance.now();
    const heap0 = process.memoryUsage().arrayBuffers;
    await assert.rejects(parseMovie(bufferReader(file), file.length), (e: unknown) => {
      assert.ok(e instanceof MediaFormatError, `${name}: ${String(e)}`);
      return true;
    }, name);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `${name}: took ${ms} ms`);
    assert.ok(process.memoryUsage().arrayBuffers - heap0 < 32 << 20, `${name}: allocated too much`);
  }
});

test('a reader that returns short buffers is a MediaFormatError', async () => {
  const file = synthFile();
  const short = async (off: number, len: number): Promise<Buffer> => file.subarray(off, off + Math.max(0, len - 1));
  await assert.rejects(parseMovie(short, file.length), MediaFormatError);
});

test('deeply nested boxes the parser does not need are never walked', async () => {
  let deep = makeBox('abcd', []);
  for (let i = 0; i < 5000; i++) deep = makeBox('abcd', [deep]);
  const file = synthFile({ moovExtra: [makeBox('udta', [deep])] });
  const m = await parseMovie(bufferReader(file), file.length);
  assert.equal(m.tracks.length, 1);
});

test('the real file truncated anywhere is a MediaFormatError', async () => {
  const full = readFileSync(mediaFile('av-faststart.mp4'));
  for (const cut of [8, 20, 33, 100, 1000, 4000, full.length - 1000, full.length - 1]) {
    const f = full.subarray(0, cut);
    await assert.rejects(parseMovie(bufferReader(f), f.length), MediaFormatError, `cut at ${cut}`);
  }
});
