/**
 * Media (issue 22) with 2 workers: many clients at once asking for segments, playlists, relocated bytes and clips of
 * one uncached 100 MiB (padded) moov-at-end MP4 all get correct answers, and each block of the original is fetched
 * from the origin once across workers (block leases), so the origin sends its index and the samples asked for,
 * not the file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { request } from '../helpers/http.js';
import { MediaOrigin, makeMedia, paddedMp4, probe } from '../helpers/media.js';
import { freePort } from '../helpers/ports.js';

const MiB = 1024 * 1024;
const MEDIA = `<Media>
  <UpfrontMP4Header>ON</UpfrontMP4Header>
  <MP4Trimming>ON</MP4Trimming>
  <MP4HLS Status="Active" Keyword="mp4hls"><Duration>4</Duration></MP4HLS>
</Media>`;

describe('media: 2 workers, concurrent clients of one uncached file', () => {
  let origin: MediaOrigin;
  let flint: FlintProcess;
  let port: number;

  before(async () => {
    const video = await makeMedia('mp4-moov-end', 20);
    origin = await MediaOrigin.start();
    origin.add('/c.mp4', paddedMp4(video, 100 * MiB), 'video/mp4');
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 2 }),
      vhosts: vhostXml([{ name: 'w.test', port, origin: origin.address, extra: MEDIA }]),
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('24 clients at once: right answers, each block fetched once', async () => {
    const paths = ['/c.mp4/mp4hls/index.m3u8', '/c.mp4/mp4hls/0.ts', '/c.mp4/mp4hls/2.ts', '/c.mp4?start=4&end=8'];
    const all = await Promise.all(Array.from({ length: 24 }, (_, i) => request({ port, host: 'w.test', path: paths[i % paths.length] as string, agent: false })));
    for (const [i, res] of all.entries()) assert.equal(res.status, 200, `${paths[i % paths.length]}: ${res.status}`);
    for (let i = paths.length; i < all.length; i++) {
      assert.ok((all[i]?.body as Buffer).equals(all[i % paths.length]?.body as Buffer), `${paths[i % paths.length]} differs between clients`);
    }
    assert.equal((await probe(all[3]?.body as Buffer)).format.nb_streams, 2);
    const sent = origin.sentFor('/c.mp4');
    // Its index (block 0, the mdat header's block, the moov's blocks) and the samples of 20 s (under 1 MiB): each once.
    assert.ok(sent <= 6 * MiB, `origin sent ${sent} bytes of a ${100 * MiB}-byte file`);
  });
});
