// Unit tests of media/mp3/trim over real libmp3lame files: the plan is written out and checked with ffprobe (duration
// within a frame or so of the request, frames decoded = frames the new Xing/Info header says) and decoded with
// `ffmpeg -v error` (clean); the ID3v2 tag stays in front, the ID3v1 tag at the end goes; clips join; past the end.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mp3FrameAt, parseMp3 } from '../../src/media/mp3/parse.js';
import type { Mp3Info } from '../../src/media/mp3/parse.js';
import { mp3TrimPlan } from '../../src/media/mp3/trim.js';
import type { Clip, Plan } from '../../src/media/types.js';
import { bufferReader, decodeErrors, probeMp3, readMp3 } from '../helpers/media-mp3.js';
import type { Mp3Kind } from '../helpers/media-mp3.js';

const dir = mkdtempSync(join(tmpdir(), 'flint-mp3trim-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function materialize(plan: Plan, source: Buffer): Buffer {
  const out = Buffer.concat(plan.parts.map((p) => ('data' in p ? p.data : source.subarray(p.offset, p.offset + p.length))));
  assert.equal(out.length, plan.size);
  return out;
}

async function trim(kind: Mp3Kind, clips: Clip[]): Promise<{ info: Mp3Info; out: Buffer; path: string } | null> {
  const source = readMp3(kind);
  const info = await parseMp3(bufferReader(source), source.length);
  const plan = await mp3TrimPlan(info, bufferReader(source), clips);
  if (!plan) return null;
  assert.equal(plan.contentType, 'audio/mpeg');
  const out = materialize(plan, source);
  const path = join(dir, `${n++}-${kind}.mp3`);
  writeFileSync(path, out);
  return { info, out, path };
}

/** `want` below 0: the source's duration (10 s of sine plus the encoder's delay and padding) plus `want`. */
const CASES: Array<{ kind: Mp3Kind; clips: Clip[]; want: number }> = [
  { kind: 'cbr', clips: [{ startSec: 2, endSec: 5 }], want: 3 },
  { kind: 'cbr', clips: [{ startSec: 0, endSec: 1.5 }], want: 1.5 },
  { kind: 'cbr', clips: [{ startSec: 7.25, endSec: Infinity }], want: -7.25 },
  { kind: 'cbr', clips: [{ startSec: 1, endSec: 3 }, { startSec: 5, endSec: 6 }, { startSec: 8, endSec: 9.5 }], want: 4.5 },
  { kind: 'vbr', clips: [{ startSec: 2, endSec: 5 }], want: 3 },
  { kind: 'vbr', clips: [{ startSec: 1, endSec: 3 }, { startSec: 6, endSec: 8 }], want: 4 },
  { kind: 'vbr', clips: [{ startSec: 8, endSec: 60 }], want: 2 },
  { kind: 'plain', clips: [{ startSec: 3, endSec: 6 }], want: 3 },
  { kind: 'cbr-mono48', clips: [{ startSec: 0.5, endSec: 2 }, { startSec: 4, endSec: 4.5 }], want: 2 },
];

for (const c of CASES) {
  test(`${c.kind} ${c.clips.map((x) => `${x.startSec}-${x.endSec}`).join(',')}: ffprobe ${c.want}s, decodes clean`, async () => {
    const r = await trim(c.kind, c.clips);
    assert.ok(r);
    const { info, out, path } = r;
    const want = c.want < 0 ? info.durationSec + c.want : c.want;
    const secPerFrame = info.samplesPerFrame / info.sampleRate;
    const probe = probeMp3(path);
    // Frame-accurate: the source's encoder delay is gone with its LAME tag, so one frame either way per clip edge.
    const slack = (info.vbr ? 4 : 1) * secPerFrame * c.clips.length + 1e-6;
    assert.ok(Math.abs(probe.duration - want) <= slack, `ffprobe ${probe.duration}s, asked ${want}s (slack ${slack})`);
    assert.equal(decodeErrors(path), '', 'ffmpeg -v error decodes it clean');
    assert.equal(probe.sampleRate, info.sampleRate);
    if (info.tagsEnd > 0) assert.equal(out.toString('latin1', 0, 3), 'ID3', 'ID3v2 kept in front');
    assert.notEqual(out.toString('latin1', out.length - 128, out.length - 125), 'TAG', 'ID3v1 left out');
    const again = await parseMp3(bufferReader(out), out.length);
    if (info.headerFrame) {
      assert.equal(again.headerFrame?.kind, info.vbr ? 'xing' : 'info');
      assert.equal(again.frames, probe.frames, 'the new header counts the frames ffprobe decodes');
      assert.ok(Math.abs(again.durationSec - want) <= slack, `re-parsed ${again.durationSec}s`);
    } else {
      assert.equal(again.headerFrame, null);
    }
  });
}

test('the Xing/Info header of the source is replaced, not kept (a stale one reports the source duration)', async () => {
  for (const kind of ['cbr', 'vbr'] as const) {
    const r = await trim(kind, [{ startSec: 1, endSec: 2 }]);
    assert.ok(r);
    const tags = r.out.toString('latin1').match(/Xing|Info/g) ?? [];
    assert.equal(tags.length, 1, `${kind}: one header frame`);
    assert.ok(probeMp3(r.path).duration < 1.2, `${kind}: ffprobe sees the cut, not the source's 10 s`);
  }
});

test('clips wholly past the end or empty give null; a clip running past the end is clamped', async () => {
  assert.equal(await trim('cbr', [{ startSec: 10.5, endSec: 20 }]), null);
  assert.equal(await trim('cbr', [{ startSec: 3, endSec: 3 }]), null);
  assert.equal(await trim('vbr', []), null);
  const r = await trim('cbr', [{ startSec: 9, endSec: 1e6 }]);
  assert.ok(r);
  assert.ok(Math.abs(probeMp3(r.path).duration - 1) < 0.06);
});

test('a cut reads the cut points and, for VBR, the kept frames only', async () => {
  const source = readMp3('cbr', 60);
  const info = await parseMp3(bufferReader(source), source.length);
  const reader = bufferReader(source);
  const plan = await mp3TrimPlan(info, reader, [{ startSec: 20, endSec: 30 }]);
  assert.ok(plan);
  assert.ok(reader.bytesRead < 64 * 1024, `CBR read ${reader.bytesRead} bytes`);
  const at = await mp3FrameAt(info, bufferReader(source), 20);
  assert.ok(plan.parts.some((p) => 'offset' in p && p.offset === at.offset));
});
