// Unit tests of media/mp4/trim: ffmpeg files trimmed, written out and checked with real readers (ffprobe duration,
// stream count, first video packet a keyframe at time 0, `ffmpeg -f null` decodes without an error, every kept
// packet's bytes equal to the source's), joined clips, M4A, bad inputs, and trimMovie's tables against trimPlan's.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { parseMovie } from '../../src/media/mp4/parse.js';
import { trimMovie, trimPlan } from '../../src/media/mp4/trim.js';
import type { Clip, Movie, SampleTable } from '../../src/media/types.js';
import { decodeErrors, fileReader, frameMd5, mediaFile, probe, videoPackets, writePlan } from '../helpers/media-mp4.js';

const GOP_SEC = 2; // av.mp4: -g 50 at 25 fps

async function movieOf(name: string): Promise<Movie> {
  const r = fileReader(mediaFile(name));
  return parseMovie(r.read, r.size);
}

let n = 0;
async function trimFile(name: string, clips: Clip[], allTracks = false): Promise<string> {
  const plan = trimPlan(await movieOf(name), clips, { allTracks });
  assert.ok(plan, 'a plan');
  return writePlan(plan, mediaFile(name), `trim-${n++}-${name}`);
}

/** md5 column (the 6th; side data may follow) of framemd5 lines for one stream. */
function hashes(lines: string[], stream: number): string[] {
  return lines.filter((l) => l.startsWith(`${stream},`)).map((l) => l.split(',')[5]?.trim() ?? '');
}

for (const source of ['av.mp4', 'av-faststart.mp4']) {
  test(`${source} start=5.3 end=12.7: starts on the keyframe before, valid, packets are the source's`, async () => {
    const out = await trimFile(source, [{ startSec: 5.3, endSec: 12.7 }]);
    const p = probe(out);
    assert.equal(p.streams.length, 2);
    assert.ok(p.duration >= 12.7 - 5.3 - 0.1 && p.duration <= 12.7 - 5.3 + GOP_SEC + 0.1, `duration ${p.duration}`);
    const vp = videoPackets(out);
    assert.ok(vp[0]?.key, 'first video packet is a keyframe');
    assert.ok(Math.abs(vp.reduce((m, x) => Math.min(m, x.pts), Infinity)) < 0.05, 'video presentation starts at 0');
    assert.equal(decodeErrors(out), '');
    // The video packets are a contiguous run of the source's, from the keyframe at 4 s (frame 100).
    const src = hashes(frameMd5(mediaFile(source)), 0);
    const got = hashes(frameMd5(out), 0);
    assert.deepEqual(got, src.slice(100, 100 + got.length));
    assert.ok(got.length >= (12.7 - 4) * 25 - 1 && got.length <= (12.7 - 4) * 25 + 1, String(got.length));
    // Audio packets are the source's too, starting within a frame of 4 s.
    const srcA = hashes(frameMd5(mediaFile(source)), 1);
    const gotA = hashes(frameMd5(out), 1);
    const at = srcA.indexOf(gotA[0] as string);
    assert.ok(Math.abs((at * 1024) / 44100 - 4) < 0.05, `audio starts at ${(at * 1024) / 44100}`);
    assert.deepEqual(gotA, srcA.slice(at, at + gotA.length));
  });
}

test('clips joined: 2-6 and 10-14 give ~8 s with continuous timestamps, decodable', async () => {
  const out = await trimFile('av.mp4', [{ startSec: 2, endSec: 6 }, { startSec: 10, endSec: 14 }]);
  const p = probe(out);
  assert.equal(p.streams.length, 2);
  assert.ok(Math.abs(p.duration - 8) < 0.15, `duration ${p.duration}`);
  const vp = videoPackets(out);
  assert.equal(vp.length, 200);
  assert.equal(vp.filter((x) => x.key).length, 4, 'keyframes at 0, 2, 4, 6 s of the output');
  const pts = vp.map((x) => x.pts).sort((a, b) => a - b);
  for (let i = 1; i < pts.length; i++) assert.ok(Math.abs((pts[i] as number) - (pts[i - 1] as number) - 0.04) < 0.001, `gap at ${i}`);
  assert.equal(decodeErrors(out), '');
});

test('a clip past the end is clamped; start at or beyond the duration gives null', async () => {
  const movie = await movieOf('av.mp4');
  assert.equal(trimPlan(movie, [{ startSec: 20, endSec: 30 }], { allTracks: false }), null);
  assert.equal(trimPlan(movie, [{ startSec: 25, endSec: Infinity }], { allTracks: false }), null);
  assert.equal(trimMovie(movie, [{ startSec: 21, endSec: 22 }], { allTracks: false }), null);
  const out = await trimFile('av.mp4', [{ startSec: 16, endSec: 100 }]);
  const p = probe(out);
  assert.ok(Math.abs(p.duration - 4) < 0.1, `duration ${p.duration}`);
  assert.equal(decodeErrors(out), '');
  const whole = await trimFile('av.mp4', [{ startSec: 0, endSec: Infinity }]);
  assert.deepEqual(frameMd5(whole), frameMd5(mediaFile('av.mp4')), 'the whole file trimmed is the same packets');
});

test('M4A (no video): cut on the audio sample holding the start', async () => {
  const out = await trimFile('audio.m4a', [{ startSec: 5, endSec: 10 }]);
  const p = probe(out);
  assert.equal(p.streams.length, 1);
  assert.ok(Math.abs(p.duration - 5) < 0.05, `duration ${p.duration}`);
  assert.equal(decodeErrors(out), '');
  const plan = trimPlan(await movieOf('audio.m4a'), [{ startSec: 5, endSec: 10 }], { allTracks: false });
  assert.equal(plan?.contentType, 'audio/mp4');
});

test('video-only file, HEVC, and AllTracks ON', async () => {
  const v = await trimFile('video.mp4', [{ startSec: 3.5, endSec: 6 }]);
  assert.equal(probe(v).streams.length, 1);
  assert.ok(videoPackets(v)[0]?.key);
  assert.equal(decodeErrors(v), '');
  const hevc = await trimFile('hevc.mp4', [{ startSec: 1.5, endSec: 3 }]);
  assert.ok(videoPackets(hevc)[0]?.key, 'HEVC starts on its keyframe');
  assert.equal(decodeErrors(hevc), '');
  const all = await trimFile('av.mp4', [{ startSec: 3, endSec: 9 }], true);
  assert.equal(probe(all).streams.length, 2);
  assert.equal(decodeErrors(all), '');
});

test('trimMovie: the same samples as the trimmed file, offsets into the source', async () => {
  const movie = await movieOf('av.mp4');
  const clips = [{ startSec: 3, endSec: 7 }, { startSec: 11, endSec: 13 }];
  const tm = trimMovie(movie, clips, { allTracks: false });
  assert.ok(tm);
  const out = await trimFile('av.mp4', clips);
  const r = fileReader(out);
  const parsed = await parseMovie(r.read, r.size);
  const src = fileReader(mediaFile('av.mp4'));
  assert.equal(tm.tracks.length, parsed.tracks.length);
  for (let k = 0; k < tm.tracks.length; k++) {
    const a: SampleTable | undefined = tm.tracks[k]?.samples;
    const b: SampleTable | undefined = parsed.tracks[k]?.samples;
    assert.ok(a && b);
    assert.equal(a.count, b.count);
    assert.deepEqual([...a.size], [...b.size]);
    assert.deepEqual([...a.dts], [...b.dts]);
    assert.deepEqual([...a.sync], [...b.sync]);
    for (const i of [0, 1, a.count >> 1, a.count - 1]) {
      assert.deepEqual(await src.read(a.offset[i] as number, a.size[i] as number), await r.read(b.offset[i] as number, b.size[i] as number), `track ${k} sample ${i}`);
    }
  }
  assert.ok(Math.abs(tm.durationSec - parsed.durationSec) < 0.05, `${tm.durationSec} vs ${parsed.durationSec}`);
  assert.equal(tm.moov.toString('latin1', 4, 8), 'moov');
});

test('negative composition offsets (ctts v1) and a delayed audio track survive trimming', async () => {
  const neg = await trimFile('negcts.mp4', [{ startSec: 1.5, endSec: 3.5 }]);
  assert.ok(videoPackets(neg)[0]?.key);
  assert.equal(decodeErrors(neg), '');
  assert.ok(Math.abs(probe(neg).duration - 2.5) < 0.1, String(probe(neg).duration));
  // From 0: the audio's 0.976 s lead is kept as an empty edit; from 2 s: both tracks start together.
  const startOf = (path: string): number => Number(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', path], { encoding: 'utf8' }));
  const head = await trimFile('delayed.mp4', [{ startSec: 0, endSec: 4 }]);
  assert.ok(Math.abs(startOf(head) - startOf(mediaFile('delayed.mp4'))) < 0.002, `audio starts at ${startOf(head)}`);
  assert.equal(decodeErrors(head), '');
  const mid = await trimFile('delayed.mp4', [{ startSec: 2, endSec: 5 }]);
  assert.ok(Math.abs(startOf(mid)) < 0.03, `audio starts at ${startOf(mid)}`);
  assert.equal(decodeErrors(mid), '');
});

test('AllTracks: OFF keeps only video and audio, ON keeps the subtitle track too', async () => {
  const movie = await movieOf('subs.mp4');
  assert.deepEqual(movie.tracks.map((t) => t.kind), ['video', 'other']);
  const off = await trimFile('subs.mp4', [{ startSec: 1, endSec: 4 }], false);
  assert.deepEqual(probe(off).streams.map((s) => s.codec_type), ['video']);
  const on = await trimFile('subs.mp4', [{ startSec: 1, endSec: 4 }], true);
  assert.deepEqual(probe(on).streams.map((s) => s.codec_type), ['video', 'subtitle']);
  assert.equal(decodeErrors(on), '');
  assert.equal(trimMovie(movie, [{ startSec: 1, endSec: 4 }], { allTracks: true })?.tracks.length, 2);
});
