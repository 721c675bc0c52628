/**
 * Issue 22 bandwidth throttling through a real Flint (1 worker): a 1 Mbps MP4 (`1000x`: bitrate read from the file)
 * at Ratio 100 and Boost 5 arrives within 10% of header + 5 s + t seconds' worth at every second of a 20 s download
 * (the per-second table is logged); an MP3's bitrate is read from its frames; query parameters override the rule and
 * leave the cache key and the origin request; requests no rule matches, and `no` rules, go at full speed; clients
 * that go away mid-pacing are counted and leave the worker serving; /stats and /metrics count throttled responses
 * and bytes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import type { ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHit, patternBody, reply, seenFor, startCacheFlint, waitFor } from '../helpers/cache.js';
import type { CacheFlint } from '../helpers/cache.js';
import { request } from '../helpers/http.js';
import type { TestOrigin } from '../helpers/origin.js';
import { startRoutedOrigin } from '../helpers/cache.js';
import { FlintProcess, serverXml } from '../helpers/flint.js';
import { readMp3 } from '../helpers/media-mp3.js';
import { freePort } from '../helpers/ports.js';
import { makeCert } from '../helpers/tls.js';

const HOST = 'video.test';
const TYPES = { 'cache-control': 'max-age=3600' };

/** A 40 s 1 Mbps CBR H.264 MP4 with moov first. */
function makeMp4(dir: string): Buffer {
  const path = join(dir, 'v1m.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '40', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '1M', '-minrate', '1M', '-maxrate', '1M', '-bufsize', '250k', '-x264-params', 'nal-hrd=cbr', '-g', '50', '-movflags', '+faststart', path]);
  return readFileSync(path);
}

/** End of the moov box of a faststart MP4 (the header Flint sends unpaced). */
function moovEnd(mp4: Buffer): number {
  let at = 0;
  while (at + 8 <= mp4.length) {
    const size = mp4.readUInt32BE(at);
    if (mp4.toString('latin1', at + 4, at + 8) === 'moov') return at + size;
    at += size;
  }
  throw new Error('no moov');
}

interface Timeline {
  /** Cumulative body bytes at each whole second after the first body byte (index 0 = 1 s). */
  readonly perSecond: number[];
  readonly total: number;
  readonly status: number;
}

/** GETs `path` for `seconds` (or to the end), sampling the body bytes received at each whole second. */
function download(port: number, path: string, seconds: number): Promise<Timeline> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | null = null;
    req = get({ host: '127.0.0.1', port, path, headers: { host: HOST }, agent: false }, (res) => {
      let total = 0;
      let firstAt = 0;
      const perSecond: number[] = [];
      let timer: NodeJS.Timeout | null = null;
      const finish = (): void => {
        if (timer !== null) clearInterval(timer);
        timer = null;
        resolve({ perSecond, total, status: res.statusCode ?? 0 });
      };
      res.on('data', (chunk: Buffer) => {
        if (firstAt === 0) {
          firstAt = performance.now();
          timer = setInterval(() => {
            perSecond.push(total);
            if (perSecond.length >= seconds) {
              req?.destroy();
              finish();
            }
          }, 1000);
        }
        total += chunk.length;
      });
      res.on('end', finish);
      res.on('error', () => undefined);
    });
    req.on('error', (error) => (req?.destroyed ? undefined : reject(error)));
  });
}

async function timedGet(port: number, path: string): Promise<{ seconds: number; bytes: number; status: number }> {
  const t0 = performance.now();
  const res = await request({ port, host: HOST, path });
  return { seconds: (performance.now() - t0) / 1000, bytes: res.body.length, status: res.status };
}

describe('bandwidth throttling', () => {
  let dir: string;
  let origin: TestOrigin;
  let f: CacheFlint;
  let mp4: Buffer;
  let mp3: Buffer;
  const oneMb = patternBody(1_000_000, 3);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flint-throttle-'));
    mp4 = makeMp4(dir);
    mp3 = readMp3('cbr', 30);
    origin = await startRoutedOrigin({
      '/v/movie.mp4': (_req, res) => reply(res, 200, { ...TYPES, 'content-type': 'video/mp4' }, mp4),
      '/free/movie.mp4': (_req, res) => reply(res, 200, { ...TYPES, 'content-type': 'video/mp4' }, mp4),
      '/a/song.mp3': (_req, res) => reply(res, 200, { ...TYPES, 'content-type': 'audio/mpeg' }, mp3),
      '/fixed/1mb.bin': (_req, res) => reply(res, 200, { ...TYPES, 'content-type': 'application/octet-stream' }, oneMb),
      '/other/1mb.bin': (_req, res) => reply(res, 200, { ...TYPES, 'content-type': 'application/octet-stream' }, oneMb),
    });
    const extra = `<Options>
      <BandwidthThrottling>
        <Settings><Bandwidth Unit="kbps">1000</Bandwidth><Ratio>100</Ratio><Boost>5</Boost></Settings>
        <Throttling QueryString="ON">ON</Throttling>
      </BandwidthThrottling>
      <MatchingList Target="throttling"><![CDATA[
        $URL[/free/*], no
        $URL[*.mp4], 1000x, 100, 5
        $URL[*.mp3], 500x, 100, 2
        $URL[/fixed/*], 1000, 100, 0
      ]]></MatchingList>
    </Options>`;
    f = await startCacheFlint([{ name: HOST, origin, extra }]);
  });

  after(async () => {
    await f?.flint.stop();
    await origin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('query parameters override the rule, and leave the cache key and the origin request', async (t) => {
    // boost=3600: an hour of the bitrate at full speed, i.e. the whole file now; it also fills the cache.
    const warm = await timedGet(f.port, '/v/movie.mp4?boost=3600&x=1');
    assert.equal(warm.status, 200);
    assert.equal(warm.bytes, mp4.length);
    assert.ok(warm.seconds < 2, `boost=3600 took ${warm.seconds.toFixed(2)} s`);
    const seen = seenFor(origin, '/v/movie.mp4');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.url, '/v/movie.mp4?x=1', 'the origin never sees the throttling parameters');
    const again = await request({ port: f.port, host: HOST, path: '/v/movie.mp4?x=1&bandwidth=9999&boost=3600' });
    assert.ok(isHit(again), 'the same key without the parameters: a hit');
    // ratio=400 of 1000 kbps, no boost: 1 MB at 500 KB/s = 2 s.
    await timedGet(f.port, '/fixed/1mb.bin?boost=3600');
    const fast = await timedGet(f.port, '/fixed/1mb.bin?ratio=400');
    t.diagnostic(`ratio=400: ${fast.seconds.toFixed(2)} s (expect 2.00)`);
    assert.equal(fast.bytes, oneMb.length);
    assert.ok(fast.seconds > 1.8 && fast.seconds < 2.3, `ratio=400 took ${fast.seconds.toFixed(2)} s`);
    // Invalid values are ignored: the rule's 1000 kbps, no boost: 8 s would be too long for this test, so only its start.
    const slow = await download(f.port, '/fixed/1mb.bin?ratio=abc&bandwidth=-5', 2);
    t.diagnostic(`invalid overrides, 2 s: ${slow.perSecond.join(', ')} bytes`);
    assert.ok((slow.perSecond[1] ?? 0) < 300_000, 'still paced at the rule\'s 125 KB/s');
  });

  test('requests no rule matches, and `no` rules, go at full speed', async () => {
    for (const path of ['/other/1mb.bin', '/other/1mb.bin', '/free/movie.mp4', '/free/movie.mp4']) {
      const r = await timedGet(f.port, path);
      assert.equal(r.status, 200);
      assert.ok(r.seconds < 1, `${path}: ${r.seconds.toFixed(2)} s`);
    }
  });

  test('1000x on a 1 Mbps MP4, Ratio 100, Boost 5: within 10% of the expected bytes at each second of 20', async (t) => {
    const bitrate = (mp4.length * 8) / 40;
    const header = moovEnd(mp4);
    const got = await download(f.port, '/v/movie.mp4', 20);
    assert.equal(got.status, 200);
    t.diagnostic(`bitrate ${Math.round(bitrate)} bit/s, header ${header} bytes`);
    t.diagnostic('  s   received   expected   error');
    got.perSecond.forEach((bytes, i) => {
      const expected = header + (bitrate / 8) * (5 + i + 1);
      const error = (bytes - expected) / expected;
      t.diagnostic(`${String(i + 1).padStart(3)} ${String(bytes).padStart(10)} ${String(Math.round(expected)).padStart(10)} ${(error * 100).toFixed(1).padStart(6)}%`);
    });
    assert.equal(got.perSecond.length, 20);
    got.perSecond.forEach((bytes, i) => {
      const expected = header + (bitrate / 8) * (5 + i + 1);
      assert.ok(Math.abs(bytes - expected) <= expected * 0.1, `second ${i + 1}: ${bytes} bytes, expected ${Math.round(expected)}`);
    });
  });

  test('500x on a 128 kbps MP3: the frames\' bitrate, not the fallback', async (t) => {
    await timedGet(f.port, '/a/song.mp3?boost=3600');
    const got = await download(f.port, '/a/song.mp3', 4);
    // ID3 tag + Info frame, then 2 s of boost and 16 KB/s.
    const expected = (s: number): number => 16_000 * (2 + s);
    t.diagnostic(`mp3: ${got.perSecond.join(', ')} bytes; expected about ${[1, 2, 3, 4].map(expected).join(', ')} + header`);
    for (const [i, bytes] of got.perSecond.entries()) {
      assert.ok(Math.abs(bytes - expected(i + 1)) <= expected(i + 1) * 0.15, `second ${i + 1}: ${bytes}`);
    }
  });

  test('HEAD is answered at once; a Range request is paced at the rule\'s fallback (no file start to read)', async (t) => {
    await timedGet(f.port, '/v/movie.mp4?boost=3600');
    const t0 = performance.now();
    const head = await request({ port: f.port, host: HOST, path: '/v/movie.mp4', method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.ok(performance.now() - t0 < 1000);
    // bytes=1000000-: 1000 kbps fallback with 5 s of boost (625,000 bytes) at once, then 125 KB/s.
    const got = await new Promise<number[]>((resolve, reject) => {
      const req = get({ host: '127.0.0.1', port: f.port, path: '/v/movie.mp4', headers: { host: HOST, range: 'bytes=1000000-' }, agent: false }, (res) => {
        assert.equal(res.statusCode, 206);
        let total = 0;
        const samples: number[] = [];
        const timer = setInterval(() => {
          samples.push(total);
          if (samples.length === 2) {
            clearInterval(timer);
            req.destroy();
            resolve(samples);
          }
        }, 1000);
        res.on('data', (c: Buffer) => (total += c.length));
        res.on('error', () => undefined);
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    });
    t.diagnostic(`206 from 1,000,000: ${got.join(', ')} bytes at 1 s, 2 s`);
    for (const [i, bytes] of got.entries()) {
      const expected = 625_000 + 125_000 * (i + 1);
      assert.ok(Math.abs(bytes - expected) <= expected * 0.1, `second ${i + 1}: ${bytes}, expected ${expected}`);
    }
  });

  test('paced clients that go away are counted and the worker keeps serving; /stats and /metrics count throttling', async () => {
    const before = ((await f.flint.stats()).vhosts[HOST] ?? {}) as unknown as Record<string, number>;
    const gone = await Promise.all(Array.from({ length: 20 }, () => download(f.port, '/fixed/1mb.bin', 1)));
    assert.ok(gone.every((g) => g.total < oneMb.length));
    const stats = await waitFor('20 aborted transactions', async () => {
      const v = (await f.flint.stats()).vhosts[HOST] as unknown as Record<string, number>;
      return (v.aborted ?? 0) - (before.aborted ?? 0) >= 20 ? v : undefined;
    });
    assert.ok((stats.throttledResponses ?? 0) - (before.throttledResponses ?? 0) >= 20);
    assert.ok((stats.throttledBytes ?? 0) > 0);
    const quick = await timedGet(f.port, '/other/1mb.bin');
    assert.ok(quick.seconds < 1);
    const metrics = await fetch(`http://127.0.0.1:${f.flint.managerPort}/metrics`).then((r) => r.text());
    assert.match(metrics, new RegExp(`flint_throttled_responses_total\\{vhost="${HOST}"\\} [1-9]`));
    assert.match(metrics, new RegExp(`flint_throttled_bytes_total\\{vhost="${HOST}"\\} [1-9]`));
  });
});

describe('bandwidth throttling over TLS (node:http2 engine: HTTP/2 and HTTP/1.1)', () => {
  let dir: string;
  let origin: TestOrigin;
  let flint: FlintProcess;
  let tlsPort: number;
  const oneMb = patternBody(1_000_000, 4);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flint-throttle-tls-'));
    const cert = makeCert(dir, 't', [HOST]);
    origin = await startRoutedOrigin({ '/fixed/1mb.bin': (_req, res) => reply(res, 200, { ...TYPES, 'content-type': 'application/octet-stream' }, oneMb) });
    const port = await freePort();
    tlsPort = await freePort();
    flint = await FlintProcess.start(({ dir: d, managerPort }) => ({
      server: serverXml({ managerPort, dir: d, workers: 1 }),
      vhosts: `<Vhosts><Vhost Name="${HOST}"><Listen>127.0.0.1:${port}</Listen><Https Listen="127.0.0.1:${tlsPort}"><Cert>${cert.cert}</Cert><Key>${cert.key}</Key></Https>
        <Origin><Address>${origin.address}</Address></Origin>
        <Options><BandwidthThrottling><Throttling QueryString="ON">ON</Throttling></BandwidthThrottling>
        <MatchingList Target="throttling"><![CDATA[ $URL[/fixed/*], 1000, 400, 0 ]]></MatchingList></Options></Vhost></Vhosts>`,
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('1 MB at 1000 kbps x 400% (500 KB/s) takes 2 s over HTTP/2 and over HTTP/1.1', async (t) => {
    const run = (args: string[]): Promise<string> =>
      new Promise((resolve, reject) => execFile('curl', ['-sk', ...args, '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', '--resolve', `${HOST}:${tlsPort}:127.0.0.1`], { timeout: 20_000 }, (error, stdout) => (error === null ? resolve(stdout) : reject(error))));
    await run(['--http1.1', `https://${HOST}:${tlsPort}/fixed/1mb.bin?boost=3600`]);
    for (const flag of ['--http2', '--http1.1']) {
      const [status, size, seconds] = (await run([flag, `https://${HOST}:${tlsPort}/fixed/1mb.bin`])).split(' ').map(Number) as [number, number, number];
      t.diagnostic(`${flag}: ${seconds.toFixed(2)} s (expect 2.00)`);
      assert.equal(status, 200);
      assert.equal(size, oneMb.length);
      assert.ok(seconds > 1.8 && seconds < 2.4, `${flag}: ${seconds.toFixed(2)} s`);
    }
  });
});
