/**
 * @module bench/clients/http-client
 * The load client of the scenarios wrk cannot drive, run as its own process so its CPU is counted apart from the
 * server's and the bench's (the bench reads it as a reaped child, like wrk). Prints one JSON object (ClientReport)
 * on stdout and exits 0, also when requests failed; every request is checked byte for byte against the object's
 * content (lib/objects.ts). Bounded: whatever is still open at --deadline-ms is destroyed and reported as failed.
 *
 *   node dist/bench/clients/http-client.js concurrent --url U --count 100 --size BYTES --deadline-ms MS
 *     `count` GETs of one URL at once, each on a fresh connection, all issued in one tick, read without an
 *     allocation per chunk (raw-get.ts: with node:http this client was the bottleneck of cold-100);
 *   node dist/bench/clients/http-client.js ranges --url U --count 1000 --size BYTES --seed N --concurrency C
 *     `count` single-range GETs (`Range: bytes=a-b`, a..b random, 1 KiB..1 MiB long, from a seeded PRNG so every
 *     product gets the same ranges), C at a time over kept-alive connections.
 */
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { objectBytes } from '../lib/objects.js';
import { mulberry32 } from '../lib/prng.js';
import { rawGet } from './raw-get.js';
import type { Destroyable } from './raw-get.js';

/** One request as the client saw it; times in ms since the client's t0 (just before the first request). */
export interface ClientRequest {
  /** Range asked for, 'a-b' (ranges mode only). */
  readonly range?: string;
  readonly startMs: number;
  /** Response head parsed: the time to first byte. -1 = never. */
  readonly headersMs: number;
  /** First body byte. -1 = never. */
  readonly firstBodyMs: number;
  /** Response complete (or failed). */
  readonly doneMs: number;
  readonly status: number;
  readonly bytes: number;
  /** Status, length and every byte as expected. */
  readonly ok: boolean;
  /** Why not ok: the first problem seen. */
  readonly problem?: string;
  /** Cache headers of the response: cache-status, x-cache, x-cache-status, age. */
  readonly cache: string;
}

/** What the client prints. */
export interface ClientReport {
  readonly mode: 'concurrent' | 'ranges';
  readonly url: string;
  readonly requests: readonly ClientRequest[];
  /** From t0 until the last request finished (or the deadline). */
  readonly wallMs: number;
  /** True when the deadline cut requests short. */
  readonly deadlineHit: boolean;
}

interface Job {
  readonly headers: Record<string, string>;
  /** Expected status and body bytes [start, end). */
  readonly status: number;
  readonly start: number;
  readonly end: number;
  readonly range?: string;
  readonly contentRange?: string;
}

const live = new Set<Destroyable>();

/** The read buffer every connection of a concurrent run shares (raw-get.ts). */
const READ_BUFFER_BYTES = 256 * 1024;
/** The whole object's content, made once before t0 (a 256 MiB object takes about 0.5 s); chunks compare against it. */
let expected: Buffer = Buffer.alloc(0);

/** Issue one GET and check it as it streams in; never rejects. */
function fetchOne(url: string, agent: Agent, job: Job, t0: number): Promise<ClientRequest> {
  const startMs = performance.now() - t0;
  return new Promise((resolve) => {
    let headersMs = -1;
    let firstBodyMs = -1;
    let status = 0;
    let got = 0;
    let problem: string | undefined;
    let cache = '';
    let settled = false;
    const finish = (extra?: string): void => {
      if (settled) return;
      settled = true;
      live.delete(req);
      if (extra !== undefined && problem === undefined) problem = extra;
      if (problem === undefined && got !== job.end - job.start) problem = `body ${got} bytes, want ${job.end - job.start}`;
      const r: ClientRequest = {
        ...(job.range === undefined ? {} : { range: job.range }),
        startMs: round(startMs),
        headersMs: round(headersMs),
        firstBodyMs: round(firstBodyMs),
        doneMs: round(performance.now() - t0),
        status,
        bytes: got,
        ok: problem === undefined,
        ...(problem === undefined ? {} : { problem }),
        cache,
      };
      resolve(r);
    };
    const req = request(url, { method: 'GET', agent, headers: job.headers }, (res) => {
      headersMs = performance.now() - t0;
      status = res.statusCode ?? 0;
      cache = ['cache-status', 'x-cache', 'x-cache-status', 'age']
        .map((h) => (res.headers[h] === undefined ? '' : `${h}: ${String(res.headers[h])}`))
        .filter((s) => s !== '')
        .join('; ');
      if (status !== job.status) problem = `status ${status}, want ${job.status}`;
      const cr = res.headers['content-range'];
      if (job.contentRange !== undefined && cr !== job.contentRange) problem ??= `content-range '${cr ?? ''}', want '${job.contentRange}'`;
      res.on('data', (chunk: Buffer) => {
        if (firstBodyMs < 0) firstBodyMs = performance.now() - t0;
        if (problem === undefined) {
          const at = job.start + got;
          if (at + chunk.length > job.end) problem = `more than ${job.end - job.start} body bytes`;
          else if (!chunk.equals(expected.subarray(at, at + chunk.length))) problem = `wrong bytes at body offset ${got}`;
        }
        got += chunk.length;
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(err.message));
      res.on('close', () => finish(res.complete ? undefined : `connection closed after ${got} body bytes`));
    });
    live.add(req);
    req.on('error', (err) => finish(err.message));
    req.end();
  });
}

function round(n: number): number {
  return n < 0 ? -1 : Math.round(n * 100) / 100;
}

/** The ranges of a ranges run: `count` of them, each 1 KiB..1 MiB long, inside an object of `size` bytes. */
export function randomRanges(count: number, size: number, seed: number): Array<{ start: number; end: number }> {
  const rnd = mulberry32(seed);
  const out: Array<{ start: number; end: number }> = [];
  for (let i = 0; i < count; i++) {
    const len = 1024 + Math.floor(rnd() * (1024 * 1024 - 1024 + 1));
    const start = Math.floor(rnd() * (size - len + 1));
    out.push({ start, end: start + len });
  }
  return out;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      count: { type: 'string', default: '100' },
      size: { type: 'string' },
      'deadline-ms': { type: 'string', default: '60000' },
      seed: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '1' },
    },
  });
  const mode = positionals[0];
  const url = values.url;
  const count = Number(values.count);
  const size = Number(values.size);
  const deadlineMs = Number(values['deadline-ms']);
  if ((mode !== 'concurrent' && mode !== 'ranges') || url === undefined || !(count > 0) || !(size > 0) || !(deadlineMs > 0)) {
    throw new Error('usage: http-client.js concurrent|ranges --url U --count N --size BYTES [--deadline-ms MS] [--seed N] [--concurrency C]');
  }
  expected = objectBytes(0, size);
  let deadlineHit = false;
  const deadline = setTimeout(() => {
    deadlineHit = true;
    for (const r of live) r.destroy(new Error(`deadline of ${deadlineMs} ms reached`));
  }, deadlineMs);
  const t0 = performance.now();
  let requests: ClientRequest[];
  if (mode === 'concurrent') {
    const shared = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const results = await Promise.all(Array.from({ length: count }, () => rawGet(url, 200, expected, shared, t0, live)));
    requests = results.map((r) => ({
      startMs: 0,
      headersMs: round(r.headersMs),
      firstBodyMs: round(r.firstBodyMs),
      doneMs: round(r.doneMs),
      status: r.status,
      bytes: r.bytes,
      ok: r.problem === undefined,
      ...(r.problem === undefined ? {} : { problem: r.problem }),
      cache: r.cache,
    }));
  } else {
    const concurrency = Math.max(1, Number(values.concurrency));
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const ranges = randomRanges(count, size, Number(values.seed));
    requests = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < ranges.length && !deadlineHit) {
        const r = ranges[next++] as { start: number; end: number };
        const spec = `${r.start}-${r.end - 1}`;
        const job: Job = { headers: { range: `bytes=${spec}` }, status: 206, start: r.start, end: r.end, range: spec, contentRange: `bytes ${spec}/${size}` };
        requests.push(await fetchOne(url, agent, job, t0));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    agent.destroy();
  }
  clearTimeout(deadline);
  const report: ClientReport = { mode, url, requests, wallMs: round(performance.now() - t0), deadlineHit };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  console.error(`http-client: ${(err as Error).message}`);
  process.exit(2);
});
