// Unit tests of bandwidth throttling: the rule lines (media/throttle/throttle-parse.ts) with a table of hostile lines,
// the <BandwidthThrottling> config and its errors, the compiled policy (first match, `no`, query overrides and the
// query they leave), the bitrate sniffer on real MP3/MP4 bytes and garbage, the timer wheel, and a ThrottledWriter
// over a fake engine writer: the pacing arithmetic, and a client that goes away leaves nothing on the wheel.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Vhost } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import type { RequestHead } from '../../src/http/request.js';
import type { ClientWriter, WriterState } from '../../src/http/writer.js';
import { PaceWheel } from '../../src/media/throttle/pace-wheel.js';
import type { WheelClient } from '../../src/media/throttle/pace-wheel.js';
import { sniffMedia } from '../../src/media/throttle/sniff.js';
import { throttleRulesFromText } from '../../src/media/throttle/throttle-parse.js';
import { ThrottlePolicy } from '../../src/media/throttle/throttle-policy.js';
import { ThrottledWriter, throttleOf } from '../../src/media/throttle/throttled-writer.js';
import { readMp3 } from '../helpers/media-mp3.js';

const SERVER = '<Server><Cache><Storage><Disk>/tmp/flint-unit-cache</Disk></Storage></Cache></Server>';

function vhostWith(options: string, files?: Record<string, string>): Vhost {
  const xml = `<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Options>${options}</Options></Vhost></Vhosts>`;
  const config = loadConfigFromText('/srv/flint/conf', SERVER, xml, files === undefined ? { cpuCount: 1 } : { cpuCount: 1, ruleFiles: { 'a.com': files } });
  const vhost = config.vhosts[0];
  assert.ok(vhost);
  return vhost;
}

function problemsOf(options: string, files?: Record<string, string>): string[] {
  try {
    vhostWith(options, files);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

const ON = (attrs = '', settings = ''): string => `<BandwidthThrottling>${settings}<Throttling${attrs}>ON</Throttling></BandwidthThrottling>`;
const LIST = (lines: string): string => `<MatchingList Target="throttling"><![CDATA[\n${lines}\n]]></MatchingList>`;

function head(path: string, query = '', headers: string[] = []): RequestHead {
  return { method: 'GET', path, query, headers, host: 'a.com', clientIp: '127.0.0.1' };
}

test('rule lines: values, `x`, omitted values, `no`', () => {
  const { rules, problems } = throttleRulesFromText('t', '$URL[*.mp4], 1000x, 120, 5\n/a/*, 300\n/b/*,\n$IP[10.0.0.0/8], -, 50\n$HEADER[user-agent: bot*], no\n*.mp3, 64X, -, 0\n', 1000);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    rules.map((r) => r.values),
    [
      { bandwidthBps: 1_000_000, fromFile: true, ratioPercent: 120, boostSec: 5 },
      { bandwidthBps: 300_000, fromFile: false, ratioPercent: null, boostSec: null },
      { bandwidthBps: null, fromFile: false, ratioPercent: null, boostSec: null },
      { bandwidthBps: null, fromFile: false, ratioPercent: 50, boostSec: null },
      null,
      { bandwidthBps: 64_000, fromFile: true, ratioPercent: null, boostSec: 0 },
    ],
  );
});

const HOSTILE_LINES: Array<[string, string]> = [
  ['$URL[*.mp4]', 'needs a bandwidth'],
  ['$URL[*.mp4], 0', 'is not a bandwidth'],
  ['$URL[*.mp4], -1', 'is not a bandwidth'],
  ['$URL[*.mp4], 1e3', 'is not a bandwidth'],
  ['$URL[*.mp4], 1000xx', 'is not a bandwidth'],
  ['$URL[*.mp4], x', 'is not a bandwidth'],
  ['$URL[*.mp4], 99999999999', 'is not a bandwidth'],
  ['$URL[*.mp4], 1000, 0', 'is not a ratio'],
  ['$URL[*.mp4], 1000, 10001', 'is not a ratio'],
  ['$URL[*.mp4], 1000, 1.5', 'is not a ratio'],
  ['$URL[*.mp4], 1000, 100, 3601', 'is not a boost'],
  ['$URL[*.mp4], 1000, 100, -1', 'is not a boost'],
  ['$URL[*.mp4], 1000, 100, 5, 9', 'too many fields'],
  ['$URL[*.mp4], no, 5', '`no` takes no further field'],
  ['$URL[*.mp4, 1000', "'[' is never closed"],
  ['$FOO[x], 1000', 'is not a condition here'],
  ['$IP[10.0.0.0/40], 1000', 'is not an IP address'],
  [`$URL[/${'a'.repeat(5000)}], 1000`, 'longer than'],
  ['$URL[*.mp4], 10\u000100', 'control characters'],
];

for (const [line, expected] of HOSTILE_LINES) {
  test(`hostile rule line ${JSON.stringify(line.slice(0, 40))} is a problem naming the line`, () => {
    const { rules, problems } = throttleRulesFromText('svc/a.com/throttling.txt', `# comment\n${line}\n`, 1000);
    assert.equal(rules.length, 0);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0]?.startsWith('svc/a.com/throttling.txt: line 2: '), problems[0]);
    assert.ok(problems[0]?.includes(expected), `${problems[0]} should say ${expected}`);
  });
}

test('config: defaults, Unit, Params; rules without Throttling ON and clashing Params are errors', () => {
  const v = vhostWith(ON(' QueryString="ON"', '<Settings><Bandwidth Unit="mbps" Param="bw">2</Bandwidth><Ratio>150</Ratio><Boost Param="b">0</Boost></Settings>') + LIST('*.mp4, 3x'));
  assert.deepEqual(v.throttling, { bandwidthBps: 2_000_000, unitBps: 1_000_000, ratioPercent: 150, boostSec: 0, queryString: true, params: { bandwidth: 'bw', ratio: 'ratio', boost: 'b' } });
  assert.deepEqual(v.rules.throttling[0]?.values, { bandwidthBps: 3_000_000, fromFile: true, ratioPercent: null, boostSec: null });
  assert.equal(vhostWith('').throttling, null);
  assert.deepEqual(vhostWith(ON()).throttling?.bandwidthBps, 1_000_000);
  assert.ok(problemsOf(LIST('*.mp4, 1000')).some((p) => p.includes('throttling rules but <Throttling> is not ON')));
  assert.ok(problemsOf('', { 'throttling.txt': '*.mp4, 1000\n' }).some((p) => p.includes('throttling rules but <Throttling> is not ON')));
  assert.ok(problemsOf(ON('', '<Settings><Ratio Param="x">100</Ratio><Boost Param="x">5</Boost></Settings>')).some((p) => p.includes('must differ')));
  assert.ok(problemsOf(ON('', '<Settings><Bandwidth Unit="furlongs">1</Bandwidth></Settings>')).some((p) => p.includes('Bandwidth@Unit')));
  assert.ok(problemsOf(ON('', '<Settings><Ratio>0</Ratio></Settings>')).some((p) => p.includes('out of range')));
  assert.ok(problemsOf(ON() + LIST('*.mp4, fast')).some((p) => p.includes('line 1: "fast" is not a bandwidth')));
});

test('policy: first match wins, `no` exempts, unmatched requests are not throttled', () => {
  const v = vhostWith(ON() + LIST('/free/*, no\n*.mp4, 500x, 120, 3\n$HEADER[x-slow], 64'));
  const p = new ThrottlePolicy(v, v.throttling as NonNullable<Vhost['throttling']>);
  assert.deepEqual(p.decide(head('/v/a.mp4'), '/v/a.mp4', ''), { bandwidthBps: 500_000, fromFile: true, ratioPercent: 120, boostSec: 3 });
  assert.equal(p.decide(head('/free/a.mp4'), '/free/a.mp4', ''), null);
  assert.equal(p.decide(head('/v/a.txt'), '/v/a.txt', ''), null);
  assert.deepEqual(p.decide(head('/v/a.txt', '', ['x-slow', '1']), '/v/a.txt', ''), { bandwidthBps: 64_000, fromFile: false, ratioPercent: 100, boostSec: 5 });
  // QueryString OFF: parameters neither override nor leave the query.
  assert.deepEqual(p.decide(head('/v/a.mp4', 'ratio=400'), '/v/a.mp4', 'ratio=400')?.ratioPercent, 120);
  assert.equal(p.strip('a=1&ratio=400'), 'a=1&ratio=400');
});

test('policy with QueryString ON: overrides, throttles unmatched requests that carry them, ignores bad values, strips', () => {
  const v = vhostWith(ON(' QueryString="ON"') + LIST('/free/*, no\n*.mp4, 500x, 120, 3'));
  const p = new ThrottlePolicy(v, v.throttling as NonNullable<Vhost['throttling']>);
  const decide = (path: string, query: string): unknown => p.decide(head(path, query), path, query);
  assert.deepEqual(decide('/v/a.mp4', 'bandwidth=2000&ratio=50&boost=0'), { bandwidthBps: 2_000_000, fromFile: false, ratioPercent: 50, boostSec: 0 });
  assert.deepEqual(decide('/v/a.mp4', 'bandwidth=300x'), { bandwidthBps: 300_000, fromFile: true, ratioPercent: 120, boostSec: 3 });
  assert.deepEqual(decide('/v/a.txt', 'boost=1'), { bandwidthBps: 1_000_000, fromFile: false, ratioPercent: 100, boostSec: 1 });
  assert.equal(decide('/free/a.mp4', 'boost=1'), null, '`no` still exempts');
  for (const bad of ['bandwidth=0', 'bandwidth=-1', 'bandwidth=1e9', 'ratio=0', 'ratio=99999999', 'boost=3601', 'boost=', 'bandwidth', 'ratio=%31', `boost=${'9'.repeat(400)}`]) {
    assert.equal(decide('/v/a.txt', bad), null, `${bad}: ignored, so an unmatched request stays unthrottled`);
    assert.deepEqual(decide('/v/a.mp4', bad), { bandwidthBps: 500_000, fromFile: true, ratioPercent: 120, boostSec: 3 }, `${bad}: the rule's values`);
  }
  assert.equal(p.strip('a=1&bandwidth=5&b=2&ratio=9&boost=1&boost=2'), 'a=1&b=2');
  assert.equal(p.strip('bandwidth=5'), '');
  assert.equal(p.strip(''), '');
});

test('sniff: MP3 bitrate from the frames or the Xing header, MP4 from mvhd; garbage and moov-last give nothing', () => {
  const cbr = readMp3('cbr');
  const cbrSniff = sniffMedia(cbr.subarray(0, 64 * 1024), cbr.length);
  assert.equal(cbrSniff.bitrateBps, 128_000);
  assert.ok(cbrSniff.headerBytes > 0 && cbrSniff.headerBytes < 1000);
  const vbr = readMp3('vbr');
  const vbrSniff = sniffMedia(vbr.subarray(0, 64 * 1024), vbr.length);
  assert.ok(vbrSniff.bitrateBps !== null && vbrSniff.bitrateBps > 16_000 && vbrSniff.bitrateBps < 100_000, String(vbrSniff.bitrateBps));
  const dir = mkdtempSync(join(tmpdir(), 'flint-sniff-'));
  try {
    for (const faststart of [true, false]) {
      const path = join(dir, `${faststart}.mp4`);
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '200k', ...(faststart ? ['-movflags', '+faststart'] : []), path]);
      const mp4 = readFileSync(path);
      const sniffed = sniffMedia(mp4.subarray(0, 64 * 1024), mp4.length);
      if (faststart) {
        assert.equal(sniffed.bitrateBps, Math.round((mp4.length * 8) / 4));
        assert.equal(mp4.toString('latin1', sniffed.headerBytes - 4, sniffed.headerBytes), 'mdat', 'the header ends where the mdat payload starts');
      } else {
        assert.deepEqual(sniffed, { bitrateBps: null, headerBytes: 0 });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const hostile: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from('ID3'),
    Buffer.alloc(100, 0xff),
    Buffer.concat([Buffer.from('ID3\x04\x00\x00\x7f\x7f\x7f\x7f', 'latin1'), Buffer.alloc(100)]),
    Buffer.from('\x00\x00\x00\x08ftyp', 'latin1'),
    Buffer.from('\x00\x00\x00\x01ftypisom', 'latin1'),
    Buffer.from('\x00\x00\x00\x00ftypisom', 'latin1'),
    Buffer.concat([Buffer.from('\x00\x00\x00\x10ftypisom\x00\x00\x00\x00\x00\x00\x00\x10moov\x00\x00\x00\x10mvhd\x00', 'latin1'), Buffer.alloc(10)]),
    Buffer.concat([Buffer.from('\x00\x00\x00\x10ftypisom\x00\x00\x00\x00\x00\x00\x00\x30moov\x00\x00\x00\x20mvhd\x00\x00\x00\x00', 'latin1'), Buffer.alloc(24)]),
    patchedXing(vbr),
  ];
  for (const [i, bytes] of hostile.entries()) {
    const s = sniffMedia(bytes, bytes.length);
    assert.ok(s.bitrateBps === null || (Number.isFinite(s.bitrateBps) && s.bitrateBps > 0), `hostile ${i}: ${JSON.stringify(s)}`);
  }
});

/** The VBR file with a Xing frame count of 0 (the reader refuses it: the sniffer falls back to the frame bitrate). */
function patchedXing(vbr: Buffer): Buffer {
  const copy = Buffer.from(vbr.subarray(0, 64 * 1024));
  const at = copy.indexOf('Xing', 0, 'latin1');
  copy.writeUInt32BE(0, at + 8);
  return copy;
}

test('the wheel fires clients in due order with one timer, and cancel takes them off', async () => {
  const wheel = new PaceWheel();
  const fired: string[] = [];
  const client = (name: string): WheelClient => ({ wheelSlot: -1, wake: () => fired.push(name) });
  const a = client('a');
  const b = client('b');
  const c = client('c');
  const now = performance.now();
  wheel.schedule(b, now + 80, now);
  wheel.schedule(a, now + 20, now);
  wheel.schedule(c, now + 40, now);
  assert.equal(wheel.size, 3);
  wheel.cancel(c);
  assert.equal(wheel.size, 2);
  assert.equal(c.wheelSlot, -1);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(fired, ['a', 'b']);
  assert.equal(wheel.size, 0);
});

/** A ClientWriter standing in for the engine: takes every write, records when. */
class FakeWriter implements ClientWriter {
  bytesSent = 0;
  state: WriterState = 'open';
  headersSent = false;
  writes: Array<{ at: number; bytes: number }> = [];
  #abort: (() => void) | null = null;
  ended = false;
  discardHead(): boolean {
    return false;
  }
  armAbort(): void {}
  remoteAddress(): string {
    return '127.0.0.1';
  }
  onAbort(callback: () => void): void {
    this.#abort = callback;
  }
  abort(): void {
    this.state = 'aborted';
    this.#abort?.();
  }
  writeHead(): void {
    this.state = 'streaming';
    this.headersSent = true;
  }
  writeEncodedHead(): void {
    this.writeHead();
  }
  endEncodedWithoutBody(): void {}
  writeBody(chunk: Buffer): boolean {
    this.bytesSent += chunk.length;
    this.writes.push({ at: performance.now(), bytes: chunk.length });
    return true;
  }
  end(): void {
    this.ended = true;
    this.state = 'ended';
  }
  endWithoutBody(): void {}
  endWithBody(): void {}
  close(): void {
    this.state = 'aborted';
  }
  onRequestBody(): void {}
  pauseRequestBody(): void {}
  resumeRequestBody(): void {}
}

test('ThrottledWriter: header + boost at once, then the rate; an aborting client leaves the wheel empty', async () => {
  const wheel = new PaceWheel();
  const inner = new FakeWriter();
  let paced = 0;
  // 800 kbps = 100 KB/s at Ratio 100; boost 1 s = 100 KB; setMedia says 1000 bytes of header.
  const w = new ThrottledWriter(inner, { bandwidthBps: 800_000, fromFile: false, ratioPercent: 100, boostSec: 1 }, (n) => (paced += n), wheel);
  assert.equal(throttleOf(w), w);
  assert.equal(throttleOf(inner), null);
  w.setMedia(null, 1000);
  w.writeHead(200, 'OK', [], 400_000);
  const t0 = performance.now();
  let drained = 0;
  assert.equal(w.writeBody(Buffer.alloc(200_000), () => drained++), false, 'held: the pipeline must wait');
  assert.equal(inner.bytesSent, 101_000, 'header and boost at once');
  await new Promise((r) => setTimeout(r, 500));
  const afterHalf = inner.bytesSent;
  assert.ok(afterHalf > 101_000 + 35_000 && afterHalf < 101_000 + 65_000, `after 0.5 s: ${afterHalf}`);
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (drained > 0) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds > 0.9 && seconds < 1.2, `99 KB paced at 100 KB/s took ${seconds.toFixed(2)} s`);
  assert.equal(paced, 99_000);
  assert.equal(wheel.size, 0);
  // Now the client goes away while bytes are held: the wheel lets go of it, the pipeline is woken.
  assert.equal(w.writeBody(Buffer.alloc(200_000), () => drained++), false);
  assert.equal(wheel.size, 1);
  let aborted = 0;
  w.onAbort(() => aborted++);
  inner.abort();
  assert.equal(aborted, 1);
  assert.equal(drained, 2, 'the waiting pipeline is woken and sees the abort');
  assert.equal(wheel.size, 0, 'nothing of the gone client is left on the wheel');
});

test('ThrottledWriter: 1000x takes the bitrate from the first chunk; end() waits for held bytes', async () => {
  const wheel = new PaceWheel();
  const inner = new FakeWriter();
  const mp3 = readMp3('cbr');
  const w = new ThrottledWriter(inner, { bandwidthBps: 1_000_000, fromFile: true, ratioPercent: 100, boostSec: 0 }, () => undefined, wheel);
  w.writeHead(200, 'OK', [], mp3.length);
  w.writeBody(mp3.subarray(0, 40_000), () => undefined);
  assert.equal(w.rateBps, 128_000);
  w.end();
  assert.equal(inner.ended, false, 'end waits for the held bytes');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(inner.ended, false);
  assert.ok(inner.bytesSent < 40_000);
});

test('ThrottledWriter: a first chunk that is only the ID3 tag (a plan part) does not lose the bitrate', () => {
  const mp3 = readMp3('cbr');
  const tagEnd = 10 + (mp3[9] as number) + 128 * (mp3[8] as number);
  const wheel = new PaceWheel();
  const inner = new FakeWriter();
  const w = new ThrottledWriter(inner, { bandwidthBps: 1_000_000, fromFile: true, ratioPercent: 100, boostSec: 1 }, () => undefined, wheel);
  w.writeHead(200, 'OK', [], mp3.length);
  assert.equal(w.writeBody(mp3.subarray(0, tagEnd), () => undefined), true);
  assert.equal(w.rateBps, 1_000_000, 'the fallback until the frames are seen');
  w.writeBody(mp3.subarray(tagEnd, tagEnd + 20_000), () => undefined);
  assert.equal(w.rateBps, 128_000);
  // Header (tag + Info frame) and one second of 128 kbps went at once; the rest of this chunk is held.
  assert.ok(inner.bytesSent > 16_000 + tagEnd && inner.bytesSent < 16_000 + tagEnd + 1000, String(inner.bytesSent));
  w.close();
  assert.equal(wheel.size, 0);
});
