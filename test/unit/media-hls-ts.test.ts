// Unit tests of MPEG-TS HLS segments (media/hls/ts-segment.ts, ts-packets.ts, sample-read.ts) built from real
// ffmpeg-made MP4s (H.264 + AAC, HEVC, AAC only, several tracks): ffprobe reads every segment (streams, a keyframe
// first, duration close to EXTINF), ffmpeg plays the written playlist and segments without an error, the packets
// are checked byte by byte (188 bytes, sync byte, continuity counters, PAT/PMT CRC, PCR on the video PID), a segment
// reads only its own samples' bytes in few coalesced reads, and hostile names and samples give null or
// MediaFormatError. Also times the build of a 6 s 720p segment.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hlsPlaylist, hlsSegment } from '../../src/media/hls/hls.js';
import type { HlsOptions } from '../../src/media/hls/hls.js';
import { trimMovie } from '../../src/media/mp4/trim.js';
import { MediaFormatError } from '../../src/media/types.js';
import type { Movie, RangeReader } from '../../src/media/types.js';
import { aacOnlyFile, avcAacFile, fileReader, hevcFile, makeMedia, mediaDir, movieFromProbe, movieOf, multiTrackFile, playErrors, probeFile } from '../helpers/media-hls.js';

const TS: HlsOptions = { segmentSec: 6, version: 3, sequence: 0, container: 'ts', indexName: 'index.m3u8' };

/** Writes `index` and every playlist and segment it lists (recursively) into a new directory; returns it. */
async function writeAll(movie: Movie, path: string, options: HlsOptions, label: string): Promise<{ dir: string; segments: Array<[string, number]> }> {
  const dir = join(mediaDir(), label);
  mkdirSync(dir, { recursive: true });
  const segments: Array<[string, number]> = [];
  const playlists = [options.indexName];
  for (let p = 0; p < playlists.length; p++) {
    const name = playlists[p] as string;
    const text = hlsPlaylist(movie, name, options);
    assert.ok(text !== null, name);
    writeFileSync(join(dir, name), text);
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      const uri = /URI="([^"]+)"/.exec(line)?.[1];
      if (uri?.endsWith('.m3u8')) playlists.push(uri);
      else if (uri) segments.push([uri, 0]);
      if (line.startsWith('#EXT-X-STREAM-INF:')) playlists.push(lines[i + 1] as string);
      if (line.startsWith('#EXTINF:')) segments.push([lines[i + 1] as string, Number(line.slice(8, -1))]);
    }
  }
  for (const [name] of segments) {
    const seg = await hlsSegment(movie, name, fileReader(path), options);
    assert.ok(seg !== null, name);
    writeFileSync(join(dir, name), seg.body);
  }
  return { dir, segments };
}

interface TsPacketInfo {
  pid: number;
  pusi: boolean;
  cc: number;
  hasPayload: boolean;
  pcr: boolean;
  rai: boolean;
  payload: Buffer;
}

/** Parses a TS buffer packet by packet (independent of the muxer: its own field reads). */
function parseTs(buf: Buffer): TsPacketInfo[] {
  assert.equal(buf.length % 188, 0, 'whole 188-byte packets');
  const out: TsPacketInfo[] = [];
  for (let p = 0; p < buf.length; p += 188) {
    assert.equal(buf[p], 0x47, `sync byte at packet ${p / 188}`);
    const b1 = buf[p + 1] ?? 0;
    const b3 = buf[p + 3] ?? 0;
    const afc = (b3 >> 4) & 3;
    let q = p + 4;
    let pcr = false;
    let rai = false;
    if (afc & 2) {
      const len = buf[p + 4] ?? 0;
      assert.ok(len <= 183, 'adaptation field fits');
      if (len > 0) {
        pcr = ((buf[p + 5] ?? 0) & 0x10) !== 0;
        rai = ((buf[p + 5] ?? 0) & 0x40) !== 0;
        for (let i = p + 6 + (pcr ? 6 : 0); i < p + 5 + len; i++) assert.equal(buf[i], 0xff, 'stuffing bytes are 0xFF');
      }
      q = p + 5 + len;
    }
    out.push({ pid: ((b1 & 0x1f) << 8) | (buf[p + 2] ?? 0), pusi: (b1 & 0x40) !== 0, cc: b3 & 0x0f, hasPayload: (afc & 1) === 1, pcr, rai, payload: buf.subarray(q, p + 188) });
  }
  return out;
}

/** CRC-32/MPEG-2, bit by bit (a second implementation to check the muxer's table-driven one). */
function crcBitwise(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    for (let bit = 7; bit >= 0; bit--) {
      const top = ((crc >>> 31) ^ (byte >> bit)) & 1;
      crc = ((crc << 1) ^ (top ? 0x04c11db7 : 0)) >>> 0;
    }
  }
  return crc;
}

/** The PES packets of `pid`, reassembled from their TS packets. */
function pesOf(packets: readonly TsPacketInfo[], pid: number): Buffer[] {
  const out: Buffer[][] = [];
  for (const p of packets) {
    if (p.pid !== pid || !p.hasPayload) continue;
    if (p.pusi) out.push([]);
    out[out.length - 1]?.push(p.payload);
  }
  return out.map((parts) => Buffer.concat(parts));
}

function checkSection(payload: Buffer): Buffer {
  const pointer = payload[0] ?? 0;
  const s = payload.subarray(1 + pointer);
  const len = (((s[1] ?? 0) & 0x0f) << 8) | (s[2] ?? 0);
  const section = s.subarray(0, 3 + len);
  assert.equal(crcBitwise(section.subarray(0, section.length - 4)), section.readUInt32BE(section.length - 4), 'PSI CRC-32');
  return section;
}

test('TS segments of H.264 + AAC: ffprobe sees both streams, a keyframe first, EXTINF durations; ffmpeg plays the playlist', async () => {
  const path = avcAacFile(14);
  const movie = await movieOf(path);
  for (const sequence of [0, 7]) {
    const { dir, segments } = await writeAll(movie, path, { ...TS, sequence }, `ts-avc-${sequence}`);
    assert.deepEqual(segments.map((s) => s[0]), [0, 1, 2].map((k) => `${k + sequence}.ts`));
    for (const [name, extinf] of segments) {
      const probe = probeFile(join(dir, name), 6);
      assert.deepEqual(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264'], name);
      const firstVideo = probe.frames.find((f) => f.media_type === 'video');
      assert.equal(firstVideo?.key_frame, 1, `${name}: first video frame is a keyframe`);
      assert.equal(firstVideo?.pict_type, 'I');
      assert.ok(Math.abs(Number(probe.format.duration) - extinf) < 0.1, `${name}: duration ${probe.format.duration} vs EXTINF ${extinf}`);
    }
    assert.equal(playErrors(join(dir, 'index.m3u8')), '', `sequence ${sequence}`);
  }
  // The whole stream: one program, timestamps continuous across segments (ffmpeg's duration equals the movie's).
  const whole = probeFile(join(mediaDir(), 'ts-avc-0', 'index.m3u8'), 1);
  assert.ok(Math.abs(Number(whole.format.duration) - 14) < 0.05, `HLS duration ${whole.format.duration}`);
});

test('TS packets: 188 bytes, continuity counters per PID, PAT/PMT with valid CRC, PCR and random access on each video keyframe', async () => {
  const path = avcAacFile(14);
  const movie = await movieOf(path);
  const seg = await hlsSegment(movie, '1.ts', fileReader(path), TS);
  assert.equal(seg?.contentType, 'video/mp2t');
  const packets = parseTs(seg?.body ?? Buffer.alloc(0));
  const [pat, pmt] = packets;
  assert.equal(pat?.pid, 0);
  const patSection = checkSection(pat?.payload ?? Buffer.alloc(0));
  const pmtPid = patSection.readUInt16BE(10) & 0x1fff;
  assert.equal(pmt?.pid, pmtPid);
  const pmtSection = checkSection(pmt?.payload ?? Buffer.alloc(0));
  const pcrPid = pmtSection.readUInt16BE(8) & 0x1fff;
  const streams = new Map<number, number>();
  for (let i = 12; i + 5 <= pmtSection.length - 4; i += 5) streams.set(pmtSection.readUInt16BE(i + 1) & 0x1fff, pmtSection[i] ?? 0);
  assert.deepEqual([...streams.values()].sort(), [0x0f, 0x1b]);
  const videoPid = [...streams].find(([, t]) => t === 0x1b)?.[0];
  assert.equal(pcrPid, videoPid);

  const last = new Map<number, number>();
  let videoPes = 0;
  let keyframes = 0;
  for (const p of packets) {
    if (p.hasPayload) {
      const prev = last.get(p.pid);
      assert.equal(p.cc, prev === undefined ? 0 : (prev + 1) & 15, `continuity of PID ${p.pid}`);
      last.set(p.pid, p.cc);
    }
    if (p.pid === videoPid && p.pusi) {
      videoPes++;
      assert.ok(p.pcr, 'PCR on the first packet of every video PES');
      assert.deepEqual([...p.payload.subarray(0, 4)], [0, 0, 1, 0xe0], 'video PES start code');
      const headerLen = p.payload[8] ?? 0;
      const es = p.payload.subarray(9 + headerLen);
      assert.deepEqual([...es.subarray(0, 6)], [0, 0, 0, 1, 9, 0xf0], 'an AUD opens each access unit');
      if (p.rai) {
        keyframes++;
        assert.equal((es[10] ?? 0) & 0x1f, 7, 'SPS follows the AUD on a keyframe');
      }
    }
    if (p.pid !== videoPid) assert.ok(!p.pcr);
  }
  assert.equal(videoPes, 150, '6 s at 25 fps');
  assert.equal(keyframes, 3, 'keyframes every 2 s');
  // ADTS on the audio PID: each audio PES is a chain of ADTS frames whose lengths add up to the PES payload.
  const audioPid = [...streams].find(([, t]) => t === 0x0f)?.[0];
  const pes = pesOf(packets, audioPid ?? -1);
  assert.ok(pes.length > 10);
  for (const one of pes) {
    const es = one.subarray(9 + (one[8] ?? 0));
    let at = 0;
    while (at < es.length) {
      assert.equal(es.readUInt16BE(at) & 0xfff6, 0xfff0, 'ADTS sync word, layer 0');
      at += (((es[at + 3] ?? 0) & 3) << 11) | ((es[at + 4] ?? 0) << 3) | ((es[at + 5] ?? 0) >> 5);
    }
    assert.equal(at, es.length, 'ADTS frame lengths chain to the end of the PES');
    assert.equal(one.readUInt16BE(4), one.length - 6, 'audio PES_packet_length');
  }
});

test('a segment reads only its own samples, coalesced into few reads', async () => {
  const path = avcAacFile(14);
  const movie = await movieOf(path);
  const reads: Array<[number, number]> = [];
  await hlsSegment(movie, '1.ts', fileReader(path, reads), TS);
  // The samples of segment 1: video from 6 s to 12 s, audio presenting in the same span.
  const want = new Set<number>();
  let wantBytes = 0;
  for (const t of movie.tracks) {
    const s = t.samples;
    for (let i = 0; i < s.count; i++) {
      const sec = ((s.dts[i] ?? 0) + (s.ctsOffset[i] ?? 0)) / t.timescale - (t.kind === 'video' ? 2 * 512 / 12800 : 1024 / 44100);
      if (sec >= 6 - 1e-9 && sec < 12 - 1e-9) {
        want.add(s.offset[i] ?? 0);
        wantBytes += s.size[i] ?? 0;
      }
    }
  }
  const readBytes = reads.reduce((a, r) => a + r[1], 0);
  assert.equal(readBytes, wantBytes, 'bytes read = bytes of the segment samples');
  const samples = want.size;
  assert.ok(reads.length * 10 < samples, `${reads.length} reads for ${samples} samples`);
  for (const [off, len] of reads) {
    for (const o of want) if (o >= off && o < off + len) want.delete(o);
  }
  assert.equal(want.size, 0, 'every sample lies in a read');
});

test('HEVC + AAC, AAC only and per-track segments of a multi-track file play; each track segment carries one stream', async () => {
  const hevc = hevcFile(5);
  const hm = await movieOf(hevc);
  const h = await writeAll(hm, hevc, { ...TS, segmentSec: 2 }, 'ts-hevc');
  for (const [name] of h.segments) {
    const probe = probeFile(join(h.dir, name), 4);
    assert.deepEqual(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'hevc'], name);
    assert.equal(probe.frames.find((f) => f.media_type === 'video')?.key_frame, 1, name);
  }
  assert.equal(playErrors(join(h.dir, 'index.m3u8')), '');
  assert.match(hlsPlaylist(hm, 'index.m3u8', TS) ?? '', /#EXTINF:5\.000,/);

  const aac = aacOnlyFile(13);
  const am = await movieOf(aac);
  const a = await writeAll(am, aac, TS, 'ts-aac');
  assert.equal(a.segments.length, 3);
  for (const [name] of a.segments) assert.deepEqual(probeFile(join(a.dir, name)).streams.map((s) => s.codec_name), ['aac'], name);
  const audioPackets = parseTs(readFileSync(join(a.dir, '1.ts')));
  assert.ok(audioPackets.some((p) => p.pcr && p.pid === 0x101), 'PCR on the audio PID when there is no video');
  assert.equal(playErrors(join(a.dir, 'index.m3u8')), '');

  const multi = multiTrackFile();
  const mm = await movieOf(multi);
  const m = await writeAll(mm, multi, TS, 'ts-multi');
  assert.deepEqual(m.segments.map((s) => s[0]).sort(), ['t1-0.ts', 't1-1.ts', 't2-0.ts', 't2-1.ts', 't3-0.ts', 't3-1.ts', 't4-0.ts', 't4-1.ts']);
  assert.deepEqual(probeFile(join(m.dir, 't2-1.ts')).streams.map((s) => [s.codec_name, s.width]), [['h264', 160]]);
  assert.deepEqual(probeFile(join(m.dir, 't4-0.ts')).streams.map((s) => s.codec_name), ['aac']);
  assert.equal(playErrors(join(m.dir, 'index.m3u8')), '');
  // BANDWIDTH (an estimate from the sample tables) covers the peak of the built segments: video + the largest audio.
  const master = readFileSync(join(m.dir, 'index.m3u8'), 'utf8');
  const extinf = new Map(m.segments);
  for (const [video, audios] of [['t1', ['t3', 't4']], ['t2', ['t3', 't4']]] as const) {
    let peak = 0;
    for (const k of [0, 1]) {
      const audio = Math.max(...audios.map((a) => readFileSync(join(m.dir, `${a}-${k}.ts`)).length));
      peak = Math.max(peak, ((readFileSync(join(m.dir, `${video}-${k}.ts`)).length + audio) * 8) / (extinf.get(`${video}-${k}.ts`) ?? 1));
    }
    const line = master.split('\n').find((l, i, all) => all[i + 1] === `${video}.m3u8`) ?? '';
    const bandwidth = Number(/BANDWIDTH=(\d+)/.exec(line)?.[1]);
    assert.ok(bandwidth >= peak && bandwidth < peak * 1.1, `${video}: BANDWIDTH ${bandwidth}, built peak ${Math.round(peak)}`);
  }
});

test('hostile segment names give null without reading', async () => {
  const path = avcAacFile(14);
  const movie = await movieOf(path);
  const reads: Array<[number, number]> = [];
  const read = fileReader(path, reads);
  const names = [
    '-1.ts', '3.ts', '99.ts', '4294967296.ts', '99999999999999999999.ts', '9'.repeat(400) + '.ts', '1e1.ts', '0x1.ts',
    '01.ts', '+1.ts', ' 1.ts', '1.ts ', '1.TS', '1.m4s', 'init.mp4', '', '.ts', '1..ts', '1.ts.ts', '１.ts', 'NaN.ts',
    'Infinity.ts', '1.5.ts', '1/.ts', '../1.ts', 't1-0.ts', 'index.m3u8', '0.ts\u0000',
  ];
  for (const name of names) assert.equal(await hlsSegment(movie, name, read, TS), null, JSON.stringify(name));
  assert.equal(await hlsSegment(movie, '9.ts', read, { ...TS, sequence: 10 }), null, 'below the sequence');
  assert.equal(await hlsSegment(movie, '13.ts', read, { ...TS, sequence: 10 }), null, 'past the last');
  assert.equal(reads.length, 0);
  assert.notEqual(await hlsSegment(movie, '12.ts', read, { ...TS, sequence: 10 }), null);
  assert.notEqual(await hlsSegment(movie, '0.ts', read, TS), null);
});

test('hostile samples and readers: a NAL passing its sample, a short or failing read give MediaFormatError or the read error', async () => {
  const path = avcAacFile(14);
  const movie = await movieOf(path);
  const real = fileReader(path);
  const video = movie.tracks[0];
  assert.ok(video);
  const firstVideo = video.samples.offset[0] ?? 0;
  // NAL length prefix of the first video sample claims more than the sample holds.
  const lying: RangeReader = async (off, len) => {
    const b = Buffer.from(await real(off, len));
    if (firstVideo >= off && firstVideo < off + len) b.writeUInt32BE(0x7fffffff, firstVideo - off);
    return b;
  };
  await assert.rejects(hlsSegment(movie, '0.ts', lying, TS), MediaFormatError);
  const short: RangeReader = async (off, len) => (await real(off, len)).subarray(0, len - 1);
  await assert.rejects(hlsSegment(movie, '0.ts', short, TS), MediaFormatError);
  const failing: RangeReader = async () => {
    throw new Error('origin down');
  };
  await assert.rejects(hlsSegment(movie, '0.ts', failing, TS), /origin down/);
  // A sample table claiming gigabytes for one segment is refused before any read.
  const huge: Movie = { ...movie, tracks: movie.tracks.map((t) => ({ ...t, samples: { ...t.samples, size: t.samples.size.map(() => 4_000_000) } })) };
  let asked = 0;
  await assert.rejects(hlsSegment(huge, '0.ts', async () => { asked++; return Buffer.alloc(0); }, TS), MediaFormatError);
  assert.equal(asked, 0);
});

test('build time of a 6 s 720p segment (MPEG-TS and fMP4), from bytes in memory', async (t) => {
  const path = makeMedia('avc-aac-720p.mp4', [
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '12',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '3M', '-g', '60', '-c:a', 'aac', '-b:a', '128k',
  ]);
  const movie = await movieOf(path);
  const file = readFileSync(path);
  const read: RangeReader = async (off, len) => file.subarray(off, off + len);
  for (const container of ['ts', 'fmp4'] as const) {
    const options = { ...TS, container };
    const name = container === 'ts' ? '0.ts' : '0.m4s';
    for (let i = 0; i < 5; i++) await hlsSegment(movie, name, read, options); // warm up
    const runs = 20;
    const start = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    let bytes = 0;
    for (let i = 0; i < runs; i++) bytes = (await hlsSegment(movie, name, read, options))?.body.length ?? 0;
    const ms = Number(process.hrtime.bigint() - start) / 1e6 / runs;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1e3 / runs;
    t.diagnostic(`${container}: 6 s 720p segment of ${(bytes / 1e6).toFixed(2)} MB built in ${ms.toFixed(2)} ms wall, ${cpuMs.toFixed(2)} ms CPU`);
    assert.ok(ms < 500, `${container} build ${ms} ms`);
  }
});

test('cross-check: a Movie from parseMovie and one from ffprobe packets give the same playlists and segment bytes', async () => {
  for (const path of [avcAacFile(14), multiTrackFile(), aacOnlyFile(13)]) {
    const parsed = await movieOf(path);
    const probed = movieFromProbe(path);
    for (const container of ['ts', 'fmp4'] as const) {
      const options = { ...TS, container };
      const index = hlsPlaylist(parsed, 'index.m3u8', options) ?? '';
      assert.equal(index, hlsPlaylist(probed, 'index.m3u8', options), `${path} ${container}`);
      const first = index.split('\n').find((l) => l.endsWith('.m3u8')) ?? 'index.m3u8';
      const media = hlsPlaylist(parsed, first, options) ?? '';
      const names = media.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      for (const name of [...names, ...(container === 'fmp4' ? [/URI="([^"]+)"/.exec(media)?.[1] ?? ''] : [])]) {
        const a = await hlsSegment(parsed, name, fileReader(path), options);
        const b = await hlsSegment(probed, name, fileReader(path), options);
        assert.ok(a && b && a.body.equals(b.body), `${path} ${name}`);
      }
    }
  }
});

test('HLS of a clip (trimMovie, as index.m3u8?start=3&end=11 asks): TS and fMP4 play, the playlist lasts the clip', async () => {
  const path = avcAacFile(14);
  const movie = await movieOf(path);
  const clip = trimMovie(movie, [{ startSec: 3, endSec: 11 }], { allTracks: false });
  assert.ok(clip);
  for (const container of ['ts', 'fmp4'] as const) {
    const options = { ...TS, container, segmentSec: 4 };
    const { dir, segments } = await writeAll(clip, path, options, `clip-${container}`);
    const total = segments.reduce((a, s) => a + s[1], 0);
    // The cut goes back to the keyframe at or before 3 s (2 s) and ends at 11 s.
    assert.ok(Math.abs(total - 9) < 0.05, `${container}: EXTINF total ${total}`);
    assert.equal(playErrors(join(dir, 'index.m3u8'), ['-allowed_extensions', 'ALL']), '', container);
    const probe = probeFile(join(dir, 'index.m3u8'), 2);
    assert.ok(Math.abs(Number(probe.format.duration) - total) < 0.05, `${container}: played ${probe.format.duration}`);
  }
});
