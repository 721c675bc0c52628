/**
 * @module pipeline/range-fill
 * Fetches blocks [first, last] of an object from the origin with one block-aligned Range request and merges them
 * into the object's partial record (per-block presence), so random ranges over a large object cost the origin at
 * most the object's size plus one block. `If-Range` with the stored validator makes the origin answer 200 when the
 * object changed: the caller then drops the partial copy and fetches the whole object. A block becomes visible only
 * once fully written and checksummed. Runs in workers.
 */
import type { FlintError } from '../errors.js';
import { ABSENT_BLOCK } from '../cache/index.js';
import type { BlockLease } from '../cache/index.js';
import type { CacheStore, ObjectMeta, ObjectRef } from '../cache/store.js';
import type { OriginHeaders, OriginSink, OriginTransfer } from '../origin/fetch.js';
import type { Fill, FillHead } from './fill.js';
import { withBody } from './fill.js';

export type RangeFillResult =
  | { readonly kind: 'stored'; readonly meta: ObjectMeta }
  /** The origin sent the whole object (it ignores Range, or the object changed): a whole-object fill took it over. */
  | { readonly kind: 'whole'; readonly fill: Fill }
  /** The origin did not answer with the expected 206 (ignores Range, object changed, not storable). */
  | { readonly kind: 'not-partial'; readonly reason: string; readonly status?: number }
  | { readonly kind: 'failed'; readonly error: FlintError | Error };

/** Decides storage for the object the 206 is part of (called with status 200 and the response headers). */
export type PartialPolicy = (headers: OriginHeaders, requestTime: number, responseTime: number) => FillHead | null;

/** `bytes a-b/total` -> numbers, or null (`*` totals and malformed values included). */
export function parseContentRange(value: string | string[] | undefined): { start: number; end: number; total: number } | null {
  const text = typeof value === 'string' ? value : value?.[0];
  const match = text === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(text.trim());
  if (match === null) return null;
  const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return start <= end && end < total ? { start, end, total } : null;
}

export class RangeFill implements OriginSink {
  readonly #store: CacheStore;
  readonly #ref: ObjectRef;
  readonly #first: number;
  readonly #last: number;
  readonly #known: ObjectMeta | null;
  /** The block leases of [first, last] this fetch holds: the merge is refused if a purge marked one meanwhile. */
  readonly #lease: { readonly leases: readonly BlockLease[]; readonly id: string };
  readonly #policy: PartialPolicy;
  /** Creates (and leases) a whole-object fill to take over a 200 answer; null when that is not possible. */
  readonly #wholeFill: () => Fill | null;
  /** The fill a 200 answer was handed to: every later origin event goes there. */
  #handoff: Fill | null = null;
  readonly #fetched = new Map<number, { id: number; crc: number }>();
  #transfer: OriginTransfer | null = null;
  #template: ObjectMeta | null = null;
  #current: Buffer | null = null;
  #currentLength = 0;
  #nextIndex: number;
  #writes: Promise<void> = Promise.resolve();
  #storageError: Error | null = null;
  #settled = false;
  readonly #requestTime = Date.now();
  #resolve: (result: RangeFillResult) => void = () => undefined;
  /** Settles once the blocks are merged (or the attempt ended otherwise). */
  readonly done: Promise<RangeFillResult>;
  #resolveHeaded: (partial: boolean) => void = () => undefined;
  /** True once the origin answered with the expected 206; false when it answered otherwise or the attempt ended. */
  readonly headed: Promise<boolean>;

  /** `known` is the partial record being extended, or null for an object not cached at all. */
  constructor(
    store: CacheStore,
    ref: ObjectRef,
    first: number,
    last: number,
    known: ObjectMeta | null,
    lease: { readonly leases: readonly BlockLease[]; readonly id: string },
    policy: PartialPolicy,
    wholeFill: () => Fill | null,
  ) {
    this.#wholeFill = wholeFill;
    this.#lease = lease;
    this.#store = store;
    this.#ref = ref;
    this.#first = first;
    this.#last = last;
    this.#known = known;
    this.#policy = policy;
    this.#nextIndex = first;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.headed = new Promise((resolve) => (this.#resolveHeaded = resolve));
  }

  /** The Range (and If-Range) headers of the origin request. */
  requestHeaders(): Record<string, string> {
    const bs = this.#store.blockSize;
    const end = this.#known === null ? (this.#last + 1) * bs - 1 : Math.min((this.#last + 1) * bs, this.#known.size) - 1;
    const headers: Record<string, string> = { range: `bytes=${this.#first * bs}-${end}` };
    const known = this.#known;
    if (known !== null) {
      const lastModified = headerOf(known.headers, 'last-modified');
      if (known.etag !== null && !known.etag.startsWith('W/')) headers['if-range'] = known.etag;
      else if (lastModified !== undefined) headers['if-range'] = lastModified;
    }
    return headers;
  }

  start(fetch: (headers: Record<string, string>, sink: OriginSink) => OriginTransfer): void {
    this.#transfer = fetch(this.requestHeaders(), this);
  }

  #settle(result: RangeFillResult): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolveHeaded(false);
    if (result.kind !== 'stored') {
      this.#transfer?.abort();
      // The blocks it wrote are freed once the writes are done (retried after a storage error: no record lists them).
      void this.#writes.then(() => this.#store.releaseUnlisted([...this.#fetched.values()].map((b) => b.id)));
    }
    this.#resolve(result);
  }

  onHeaders(status: number, headers: OriginHeaders, statusText: string): void {
    if (status === 200 && this.#transfer !== null) {
      // The whole object is coming anyway: keep its bytes (store it whole) rather than fetch it again.
      const fill = this.#wholeFill();
      if (fill !== null) {
        this.#handoff = fill;
        fill.adopt(this.#transfer);
        fill.onHeaders(status, headers, statusText);
        this.#settled = true;
        this.#resolveHeaded(false);
        this.#resolve({ kind: 'whole', fill });
        return;
      }
    }
    if (status !== 206) return this.#settle({ kind: 'not-partial', reason: `origin answered ${status} to a range request`, status });
    const range = parseContentRange(headers['content-range']);
    const bs = this.#store.blockSize;
    if (range === null || range.start !== this.#first * bs) return this.#settle({ kind: 'not-partial', reason: 'unexpected Content-Range' });
    const known = this.#known;
    if (known !== null && range.total !== known.size) return this.#settle({ kind: 'not-partial', reason: 'object size changed' });
    const stripped: OriginHeaders = { ...headers, 'content-range': undefined, 'content-length': String(range.total) };
    const head = this.#policy(stripped, this.#requestTime, Date.now());
    if (head === null) return this.#settle({ kind: 'not-partial', reason: 'not storable' });
    if (known !== null && (head.meta.etag ?? null) !== known.etag) return this.#settle({ kind: 'not-partial', reason: 'validator changed' });
    const blockCount = Math.ceil(range.total / bs);
    this.#template =
      known ??
      withBody(head.meta, {
        size: range.total,
        inline: null,
        blockSize: bs,
        blocks: new Array<number>(blockCount).fill(ABSENT_BLOCK),
        crcs: new Array<number>(blockCount).fill(0),
        complete: false,
      });
    this.#resolveHeaded(true);
  }

  onData(chunk: Buffer): void {
    if (this.#handoff !== null) return this.#handoff.onData(chunk);
    const template = this.#template;
    if (template === null || this.#settled) return;
    const bs = this.#store.blockSize;
    let offset = 0;
    while (offset < chunk.length) {
      this.#current ??= Buffer.allocUnsafeSlow(bs);
      const blockLength = Math.min(bs, template.size - this.#nextIndex * bs);
      const n = Math.min(chunk.length - offset, blockLength - this.#currentLength);
      chunk.copy(this.#current, this.#currentLength, offset, offset + n);
      this.#currentLength += n;
      offset += n;
      if (this.#currentLength === blockLength) {
        const index = this.#nextIndex++;
        const data = this.#current.subarray(0, blockLength);
        this.#current = null;
        this.#currentLength = 0;
        this.#writes = this.#writes.then(() => this.#write(index, data));
        if (this.#nextIndex > this.#last) return;
      }
    }
  }

  async #write(index: number, data: Buffer): Promise<void> {
    if (this.#storageError !== null) return;
    try {
      const id = this.#store.allocateBlock(Date.now());
      if (id === null) throw Object.assign(new Error('disk quota full: no free block'), { code: 'ENOSPC' });
      const crc = await this.#store.writeBlockKept(id, data);
      this.#fetched.set(index, { id, crc });
    } catch (error) {
      this.#storageError = error as Error;
      this.#store.markDegraded((error as Error).message);
    }
  }

  onEnd(): void {
    if (this.#handoff !== null) return this.#handoff.onEnd();
    if (this.#settled || this.#template === null) return;
    void this.#writes.then(() => {
      if (this.#storageError !== null) return this.#settle({ kind: 'failed', error: this.#storageError });
      const template = this.#template as ObjectMeta;
      let meta: ObjectMeta | null;
      try {
        meta = this.#store.index.mergePartial(this.#ref.hash, this.#ref.primaryHash, this.#ref.vary, template, this.#fetched, this.#lease, Date.now());
      } catch (error) {
        // A storage error (ENOSPC while the index file grows): not stored, like a failed block write.
        this.#store.markDegraded((error as Error).message);
        return this.#settle({ kind: 'failed', error: error as Error });
      }
      // Refused: a purge ran while the blocks were in flight (they may be the old version); fetch the object whole.
      if (meta === null) return this.#settle({ kind: 'not-partial', reason: 'purged while the blocks were fetched' });
      this.#settle({ kind: 'stored', meta });
    });
  }

  onError(error: FlintError): void {
    if (this.#handoff !== null) return this.#handoff.onError(error);
    this.#settle({ kind: 'failed', error });
  }
}

function headerOf(list: readonly string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}
