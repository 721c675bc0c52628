/**
 * pipeline/media-plan-source.ts: a Plan read as a BodySource gives exactly the bytes of its parts in order, from any
 * position (new bytes sliced, source ranges read through the reader within their part), empty parts included; a
 * plan whose parts do not add up to its size is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Plan } from '../../src/media/types.js';
import { PlanSource } from '../../src/pipeline/media-plan-source.js';
import type { CachedRangeReader } from '../../src/pipeline/media-reader.js';

const SOURCE = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 0xff));

/** A reader over SOURCE with CachedRangeReader's streaming read (at most 700 bytes a call, never past `aheadEnd`). */
function reader(log: Array<[number, number]>): CachedRangeReader {
  return {
    readSome: (pos: number, max: number, aheadEnd: number) => {
      assert.ok(pos < aheadEnd, 'reads stay within their part');
      log.push([pos, max]);
      return Promise.resolve(SOURCE.subarray(pos, pos + Math.min(max, 700, aheadEnd - pos)));
    },
    release: () => undefined,
  } as unknown as CachedRangeReader;
}

const PLAN: Plan = {
  parts: [
    { data: Buffer.from('HEAD') },
    { offset: 1000, length: 1500 },
    { data: Buffer.alloc(0) },
    { offset: 0, length: 0 },
    { data: Buffer.from('-mid-') },
    { offset: 4000, length: 1000 },
    { offset: 10, length: 5 },
  ],
  size: 4 + 1500 + 5 + 1000 + 5,
  contentType: 'video/mp4',
};

const EXPECTED = Buffer.concat([Buffer.from('HEAD'), SOURCE.subarray(1000, 2500), Buffer.from('-mid-'), SOURCE.subarray(4000, 5000), SOURCE.subarray(10, 15)]);

async function readFrom(source: PlanSource, start: number, end: number, max: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for (let pos = start; pos < end; ) {
    const chunk = await source.read(pos, Math.min(max, end - pos));
    assert.ok(chunk.length > 0, `a read at ${pos} gives at least one byte`);
    out.push(Buffer.from(chunk));
    pos += chunk.length;
  }
  return Buffer.concat(out);
}

test('sequential reads give the parts in order', async () => {
  const source = new PlanSource(PLAN, reader([]));
  assert.ok((await readFrom(source, 0, PLAN.size, 65536)).equals(EXPECTED));
  assert.equal((await source.read(PLAN.size, 10)).length, 0, 'end of body');
});

test('reads from any position (ranges, backwards) match', async () => {
  const source = new PlanSource(PLAN, reader([]));
  const cases: Array<[number, number, number]> = [
    [0, 4, 3],
    [3, 6, 1000],
    [1500, 1515, 7],
    [1504, 1509, 2],
    [2000, PLAN.size, 333],
    [PLAN.size - 1, PLAN.size, 10],
    [2, PLAN.size - 3, 4096],
  ];
  for (const [start, end, max] of cases) assert.ok((await readFrom(source, start, end, max)).equals(EXPECTED.subarray(start, end)), `${start}-${end} by ${max}`);
});

test('a plan whose parts do not add up to its size is refused', () => {
  assert.throws(() => new PlanSource({ ...PLAN, size: PLAN.size + 1 }, reader([])), /add up to/);
});
