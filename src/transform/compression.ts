/**
 * @module transform/compression
 * On-the-fly compression (STON `<Compression>`, issue 21) as derived variants (transform/derived.ts): which
 * requests and objects get an encoded copy, and the transforms that make one. An object is compressed when its
 * vhost has `<Compression>ON`, it is a 200 with a known size within SourceSize, it is not encoded already
 * (Content-Encoding other than identity: the origin compressed it, it goes out as is), has no Content-Range, is not
 * `Cache-Control: no-transform` (RFC 9110 §7.7 / RFC 9111 §5.2.2.6), and a line of the vhost's compression list
 * matches it; the client must accept one of the vhost's Methods (accept-encoding.ts). Each encoding is a derived
 * variant with tag `br` or `gzip`: made once from the stored identity body through zlib's asynchronous API (the
 * thread pool; never the event loop), then a plain hit. Its headers are the original's plus `Content-Encoding`,
 * `Vary: Accept-Encoding` and an encoding-specific ETag (`"x"` -> `"x-br"`, weak stays weak), so a 304 or If-Range
 * never mixes encodings. A copy no smaller than the original is not stored, and that outcome is remembered for the
 * original's bytes (DECLINED), so the work is not repeated per request. Runs in workers.
 */
import { constants as zlibConstants, brotliCompress, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { CompressionEncoding, Vhost } from '../config/types.js';
import type { ObjectMeta } from '../cache/store.js';
import { chooseEncoding } from './accept-encoding.js';
import { CompressionTargets } from './compression-targets.js';
import { sourceToken } from './derived.js';
import type { Transform, TransformOutput } from './derived.js';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Bound of the per-worker memory of objects whose compression did not pay (cleared when full). */
const DECLINED_MAX = 10_000;
/** `derived key` -> source token of originals whose encoded copy was not smaller. */
const DECLINED = new Map<string, string>();

/** Most Accept-Encoding values a policy remembers its answer for. */
const CHOICES_MAX = 256;
/** Longest Accept-Encoding value remembered (a client cannot make the memory hold long strings). */
const CHOICE_KEY_MAX = 128;

/** Reports one compression (for the per-vhost counters): encoding, identity bytes in, encoded bytes out. */
export type CompressionReport = (vhost: string, encoding: CompressionEncoding, inBytes: number, outBytes: number) => void;

/** What the eligibility check reads of a response: status, stored headers and body size (-1 unknown). */
export interface ResponseShape {
  readonly status: number;
  readonly headers: readonly string[];
  readonly size: number;
}

/** A vhost's compression settings compiled once per config (see compressionPolicy). */
export class CompressionPolicy {
  readonly #vhost: Vhost;
  readonly #targets: CompressionTargets;
  /** Eligibility per stored meta (metas are immutable; the hot path asks once per object, not per request). */
  readonly #eligible = new WeakMap<ObjectMeta, boolean>();
  readonly #transforms = new Map<CompressionEncoding, Transform>();
  /** Accept-Encoding value -> the transform it selects (see transformFor). */
  readonly #choices = new Map<string, Transform | null>();

  constructor(vhost: Vhost, report: CompressionReport) {
    this.#vhost = vhost;
    this.#targets = new CompressionTargets(vhost.rules.compression);
    const options = vhost.options.compression;
    for (const encoding of options.methods) this.#transforms.set(encoding, encodingTransform(encoding, vhost, report));
  }

  /** Whether a response of this shape at `path` may be compressed (its type and size; not the client). */
  eligible(shape: ResponseShape, path: string, sizeKnown = true): boolean {
    const { minBytes, maxBytes } = this.#vhost.options.compression.sourceSize;
    if (shape.status !== 200) return false;
    if (sizeKnown && (shape.size < minBytes || shape.size > maxBytes)) return false;
    let contentType: string | undefined;
    for (let i = 0; i < shape.headers.length; i += 2) {
      const name = shape.headers[i] as string;
      const value = shape.headers[i + 1] as string;
      if (name === 'content-encoding' && value.trim().toLowerCase() !== 'identity') return false;
      if (name === 'content-range') return false;
      if (name === 'cache-control' && /(?:^|[\s,])no-transform(?:$|[\s,])/i.test(value)) return false;
      if (name === 'content-type') contentType = value;
    }
    return this.#targets.matches(contentType, path);
  }

  /** eligible() for a stored object, remembered per meta. */
  eligibleStored(meta: ObjectMeta, path: string): boolean {
    let known = this.#eligible.get(meta);
    if (known === undefined) {
      known = meta.complete !== false && this.eligible(meta, path);
      this.#eligible.set(meta, known);
    }
    return known;
  }

  /**
   * The transform for a request whose Accept-Encoding is `acceptEncoding`, or null (identity). Clients send a few
   * distinct values (one per browser), so answers are remembered per value (CHOICES_MAX of them, then forgotten).
   */
  transformFor(acceptEncoding: string | undefined): Transform | null {
    if (acceptEncoding === undefined) return null;
    let choice = this.#choices.get(acceptEncoding);
    if (choice === undefined) {
      const encoding = chooseEncoding(acceptEncoding, this.#vhost.options.compression.methods);
      choice = encoding === null ? null : (this.#transforms.get(encoding) ?? null);
      if (acceptEncoding.length > CHOICE_KEY_MAX) return choice;
      if (this.#choices.size >= CHOICES_MAX) this.#choices.clear();
      this.#choices.set(acceptEncoding, choice);
    }
    return choice;
  }
}

/** Whether `encoding` of `original` was found not to pay (see DECLINED): serve identity without trying again. */
export function compressionDeclined(original: ObjectMeta, encoding: string): boolean {
  return DECLINED.size > 0 && DECLINED.get(`${original.key}~${encoding}`) === sourceToken(original);
}

/** The policy of a vhost with `<Compression>ON`, else null; one per vhost config object (a reload makes new ones). */
const POLICIES = new WeakMap<Vhost, CompressionPolicy>();

export function compressionPolicy(vhost: Vhost, report: CompressionReport): CompressionPolicy | null {
  if (!vhost.options.compression.enabled) return null;
  let policy = POLICIES.get(vhost);
  if (policy === undefined) {
    policy = new CompressionPolicy(vhost, report);
    POLICIES.set(vhost, policy);
  }
  return policy;
}

/** The transform making `encoding` copies for `vhost`. */
function encodingTransform(encoding: CompressionEncoding, vhost: Vhost, report: CompressionReport): Transform {
  const { gzipLevel, brotliQuality } = vhost.options.compression;
  return {
    tag: encoding,
    async run(body: Buffer, original: ObjectMeta): Promise<TransformOutput | null> {
      const memo = `${original.key}~${encoding}`;
      const token = sourceToken(original);
      if (DECLINED.get(memo) === token) return null;
      const encoded =
        encoding === 'br'
          ? await brotli(body, {
              params: {
                [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
                [zlibConstants.BROTLI_PARAM_QUALITY]: brotliQuality,
                [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length,
              },
            })
          : await gzipAsync(body, { level: gzipLevel });
      report(vhost.name, encoding, body.length, encoded.length);
      if (encoded.length >= body.length) {
        if (DECLINED.size >= DECLINED_MAX) DECLINED.clear();
        DECLINED.set(memo, token);
        return null;
      }
      const etag = encodedEtag(original.etag, encoding);
      return { body: encoded, headers: encodedHeaders(original.headers, encoding, etag), etag };
    },
  };
}

/** `"abc"` -> `"abc-br"`, `W/"abc"` -> `W/"abc-br"`; null for none or a malformed one (no validator then). */
export function encodedEtag(etag: string | null, encoding: CompressionEncoding): string | null {
  if (etag === null) return null;
  const m = /^(W\/)?"([^"]*)"$/.exec(etag.trim());
  return m === null ? null : `${m[1] ?? ''}"${m[2] as string}-${encoding}"`;
}

/**
 * The stored headers of an encoded copy: the original's but its ETag (replaced) and Content-MD5 (of other bytes),
 * plus Content-Encoding and Accept-Encoding in Vary.
 */
function encodedHeaders(headers: readonly string[], encoding: CompressionEncoding, etag: string | null): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name === 'etag' || name === 'content-md5' || name === 'content-encoding') continue;
    out.push(name, headers[i + 1] as string);
  }
  if (etag !== null) out.push('etag', etag);
  out.push('content-encoding', encoding);
  return withVaryAcceptEncoding(out);
}

/** `headers` with `Accept-Encoding` in its Vary (added to the first Vary field, or as a new one). */
export function withVaryAcceptEncoding(headers: string[]): string[] {
  let first = -1;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'vary') continue;
    const value = headers[i + 1] as string;
    if (/(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i.test(value)) return headers;
    if (first < 0) first = i;
  }
  if (first < 0) headers.push('vary', 'Accept-Encoding');
  else headers[first + 1] = `${headers[first + 1] as string}, Accept-Encoding`;
  return headers;
}
