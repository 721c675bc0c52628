/**
 * Trimming (issue 22) through a real Flint and a real loopback origin, media made by ffmpeg at test time:
 * `?start=&end=` on MP4, M4A and MP3 (CBR and VBR) gives a complete file of the clip's length that ffprobe reads and
 * ffmpeg decodes without an error, starting on a keyframe; Range on it is 206; `?trimming=` joins clips within
 * MaxRatio (beyond it: 400); HLS of a clip (`index.m3u8?start=&end=`) plays through ffmpeg; the original is fetched
 * and cached once for all of its clips.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { MediaOrigin, firstVideoFrame, makeMedia, playThrough, probe } from '../helpers/media.js';
import { freePort } from '../helpers/ports.js';

const MEDIA = `<Media>
  <UpfrontMP4Header>ON</UpfrontMP4Header>
  <MP4Trimming MaxRatio="50">ON</MP4Trimming>
  <M4ATrimming>ON</M4ATrimming>
  <MP3Trimming>ON</MP3Trimming>
  <MP4HLS Status="Active" Keyword="mp4hls"><Duration>4</Duration></MP4HLS>
</Media>`;

describe('media: trimming', () => {
  let origin: MediaOrigin;
  let flint: FlintProcess;
  let port: number;
  let slowPort: number;
  let video: Buffer;

  const get = (path: string, headers: Record<string, string> = {}): Promise<TestResponse> => request({ port, host: 'trim.test', path, headers });
  const near = (actual: string | number | undefined, expected: number, tolerance: number, what: string): void => {
    assert.ok(Math.abs(Number(actual) - expected) <= tolerance, `${what}: ${actual} not within ${tolerance} of ${expected}`);
  };

  before(async () => {
    const [mp4, m4a, cbr, vbr] = await Promise.all([makeMedia('mp4-moov-end', 20), makeMedia('m4a-moov-end', 20), makeMedia('mp3-cbr', 20), makeMedia('mp3-vbr', 20)]);
    video = mp4;
    origin = await MediaOrigin.start();
    origin.add('/v.mp4', mp4, 'video/mp4');
    origin.add('/a.m4a', m4a, 'audio/mp4');
    origin.add('/cbr.mp3', cbr, 'audio/mpeg');
    origin.add('/vbr.mp3', vbr, 'audio/mpeg');
    [port, slowPort] = [await freePort(), await freePort()];
    const throttled = `${MEDIA}<Options><BandwidthThrottling><Throttling>ON</Throttling></BandwidthThrottling>
      <MatchingList Target="throttling"><![CDATA[ $URL[*.mp4], 1000x, 400, 0 ]]></MatchingList></Options>`;
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 1 }),
      vhosts: vhostXml([
        { name: 'trim.test', port, origin: origin.address, extra: MEDIA },
        { name: 'slow.test', port: slowPort, origin: origin.address, extra: throttled },
      ]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('MP4 ?start=&end=: a complete file of the clip, moov first, starting on a keyframe; Range gives 206', async () => {
    const res = await get('/v.mp4?start=4&end=10');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'video/mp4');
    assert.ok(res.body.length < video.length / 2, `${res.body.length} bytes of ${video.length}`);
    const info = await probe(res.body);
    assert.equal(info.format.nb_streams, 2);
    near(info.format.duration, 6, 0.5, 'duration');
    assert.equal((await firstVideoFrame(res.body, 'mp4'))?.keyframe, true);
    const part = await get('/v.mp4?start=4&end=10', { range: 'bytes=100-4099' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 100-4099/${res.body.length}`);
    assert.ok(part.body.equals(res.body.subarray(100, 4100)));
    const other = await get('/v.mp4?start=2&end=10');
    assert.notEqual(other.headers.etag, res.headers.etag, 'each clip its own validator');
    assert.ok(origin.sentFor('/v.mp4') <= video.length, 'the original fetched once for every clip');
    const stats = await flint.stats();
    assert.ok((stats.vhosts['trim.test']?.mediaTrim ?? 0) >= 3);
  });

  test('MP4 ?trimming= joins clips within MaxRatio; beyond it 400', async () => {
    const res = await get('/v.mp4?trimming=2-6,10-14');
    assert.equal(res.status, 200);
    near((await probe(res.body)).format.duration, 8, 0.6, 'joined duration');
    await playThrough(`http://127.0.0.1:${port}/v.mp4?trimming=2-6,10-14`, ['-headers', 'Host: trim.test\r\n']);
    const over = await get('/v.mp4?trimming=0-6,8-14');
    assert.equal(over.status, 400);
  });

  test('a clip past the end of the file is 400', async () => {
    assert.equal((await get('/v.mp4?start=500')).status, 400);
  });

  test('M4A ?start=&end=', async () => {
    const res = await get('/a.m4a?start=5&end=10');
    assert.equal(res.status, 200);
    const info = await probe(res.body, 'm4a');
    assert.equal(info.format.nb_streams, 1);
    near(info.format.duration, 5, 0.2, 'duration');
  });

  for (const name of ['cbr', 'vbr']) {
    test(`MP3 (${name}) ?start=&end=: ffprobe length, ffmpeg decodes without an error, Range 206`, async () => {
      const res = await get(`/${name}.mp3?start=3&end=9`);
      assert.equal(res.status, 200);
      const info = await probe(res.body, 'mp3');
      near(info.format.duration, 6, 0.2, 'duration');
      const errors = await playThrough(`http://127.0.0.1:${port}/${name}.mp3?start=3&end=9`, ['-headers', 'Host: trim.test\r\n']);
      assert.equal(errors.trim(), '');
      const part = await get(`/${name}.mp3?start=3&end=9`, { range: 'bytes=10-109' });
      assert.equal(part.status, 206);
      assert.ok(part.body.equals(res.body.subarray(10, 110)));
    });
  }

  test('HLS of a clip: the playlist lasts the clip, its URIs carry the clip, ffmpeg plays it', async () => {
    const playlist = await get('/v.mp4/mp4hls/index.m3u8?start=4&end=12');
    assert.equal(playlist.status, 200);
    const text = playlist.body.toString();
    const total = [...text.matchAll(/#EXTINF:([\d.]+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    near(total, 8, 0.5, 'playlist duration');
    assert.ok(text.includes('0.ts?start=4&end=12'), text);
    const errors = await playThrough(`http://127.0.0.1:${port}/v.mp4/mp4hls/index.m3u8?start=4&end=12`, ['-headers', 'Host: trim.test\r\n']);
    assert.equal(errors.trim(), '');
  });

  test('a trimmed file is paced at its own bitrate x Ratio under <BandwidthThrottling> (1000x: read from the file)', async () => {
    const fast = await get('/v.mp4?start=4&end=12');
    const started = performance.now();
    const slow = await request({ port: slowPort, host: 'slow.test', path: '/v.mp4?start=4&end=12' });
    const seconds = (performance.now() - started) / 1000;
    assert.ok(slow.body.equals(fast.body));
    // ~8 s of media at 400%: about 2 s; the 1000 kbps fallback would take a third of a second.
    assert.ok(seconds > 1.2 && seconds < 8, `${seconds.toFixed(2)} s`);
  });
});
