// Unit tests of fMP4/CMAF HLS segments (media/hls/fmp4.ts): the init segment (ftyp + moov with the source's stsd,
// mvex/trex, the edit list's shift) and media segments (styp + moof/mfhd/traf/tfhd/tfdt/trun + mdat) read back by
// ffprobe (init + segment: streams, a keyframe first, start time and duration) and played as a whole by ffmpeg
// (H.264 + AAC, HEVC, several tracks through the master playlist); box fields checked against the sample tables;
// names of the other container or of no segment give null.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hlsPlaylist, hlsSegment } from '../../src/media/hls/hls.js';
import type { HlsOptions } from '../../src/media/hls/hls.js';
import { trackBoxes } from '../../src/media/hls/moov-track.js';
import { childBoxes } from '../../src/media/mp4/boxes.js';
import type { Movie } from '../../src/media/types.js';
import { avcAacFile, fileReader, hevcFile, mediaDir, movieOf, multiTrackFile, playErrors, probeFile } from '../helpers/media-hls.js';

const FMP4: HlsOptions = { segmentSec: 6, version: 3, sequence: 0, container: 'fmp4', indexName: 'index.m3u8' };

/** Every box at `path` (e.g. ['moov', 'trak']) below `buf`: a whole file (`from` 0) or a box (`from` 8, its header skipped). */
function boxesAt(buf: Buffer, path: readonly string[], from = 8): Buffer[] {
  let level: Array<[Buffer, number]> = [[buf, from]];
  for (const type of path) {
    const next: Array<[Buffer, number]> = [];
    for (const [b, at] of level) for (const c of childBoxes(b, at, b.length)) if (c.type === type) next.push([b.subarray(c.start, c.end), 8]);
    level = next;
  }
  return level.map((x) => x[0]);
}

async function writeAll(movie: Movie, path: string, options: HlsOptions, label: string): Promise<{ dir: string; names: string[]; extinf: Map<string, number> }> {
  const dir = join(mediaDir(), label);
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  const extinf = new Map<string, number>();
  const playlists = [options.indexName];
  for (let p = 0; p < playlists.length; p++) {
    const text = hlsPlaylist(movie, playlists[p] as string, options) ?? '';
    writeFileSync(join(dir, playlists[p] as string), text);
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const uri = /URI="([^"]+)"/.exec(line)?.[1];
      if (uri?.endsWith('.m3u8')) playlists.push(uri);
      else if (uri) names.push(uri);
      if (line.startsWith('#EXT-X-STREAM-INF:')) playlists.push(lines[i + 1] as string);
      if (line.startsWith('#EXTINF:')) {
        names.push(lines[i + 1] as string);
        extinf.set(lines[i + 1] as string, Number(line.slice(8, -1)));
      }
    });
  }
  for (const name of names) {
    const seg = await hlsSegment(movie, name, fileReader(path), options);
    assert.ok(seg !== null, name);
    writeFileSync(join(dir, name), seg.body);
  }
  return { dir, names, extinf };
}

test('init.mp4: ftyp + moov with the source stsd per track, trex per track, the edit list shift; ffprobe reads it', async () => {
  const path = avcAacFile(14);
  const movie = await movieOf(path);
  const init = await hlsSegment(movie, 'init.mp4', fileReader(path), FMP4);
  assert.equal(init?.contentType, 'video/mp4');
  const body = init?.body ?? Buffer.alloc(0);
  assert.deepEqual(childBoxes(body, 0, body.length).map((b) => b.type), ['ftyp', 'moov']);
  const traks = boxesAt(body, ['moov', 'trak'], 0);
  assert.equal(traks.length, 2);
  movie.tracks.forEach((t, i) => {
    const stsd = boxesAt(traks[i] as Buffer, ['mdia', 'minf', 'stbl', 'stsd'])[0];
    assert.ok(stsd?.equals(trackBoxes(movie, t.id).stsd), `stsd of track ${t.id} copied`);
    const elst = boxesAt(traks[i] as Buffer, ['edts', 'elst'])[0];
    assert.equal(elst?.readInt32BE(20), t.kind === 'video' ? 1024 : 1024, 'media_time of the source edit list');
  });
  const trex = boxesAt(body, ['moov', 'mvex', 'trex'], 0);
  assert.deepEqual(trex.map((b) => b.readUInt32BE(12)), movie.tracks.map((t) => t.id));
  const dir = join(mediaDir(), 'fmp4-init');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'init.mp4'), body);
  const probe = probeFile(join(dir, 'init.mp4'), 0);
  assert.deepEqual(probe.streams.map((s) => s.codec_name), ['h264', 'aac']);
  assert.equal(probe.streams[0]?.width, 320);
});

test('m4s segments: moof fields match the sample tables; init + segment probe with a keyframe first; ffmpeg plays the playlist', async () => {
  const path = avcAacFile(14);
  const movie = await movieOf(path);
  const { dir, names, extinf } = await writeAll(movie, path, FMP4, 'fmp4-avc');
  assert.deepEqual(names, ['init.mp4', '0.m4s', '1.m4s', '2.m4s']);
  const init = await hlsSegment(movie, 'init.mp4', fileReader(path), FMP4);
  let videoSamples = 0;
  for (const [k, name] of ['0.m4s', '1.m4s', '2.m4s'].entries()) {
    const seg = await hlsSegment(movie, name, fileReader(path), FMP4);
    assert.equal(seg?.contentType, 'video/iso.segment');
    const body = seg?.body ?? Buffer.alloc(0);
    assert.deepEqual(childBoxes(body, 0, body.length).map((b) => b.type), ['styp', 'moof', 'mdat']);
    assert.equal(boxesAt(body, ['moof', 'mfhd'], 0)[0]?.readUInt32BE(12), k + 1, 'mfhd sequence_number');
    const trafs = boxesAt(body, ['moof', 'traf'], 0);
    assert.equal(trafs.length, 2);
    const vTraf = trafs[0] as Buffer;
    assert.equal(boxesAt(vTraf, ['tfhd'])[0]?.readUInt32BE(12), movie.tracks[0]?.id);
    const tfdt = boxesAt(vTraf, ['tfdt'])[0] as Buffer;
    const vs = movie.tracks[0]?.samples;
    assert.equal(Number(tfdt.readBigUInt64BE(12)), vs?.dts[videoSamples], 'tfdt = first sample dts');
    const trun = boxesAt(vTraf, ['trun'])[0] as Buffer;
    const n = trun.readUInt32BE(12);
    assert.equal(n, k < 2 ? 150 : 50);
    // Entry 0: duration, size, flags (sync), composition offset; the data offset points at those bytes in mdat.
    const dataOffset = trun.readInt32BE(16);
    const moofAt = childBoxes(body, 0, body.length)[1]?.start ?? 0;
    const sampleSize = trun.readUInt32BE(24);
    assert.equal(sampleSize, vs?.size[videoSamples]);
    assert.equal(trun.readUInt32BE(28), 0x02000000, 'the first sample is a sync sample');
    assert.equal(trun.readInt32BE(32), vs?.ctsOffset[videoSamples]);
    const src = await fileReader(path)(vs?.offset[videoSamples] ?? 0, sampleSize);
    assert.ok(body.subarray(moofAt + dataOffset, moofAt + dataOffset + sampleSize).equals(src), 'sample bytes at the data offset');
    videoSamples += n;

    const joined = join(dir, `joined-${k}.mp4`);
    writeFileSync(joined, Buffer.concat([init?.body ?? Buffer.alloc(0), body]));
    const probe = probeFile(joined, 4);
    assert.deepEqual(probe.streams.map((s) => s.codec_name), ['h264', 'aac']);
    const firstVideo = probe.frames.find((f) => f.media_type === 'video');
    assert.equal(firstVideo?.key_frame, 1);
    assert.ok(Math.abs(Number(firstVideo?.best_effort_timestamp_time ?? firstVideo?.pts_time) - 6 * k) < 0.001, `segment ${k} starts at ${firstVideo?.pts_time}`);
    // A fragment's duration as ffprobe gives it runs from time 0 (the tfdt carries the real start).
    assert.ok(Math.abs(Number(probe.format.duration) - 6 * k - (extinf.get(name) ?? 0)) < 0.1, `${name}: ${probe.format.duration}`);
  }
  assert.equal(playErrors(join(dir, 'index.m3u8'), ['-allowed_extensions', 'ALL']), '');
  const whole = probeFile(join(dir, 'index.m3u8'), 1);
  assert.ok(Math.abs(Number(whole.format.duration) - 14) < 0.05, `HLS duration ${whole.format.duration}`);
});

test('fMP4 of HEVC and of a multi-track file (master, per-track init and segments) play without errors', async () => {
  const hevc = hevcFile(5);
  const h = await writeAll(await movieOf(hevc), hevc, { ...FMP4, segmentSec: 2 }, 'fmp4-hevc');
  assert.equal(playErrors(join(h.dir, 'index.m3u8'), ['-allowed_extensions', 'ALL']), '');
  const multi = multiTrackFile();
  const m = await writeAll(await movieOf(multi), multi, FMP4, 'fmp4-multi');
  assert.deepEqual(m.names.filter((n) => n.endsWith('init.mp4')).sort(), ['t1-init.mp4', 't2-init.mp4', 't3-init.mp4', 't4-init.mp4']);
  assert.equal(playErrors(join(m.dir, 'index.m3u8'), ['-allowed_extensions', 'ALL']), '');
  const probe = probeFile(join(m.dir, 't4-init.mp4'), 0);
  assert.deepEqual(probe.streams.map((s) => s.codec_name), ['aac']);
});

test('fMP4 names: the TS names and unknown inits give null', async () => {
  const path = avcAacFile(14);
  const movie = await movieOf(path);
  const reads: Array<[number, number]> = [];
  for (const name of ['0.ts', 'init.m4s', 'init.mp4 ', 'Init.mp4', 'init.mp4/', 't1-init.mp4', '3.m4s', '-1.m4s', '00.m4s', 'init', '.m4s']) {
    assert.equal(await hlsSegment(movie, name, fileReader(path, reads), FMP4), null, name);
  }
  assert.equal(await hlsSegment(movie, 'init.mp4', fileReader(path, reads), { ...FMP4, container: 'ts' }), null);
  assert.equal(reads.length, 0);
  const multi = await movieOf(multiTrackFile());
  assert.equal(await hlsSegment(multi, 'init.mp4', fileReader(path, reads), FMP4), null, 'a master has per-track inits only');
  assert.equal(await hlsSegment(multi, 't5-init.mp4', fileReader(path, reads), FMP4), null);
});
