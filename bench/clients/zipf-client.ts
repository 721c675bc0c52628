/**
 * @module bench/clients/zipf-client
 * The load client of the `zipf` scenario, run as its own process (its CPU is counted apart, as wrk's is):
 * autocannon, driven programmatically, with a request generator that draws `/z/<id>` from a Zipf distribution
 * over the 100k objects of lib/zipf.ts, from a seeded PRNG, so every product gets the same request sequence.
 * Every response is checked (status 200, body size of that id, and the body's bytes: lib/objects.ts content),
 * and counted as a hit or not from its cache headers (lib/verify.ts rules). Prints one JSON object (ZipfReport)
 * on stdout and exits 0, also when responses were wrong. Bounded by --duration (autocannon stops itself).
 *
 *   node dist/bench/clients/zipf-client.js --url http://127.0.0.1:PORT --seed N --duration S --connections C
 */
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import type { AutocannonResult } from 'autocannon';
import { objectBytes } from '../lib/objects.js';
import { cacheOutcome } from '../lib/verify.js';
import { ZIPF_EXPONENT, ZIPF_MAX_BYTES, ZIPF_OBJECTS, ZIPF_PREFIX, ZipfSampler, zipfSizes } from '../lib/zipf.js';

/** What the client prints. Latencies in ms, as autocannon measures them (request written to response complete). */
export interface ZipfReport {
  readonly seed: number;
  readonly connections: number;
  readonly durationS: number;
  /** Complete responses seen by onResponse. */
  readonly responses: number;
  readonly requestsPerSec: number;
  /** Body bytes of those responses. */
  readonly bodyBytes: number;
  /** Responses whose cache headers said hit. */
  readonly headerHits: number;
  readonly byStatus: Readonly<Record<string, number>>;
  /** Responses with a wrong status, size or content; the first few problems. */
  readonly wrong: number;
  readonly problems: readonly string[];
  /** Responses the server cut short by closing the connection (see onResponse), and a few of them. */
  readonly cut: number;
  readonly cutSamples: readonly string[];
  readonly errors: number;
  readonly timeouts: number;
  readonly latencyMs: { readonly avg: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** Distinct ids requested (the part of the working set this run touched). */
  readonly distinctIds: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, seed: { type: 'string', default: '1' }, duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } },
  });
  const url = values.url;
  const seed = Number(values.seed);
  const durationS = Number(values.duration);
  const connections = Number(values.connections);
  if (url === undefined || !Number.isInteger(seed) || !(durationS > 0) || !(connections > 0)) {
    throw new Error('usage: zipf-client.js --url http://127.0.0.1:PORT --seed N --duration S --connections C');
  }
  const { sizes } = zipfSizes();
  const sampler = new ZipfSampler(ZIPF_OBJECTS, ZIPF_EXPONENT, seed);
  // Every object is a prefix of the same content (ASCII), so one string checks them all; autocannon hands bodies
  // over as utf8-decoded strings, which for ASCII have one char per byte.
  const expected = objectBytes(0, ZIPF_MAX_BYTES).toString('latin1');
  const byStatus: Record<string, number> = {};
  const problems: string[] = [];
  const seen = new Uint8Array(ZIPF_OBJECTS + 1);
  let responses = 0;
  let bodyBytes = 0;
  let headerHits = 0;
  let wrong = 0;
  let cut = 0;
  const cutSamples: string[] = [];

  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        duration: durationS,
        requests: [
          {
            // With one request template autocannon resets `context` before each request of a connection, and
            // (pipelining 1) calls onResponse for it before building the next: `context.id` is this response's id.
            setupRequest: (req, context) => {
              const id = sampler.next();
              context['id'] = id;
              return { ...req, path: `${ZIPF_PREFIX}${id}` };
            },
            onResponse: (status, body, context, headers) => {
              const id = context['id'] as number;
              responses++;
              bodyBytes += body.length;
              seen[id] = 1;
              byStatus[status] = (byStatus[status] ?? 0) + 1;
              const lower: Record<string, string> = {};
              for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
              if (cacheOutcome({ status, headers: lower, body: Buffer.alloc(0) }) === 'hit') headerHits++;
              const size = sizes[id - 1] as number;
              // The origin's ETag names the object ("z<id>-<size>"). Another id's ETag means the server closed the
              // connection in the middle of an earlier response: autocannon then reconnects without resetting its
              // parser, so the cut response's remaining length is filled from the next response's bytes. Counted apart.
              const etagId = /^"z(\d+)-/.exec(lower['etag'] ?? '')?.[1];
              if (etagId !== undefined && Number(etagId) !== id) {
                cut++;
                if (cutSamples.length < 5) cutSamples.push(`${ZIPF_PREFIX}${etagId} (${body.length} bytes) cut, then ${ZIPF_PREFIX}${id} sent on a new connection`);
                return;
              }
              let problem = '';
              if (status !== 200) problem = `status ${status}`;
              else if (body.length !== size) problem = `body ${body.length} bytes, want ${size}`;
              else if (body !== expected.slice(0, size)) problem = 'wrong body bytes';
              if (problem !== '') {
                wrong++;
                if (problems.length < 5) problems.push(`${ZIPF_PREFIX}${id}: ${problem}`);
              }
            },
          },
        ],
      },
      (err, res) => (err === null ? resolve(res) : reject(err)),
    );
  });
  let distinctIds = 0;
  for (const s of seen) distinctIds += s;
  const report: ZipfReport = {
    seed,
    connections,
    durationS: result.duration,
    responses,
    requestsPerSec: result.duration > 0 ? Math.round(responses / result.duration) : 0,
    bodyBytes,
    headerHits,
    byStatus,
    wrong,
    problems,
    cut,
    cutSamples,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { avg: result.latency.average, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    distinctIds,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  console.error(`zipf-client: ${(err as Error).message}`);
  process.exit(2);
});
