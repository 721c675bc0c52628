// Unit tests of the worker's DIMS converter process (transform/dims/converter.ts): results come back intact over
// IPC, the process runs at a lower priority (SCHED_IDLE where chrt allows it, and nice 10), a converter that dies mid-job fails that job and the next
// job gets a new converter, a job past its time limit fails with 'timeout', and the sources that come down the
// converter's stdin (apart from the IPC job) are cut per job however the pipe splits or joins them.
import assert from 'node:assert/strict';
import { execFileSync, fork } from 'node:child_process';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import pino from 'pino';
import sharp from 'sharp';
import { DimsConverter } from '../../src/transform/dims/converter.js';
import type { ConvertJob, ConvertReply } from '../../src/transform/dims/converter-process.js';
import { DimsError } from '../../src/transform/dims/failure.js';
import type { RunContext } from '../../src/transform/dims/run.js';
import { parseDimsPath } from '../../src/transform/dims/url.js';
import type { DimsChain, DimsNames } from '../../src/transform/dims/url.js';
import { idleAvailable, threadPolicies } from '../helpers/sched.js';

const NAMES: DimsNames = { keyword: 'dims', composites: new Set(), annotations: new Set(), byOriginal: new Set() };
const converter = new DimsConverter(pino({ level: 'silent' }), 2);
after(() => converter.close());

const chain = (ops: string): DimsChain => (parseDimsPath(`/x.jpg/dims/${ops}`, NAMES) as { chain: DimsChain }).chain;
const ctx = (deadlineMs: number): RunContext => ({ names: NAMES, maxPixels: 100_000_000, firstFrameOnly: false, composites: new Map(), annotations: new Map(), byOriginal: new Map(), query: '', deadline: Date.now() + deadlineMs });

/** Pids of this process's children (the converter). */
function children(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).trim().split('\n').filter((l) => l !== '').map(Number);
  } catch {
    return [];
  }
}

test('a conversion round-trips through the converter process, which runs under SCHED_IDLE at nice 10', async () => {
  const source = await sharp({ create: { width: 800, height: 600, channels: 3, background: 'red' } }).jpeg().toBuffer();
  const result = await converter.run(source, chain('resize/200x/format/webp'), 'webp', ctx(10_000));
  assert.ok(Buffer.isBuffer(result.body));
  const meta = await sharp(result.body).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 200, 150]);
  assert.deepEqual([result.sourceWidth, result.sourceHeight], [800, 600]);
  const pids = children();
  assert.equal(pids.length, 1, 'one converter');
  assert.equal(getPriority(pids[0]), Math.max(10, getPriority()), 'nice 10, or the test runner\'s own when lower');
  // Every thread (libuv pool, libvips workers) inherits the policy chrt gave the process before node started.
  if (idleAvailable()) assert.deepEqual(threadPolicies(pids[0] as number), [5], 'every converter thread is SCHED_IDLE');
  else console.log('chrt --idle unavailable here: the converter runs reniced only');
});

test('a converter killed mid-job fails that job; the next job starts a new converter', async () => {
  const big = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: 'blue' } }).png({ compressionLevel: 0 }).toBuffer();
  const before = children();
  const job = converter.run(big, chain('rotate/33/format/avif'), 'avif', ctx(60_000));
  await new Promise((r) => setTimeout(r, 300));
  for (const pid of before) process.kill(pid, 'SIGKILL');
  await assert.rejects(job, (e: unknown) => e instanceof DimsError && e.reason === 'failed');
  const source = await sharp({ create: { width: 100, height: 100, channels: 3, background: 'green' } }).png().toBuffer();
  const again = await converter.run(source, chain('resize/10x'), null, ctx(10_000));
  assert.equal((await sharp(again.body).metadata()).width, 10);
  const now = children();
  assert.equal(now.length, 1);
  assert.notEqual(now[0], before[0], 'a new converter');
});

test('a job past its time limit fails with timeout', async () => {
  const big = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: 'blue' } }).png({ compressionLevel: 0 }).toBuffer();
  await assert.rejects(converter.run(big, chain('rotate/33/format/avif'), 'avif', ctx(200)), (e: unknown) => e instanceof DimsError && e.reason === 'timeout');
});

test('sources arrive on stdin apart from the IPC job: split and coalesced chunks are cut per job, in order', async () => {
  // The converter process on its own, fed the way the worker feeds it, but with the bytes cut at odd places.
  const entry = fileURLToPath(new URL('../../src/transform/dims/converter-process.js', import.meta.url));
  const child = fork(entry, [], { serialization: 'advanced', stdio: ['pipe', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  try {
    const sources = await Promise.all(
      [120, 60, 90].map((w, i) => sharp({ create: { width: w, height: 40, channels: 3, background: ['red', 'green', 'blue'][i] as string } }).png().toBuffer()),
    );
    const replies = new Map<number, ConvertReply>();
    const done = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the converter exited (${code})`)));
      child.on('message', (reply: ConvertReply) => {
        replies.set(reply.id, reply);
        if (replies.size === sources.length) resolve();
      });
    });
    // Two job descriptions before any byte, the third after its bytes; the first source split in three writes,
    // the end of the second and the whole third in one.
    const job = (id: number): ConvertJob => ({ id, sourceBytes: (sources[id] as Buffer).length, chain: chain('resize/30x'), format: 'png', ctx: ctx(10_000) });
    child.send(job(0));
    child.send(job(1));
    const [a, b, c] = sources as [Buffer, Buffer, Buffer];
    const stdin = child.stdin as NodeJS.WritableStream;
    stdin.write(a.subarray(0, 7));
    await new Promise((r) => setTimeout(r, 20));
    stdin.write(a.subarray(7, 100));
    stdin.write(Buffer.concat([a.subarray(100), b.subarray(0, 5)]));
    stdin.write(Buffer.concat([b.subarray(5), c]));
    await new Promise((r) => setTimeout(r, 20));
    child.send(job(2));
    await done;
    for (const [id, want] of [[0, 120], [1, 60], [2, 90]] as const) {
      const reply = replies.get(id) as ConvertReply;
      assert.ok(reply.ok, `job ${id}: ${reply.ok ? '' : reply.message}`);
      assert.equal(reply.result.sourceWidth, want, `job ${id} got its own source`);
      assert.equal((await sharp(Buffer.from(reply.result.body)).metadata()).width, 30);
    }
  } finally {
    child.kill('SIGKILL');
  }
});
