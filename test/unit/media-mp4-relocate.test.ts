// Unit tests of media/mp4/relocate: ffmpeg files without faststart relocated, written out and read back by ffprobe and
// ffmpeg (same streams, duration, every packet's bytes), moov in the first 64 KiB; at the box level, a 4 GiB file
// (sparse, never materialised) whose moved offsets pass 2^32 - 1 gets co64, and a co64 input stays co64.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { childBoxes, makeBox, makeFullBox } from '../../src/media/mp4/boxes.js';
import { parseMovie } from '../../src/media/mp4/parse.js';
import { relocatePlan } from '../../src/media/mp4/relocate.js';
import { MediaFormatError } from '../../src/media/types.js';
import type { Plan, RangeReader } from '../../src/media/types.js';
import { fileReader, frameMd5, mediaFile, probe, writePlan } from '../helpers/media-mp4.js';
import { FTYP, synthMoov, u32 } from '../helpers/mp4-synth.js';

async function relocateFile(name: string): Promise<{ src: string; out: string; plan: Plan }> {
  const src = mediaFile(name);
  const r = fileReader(src);
  const movie = await parseMovie(r.read, r.size);
  const plan = relocatePlan(movie);
  assert.ok(plan, 'a file with moov at the end gets a plan');
  return { src, out: writePlan(plan, src, `relocated-${name}`), plan };
}

for (const name of ['av.mp4', 'audio.m4a']) {
  test(`${name}: relocated file has moov first, same streams and duration, every packet identical`, async () => {
    const { src, out, plan } = await relocateFile(name);
    const head = readFileSync(out).subarray(0, 64 * 1024);
    assert.ok(head.includes(Buffer.from('moov')), 'moov within the first 64 KiB');
    assert.equal(plan.contentType, name.endsWith('.m4a') ? 'audio/mp4' : 'video/mp4');
    const a = probe(src);
    const b = probe(out);
    assert.deepEqual(b.streams.map((s) => s.codec_name), a.streams.map((s) => s.codec_name));
    assert.equal(b.duration, a.duration);
    assert.deepEqual(frameMd5(out), frameMd5(src));
    const r = fileReader(out);
    const again = await parseMovie(r.read, r.size);
    assert.equal(again.faststart, true);
    assert.equal(relocatePlan(again), null, 'relocating a relocated file is a no-op');
    // Only ftyp and moov are new bytes: the media data is one source range.
    assert.deepEqual(plan.parts.map((p) => ('data' in p ? p.data.toString('latin1', 4, 8) : 'src')), ['ftyp', 'moov', 'src']);
    const moovPart = plan.parts[1];
    assert.ok(moovPart && 'data' in moovPart);
    assert.ok(chunkTableType(moovPart.data).every((t) => t === 'stco'), 'small file keeps 32-bit offsets');
  });
}

test('a faststart file gives no plan', async () => {
  const r = fileReader(mediaFile('av-faststart.mp4'));
  assert.equal(relocatePlan(await parseMovie(r.read, r.size)), null);
});

/** A reader over a sparse file: the given segments, zeros elsewhere (a 4 GiB file without 4 GiB). */
function sparseReader(segments: Array<[number, Buffer]>): RangeReader {
  return async (offset, length) => {
    const out = Buffer.alloc(length);
    for (const [at, bytes] of segments) {
      const from = Math.max(offset, at);
      const to = Math.min(offset + length, at + bytes.length);
      if (from < to) bytes.copy(out, from - offset, from - at, to - at);
    }
    return out;
  };
}

/** ftyp, a 64-bit mdat running past 2^32, moov at the end; chunks at 0xfffffc00 and +500 (stco unless `co64`). */
function bigFile(co64: boolean): { read: RangeReader; size: number; chunk0: number } {
  const chunk0 = 0xfffffc00;
  const mdatStart = FTYP.length;
  const mdatEnd = 2 ** 32 + 4096;
  const mdatHead = Buffer.concat([u32(1), Buffer.from('mdat'), u32(Math.floor((mdatEnd - mdatStart) / 2 ** 32), (mdatEnd - mdatStart) >>> 0)]);
  const replace = co64 ? { stco: makeFullBox('co64', 0, 0, u32(2, 0, chunk0, 0, chunk0 + 500)) } : {};
  const moov = synthMoov(chunk0, { replace });
  return { read: sparseReader([[0, FTYP], [mdatStart, mdatHead], [mdatEnd, moov]]), size: mdatEnd + moov.length, chunk0 };
}

/** A reader over a plan's output whose source parts come from `source`. */
function planReader(plan: Plan, source: RangeReader): RangeReader {
  return async (offset, length) => {
    const out = Buffer.alloc(length);
    let at = 0;
    for (const p of plan.parts) {
      const len = 'data' in p ? p.data.length : p.length;
      const from = Math.max(offset, at);
      const to = Math.min(offset + length, at + len);
      if (from < to) {
        const bytes = 'data' in p ? p.data.subarray(from - at, to - at) : await source(p.offset + (from - at), to - from);
        bytes.copy(out, from - offset);
      }
      at += len;
    }
    return out;
  };
}

function chunkTableType(moov: Buffer): string[] {
  const types: string[] = [];
  const walk = (start: number, end: number): void => {
    for (const b of childBoxes(moov, start, end)) {
      if (b.type === 'stco' || b.type === 'co64') types.push(b.type);
      if (['moov', 'trak', 'mdia', 'minf', 'stbl'].includes(b.type)) walk(b.body, b.end);
    }
  };
  walk(0, moov.length);
  return types;
}

for (const co64 of [false, true]) {
  test(`4 GiB file, ${co64 ? 'co64 in' : 'stco whose moved offsets pass 2^32 - 1'}: co64 out, every sample moved by the new moov's size`, async () => {
    const src = bigFile(co64);
    const movie = await parseMovie(src.read, src.size);
    assert.equal(movie.faststart, false);
    const plan = relocatePlan(movie);
    assert.ok(plan);
    const grown = co64 ? 0 : 8; // two entries, 4 bytes more each
    assert.equal(plan.size, src.size + grown);
    const moovPart = plan.parts[1];
    assert.ok(moovPart && 'data' in moovPart);
    assert.equal(moovPart.data.length, movie.moov.length + grown);
    assert.deepEqual(chunkTableType(moovPart.data), ['co64']);
    const out = await parseMovie(planReader(plan, src.read), plan.size);
    assert.equal(out.faststart, true);
    const a = movie.tracks[0]?.samples;
    const b = out.tracks[0]?.samples;
    assert.ok(a && b);
    assert.equal(b.count, a.count);
    for (let i = 0; i < a.count; i++) assert.equal(b.offset[i], (a.offset[i] as number) + moovPart.data.length, `sample ${i}`);
    assert.ok((b.offset[9] as number) > 0xffffffff);
    // The moved sample bytes are the source's: the mdat header's bytes sit where the source had them.
    const srcHead = await src.read(FTYP.length, 16);
    const outHead = await planReader(plan, src.read)(FTYP.length + moovPart.data.length, 16);
    assert.deepEqual(outHead, srcHead);
  });
}

test('a chunk offset outside every kept box is a MediaFormatError', async () => {
  const moov = synthMoov(8, {}); // chunk 0 points into the ftyp
  const mdat = makeBox('mdat', [Buffer.alloc(1000)]);
  const file = Buffer.concat([FTYP, mdat, moov]);
  const fixed = Buffer.from(file);
  const movie = await parseMovie(sparseReader([[0, fixed]]), fixed.length);
  assert.throws(() => relocatePlan(movie), MediaFormatError);
});
