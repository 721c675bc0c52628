// Unit tests of HLS playlists (media/hls/hls.ts, playlist.ts, segments.ts) over real ffmpeg-made files: segment
// boundaries on the first keyframe at or after each multiple of <Duration>, EXTINF the real durations, TARGETDURATION
// their ceiling, the version and sequence options, EXT-X-MAP for fMP4, a master playlist with per-track playlists
// for a file with several video and audio tracks, audio-only cuts on sample boundaries, and names that are no
// playlist (null) or codecs that cannot be packaged (MediaFormatError).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hlsPlaylist } from '../../src/media/hls/hls.js';
import type { HlsOptions } from '../../src/media/hls/hls.js';
import { MediaFormatError } from '../../src/media/types.js';
import type { Movie, Track } from '../../src/media/types.js';
import { aacOnlyFile, avcAacFile, movieOf, multiTrackFile } from '../helpers/media-hls.js';

const TS: HlsOptions = { segmentSec: 6, version: 3, sequence: 0, container: 'ts', indexName: 'index.m3u8' };

/** [EXTINF seconds, URI] of a media playlist. */
function entries(text: string): Array<[number, string]> {
  const lines = text.split('\n');
  const out: Array<[number, string]> = [];
  lines.forEach((l, i) => {
    if (l.startsWith('#EXTINF:')) out.push([Number(l.slice(8, l.indexOf(','))), lines[i + 1] ?? '']);
  });
  return out;
}

function tag(text: string, name: string): string | null {
  const line = text.split('\n').find((l) => l.startsWith(`#${name}:`) || l === `#${name}`);
  return line === undefined ? null : line.slice(name.length + 2);
}

test('media playlist: keyframe cuts at each multiple of the duration, real EXTINF, TARGETDURATION, VOD, ENDLIST', async () => {
  const movie = await movieOf(avcAacFile(14)); // keyframes every 2 s
  const cases: Array<[number, number[]]> = [
    [6, [6, 6, 2]],
    [5, [6, 4, 4]], // first keyframe at or after 5 s is 6 s, after 10 s is 10 s
    [2, [2, 2, 2, 2, 2, 2, 2]],
    [3, [4, 2, 4, 2, 2]], // 3 → 4, 6 → 6, 9 → 10, 12 → 12
    [100, [14]],
  ];
  for (const [segmentSec, want] of cases) {
    const text = hlsPlaylist(movie, 'index.m3u8', { ...TS, segmentSec }) ?? '';
    const got = entries(text);
    assert.deepEqual(got.map((e) => e[0]), want, `segmentSec ${segmentSec}`);
    assert.deepEqual(got.map((e) => e[1]), want.map((_, i) => `${i}.ts`));
    assert.equal(tag(text, 'EXT-X-TARGETDURATION'), String(Math.max(...want)));
    assert.equal(tag(text, 'EXT-X-VERSION'), '3');
    assert.equal(tag(text, 'EXT-X-MEDIA-SEQUENCE'), '0');
    assert.equal(tag(text, 'EXT-X-PLAYLIST-TYPE'), 'VOD');
    assert.equal(tag(text, 'EXT-X-MAP'), null);
    assert.ok(text.startsWith('#EXTM3U\n') && text.endsWith('#EXT-X-ENDLIST\n'));
  }
});

test('media playlist: sequence numbers the segments, version < 3 writes whole seconds, fMP4 forces version 7 and EXT-X-MAP', async () => {
  const movie = await movieOf(avcAacFile(14));
  const seq = hlsPlaylist(movie, 'index.m3u8', { ...TS, sequence: 40 }) ?? '';
  assert.equal(tag(seq, 'EXT-X-MEDIA-SEQUENCE'), '40');
  assert.deepEqual(entries(seq).map((e) => e[1]), ['40.ts', '41.ts', '42.ts']);
  const v2 = hlsPlaylist(movie, 'index.m3u8', { ...TS, version: 2 }) ?? '';
  assert.ok(v2.includes('#EXTINF:6,\n0.ts') && v2.includes('#EXTINF:2,\n2.ts'), v2);
  const f = hlsPlaylist(movie, 'index.m3u8', { ...TS, container: 'fmp4' }) ?? '';
  assert.equal(tag(f, 'EXT-X-VERSION'), '7');
  assert.equal(tag(f, 'EXT-X-MAP'), 'URI="init.mp4"');
  assert.deepEqual(entries(f).map((e) => e[1]), ['0.m4s', '1.m4s', '2.m4s']);
  const f8 = hlsPlaylist(movie, 'index.m3u8', { ...TS, container: 'fmp4', version: 8 }) ?? '';
  assert.equal(tag(f8, 'EXT-X-VERSION'), '8');
  const named = hlsPlaylist(movie, 'playlist.m3u8', { ...TS, indexName: 'playlist.m3u8' }) ?? '';
  assert.equal(entries(named).length, 3);
});

test('audio only: cuts on AAC frame boundaries at or after each multiple, EXTINF sums to the duration', async () => {
  const movie = await movieOf(aacOnlyFile(13));
  const text = hlsPlaylist(movie, 'index.m3u8', TS) ?? '';
  const got = entries(text);
  assert.equal(got.length, 3);
  const frame = 1024 / 44100;
  assert.ok(got[0] && got[0][0] >= 6 && got[0][0] < 6 + frame + 0.001, `first segment ${got[0]?.[0]}`);
  const sum = got.reduce((a, e) => a + e[0], 0);
  assert.ok(Math.abs(sum - 13) < frame, `sum ${sum}`);
});

test('master playlist: several video and audio tracks give variants, audio renditions and per-track playlists', async () => {
  const movie = await movieOf(multiTrackFile());
  const master = hlsPlaylist(movie, 'index.m3u8', TS) ?? '';
  const lines = master.split('\n');
  const media = lines.filter((l) => l.startsWith('#EXT-X-MEDIA:'));
  assert.equal(media.length, 2, master);
  assert.match(media[0] ?? '', /^#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio 3",LANGUAGE="eng",DEFAULT=YES,AUTOSELECT=YES,URI="t3.m3u8"$/);
  assert.match(media[1] ?? '', /LANGUAGE="fra",DEFAULT=NO,.*URI="t4.m3u8"/);
  const inf = lines.filter((l) => l.startsWith('#EXT-X-STREAM-INF:'));
  assert.equal(inf.length, 2);
  assert.match(inf[0] ?? '', /^#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",RESOLUTION=320x240,AUDIO="audio"$/);
  assert.match(inf[1] ?? '', /RESOLUTION=160x120/);
  assert.equal(lines[lines.indexOf(inf[0] ?? '') + 1], 't1.m3u8');
  assert.equal(lines[lines.indexOf(inf[1] ?? '') + 1], 't2.m3u8');
  const bw = (l: string, k: string): number => Number(new RegExp(`[:,]${k}=(\\d+)`).exec(l)?.[1]);
  for (const l of inf) assert.ok(bw(l, 'BANDWIDTH') >= bw(l, 'AVERAGE-BANDWIDTH') && bw(l, 'AVERAGE-BANDWIDTH') > 10_000, l);
  // avcC profile/compat/level bytes as the CODECS attribute.
  const avcC = movie.tracks[0]?.decoderConfig ?? Buffer.alloc(4);
  assert.ok((inf[0] ?? '').includes(`avc1.${avcC.subarray(1, 4).toString('hex')}`));

  // Each track's media playlist shares the timeline and names its own segments.
  const v = hlsPlaylist(movie, 't1.m3u8', TS) ?? '';
  const a = hlsPlaylist(movie, 't4.m3u8', TS) ?? '';
  assert.deepEqual(entries(v).map((e) => e[1]), ['t1-0.ts', 't1-1.ts']);
  assert.deepEqual(entries(a).map((e) => e[1]), ['t4-0.ts', 't4-1.ts']);
  assert.deepEqual(entries(v).map((e) => e[0]), entries(a).map((e) => e[0]));
  const f = hlsPlaylist(movie, 't3.m3u8', { ...TS, container: 'fmp4' }) ?? '';
  assert.equal(tag(f, 'EXT-X-MAP'), 'URI="t3-init.mp4"');
  assert.deepEqual(entries(f).map((e) => e[1]), ['t3-0.m4s', 't3-1.m4s']);
});

test('master playlist: audio-only with two tracks lists each as a variant', async () => {
  const movie = await movieOf(multiTrackFile());
  const audioOnly: Movie = { ...movie, kind: 'm4a', tracks: movie.tracks.filter((t) => t.kind === 'audio') };
  const master = hlsPlaylist(audioOnly, 'index.m3u8', TS) ?? '';
  assert.match(master, /#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="mp4a\.40\.2"\nt3\.m3u8\n/);
  assert.match(master, /\nt4\.m3u8\n/);
  assert.ok(!master.includes('EXT-X-MEDIA:'));
});

test('names that are no playlist give null', async () => {
  const single = await movieOf(avcAacFile(14));
  const multi = await movieOf(multiTrackFile());
  for (const name of ['', 'index.m3u', 'INDEX.M3U8', 'index.m3u8 ', '../index.m3u8', 't1.m3u8', '0.ts', 'init.mp4', 'index.m3u8?x=1']) {
    assert.equal(hlsPlaylist(single, name, TS), null, `single: ${JSON.stringify(name)}`);
  }
  for (const name of ['t9.m3u8', 't01.m3u8', 't1-0.ts', 't-1.m3u8', 't1.m3u8/', 'T1.m3u8']) {
    assert.equal(hlsPlaylist(multi, name, TS), null, `multi: ${JSON.stringify(name)}`);
  }
});

test('codecs HLS cannot carry throw MediaFormatError unless another track of their kind remains', async () => {
  const movie = await movieOf(avcAacFile(14));
  const withTrack = (i: number, patch: Partial<Track>): Movie => ({ ...movie, tracks: movie.tracks.map((t, j) => (j === i ? { ...t, ...patch } : t)) });
  const bad: Array<[string, Movie]> = [
    ['mp4v video', withTrack(0, { codec: 'mp4v' })],
    ['no avcC', withTrack(0, { decoderConfig: null })],
    ['avcC version 0', withTrack(0, { decoderConfig: Buffer.from([0, 0x64, 0, 0x1f, 0xff, 0xe0, 0]) })],
    ['avcC SPS passes the box', withTrack(0, { decoderConfig: Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe1, 0x00, 0x40, 0x67]) })],
    ['avcC 3-byte lengths', withTrack(0, { decoderConfig: Buffer.from([1, 0x64, 0, 0x1f, 0xfe, 0xe0, 0]) })],
    ['opus audio', withTrack(1, { codec: 'Opus' })],
    ['no AudioSpecificConfig', withTrack(1, { decoderConfig: null })],
    ['AAC channel config 0 (PCE)', withTrack(1, { decoderConfig: Buffer.from([0x12, 0x00]) })],
    ['AAC explicit rate', withTrack(1, { decoderConfig: Buffer.from([0x17, 0x80, 0, 0, 0x10]) })],
    ['AAC main object type 1 LTP 4 ok, 6 not', withTrack(1, { decoderConfig: Buffer.from([0x32, 0x10]) })],
    ['truncated AudioSpecificConfig', withTrack(1, { decoderConfig: Buffer.from([0xf8]) })],
    ['no tracks', { ...movie, tracks: [] }],
    ['no trak for the track id', withTrack(0, { id: 77 })],
    ['truncated moov', { ...movie, moov: movie.moov.subarray(0, 200) }],
  ];
  for (const [name, m] of bad) {
    assert.throws(() => hlsPlaylist(m, 'index.m3u8', TS), MediaFormatError, name);
  }
  // A track HLS cannot carry beside one of its kind that it can is left out: H.264 + AAC + AC-3 is one media playlist.
  const ac3 = { ...(movie.tracks[1] as Track), id: 9, codec: 'ac-3', decoderConfig: null };
  const withAc3: Movie = { ...movie, tracks: [...movie.tracks, ac3] };
  assert.equal(hlsPlaylist(withAc3, 'index.m3u8', TS), hlsPlaylist(movie, 'index.m3u8', TS));
  const onlyAc3: Movie = { ...movie, tracks: [movie.tracks[0] as Track, ac3] };
  assert.throws(() => hlsPlaylist(onlyAc3, 'index.m3u8', TS), /no audio track HLS can carry/);
});
