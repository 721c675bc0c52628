/**
 * @module transform/dims/service
 * One worker's DIMS state: reads a request's DIMS URL into a DimsRequest (chain, chosen format, variant tag), builds
 * the derived-variant Transform (transform/derived.ts) that runs the chain under the worker's limiter in the
 * worker's converter process (converter.ts: lower CPU priority, crash-isolated), counts
 * conversions, failures and milliseconds per vhost, writes the image log, and remembers failed conversions so a
 * corrupt original is logged once and served as it is afterwards instead of being decoded again on every request.
 * Runs in workers.
 */
import { crc32 } from 'node:zlib';
import type { DimsConfig, DimsLimits, Vhost } from '../../config/types.js';
import type { ObjectMeta } from '../../cache/store.js';
import { headerValue } from '../../http/request.js';
import type { RequestHead } from '../../http/request.js';
import type { Logger } from '../../log.js';
import { openLogFile } from '../../logs/log-file.js';
import type { Transform, TransformOutput } from '../derived.js';
import { sourceToken } from '../derived.js';
import { chooseAutoFormat } from './format-choice.js';
import { DimsBusyError, DimsLimiter } from './limiter.js';
import { DimsConverter } from './converter.js';
import { DimsError } from './failure.js';
import { annotationText } from './query-text.js';
import type { CompositeAsset, DimsResult, RunContext } from './run.js';
import { parseDimsPath } from './url.js';
import type { DimsChain, DimsNames, OutputFormat } from './url.js';

/** A request for a DIMS variant: the chain, the output format chosen for this client, and the variant's tag. */
export interface DimsRequest {
  readonly chain: DimsChain;
  /** Concrete output format; null = the original's. */
  readonly format: OutputFormat | null;
  /** The derived variant's name beside the original (`dims:<canonical chain>`, format/auto resolved). */
  readonly tag: string;
  /** format/auto: the answer depends on Accept (`Vary: Accept`). */
  readonly varyAccept: boolean;
}

/** What a request path reads as on a DIMS vhost. */
export type DimsReading = { readonly kind: 'none' } | { readonly kind: 'invalid'; readonly problem: string } | { readonly kind: 'dims'; readonly originalPath: string; readonly request: DimsRequest };

/** Per-vhost counter sink (the edge bumps its WorkerCounters). */
export interface DimsCounters {
  conversion(vhost: string, ms: number): void;
  failure(vhost: string): void;
  refused(vhost: string): void;
}

/** One line of the image log (STON's Image log). */
interface ImageRecord {
  readonly time: string;
  readonly vhost: string;
  readonly source: string;
  readonly ops: string;
  readonly result: 'converted' | 'failed';
  readonly reason?: string;
  readonly sourceFormat?: string;
  readonly sourceBytes: number;
  readonly sourceSize?: string;
  readonly format?: string;
  readonly bytes?: number;
  readonly size?: string;
  readonly ms: number;
}

/** Failed conversions remembered per worker (bounded: cleared whole when full, a miss only costs one more try). */
const FAILED_MAX = 10_000;

/** Derived state of one vhost's `<Dims>` (per config object: a reload brings new objects). */
interface VhostAssets {
  readonly names: DimsNames;
  readonly composites: ReadonlyMap<string, CompositeAsset>;
  readonly annotations: RunContext['annotations'];
  readonly byOriginal: RunContext['byOriginal'];
}

/** Response headers of the original a converted copy does not keep (they describe the original's bytes). */
const DROPPED_HEADERS = new Set(['content-type', 'content-length', 'etag', 'content-encoding', 'content-md5', 'digest', 'accept-ranges', 'content-range', 'transfer-encoding']);

export class DimsService {
  readonly #limiter: DimsLimiter;
  readonly #converter: DimsConverter;
  readonly #log: Logger;
  readonly #counters: DimsCounters;
  readonly #assets = new WeakMap<DimsConfig, VhostAssets>();
  /** `<source token>\0<tag>` of conversions that failed here. */
  readonly #failed = new Set<string>();

  constructor(limits: DimsLimits, log: Logger, counters: DimsCounters) {
    this.#limiter = new DimsLimiter(limits);
    this.#converter = new DimsConverter(log, limits.concurrency + 1);
    this.#log = log;
    this.#counters = counters;
  }

  /** New execution limits (a reload): conversions running keep their slots; new ones use these. */
  apply(limits: DimsLimits): void {
    this.#limiter.limits = limits;
  }

  /** Stops the converter process (worker shutdown). */
  close(): void {
    this.#converter.close();
  }

  /** Conversions running / waiting in this worker (gauges). */
  get running(): number {
    return this.#limiter.running;
  }

  get queued(): number {
    return this.#limiter.queued;
  }

  /** Seconds a refused client is told to wait (Retry-After). */
  get retryAfterSec(): number {
    return this.#limiter.retryAfterSec;
  }

  /** Reads a normalised path on a DIMS vhost: not DIMS, malformed (400), or the original's path and the request. */
  read(dims: DimsConfig, path: string, head: RequestHead): DimsReading {
    const parsed = parseDimsPath(path, this.#assetsOf(dims).names);
    if (parsed.kind !== 'dims') return parsed;
    const chain = parsed.chain;
    const varyAccept = chain.format === 'auto';
    const format = varyAccept ? chooseAutoFormat(headerValue(head, 'accept')) : (chain.format as OutputFormat | null);
    // The tag names the chosen format, not the Accept string: one variant per format.
    const canonical = varyAccept ? chain.canonical.replace('format/auto/', `format/${format ?? 'source'}/`) : chain.canonical;
    // Text taken from the query ($QUERYSTRING[key]) is part of the variant, whatever the cache key keeps of the query.
    const texts: string[] = [];
    for (const step of chain.steps) {
      if (step.op !== 'annotation') continue;
      for (const name of step.names) {
        const note = this.#assetsOf(dims).annotations.get(name);
        if (note !== undefined && note.queryKey !== null) texts.push(`${note.queryKey}=${annotationText(note, head.query) ?? ''}`);
      }
    }
    const tag = texts.length === 0 ? `dims:${canonical}` : `dims:${canonical}?${encodeURIComponent(texts.join('&'))}`;
    return { kind: 'dims', originalPath: parsed.originalPath, request: { chain, format, tag, varyAccept } };
  }

  /** Whether converting this original for `request` failed here before (then the original is served at once). */
  failedBefore(original: ObjectMeta, request: DimsRequest): boolean {
    return this.#failed.has(`${sourceToken(original)}\0${request.tag}`);
  }

  /** Counts a request refused because the queue was full (503). */
  refused(vhost: Vhost): void {
    this.#counters.refused(vhost.name);
  }

  /**
   * The derived-variant transform of `request` for the original at `url` on `vhost`: runs the chain under this
   * worker's limiter; null (declined) for an original above MaxSourceSize; a failure is remembered, logged once and
   * counted, then rethrown (the caller serves the original).
   */
  transform(vhost: Vhost, dims: DimsConfig, url: string, query: string, request: DimsRequest): Transform {
    const assets = this.#assetsOf(dims);
    return {
      tag: request.tag,
      run: async (body: Buffer, original: ObjectMeta): Promise<TransformOutput | null> => {
        if (body.length > dims.maxSourceBytes) return null;
        const started = performance.now();
        try {
          const result = await this.#limiter.run((deadline) =>
            this.#converter.run(body, request.chain, request.format, { ...assets, maxPixels: dims.maxPixels, firstFrameOnly: dims.firstFrameOnly, query, deadline }),
          );
          const ms = performance.now() - started;
          this.#counters.conversion(vhost.name, ms);
          this.#image(vhost, { url, request, result: 'converted', sourceBytes: body.length, ms, detail: result });
          // A strong validator of the converted bytes (RFC 9110 §8.8.3): conditional requests and ranges on the copy.
          const etag = `"dims-${(crc32(result.body) >>> 0).toString(16)}-${result.body.length.toString(16)}"`;
          return { body: result.body, headers: [...convertedHeaders(original.headers, result.contentType, request.varyAccept), 'etag', etag], etag };
        } catch (error) {
          if (error instanceof DimsBusyError && error.kind === 'queue-full') throw error;
          const reason = error instanceof DimsError ? error.reason : error instanceof DimsBusyError ? 'timeout' : 'failed';
          // A time limit may be the queue's fault (a busy worker), not the image's: tried again on a later request.
          if (reason !== 'timeout') this.#remember(`${sourceToken(original)}\0${request.tag}`);
          this.#counters.failure(vhost.name);
          this.#log.warn({ event: 'dims.failed', vhost: vhost.name, url, ops: request.chain.canonical, reason, err: (error as Error).message }, 'DIMS conversion failed: the original is served');
          this.#image(vhost, { url, request, result: 'failed', reason, sourceBytes: body.length, ms: performance.now() - started, detail: null });
          throw error;
        }
      },
    };
  }

  #remember(key: string): void {
    if (this.#failed.size >= FAILED_MAX) this.#failed.clear();
    this.#failed.add(key);
  }

  #image(vhost: Vhost, at: { url: string; request: DimsRequest; result: 'converted' | 'failed'; reason?: string; sourceBytes: number; ms: number; detail: DimsResult | null }): void {
    const path = vhost.log.imagePath;
    if (path === null) return;
    const d = at.detail;
    const record: ImageRecord = {
      time: new Date().toISOString(),
      vhost: vhost.name,
      source: at.url,
      ops: at.request.chain.canonical,
      result: at.result,
      ...(at.reason === undefined ? {} : { reason: at.reason }),
      sourceBytes: at.sourceBytes,
      ...(d === null
        ? {}
        : { sourceFormat: d.sourceFormat, sourceSize: `${d.sourceWidth}x${d.sourceHeight}`, format: d.format, bytes: d.body.length, size: `${d.width}x${d.height}` }),
      ms: Math.round(at.ms * 10) / 10,
    };
    openLogFile(path).write(`${JSON.stringify(record)}\n`);
  }

  #assetsOf(dims: DimsConfig): VhostAssets {
    let assets = this.#assets.get(dims);
    if (assets === undefined) {
      assets = {
        names: {
          keyword: dims.keyword,
          composites: new Set(dims.composites.map((c) => c.name)),
          annotations: new Set(dims.annotations.map((a) => a.name)),
          byOriginal: new Set(dims.byOriginal.map((b) => b.name)),
        },
        composites: new Map(dims.composites.map((c) => [c.name, { image: Buffer.from(c.imageBase64, 'base64'), gravity: c.gravity, x: c.x, y: c.y, percent: c.percent, dissolve: c.dissolve }])),
        annotations: new Map(dims.annotations.map((a) => [a.name, a])),
        byOriginal: new Map(dims.byOriginal.map((b) => [b.name, b.conditions])),
      };
      this.#assets.set(dims, assets);
    }
    return assets;
  }
}

/**
 * The converted copy's stored headers: the original's, less those describing its bytes, with the new Content-Type
 * and, for format/auto, `Vary: Accept` (RFC 9110 §12.5.5) added to any Vary the original had.
 */
export function convertedHeaders(original: readonly string[], contentType: string, varyAccept: boolean): string[] {
  const out: string[] = [];
  let vary: string | null = null;
  for (let i = 0; i < original.length; i += 2) {
    const name = (original[i] as string).toLowerCase();
    if (DROPPED_HEADERS.has(name)) continue;
    if (name === 'vary') {
      vary = vary === null ? (original[i + 1] as string) : `${vary}, ${original[i + 1] as string}`;
      continue;
    }
    out.push(original[i] as string, original[i + 1] as string);
  }
  out.push('content-type', contentType);
  if (varyAccept) vary = vary === null ? 'Accept' : /(^|,)\s*accept\s*(,|$)/i.test(vary) ? vary : `${vary}, Accept`;
  if (vary !== null) out.push('vary', vary);
  return out;
}
