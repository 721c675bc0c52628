/**
 * Media (issue 22) through a real Flint and a real loopback origin, with media made by ffmpeg at test time: an MP4
 * whose moov follows mdat is served moov first (ffprobe reads it; Range, HEAD and If-None-Match on the relocated
 * layout); relocating a large (200 MiB, padded) moov-at-end file fetches only the blocks of its index and of what is
 * served; a faststart file and a file that is no MP4 pass through unchanged (the latter logged once); trim
 * parameters never reach the origin nor the cache key; malformed ones get 400 before any origin request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { MediaOrigin, makeMedia, paddedMp4, probe, topBoxes } from '../helpers/media.js';
import { freePort } from '../helpers/ports.js';

const MiB = 1024 * 1024;
const MEDIA = `<Media>
  <UpfrontMP4Header>ON</UpfrontMP4Header>
  <UpfrontM4AHeader>ON</UpfrontM4AHeader>
  <MP4Trimming MaxRatio="50">ON</MP4Trimming>
  <M4ATrimming>ON</M4ATrimming>
  <MP3Trimming>ON</MP3Trimming>
</Media>`;

describe('media: MP4 header relocation and routing', () => {
  let origin: MediaOrigin;
  let flint: FlintProcess;
  let port: number;
  let moovEnd: Buffer;
  let faststart: Buffer;
  let m4a: Buffer;
  const BIG_PADDING = 200 * MiB;

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<TestResponse> => request({ port, path, headers, method });

  before(async () => {
    [moovEnd, faststart, m4a] = await Promise.all([makeMedia('mp4-moov-end', 20), makeMedia('mp4-faststart', 20), makeMedia('m4a-moov-end', 20)]);
    origin = await MediaOrigin.start();
    origin.add('/v.mp4', moovEnd, 'video/mp4');
    origin.add('/big.mp4', paddedMp4(moovEnd, BIG_PADDING), 'video/mp4');
    origin.add('/fast.mp4', faststart, 'video/mp4');
    origin.add('/a.m4a', m4a, 'audio/mp4');
    origin.add('/junk.mp4', Buffer.alloc(300_000, 7), 'video/mp4');
    origin.add('/q.mp4', moovEnd, 'video/mp4');
    origin.add('/s.mp4', moovEnd, 'video/mp4', 'max-age=1');
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 1 }),
      vhosts: vhostXml([{ name: 'example.com', port, origin: origin.address, extra: MEDIA }], 'example.com'),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('a moov-at-end MP4 is served moov first; ffprobe reads it whole', async () => {
    assert.ok(topBoxes(moovEnd).findIndex((b) => b.type === 'moov') > topBoxes(moovEnd).findIndex((b) => b.type === 'mdat'), 'test file has moov last');
    const res = await get('/v.mp4');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'video/mp4');
    assert.equal(Number(res.headers['content-length']), res.body.length);
    assert.ok(res.body.subarray(0, 64 * 1024).includes('moov'), 'moov in the first 64 KiB');
    const boxes = topBoxes(res.body).map((b) => b.type);
    assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `boxes ${boxes.join(',')}`);
    const info = await probe(res.body);
    assert.equal(info.format.nb_streams, 2);
    assert.ok(Math.abs(Number(info.format.duration) - 20) < 0.5, `duration ${info.format.duration}`);
    assert.notEqual(res.headers.etag, origin.files.get('/v.mp4')?.etag, 'its own validator');
    const stats = await flint.stats();
    assert.ok((stats.vhosts['example.com']?.mediaRelocate ?? 0) >= 1, 'counted');
  });

  test('Range, HEAD and If-None-Match work on the relocated layout', async () => {
    const whole = await get('/v.mp4');
    const part = await get('/v.mp4', { range: 'bytes=1000-70999' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 1000-70999/${whole.body.length}`);
    assert.ok(part.body.equals(whole.body.subarray(1000, 71000)));
    const tail = await get('/v.mp4', { range: 'bytes=-5000' });
    assert.equal(tail.status, 206);
    assert.ok(tail.body.equals(whole.body.subarray(whole.body.length - 5000)));
    const multi = await get('/v.mp4', { range: 'bytes=0-9,100-109' });
    assert.equal(multi.status, 206);
    assert.match(String(multi.headers['content-type']), /^multipart\/byteranges/);
    const head = await get('/v.mp4', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers['content-length']), whole.body.length);
    assert.equal(head.body.length, 0);
    const again = await get('/v.mp4', { 'if-none-match': String(whole.headers.etag) });
    assert.equal(again.status, 304);
    const beyond = await get('/v.mp4', { range: `bytes=${whole.body.length + 10}-` });
    assert.equal(beyond.status, 416);
  });

  test('an M4A with moov at the end is relocated too', async () => {
    const res = await get('/a.m4a');
    assert.equal(res.status, 200);
    assert.ok(res.body.subarray(0, 64 * 1024).includes('moov'));
    const info = await probe(res.body, 'm4a');
    assert.equal(info.format.nb_streams, 1);
  });

  test('relocating a 200 MiB moov-at-end file fetches only its index blocks and what is served', async () => {
    const size = origin.files.get('/big.mp4')?.body.size ?? 0;
    const res = await get('/big.mp4', { range: 'bytes=0-65535' });
    assert.equal(res.status, 206);
    assert.ok(res.body.includes('moov'), 'moov first');
    const total = Number(String(res.headers['content-range']).split('/')[1]);
    assert.ok(total > BIG_PADDING && total <= size, `relocated size ${total}`);
    const sent = origin.sentFor('/big.mp4');
    const moovBytes = topBoxes(moovEnd).find((b) => b.type === 'moov')?.size ?? 0;
    // Block 0 (ftyp, the free box header), the block of the mdat header, the moov's blocks, the first served mdat block.
    const bound = (Math.ceil(moovBytes / MiB) + 4) * MiB;
    assert.ok(sent <= bound, `origin sent ${sent} bytes of a ${size}-byte file (bound ${bound})`);
    // Later bytes are fetched as they are served, never the whole file.
    const later = await get('/big.mp4', { range: `bytes=${total - 1000}-${total - 1}` });
    assert.equal(later.status, 206);
    assert.equal(later.body.length, 1000);
    assert.ok(origin.sentFor('/big.mp4') <= bound + 2 * MiB, `origin sent ${origin.sentFor('/big.mp4')}`);
    // A real reader over HTTP (ffprobe reads the moov, then seeks to the first samples, past the padding).
    const info = await probe(`http://127.0.0.1:${port}/big.mp4`);
    assert.equal(info.format.nb_streams, 2);
    assert.ok(origin.sentFor('/big.mp4') <= bound + 6 * MiB, `origin sent ${origin.sentFor('/big.mp4')} after ffprobe`);
  });

  test('an expired original is revalidated, then relocated again; a new version is parsed afresh', async () => {
    const first = await get('/s.mp4');
    assert.ok(first.body.subarray(0, 64 * 1024).includes('moov'));
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const revalidated = await get('/s.mp4');
    assert.equal(revalidated.status, 200);
    assert.ok(revalidated.body.equals(first.body), 'same relocated bytes after a 304');
    assert.equal(revalidated.headers.etag, first.headers.etag);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    // The origin now has the faststart version: served as it is (no index of the old version is reused).
    origin.add('/s.mp4', faststart, 'video/mp4', 'max-age=1', '"v2"');
    const changed = await get('/s.mp4');
    assert.equal(changed.status, 200);
    assert.ok(changed.body.equals(faststart), 'the new version, unchanged');
  });

  test('a faststart file is served unchanged', async () => {
    const res = await get('/fast.mp4');
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(faststart));
  });

  test('a file that is no MP4 passes through unchanged, logged once', async () => {
    const first = await get('/junk.mp4');
    const second = await get('/junk.mp4');
    assert.equal(first.status, 200);
    assert.ok(first.body.equals(Buffer.alloc(300_000, 7)));
    assert.ok(second.body.equals(first.body));
    await flint.waitForLog((l) => (l as { event?: string }).event === 'media.unparsable');
    assert.equal(flint.logs.filter((l) => (l as { event?: string }).event === 'media.unparsable').length, 1);
    const stats = await flint.stats();
    assert.equal(stats.vhosts['example.com']?.mediaFailures, 1);
  });

  test('trim parameters never reach the origin, and all their variants share one cached original', async () => {
    await get('/q.mp4?start=2&end=6&x=1');
    await get('/q.mp4?start=4&x=1');
    await get('/q.mp4?trimming=1-3,5-8&x=1');
    const urls = origin.urls.filter((u) => u.startsWith('/q.mp4'));
    assert.ok(urls.length >= 1);
    for (const url of urls) assert.equal(url, '/q.mp4?x=1', 'only the other parameters go to the origin');
    // One original: the origin sent at most the file once.
    assert.ok(origin.sentFor('/q.mp4') <= moovEnd.length, `origin sent ${origin.sentFor('/q.mp4')}`);
  });

  const BAD: ReadonlyArray<[string, string]> = [
    ['non-numeric', '/v.mp4?start=abc'],
    ['negative', '/v.mp4?start=-1'],
    ['start after end', '/v.mp4?start=9&end=3'],
    ['given twice', '/v.mp4?end=3&end=4'],
    ['overlapping clips', '/v.mp4?trimming=1-5,4-8'],
    ['too many clips', `/v.mp4?trimming=${Array.from({ length: 33 }, (_, i) => `${i * 2}-${i * 2 + 1}`).join(',')}`],
    ['exponent', '/v.mp4?end=1e3'],
    ['mp3 with bad end', '/x.mp3?end=x'],
  ];
  for (const [name, path] of BAD) {
    test(`400 before any origin request: ${name}`, async () => {
      const before = origin.urls.length;
      const res = await get(path);
      assert.equal(res.status, 400);
      assert.ok(res.body.length < 200, 'short body');
      assert.equal(origin.urls.length, before, 'no origin request');
    });
  }

  test('/metrics and the access log name the media kind', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${flint.managerPort}/metrics`)).text();
    assert.match(metrics, /flint_media_requests_total\{vhost="example.com",kind="relocate"\} [1-9]/);
    assert.match(metrics, /flint_media_failures_total\{vhost="example.com"\} 1/);
    const lines = flint.accessLog().filter((l) => l.url === '/v.mp4');
    assert.ok(lines.length > 0 && lines.every((l) => l.media === 'relocate'), JSON.stringify(lines[0]));
  });
});
