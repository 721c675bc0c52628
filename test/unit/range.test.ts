// Unit tests of http/range: every Range form of RFC 9110 §14.1.2, ignored and unsatisfiable (416) headers,
// coalescing in request order, the abuse limit, and the multipart/byteranges byte layout (§14.6).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlintError } from '../../src/errors.js';
import { MAX_RANGES, buildMultipartParts, contentRange, multipartContentType, parseRange, unsatisfiedRange } from '../../src/http/range.js';
import type { ByteRange, MultipartLayout } from '../../src/http/range.js';

const ranges = (header: string | undefined, size: number): Array<[number, number]> | string => {
  const r = parseRange(header, size);
  return r.kind === 'ranges' ? r.ranges.map((x) => [x.start, x.end]) : r.kind;
};

test('absent, other units and invalid syntax are ignored (none)', () => {
  for (const header of [
    undefined,
    '',
    'bytes',
    'bytes=',
    'bytes=,',
    'items=0-5',
    'bytes 0-5',
    'bytes=abc',
    'bytes=-',
    'bytes=5-2',
    'bytes=0-1,5-2',
    'bytes=1-2-3',
    'bytes=0 -5',
    'bytes=+1-2',
    'bytes=1.5-2',
    'bytes=0-1;x',
  ]) {
    assert.equal(ranges(header, 10000), 'none', String(header));
  }
});

test('the unit is case-insensitive and whitespace around specs is allowed', () => {
  assert.deepEqual(ranges('Bytes=0-0', 100), [[0, 0]]);
  assert.deepEqual(ranges('BYTES = 0-0 ,  50-60 ', 100), [[0, 0], [50, 60]]);
  assert.deepEqual(ranges('bytes=0-1,,50-60', 100), [[0, 1], [50, 60]]);
});

test('single range forms', () => {
  assert.deepEqual(ranges('bytes=0-499', 10000), [[0, 499]]);
  assert.deepEqual(ranges('bytes=500-999', 10000), [[500, 999]]);
  assert.deepEqual(ranges('bytes=9500-', 10000), [[9500, 9999]]);
  assert.deepEqual(ranges('bytes=-500', 10000), [[9500, 9999]]);
  assert.deepEqual(ranges('bytes=0-0', 10000), [[0, 0]]);
  assert.deepEqual(ranges('bytes=9999-9999', 10000), [[9999, 9999]]);
  assert.deepEqual(ranges('bytes=0-', 10000), [[0, 9999]]);
});

test('clamping: last-pos beyond the end, suffix longer than the representation', () => {
  assert.deepEqual(ranges('bytes=9000-20000', 10000), [[9000, 9999]]);
  assert.deepEqual(ranges('bytes=-20000', 10000), [[0, 9999]]);
  assert.deepEqual(ranges('bytes=0-99999999999999999999999', 10), [[0, 9]]);
  assert.deepEqual(ranges('bytes=00005-0007', 10), [[5, 7]]);
});

test('unsatisfiable (416) cases', () => {
  assert.equal(ranges('bytes=10000-', 10000), 'unsatisfiable');
  assert.equal(ranges('bytes=10000-10005', 10000), 'unsatisfiable');
  assert.equal(ranges('bytes=-0', 10000), 'unsatisfiable');
  assert.equal(ranges('bytes=20000-,30000-30001,-0', 10000), 'unsatisfiable');
  assert.equal(ranges('bytes=99999999999999999999999-', 10), 'unsatisfiable');
  // A zero-length representation satisfies no range at all.
  for (const header of ['bytes=0-', 'bytes=0-0', 'bytes=-5', 'bytes=0-1,-1']) assert.equal(ranges(header, 0), 'unsatisfiable', header);
  // But an invalid header stays ignored even for size 0.
  assert.equal(ranges('bytes=5-2', 0), 'none');
});

test('unsatisfiable specs are dropped when another is satisfiable', () => {
  assert.deepEqual(ranges('bytes=0-1, 20000-', 10000), [[0, 1]]);
  assert.deepEqual(ranges('bytes=-0, 5-6', 10000), [[5, 6]]);
});

test('several ranges: coalesced when overlapping or adjacent, kept in request order otherwise', () => {
  assert.deepEqual(ranges('bytes=0-9,5-19', 100), [[0, 19]]);
  assert.deepEqual(ranges('bytes=0-9,10-19', 100), [[0, 19]]);
  assert.deepEqual(ranges('bytes=0-9,11-19', 100), [[0, 9], [11, 19]]);
  assert.deepEqual(ranges('bytes=50-59,0-9', 100), [[50, 59], [0, 9]]);
  assert.deepEqual(ranges('bytes=50-59,0-9,5-20', 100), [[50, 59], [0, 20]]);
  assert.deepEqual(ranges('bytes=50-59,0-9,20-30,5-55', 100), [[0, 59]]);
  assert.deepEqual(ranges('bytes=0-,0-,0-', 100), [[0, 99]]);
  assert.deepEqual(ranges('bytes=-10,0-5', 100), [[90, 99], [0, 5]]);
  assert.deepEqual(ranges('bytes=-10,85-92', 100), [[85, 99]]);
  assert.deepEqual(ranges('bytes=10-19,0-4,30-', 40), [[10, 19], [0, 4], [30, 39]]);
});

test(`more than ${MAX_RANGES} range-specs are ignored`, () => {
  const specs = (n: number): string => 'bytes=' + Array.from({ length: n }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
  const atLimit = parseRange(specs(MAX_RANGES), 100000);
  assert.equal(atLimit.kind, 'ranges');
  assert.equal(atLimit.kind === 'ranges' && atLimit.ranges.length, MAX_RANGES);
  assert.equal(ranges(specs(MAX_RANGES + 1), 100000), 'none');
  // Coalescible specs still count: the limit is on what the client sent.
  assert.equal(ranges('bytes=' + Array(MAX_RANGES + 1).fill('0-').join(','), 100), 'none');
});

test('Content-Range strings', () => {
  assert.equal(contentRange(0, 499, 10000), 'bytes 0-499/10000');
  assert.equal(unsatisfiedRange(10000), 'bytes */10000');
  assert.equal(unsatisfiedRange(0), 'bytes */0');
  assert.equal(multipartContentType('THIS_STRING_SEPARATES'), 'multipart/byteranges; boundary=THIS_STRING_SEPARATES');
});

/** The body a caller would stream: each head, then the part's bytes from the representation, then the tail. */
function assemble(layout: MultipartLayout, data: Buffer): Buffer {
  const chunks: Buffer[] = [];
  for (const part of layout.parts) chunks.push(part.head, data.subarray(part.start, part.end + 1));
  chunks.push(layout.tail);
  return Buffer.concat(chunks);
}

test('multipart/byteranges: exact byte layout and total length (§14.6)', () => {
  const data = Buffer.from('abcdefghij');
  const layout = buildMultipartParts([{ start: 0, end: 2 }, { start: 7, end: 9 }], data.length, 'text/plain', 'B0UND');
  const body = assemble(layout, data);
  assert.equal(
    body.toString('latin1'),
    '--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-2/10\r\n\r\nabc' +
      '\r\n--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 7-9/10\r\n\r\nhij' +
      '\r\n--B0UND--\r\n',
  );
  assert.equal(layout.totalLength, body.length);
  assert.deepEqual(
    layout.parts.map((p) => [p.start, p.end]),
    [[0, 2], [7, 9]],
  );
});

test('multipart/byteranges: no Content-Type line when the representation has none; lengths match for many parts', () => {
  const data = Buffer.alloc(100000, 7);
  const parsed = parseRange('bytes=0-0,10-19,-100,500-', data.length);
  assert.equal(parsed.kind, 'ranges');
  const list: readonly ByteRange[] = parsed.kind === 'ranges' ? parsed.ranges : [];
  const layout = buildMultipartParts(list, data.length, null, "a'b+c_d.e-f");
  const body = assemble(layout, data);
  assert.equal(layout.totalLength, body.length);
  assert.equal(body.toString('latin1').includes('Content-Type'), false);
  assert.equal(layout.parts[0]?.head.toString('latin1'), "--a'b+c_d.e-f\r\nContent-Range: bytes 0-0/100000\r\n\r\n");
  // Non-ASCII (latin1) header bytes are counted as bytes, not characters.
  const latin = buildMultipartParts([{ start: 0, end: 0 }], 1, 'text/plain; name=caf\u00e9', 'x');
  assert.equal(latin.totalLength, assemble(latin, Buffer.from('z')).length);
  assert.equal(latin.parts[0]?.head.includes(0xe9), true);
});

test('multipart/byteranges: caller bugs throw', () => {
  assert.throws(() => buildMultipartParts([{ start: 0, end: 1 }], 10, null, ''), FlintError);
  assert.throws(() => buildMultipartParts([{ start: 0, end: 1 }], 10, null, 'has space'), FlintError);
  assert.throws(() => buildMultipartParts([{ start: 0, end: 1 }], 10, null, 'x'.repeat(71)), FlintError);
  assert.throws(() => buildMultipartParts([{ start: 0, end: 10 }], 10, null, 'b'), FlintError);
  assert.throws(() => buildMultipartParts([{ start: 5, end: 4 }], 10, null, 'b'), FlintError);
  assert.throws(() => buildMultipartParts([{ start: -1, end: 4 }], 10, null, 'b'), FlintError);
  assert.doesNotThrow(() => buildMultipartParts([{ start: 0, end: 9 }], 10, null, 'x'.repeat(70)));
});
