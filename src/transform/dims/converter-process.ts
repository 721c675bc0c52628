/**
 * @module transform/dims/converter-process
 * The DIMS converter: a child process of one worker (transform/dims/converter.ts) that runs chains with sharp and
 * sends the results back. It runs under SCHED_IDLE where the machine allows it, else reniced (the worker starts it
 * so, converter.ts), so conversions take the CPU the hits leave; libvips failing hard on a hostile image (a crash, a runaway decode) ends this process,
 * not the worker, which fails the jobs and starts a new one. Jobs arrive and leave over IPC (advanced serialisation:
 * buffers are copied, not base64). Runs as its own process, never imported by a worker.
 */
import { DimsError } from './failure.js';
import { runChain } from './run.js';
import type { RunContext } from './run.js';
import type { DimsChain, OutputFormat } from './url.js';

/** One job from the worker. */
export interface ConvertJob {
  readonly id: number;
  readonly source: Uint8Array;
  readonly chain: DimsChain;
  readonly format: OutputFormat | null;
  readonly ctx: RunContext;
}

/** The answer to one job. */
export type ConvertReply =
  | { readonly id: number; readonly ok: true; readonly result: Awaited<ReturnType<typeof runChain>> }
  | { readonly id: number; readonly ok: false; readonly reason: DimsError['reason']; readonly message: string };

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));

process.on('message', (job: ConvertJob) => {
  const ctx: RunContext = {
    ...job.ctx,
    composites: new Map([...job.ctx.composites].map(([name, asset]) => [name, { ...asset, image: asBuffer(asset.image) }])),
  };
  runChain(asBuffer(job.source), job.chain, job.format, ctx).then(
    (result) => process.send?.({ id: job.id, ok: true, result } satisfies ConvertReply),
    (error: unknown) => {
      const reason = error instanceof DimsError ? error.reason : 'failed';
      process.send?.({ id: job.id, ok: false, reason, message: (error as Error).message } satisfies ConvertReply);
    },
  );
});

// The worker going away (crash, restart) must not leave a converter behind.
process.on('disconnect', () => process.exit(0));
