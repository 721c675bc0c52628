/**
 * pipeline/media-request.ts: which requests are media requests, what they ask, what leaves the query, and hostile
 * parameters refused (table-driven).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MediaConfig } from '../../src/config/types.js';
import { MAX_CLIPS, ratioProblem, readMediaRequest } from '../../src/pipeline/media-request.js';

const PLAYLIST = { indexName: 'index.m3u8', version: 3, sequence: 0, segmentSec: 10 };
const ON: MediaConfig = {
  upfrontMp4: true,
  upfrontM4a: true,
  trimming: { mp4: true, m4a: true, mp3: true, startParam: 'start', endParam: 'end', multiParam: 'trimming', allTracks: false, maxRatioPercent: 50 },
  mp4Hls: { keyword: 'mp4hls', container: 'TS', ...PLAYLIST },
  mp3Hls: { keyword: 'mp3hls', segmentType: 'TS', ...PLAYLIST },
};
const OFF: MediaConfig = { ...ON, upfrontMp4: false, upfrontM4a: false, trimming: { ...ON.trimming, mp4: false, m4a: false, mp3: false }, mp4Hls: null, mp3Hls: null };

type Expect = { kind: string; label?: string; path?: string; query?: string; clips?: Array<[number, number]>; hlsName?: string } | null | RegExp;

const CASES: ReadonlyArray<[string, MediaConfig, string, string, Expect]> = [
  ['plain mp4 relocates', ON, '/v/a.mp4', '', { kind: 'relocate', label: 'relocate', path: '/v/a.mp4', query: '' }],
  ['m4v is mp4', ON, '/a.M4V', '', { kind: 'relocate' }],
  ['plain m4a relocates', ON, '/a.m4a', 'x=1', { kind: 'relocate', query: 'x=1' }],
  ['plain mp3 is no media request', ON, '/a.mp3', '', null],
  ['other extensions are not', ON, '/a.mp4.html', 'start=1', null],
  ['all off', OFF, '/a.mp4', 'start=1&end=2', null],
  ['start and end', ON, '/a.mp4', 'start=10&end=70', { kind: 'trim', label: 'trim', clips: [[10, 70]], query: '' }],
  ['other parameters stay', ON, '/a.mp4', 'a=1&start=1.5&b=2', { kind: 'trim', clips: [[1.5, Infinity]], query: 'a=1&b=2' }],
  ['end only', ON, '/a.mp3', 'end=30', { kind: 'trim', label: 'mp3-trim', clips: [[0, 30]] }],
  ['multi', ON, '/a.mp4', 'trimming=10-70,560-620', { kind: 'trim', clips: [[10, 70], [560, 620]] }],
  ['multi with %2C', ON, '/a.mp4', 'trimming=10-70%2C560-620', { kind: 'trim', clips: [[10, 70], [560, 620]] }],
  ['hls playlist', ON, '/v/a.mp4/mp4hls/index.m3u8', '', { kind: 'hls-playlist', label: 'hls-playlist', path: '/v/a.mp4', hlsName: 'index.m3u8' }],
  ['hls segment', ON, '/v/a.mp4/mp4hls/12.ts', '', { kind: 'hls-segment', hlsName: '12.ts' }],
  ['hls with trimming', ON, '/a.mp4/mp4hls/index.m3u8', 'start=0&end=60', { kind: 'hls-playlist', clips: [[0, 60]], query: '' }],
  ['mp3 hls', ON, '/a.mp3/mp3hls/3.ts', '', { kind: 'hls-segment', label: 'mp3-hls-segment', path: '/a.mp3' }],
  ['mp4hls keyword on an mp3 is not hls', ON, '/a.mp3/mp4hls/index.m3u8', '', null],
  ['hls off', OFF, '/a.mp4/mp4hls/index.m3u8', '', null],
  ['trimming off leaves the query', { ...ON, trimming: { ...ON.trimming, mp4: false } }, '/a.mp4', 'start=1', { kind: 'relocate', query: 'start=1' }],
  // Hostile or malformed: refused.
  ['negative start', ON, '/a.mp4', 'start=-5', /start is not a number/],
  ['start >= end', ON, '/a.mp4', 'start=70&end=10', /start must be before end/],
  ['start = end', ON, '/a.mp4', 'start=5&end=5', /start must be before end/],
  ['not a number', ON, '/a.mp4', 'start=abc', /start is not a number/],
  ['exponent', ON, '/a.mp4', 'end=1e9', /end is not a number/],
  ['hex', ON, '/a.mp4', 'end=0x10', /end is not a number/],
  ['Infinity', ON, '/a.mp4', 'end=Infinity', /end is not a number/],
  ['NaN', ON, '/a.mp4', 'start=NaN', /start is not a number/],
  ['empty value', ON, '/a.mp4', 'start=', /start is not a number/],
  ['no value', ON, '/a.mp4', 'start', /start is not a number/],
  ['too long a number', ON, '/a.mp4', 'end=99999999999999999999', /end is not a number/],
  ['too many decimals', ON, '/a.mp4', 'end=1.00001', /end is not a number/],
  ['beyond a week', ON, '/a.mp4', 'end=999999', /end is not a number/],
  ['twice', ON, '/a.mp4', 'start=1&start=2', /start is given twice/],
  ['multi and start', ON, '/a.mp4', 'start=1&trimming=1-2', /cannot be combined/],
  ['multi clip reversed', ON, '/a.mp4', 'trimming=70-10', /ends before it starts/],
  ['multi overlapping', ON, '/a.mp4', 'trimming=10-70,60-80', /overlaps or precedes/],
  ['multi out of order', ON, '/a.mp4', 'trimming=560-620,10-70', /overlaps or precedes/],
  ['multi garbage', ON, '/a.mp4', 'trimming=10-', /is not start-end/],
  ['multi empty clip', ON, '/a.mp4', 'trimming=1-2,,3-4', /is not start-end/],
  ['multi too many', ON, '/a.mp4', `trimming=${Array.from({ length: MAX_CLIPS + 1 }, (_, i) => `${i * 2}-${i * 2 + 1}`).join(',')}`, /more than 32 clips/],
  ['hls name with dots only', ON, '/a.mp4/mp4hls/..', '', /HLS file name/],
  ['hls name with an escape', ON, '/a.mp4/mp4hls/%2e%2e', '', /HLS file name/],
  ['hls name empty', ON, '/a.mp4/mp4hls/', '', /HLS file name/],
  ['hls name too long', ON, `/a.mp4/mp4hls/${'a'.repeat(70)}.ts`, '', /HLS file name/],
];

for (const [name, config, path, query, expected] of CASES) {
  test(`media request: ${name}`, () => {
    const reading = readMediaRequest(config, path, query);
    if (expected === null) {
      assert.equal(reading, null);
      return;
    }
    assert.ok(reading !== null);
    if (expected instanceof RegExp) {
      assert.equal(reading.kind, 'invalid');
      if (reading.kind === 'invalid') assert.match(reading.problem, expected);
      return;
    }
    assert.equal(reading.kind, 'media', reading.kind === 'invalid' ? reading.problem : '');
    if (reading.kind !== 'media') return;
    assert.equal(reading.request.kind, expected.kind);
    if (expected.label !== undefined) assert.equal(reading.request.label, expected.label);
    if (expected.path !== undefined) assert.equal(reading.path, expected.path);
    if (expected.query !== undefined) assert.equal(reading.query, expected.query);
    if (expected.hlsName !== undefined) assert.equal(reading.request.hlsName, expected.hlsName);
    if (expected.clips !== undefined) assert.deepEqual(reading.request.clips?.map((c) => [c.startSec, c.endSec]), expected.clips);
  });
}

test('MaxRatio: joined clips may last at most that share of the file (clamped to its end)', () => {
  assert.equal(ratioProblem([{ startSec: 0, endSec: 30 }], 60, 50), null);
  assert.match(ratioProblem([{ startSec: 0, endSec: 20 }, { startSec: 30, endSec: 41 }], 60, 50) ?? '', /more than 50%/);
  assert.equal(ratioProblem([{ startSec: 50, endSec: 1000 }], 60, 50), null);
});

test('trimQuery keeps the trim parameters as written (an HLS playlist passes them to its URIs)', () => {
  const r = readMediaRequest(ON, '/a.mp4/mp4hls/index.m3u8', 'a=1&start=0&end=60&b=2');
  assert.ok(r !== null && r.kind === 'media');
  assert.equal(r.request.trimQuery, 'start=0&end=60');
  assert.equal(r.query, 'a=1&b=2');
});

test('the tag tells transformations apart (ETag input)', () => {
  const tag = (path: string, query: string): string => {
    const r = readMediaRequest(ON, path, query);
    return r !== null && r.kind === 'media' ? r.request.tag : '';
  };
  assert.notEqual(tag('/a.mp4', 'start=1'), tag('/a.mp4', 'start=2'));
  assert.notEqual(tag('/a.mp4/mp4hls/1.ts', ''), tag('/a.mp4/mp4hls/2.ts', ''));
  assert.notEqual(tag('/a.mp4/mp4hls/1.ts', ''), tag('/a.mp4/mp4hls/1.ts', 'end=30'));
});
