// Unit tests of DIMS conversion (transform/dims/run.ts) and its limiter (limiter.ts) with real images made by sharp
// at test time: every result is decoded (sharp metadata) for its format and size, not trusted by status. Bad
// inputs: a truncated JPEG, a PNG whose header claims 20000x20000 (MaxPixels, refused before any decode), an
// animated GIF (limit, firstframeonly), a chain that would blow up the output, a deadline already passed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import type { DimsAnnotationConfig } from '../../src/config/types.js';
import { DimsError } from '../../src/transform/dims/failure.js';
import { runChain } from '../../src/transform/dims/run.js';
import type { CompositeAsset, RunContext } from '../../src/transform/dims/run.js';
import { DimsBusyError, DimsLimiter } from '../../src/transform/dims/limiter.js';
import { parseDimsPath } from '../../src/transform/dims/url.js';
import type { DimsChain, DimsNames, OutputFormat } from '../../src/transform/dims/url.js';

const NAMES: DimsNames = { keyword: 'dims', composites: new Set(['logo']), annotations: new Set(['title', 'who']), byOriginal: new Set(['big']) };

async function jpeg(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 40 } } }).jpeg().toBuffer();
}

async function context(overrides: Partial<RunContext> = {}): Promise<RunContext> {
  const logo: CompositeAsset = {
    image: await sharp({ create: { width: 50, height: 20, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 1 } } }).png().toBuffer(),
    gravity: 'se',
    x: 10,
    y: 10,
    percent: false,
    dissolve: 50,
  };
  const note = (name: string, text: string | null, queryKey: string | null): DimsAnnotationConfig => ({ name, text, queryKey, font: 'sans', fontSize: 20, fontColor: '#ffffff', backgroundColor: null, gravity: 'n', x: 0, y: 5, percent: false, dissolve: 100 });
  return {
    names: NAMES,
    maxPixels: 50_000_000,
    firstFrameOnly: false,
    composites: new Map([['logo', logo]]),
    annotations: new Map([
      ['title', note('title', 'Flint <&> edge', null)],
      ['who', note('who', null, 'name')],
    ]),
    byOriginal: new Map([['big', [{ width: 1000, height: 1000, chain: '/resize/100x/' }, { width: 1, height: 1, chain: '/resize/50x/' }]]]),
    query: 'name=%3Cb%3Ebold',
    deadline: Date.now() + 30_000,
    ...overrides,
  };
}

function chain(ops: string): DimsChain {
  const parsed = parseDimsPath(`/x.img/dims/${ops}`, NAMES);
  assert.equal(parsed.kind, 'dims', ops);
  return (parsed as { chain: DimsChain }).chain;
}

/** The converted bytes of `ops` over `source` (format from the chain). */
async function bodyOf(source: Buffer, ops: string): Promise<Buffer> {
  const c = chain(ops);
  return (await runChain(source, c, c.format === 'auto' ? null : c.format, await context())).body;
}

async function convert(source: Buffer, ops: string, format: OutputFormat | null = null, ctx?: RunContext): Promise<Metadata & { bytes: number }> {
  const c = chain(ops);
  const result = await runChain(source, c, format ?? (c.format === 'auto' ? null : c.format), ctx ?? (await context()));
  const meta = await sharp(result.body, { pages: -1 }).metadata();
  assert.equal(meta.format === 'heif' ? 'avif' : meta.format, result.format, `${ops}: declared format`);
  assert.equal(meta.width, result.width, `${ops}: declared width`);
  return { ...meta, bytes: result.body.length };
}

test('geometry ops give the sizes their meanings say, checked by decoding the result', async () => {
  const src = await jpeg(1600, 1200);
  const table: Array<[string, number, number, string]> = [
    ['resize/400x', 400, 300, 'jpeg'],
    ['resize/400x400', 400, 300, 'jpeg'],
    ['thumbnail/x150', 200, 150, 'jpeg'],
    ['thumbnail/100x100!', 100, 100, 'jpeg'],
    ['thumbnail/3200x3200%3E', 1600, 1200, 'jpeg'],
    ['thumbnail/25%25', 400, 300, 'jpeg'],
    ['resizef/300x100', 300, 100, 'jpeg'],
    ['resizecrop/300x300', 300, 300, 'jpeg'],
    ['resizec/2000x2000', 2000, 2000, 'jpeg'],
    ['resizec/400x400', 400, 300, 'jpeg'],
    ['extent/1000x1500', 1000, 1500, 'jpeg'],
    ['crop/100x50+10+20', 100, 50, 'jpeg'],
    ['crop/50x50%25', 800, 600, 'jpeg'],
    ['cropcenter/300x200', 300, 200, 'jpeg'],
    ['rotate/90', 1200, 1600, 'jpeg'],
    ['resize/200x/rotate/90/crop/10x10+0+0', 10, 10, 'jpeg'],
    ['resize/400x/format/png', 400, 300, 'png'],
    ['resize/400x/format/webp/quality/50', 400, 300, 'webp'],
    ['resize/64x/format/avif', 64, 48, 'avif'],
    ['resize/64x/format/gif', 64, 48, 'gif'],
    ['byoriginal/big', 100, 75, 'jpeg'],
  ];
  for (const [ops, w, h, format] of table) {
    const meta = await convert(src, ops);
    assert.deepEqual([meta.width, meta.pageHeight ?? meta.height, meta.format === 'heif' ? 'avif' : meta.format], [w, h, format], ops);
  }
  // byoriginal picks by the source's size: a small source takes the second condition.
  const small = await convert(await jpeg(200, 100), 'byoriginal/big');
  assert.deepEqual([small.width, small.height], [50, 25]);
});

test('effects change pixels as their names say', async () => {
  const src = await jpeg(200, 100);
  const gray = await sharp(await bodyOf(src, 'grayscale/true')).stats();
  const [r, g, b] = gray.channels;
  assert.ok(gray.channels.length === 1 || (Math.abs((r?.mean ?? 0) - (g?.mean ?? 0)) < 3 && Math.abs((g?.mean ?? 0) - (b?.mean ?? 0)) < 3), 'grayscale');
  const inverted = await sharp(await bodyOf(src, 'invert/true/format/png')).stats();
  assert.ok((inverted.channels[0]?.mean ?? 255) < 80 && (inverted.channels[1]?.mean ?? 0) > 180, 'invert: red becomes cyan');
  const rounded = await convert(src, 'round/30/format/png');
  assert.equal(rounded.hasAlpha, true, 'round gives transparent corners');
  const corner = await sharp(await bodyOf(src, 'round/30/format/png')).extract({ left: 0, top: 0, width: 1, height: 1 }).raw().toBuffer();
  assert.equal(corner[3], 0, 'the corner pixel is transparent');
  for (const ops of ['sepia/1', 'bright/50', 'flipflop/vertical', 'flipflop/horizontal', 'trim/true', 'composite/logo', 'annotation/title*who', 'grayscale/true/sepia/0.5', 'autorotate/on/strip/true/optimize/true']) {
    const meta = await convert(src, ops);
    assert.ok(meta.width !== undefined && meta.width > 0, ops);
  }
  // The watermark lands at the south-east corner (Gravity se, +10+10): blue there, red elsewhere.
  const marked = await sharp(await bodyOf(src, 'composite/logo/format/png')).raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number): number[] => [...marked.data.subarray((y * marked.info.width + x) * marked.info.channels, (y * marked.info.width + x) * marked.info.channels + 3)];
  assert.ok((px(200 - 10 - 25, 100 - 10 - 10)[2] ?? 0) > 100, `watermark pixel ${px(165, 80).join(',')}`);
  assert.ok((px(5, 5)[2] ?? 255) < 80, 'no watermark at the top left');
});

test('animated GIF: all frames by default, limit/N keeps N, firstframeonly keeps one, JPEG output takes the first', async () => {
  const frames = await Promise.all([1, 2, 3, 4, 5].map((i) => sharp({ create: { width: 40, height: 40, channels: 3, background: { r: i * 40, g: 200, b: 0 } } }).png().toBuffer()));
  const gif = await sharp(frames, { join: { animated: true } }).gif().toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 5);
  const table: Array<[string, number, number]> = [
    ['resize/20x', 5, 20],
    ['resize/20x/limit/2', 2, 20],
    ['firstframeonly/on/resize/20x', 1, 20],
    ['resize/20x/format/png', 1, 20],
  ];
  for (const [ops, pages, height] of table) {
    const meta = await convert(gif, ops);
    assert.deepEqual([meta.pages ?? 1, meta.pageHeight ?? meta.height], [pages, height], ops);
  }
  const firstOnly = await context({ firstFrameOnly: true });
  assert.equal((await convert(gif, 'resize/20x', null, firstOnly)).pages ?? 1, 1, 'FirstFrameOnly="ON"');
  assert.equal((await convert(gif, 'resize/20x/firstframeonly/off', null, firstOnly)).pages, 5, 'firstframeonly/off overrides it');
});

test('bad sources fail with a reason: truncated JPEG, a 20000x20000 PNG header, an unknown format, an exploding chain, a passed deadline', async () => {
  const full = await jpeg(800, 600);
  const truncated = full.subarray(0, Math.floor(full.length / 2));
  // A real 1x1 PNG whose IHDR now claims 20000x20000 (CRC fixed, so only the size is a lie).
  const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: 'white' } }).png().toBuffer());
  png.writeUInt32BE(20000, 16);
  png.writeUInt32BE(20000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
  const claimed = await sharp(png, { limitInputPixels: false }).metadata();
  assert.deepEqual([claimed.width, claimed.height], [20000, 20000]);
  const expectFailure = async (source: Buffer, ops: string, reason: string, ctx?: RunContext): Promise<void> => {
    await assert.rejects(runChain(source, chain(ops), null, ctx ?? (await context())), (err: unknown) => err instanceof DimsError && err.reason === reason, `${ops}: ${reason}`);
  };
  await expectFailure(truncated, 'resize/100x', 'corrupt');
  await expectFailure(png, 'resize/100x', 'too-many-pixels');
  await expectFailure(Buffer.from('GIF89a not really'), 'resize/100x', 'corrupt');
  await expectFailure(Buffer.from('<html>hello</html>'), 'resize/100x', 'corrupt');
  await expectFailure(await sharp({ create: { width: 10, height: 10, channels: 3, background: 'white' } }).tiff().toBuffer(), 'resize/5x', 'unsupported-format');
  await expectFailure(full, 'resize/16000x16000!/resize/16000x16000!', 'output-too-large', await context({ maxPixels: 10_000_000 }));
  await expectFailure(full, 'crop/10x10+5000+5000', 'empty-region');
  await expectFailure(full, 'resize/100x', 'timeout', await context({ deadline: Date.now() - 1 }));
  // A format op makes an otherwise unsupported source convertible.
  const tiff = await sharp({ create: { width: 10, height: 10, channels: 3, background: 'white' } }).tiff().toBuffer();
  assert.equal((await runChain(tiff, chain('format/png'), 'png', await context())).format, 'png');
});

test('limiter: bounded concurrency, a bounded queue refused at once, a deadline that frees nothing early', async () => {
  const limiter = new DimsLimiter({ concurrency: 2, queueLimit: 2, timeoutMs: 300 });
  let running = 0;
  let peak = 0;
  const releases: Array<() => void> = [];
  const job = (): Promise<string> =>
    new Promise<string>((resolve) => {
      running++;
      peak = Math.max(peak, running);
      releases.push(() => {
        running--;
        resolve('done');
      });
    });
  const results = [limiter.run(job), limiter.run(job), limiter.run(job), limiter.run(job)].map((p) => p.then((v) => v, (e: unknown) => e));
  await assert.rejects(limiter.run(job), (e: unknown) => e instanceof DimsBusyError && e.kind === 'queue-full');
  assert.equal(limiter.running, 2);
  assert.equal(limiter.queued, 2);
  assert.ok(limiter.retryAfterSec >= 1);
  // The deadline passes: running and queued callers hear of it, but the two slots stay taken until the work ends.
  const settled = await Promise.all(results);
  assert.ok(settled.every((e) => e instanceof DimsBusyError && e.kind === 'timeout'), JSON.stringify(settled));
  assert.equal(limiter.running, 2, 'slots are freed by the work, not by the deadline');
  assert.equal(limiter.queued, 0);
  for (const release of releases.splice(0)) release();
  await new Promise((r) => setImmediate(r));
  assert.equal(limiter.running, 0);
  assert.equal(peak, 2);
  assert.equal(await limiter.run(async () => 'quick'), 'quick');
});
