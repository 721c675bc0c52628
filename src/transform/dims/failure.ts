/**
 * @module transform/dims/failure
 * Why a DIMS conversion failed: a closed set for the image log, the counters and the converter's replies. Kept apart
 * from run.ts so the worker, which never loads sharp (conversions run in the converter process), can name them.
 * Runs in workers and in the converter.
 */

/** Why a conversion failed: a closed set for the image log and the counters. */
export const DIMS_FAILURES = ['too-many-pixels', 'unsupported-format', 'corrupt', 'timeout', 'output-too-large', 'empty-region', 'failed'] as const;
export type DimsFailure = (typeof DIMS_FAILURES)[number];

/** A failed conversion; the original is served instead (STON). */
export class DimsError extends Error {
  readonly reason: DimsFailure;
  constructor(reason: DimsFailure, detail: string) {
    super(detail);
    this.reason = reason;
  }
}
