/**
 * @module transform/dims/converter-process
 * The DIMS converter: a child process of one worker (transform/dims/converter.ts) that runs chains with sharp and
 * sends the results back. It runs under SCHED_IDLE where the machine allows it, else reniced (the worker starts it
 * so, converter.ts), so conversions take the CPU the hits leave; libvips failing hard on a hostile image (a crash,
 * a runaway decode) ends this process, not the worker, which fails the jobs and starts a new one. A job's
 * description arrives over IPC and its source bytes on stdin, in the same order (the worker writes them without a
 * copy); results leave over IPC (advanced serialisation: buffers are copied, not base64). Runs as its own process,
 * never imported by a worker.
 */
import { DimsError } from './failure.js';
import { runChain } from './run.js';
import type { RunContext } from './run.js';
import type { DimsChain, OutputFormat } from './url.js';

/** One job from the worker. */
export interface ConvertJob {
  readonly id: number;
  /** Length of the source, which follows on stdin after the previous jobs' sources. */
  readonly sourceBytes: number;
  readonly chain: DimsChain;
  readonly format: OutputFormat | null;
  readonly ctx: RunContext;
}

/** The answer to one job. */
export type ConvertReply =
  | { readonly id: number; readonly ok: true; readonly result: Awaited<ReturnType<typeof runChain>> }
  | { readonly id: number; readonly ok: false; readonly reason: DimsError['reason']; readonly message: string };

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));

/** Jobs whose source has not fully arrived yet, in arrival order. */
const waiting: ConvertJob[] = [];
/** Source bytes read from stdin and not yet handed to a job. */
const input: Buffer[] = [];
let inputBytes = 0;

/** Takes the next `n` bytes of stdin (present: the caller checked inputBytes). */
function take(n: number): Buffer {
  const parts: Buffer[] = [];
  let left = n;
  while (left > 0) {
    const head = input[0] as Buffer;
    if (head.length <= left) {
      parts.push(head);
      input.shift();
      left -= head.length;
    } else {
      parts.push(head.subarray(0, left));
      input[0] = head.subarray(left);
      left = 0;
    }
  }
  inputBytes -= n;
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
}

/** Starts every waiting job whose source is complete. */
function pump(): void {
  while (waiting.length > 0 && inputBytes >= (waiting[0] as ConvertJob).sourceBytes) {
    const job = waiting.shift() as ConvertJob;
    convert(job, take(job.sourceBytes));
  }
}

function convert(job: ConvertJob, source: Buffer): void {
  const ctx: RunContext = {
    ...job.ctx,
    composites: new Map([...job.ctx.composites].map(([name, asset]) => [name, { ...asset, image: asBuffer(asset.image) }])),
  };
  runChain(source, job.chain, job.format, ctx).then(
    (result) => process.send?.({ id: job.id, ok: true, result } satisfies ConvertReply),
    (error: unknown) => {
      const reason = error instanceof DimsError ? error.reason : 'failed';
      process.send?.({ id: job.id, ok: false, reason, message: (error as Error).message } satisfies ConvertReply);
    },
  );
}

process.on('message', (job: ConvertJob) => {
  waiting.push(job);
  pump();
});
process.stdin.on('data', (chunk: Buffer) => {
  input.push(chunk);
  inputBytes += chunk.length;
  pump();
});

// The worker going away (crash, restart) must not leave a converter behind.
process.on('disconnect', () => process.exit(0));
