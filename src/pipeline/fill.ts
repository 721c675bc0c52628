/**
 * @module pipeline/fill
 * One origin fetch that fills a cache object, owned by the cache entry, not by a client: a client abort never
 * aborts it (STYLE convention 3). Bytes are written to blocks at origin speed; local subscribers tail-read them
 * (memory for the block being filled, block files for the rest), so a slow client never throttles the fill.
 * Progress (response head, written blocks) is published in the object's LMDB fill record so followers in other
 * workers can stream too. Small bodies (<= InlineMaxSize) are kept in memory and committed inline. Memory per fill
 * is bounded whatever the object size: a few blocks wait for the disk (fill-writes.ts: the origin read pauses
 * beyond), and a written block's buffer is reused (block-buffers.ts) once no local reader holds a slice of it.
 *
 *   waiting-head --origin head--> streaming --end--> complete (object committed, lease released)
 *        |                           |
 *        +--not storable--> uncacheable (followers pass; the owner's client gets the origin stream directly)
 *        +--error---------> failed     (lease and blocks released)
 * Runs in workers.
 */
import { randomUUID } from 'node:crypto';
import type { FlintError } from '../errors.js';
import { sizeClassFor, slotBytes } from '../cache/blocks.js';
import type { Admission } from '../cache/index.js';
import type { CacheStore, FillRecord, ObjectMeta, ObjectRef } from '../cache/store.js';
import type { StoredTiming } from '../cache/freshness.js';
import type { OriginHeaders, OriginSink, OriginTransfer } from '../origin/fetch.js';
import { PinnedBuffers, takeBlockBuffer } from './block-buffers.js';
import { BlockWriteQueue } from './fill-writes.js';
import { withBody } from './fill-head.js';
import type { FillHead, FillPolicy, FillState } from './fill-head.js';

// The fill's head and policy types live in pipeline/fill-head.ts; importers keep taking them from here.
export { withBody } from './fill-head.js';
export type { FillHead, FillPolicy, FillState } from './fill-head.js';

/** How long a fill lease lasts without renewal; the owner renews it while bytes flow. */
export const LEASE_MS = 10_000;

export class Fill implements OriginSink {
  readonly id = randomUUID();
  readonly #store: CacheStore;
  readonly #policy: FillPolicy;
  readonly #onDone: (fill: Fill) => void;
  #transfer: OriginTransfer | null = null;
  state: FillState = 'waiting-head';
  /** The lookup reference (the lease is held on it). */
  readonly leaseRef: ObjectRef;
  head: FillHead | null = null;
  /** Origin status and raw headers (also for the uncacheable hand-off). */
  originStatus = 0;
  originStatusText = '';
  originHeaders: OriginHeaders = {};
  error: FlintError | null = null;
  /** Bytes received from the origin so far. */
  received = 0;
  /** Bytes in blocks fully written to disk (always a multiple of blockSize until the end). */
  flushed = 0;
  readonly blocks: number[] = [];
  /**
   * Written blocks no index record of this fill lists yet; its batched index steps settle them (published, or freed
   * when the fill has no record any more: see settleUnlisted in cache/index-leases.ts).
   */
  readonly #unlisted = new Set<number>();
  readonly crcs: number[] = [];
  /** The block being filled (or the whole body while it may still go inline). */
  #current: Buffer | null = null;
  #currentLength = 0;
  /** Buffers of blocks whose disk write is in flight, by block index, readable by subscribers meanwhile. */
  readonly #inFlight = new Map<number, Buffer>();
  /** Blocks handed to #flushCurrent so far: the index of the block being filled. */
  #queuedBlocks = 0;
  /** Once storing stopped, blocks below this index were dropped from memory (see UNSTORED_BLOCKS_HELD). */
  #droppedBelow = 0;
  /**
   * Block writes, in order, with backpressure on the origin read (#complete waits for them). Made at the first block
   * (#blockWrites): a fill whose body stays inline, most misses, allocates none of it.
   */
  #writes: BlockWriteQueue | null = null;
  #ended = false;
  #storing = true;
  meta: ObjectMeta | null = null;
  readonly #waiters = new Set<() => void>();
  #lastLeaseRenewal = 0;
  /** When set, the origin body goes straight to this sink (uncacheable hand-off to the owner's client). */
  #passSink: OriginSink | null = null;
  readonly requestTime = Date.now();
  /** Size class of the blocks (0 = whole blocks), set from the Content-Length at the head. */
  #sizeClass = 0;
  /** Requests for the object the admission filter counted before this fill (from its lease); see markFollowed. */
  #priorUses = 0;
  /** Another request here follows this fill: it is stored whatever the admission count. */
  #followed = false;
  /** The admission filter kept the object out of the cache (the fill served its clients without storing it). */
  notAdmitted = false;
  /**
   * On probation (see onProbation), full blocks stay in #inFlight instead of being written, listed here by index
   * with their length: the filter will likely drop them. They are written once the fill must be stored (followed),
   * or holds more than PROBATION_HELD_BYTES.
   */
  #held: Array<{ readonly index: number; readonly length: number }> = [];
  #heldBytes = 0;
  #holding = false;
  /** Readers' pins on this fill's block buffers (LocalFillSource: the slice it returned last). */
  readonly #pinned = new PinnedBuffers();

  constructor(store: CacheStore, leaseRef: ObjectRef, policy: FillPolicy, onDone: (fill: Fill) => void) {
    this.#store = store;
    this.leaseRef = leaseRef;
    this.#policy = policy;
    this.#onDone = onDone;
  }

  /** The block (slot) size of this object: decided by its Content-Length once the head is known (cache/blocks.ts). */
  get blockSize(): number {
    return slotBytes(this.#store.blockSize, this.#sizeClass);
  }

  /** Starts the origin fetch (given by the caller so this file knows nothing of pools). */
  start(startFetch: (sink: OriginSink) => OriginTransfer): void {
    this.#transfer = startFetch(this);
  }

  /** Takes over an origin transfer another sink started (a range request the origin answered with 200). */
  adopt(transfer: OriginTransfer): void {
    this.#transfer = transfer;
  }

  /** Calls `wake` on every change (new bytes, head, end, failure) until `unsubscribe`. */
  subscribe(wake: () => void): () => void {
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Hands the origin stream to `sink` when the response is not storable (only the owner's client may call): the
   * head is replayed at once, then body chunks flow to the sink, which controls the returned transfer (pause and
   * resume for backpressure). Null when it is too late (ended or taken already).
   */
  takeOver(sink: OriginSink): OriginTransfer | null {
    if (this.state !== 'uncacheable' || this.#passSink !== null || this.#ended || this.#transfer === null) return null;
    this.#passSink = sink;
    sink.onHeaders(this.originStatus, this.originHeaders, this.originStatusText);
    this.#transfer.resume();
    return this.#transfer;
  }

  onHeaders(status: number, headers: OriginHeaders, statusText: string): void {
    this.originStatus = status;
    this.originStatusText = statusText;
    this.originHeaders = headers;
    const head = this.#policy.onHead(status, headers, this.requestTime, Date.now());
    if (head === null) {
      this.state = 'uncacheable';
      // Hold the origin until the owner's client takes it over (or gives up).
      this.#transfer?.pause();
      this.#keepsStoredCopy = this.#policy.keepsStoredCopy(status);
      this.#requestScoped = !this.#keepsStoredCopy && this.#policy.declinedForRequest();
      if (this.#requestScoped) this.#indexWrite(() => this.#store.index.releaseLease(this.leaseRef.hash, this.id, Date.now()));
      else if (!this.#keepsStoredCopy) this.#indexWrite(() => this.#store.index.updateFill(this.leaseRef.hash, this.#record('uncacheable')));
      this.#onDone(this);
      this.#wake();
      return;
    }
    this.head = head;
    this.#sizeClass = sizeClassFor(head.size, this.#store.blockSize, this.#store.inlineMaxBytes);
    this.state = 'streaming';
    this.#storing = !this.#store.degraded;
    this.#holding = this.#storing && this.onProbation;
    // Followers in other workers learn the head from the fill record; a small body usually completes (and commits)
    // before the next event-loop turn, which makes that write unnecessary.
    this.#lastLeaseRenewal = Date.now();
    setImmediate(() => {
      if (this.state === 'streaming') this.#publish();
    });
    this.#wake();
  }

  onData(chunk: Buffer): void {
    if (this.#passSink !== null) return this.#passSink.onData(chunk);
    if (this.state !== 'streaming') return;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#current === null) {
        this.#current = takeBlockBuffer(this.#nextBufferSize());
        this.#currentLength = 0;
      } else if (this.#currentLength === this.#current.length) {
        // A body longer than its Content-Length said: grow to a whole block.
        const grown = takeBlockBuffer(this.blockSize);
        this.#current.copy(grown, 0, 0, this.#currentLength);
        this.#current = grown;
      }
      const n = Math.min(chunk.length - offset, this.#current.length - this.#currentLength);
      chunk.copy(this.#current, this.#currentLength, offset, offset + n);
      this.#currentLength += n;
      offset += n;
      if (this.#currentLength === this.blockSize) this.#flushCurrent();
    }
    this.received += chunk.length;
    this.#renewLease();
    this.#wake();
  }

  /**
   * Size of the next block buffer: the slot the block is written to (a whole block of the fill's class, or a tail
   * slot: #classOf), so that once written the buffer goes back to the pool (#forget) for the next fill of that size.
   * Dropped instead, such buffers are garbage outside the JS heap that only a major GC frees, and the next is fresh
   * memory to fault in (in the zipf bench, where most bodies are under a block: 8% fewer mark-compacts pooled;
   * bench/README.md). A body that may stay inline gets a buffer of its own size: it becomes the record's bytes.
   */
  #nextBufferSize(): number {
    const size = this.head?.size ?? -1;
    if (size < 0) return this.blockSize;
    const remaining = Math.max(1, Math.min(this.blockSize, size - this.#queuedBlocks * this.blockSize));
    if (size <= this.#store.inlineMaxBytes || remaining === this.blockSize) return remaining;
    return slotBytes(this.#store.blockSize, this.#classOf(this.#queuedBlocks, remaining));
  }

  /**
   * Queues the current block for writing (or holds it, on probation); subscribers read it from memory until the
   * write completes.
   */
  #flushCurrent(): void {
    const data = this.#current as Buffer;
    const length = this.#currentLength;
    const index = this.#queuedBlocks++;
    this.#current = null;
    this.#currentLength = 0;
    this.#inFlight.set(index, data);
    if (this.#holding) {
      this.#held.push({ index, length });
      this.#heldBytes += length;
      // A follower in another worker reads written blocks only: it marked the lease record (a read per block).
      if (this.#heldBytes > PROBATION_HELD_BYTES || this.#store.index.getFill(this.leaseRef.hash)?.followed === true) this.#stopHolding();
      return;
    }
    this.#blockWrites().push(index, data.subarray(0, length));
  }

  #blockWrites(): BlockWriteQueue {
    return (this.#writes ??= new BlockWriteQueue({
      write: (index, data) => this.#writeBlock(index, data),
      pauseOrigin: () => {
        if (this.state !== 'streaming' || this.#ended) return false;
        this.#transfer?.pause();
        return true;
      },
      resumeOrigin: () => {
        if (this.state === 'streaming' && this.#passSink === null) this.#transfer?.resume();
      },
    }));
  }

  /** Drops block `index` from memory; its buffer is reused once no reader holds a slice of it. */
  #forget(index: number): void {
    const buffer = this.#inFlight.get(index);
    this.#inFlight.delete(index);
    // Every buffer but an inline-sized one is a whole slot (#nextBufferSize), reused whole by the next of its size.
    if (buffer === undefined || buffer.length <= this.#store.inlineMaxBytes || buffer.byteLength !== buffer.buffer.byteLength) return;
    this.#pinned.retire(buffer);
  }

  /** See PinnedBuffers.pin (pipeline/block-buffers.ts). */
  pin(slice: Buffer): ArrayBufferLike {
    return this.#pinned.pin(slice);
  }

  unpin(memory: ArrayBufferLike): void {
    this.#pinned.unpin(memory);
  }

  /** Ends probation's holding: the held blocks are written, in order, and so is every later one. */
  #stopHolding(): void {
    if (!this.#holding) return;
    this.#holding = false;
    for (const { index, length } of this.#held) this.#blockWrites().push(index, (this.#inFlight.get(index) as Buffer).subarray(0, length));
    this.#held = [];
  }

  async #writeBlock(index: number, data: Buffer): Promise<void> {
    if (this.#storing && this.state === 'streaming') {
      try {
        const id = await this.#store.allocateBlockBatched(Date.now(), this.#classOf(index, data.length));
        if (id === null) {
          // The quota is used up until the evictor (once a second) frees blocks: this object is not stored, but
          // nothing failed, so the cache does not degrade to pass-through for the objects after it.
          this.#storing = false;
        } else {
          let crc: number | null = null;
          try {
            // A fill that ended while its block was handed out does not write it.
            if (this.#keepsBlocks()) crc = await this.#store.writeBlock(id, data);
          } catch (error) {
            // Reported before the release below, whose own failure on the same full disk would be a vaguer reason.
            this.#storing = false;
            this.#storageFailed(error);
          }
          if (crc !== null && this.#keepsBlocks()) {
            this.blocks[index] = id;
            this.crcs[index] = crc;
            this.#unlisted.add(id);
          } else {
            // Nothing lists a block before it is published: if the fill ended (or stopped storing) meanwhile, or
            // the write failed, it is freed here or never.
            this.#store.releaseUnlisted([id]);
          }
        }
      } catch (error) {
        this.#storing = false;
        this.#storageFailed(error);
      }
    }
    if (!this.#storing) {
      // Not storing any more: the block stays in #inFlight, so subscribers keep reading it from memory, but only
      // the last few: memory must not grow with the object (a client further behind is cut, see isDropped).
      const oldest = index - UNSTORED_BLOCKS_HELD;
      for (; this.#droppedBelow <= oldest; this.#droppedBelow++) this.#forget(this.#droppedBelow);
      this.flushed += data.length;
      this.#wake();
      return;
    }
    this.#forget(index);
    this.flushed += data.length;
    this.#publish();
    this.#wake();
  }

  /**
   * The size class of block `index` (`length` bytes): the fill's, except the last block of a body of several whole
   * blocks and a known size, which takes the smallest slot that holds it (a tail slot). Whole last blocks held 0.77
   * of their bytes in the zipf bench's size mix. Not for a body of unknown length: a follower reads its blocks as
   * whole blocks until the size is known.
   */
  #classOf(index: number, length: number): number {
    if (this.#sizeClass !== 0 || index === 0 || length >= this.blockSize || (this.head?.size ?? -1) < 0) return this.#sizeClass;
    return sizeClassFor(length, this.#store.blockSize, 0);
  }

  /** Whether blocks written now still become part of the object (the fill streams and stores). */
  #keepsBlocks(): boolean {
    return this.#storing && this.state === 'streaming';
  }

  /** Degrades storage after a storage error (ENOSPC...): the fill continues for its clients without storing. */
  #storageFailed(error: unknown): void {
    this.#store.markDegraded((error as Error).message);
  }

  onEnd(): void {
    if (this.#passSink !== null) {
      this.#ended = true;
      this.#passSink.onEnd();
      this.#finishLease();
      return;
    }
    if (this.state !== 'streaming') return;
    this.#ended = true;
    void this.#complete();
  }

  async #complete(): Promise<void> {
    const head = this.head as FillHead;
    const current = this.#current;
    const length = this.#currentLength;
    let inline: Uint8Array | null = null;
    if (this.#queuedBlocks === 0 && this.received <= this.#store.inlineMaxBytes) {
      inline = current === null ? Buffer.alloc(0) : length === current.length ? current : Buffer.from(current.subarray(0, length));
    } else if (current !== null && length > 0) {
      this.#flushCurrent();
    }
    if (inline !== null) this.#current = null;
    if (this.#holding && inline === null && (await this.#droppedUnwritten())) return;
    await this.#writes?.idle();
    if (this.state !== 'streaming') return;
    this.meta = withBody(head.meta, {
      size: this.received,
      inline,
      blocks: inline === null ? [...this.blocks] : [],
      crcs: inline === null ? [...this.crcs] : [],
      blockSize: this.blockSize,
      complete: true,
    });
    if (inline !== null) {
      this.#inlineBody = inline;
      this.flushed = this.received;
    }
    this.state = 'complete';
    // Clients read the body from memory or the written blocks: they need not wait for the index commit.
    this.#wake();
    if (this.#storing) {
      try {
        const outcome = await this.#store.index.commit(head.ref.hash, head.ref.primaryHash, head.ref.vary, this.meta, { hash: this.leaseRef.hash, id: this.id }, Date.now(), this.onProbation ? this.#policy.admission : null);
        this.notAdmitted = outcome === 'not-admitted';
      } catch (error) {
        this.#storing = false;
        this.#storageFailed(error);
      }
    }
    // A commit released the lease in its own transaction.
    if (!this.#storing) this.#finishLease();
    this.#onDone(this);
    this.#wake();
  }

  #inlineBody: Uint8Array | null = null;
  /** The origin's answer left the revalidated stored copy in use (see FillPolicy.keepsStoredCopy). */
  #keepsStoredCopy = false;
  /** The answer was declined for the owner's request alone (see FillPolicy.declinedForRequest). */
  #requestScoped = false;

  /** True when this fill ended as a hit-for-pass marker (not storable whoever asks), which followers and new requests honour. */
  get leftPassMarker(): boolean {
    return this.state === 'uncacheable' && !this.#keepsStoredCopy && !this.#requestScoped;
  }

  onError(error: FlintError): void {
    if (this.#passSink !== null) {
      this.#ended = true;
      this.#passSink.onError(error);
      this.#finishLease();
      return;
    }
    if (this.state === 'complete' || this.state === 'failed') return;
    this.error = error;
    this.state = 'failed';
    this.#finishLease();
    this.#onDone(this);
    this.#wake();
  }

  /** Gives up the origin fetch (the uncacheable owner's client left before taking over). */
  abandon(): void {
    if (this.state === 'uncacheable' && this.#passSink === null) {
      this.#transfer?.abort();
      this.#finishLease();
    }
  }

  /** Ends a lease that did not commit (a commit releases it itself): the blocks written go back to the free list. */
  #finishLease(): void {
    const hash = this.leaseRef.hash;
    if (this.leftPassMarker) {
      // Leave the 'uncacheable' marker until it expires: followers and new requests pass without stampeding.
      return;
    }
    // Batched after this fill's own progress updates, with the blocks they have not listed yet (see
    // releaseLeaseBatched).
    this.#store.index.releaseLeaseBatched(hash, this.id, Date.now(), this.#unlisted).catch((error: unknown) => this.#storageFailed(error));
  }

  /**
   * An index write of the lease's bookkeeping. A storage error (ENOSPC while the index file grows) degrades storage,
   * logged once, instead of escaping from a callback and ending the worker; what the write would have done, the
   * lease's expiry and the primary's sweep of the fill table do later.
   */
  #indexWrite(write: () => unknown): void {
    try {
      write();
    } catch (error) {
      this.#storageFailed(error);
    }
  }

  #record(state: FillRecord['state']): FillRecord {
    const record: FillRecord = {
      id: this.id,
      pid: process.pid,
      until: Date.now() + (state === 'uncacheable' ? HIT_FOR_PASS_MS : LEASE_MS),
      state,
      status: this.originStatus,
      headers: this.head?.meta.headers ?? null,
      timing: this.head === null ? null : timingOf(this.head.meta),
      // Once the body has ended its size is known even when the origin sent no Content-Length.
      size: this.#ended ? this.received : (this.head?.size ?? -1),
      blockSize: this.blockSize,
      blocks: this.#storing ? this.blocks.slice(0, contiguous(this.blocks)) : [],
      crcs: this.#storing ? this.crcs.slice(0, contiguous(this.blocks)) : [],
      key: this.leaseRef.key,
    };
    // The admission count on the lease: followers in other workers see that the commit may not store (so they mark
    // the fill followed), and the commit reads it. Gone once the fill is sure to be stored.
    return this.onProbation ? { ...record, uses: this.#priorUses } : record;
  }

  /** The LMDB fill record to start with (state filling, nothing known yet). */
  initialRecord(): FillRecord {
    return this.#record('filling');
  }

  /** The lease was taken (`record` as written): the admission count it carries is this fill's to complete. */
  leased(record: FillRecord): void {
    this.#priorUses = record.uses ?? 0;
  }

  /** A request in this worker follows the fill (see #followed). */
  markFollowed(): void {
    this.#followed = true;
    this.#stopHolding();
  }

  /**
   * At the end of a fill that held its blocks: when the admission filter keeps the object out (in the same index
   * transaction that checks nobody followed the fill meanwhile), it completes from memory without writing a block.
   * Otherwise the held blocks are written and the fill commits as usual. True when it was dropped.
   */
  async #droppedUnwritten(): Promise<boolean> {
    const admission = this.#policy.admission as Admission;
    let dropped = false;
    try {
      dropped = await this.#store.index.dropUnadmitted(this.leaseRef.hash, (this.head as FillHead).ref.hash, this.id, admission, Date.now());
    } catch (error) {
      this.#storageFailed(error);
    }
    if (!dropped) {
      this.#stopHolding();
      return false;
    }
    if (this.state !== 'streaming') return true;
    // Readers (the owner's client) read every block from #inFlight, which keeps them.
    this.notAdmitted = true;
    this.state = 'complete';
    this.#onDone(this);
    this.#wake();
    return true;
  }

  /** Whether the admission filter may still keep the object out: too few requests counted, nobody following. */
  get onProbation(): boolean {
    const admission = this.#policy.admission;
    return admission !== null && !this.#followed && this.#priorUses + 1 < admission.minUses;
  }

  /**
   * Publishes the fill's progress (head, written blocks) for followers in other workers and renews the lease, in
   * this event-loop turn's index write batch.
   */
  #publish(): void {
    this.#lastLeaseRenewal = Date.now();
    const stopStoring = (): void => {
      this.#storing = false;
    };
    // Not owned any more: the lease was taken over (we looked dead or too slow). Stop storing, keep serving our
    // subscribers; a commit would be refused anyway.
    this.#store.index.updateFillBatched(this.leaseRef.hash, this.#record('filling'), this.#unlisted).then((owned) => {
      if (!owned) stopStoring();
    }, stopStoring);
  }

  #renewLease(): void {
    if (Date.now() - this.#lastLeaseRenewal > LEASE_MS / 3) this.#publish();
  }

  /**
   * Bytes of the body from `pos` that can be read right now, without waiting: from memory when they are in the
   * block being filled (or a block being written), else null (the caller reads block `Math.floor(pos/blockSize)`
   * from disk; see `diskBlock`). Returns an empty buffer when nothing past `pos` has arrived yet.
   */
  memorySlice(pos: number): Buffer | null {
    if (this.#inlineBody !== null) return Buffer.from(this.#inlineBody.buffer, this.#inlineBody.byteOffset + pos, this.#inlineBody.length - pos);
    const blockIndex = Math.floor(pos / this.blockSize);
    const within = pos - blockIndex * this.blockSize;
    const flying = this.#inFlight.get(blockIndex);
    if (flying !== undefined) return flying.subarray(within, Math.min(this.blockSize, this.received - blockIndex * this.blockSize));
    const currentIndex = this.#queuedBlocks;
    if (blockIndex === currentIndex && this.#current !== null) return this.#current.subarray(within, this.#currentLength);
    if (pos >= this.received) return Buffer.alloc(0);
    return null;
  }

  /** True when body block `index` was never stored and is no longer held in memory (its reader fell too far behind). */
  isDropped(index: number): boolean {
    return index < this.#droppedBelow && this.blocks[index] === undefined;
  }

  /** The block id and crc of body block `index` once it is on disk, else null. */
  diskBlock(index: number): { id: number; crc: number } | null {
    const id = this.blocks[index];
    const crc = this.crcs[index];
    return id === undefined || crc === undefined ? null : { id, crc };
  }

  /** True once no more bytes will arrive. */
  get ended(): boolean {
    return this.state === 'complete' || this.state === 'failed' || (this.#ended && this.#passSink !== null);
  }
}

/** Blocks a fill keeps in memory for its slower clients once it cannot store (disk full): 8 MiB by default. */
const UNSTORED_BLOCKS_HELD = 8;

/** Most body bytes a fill on probation holds in memory instead of writing (see #held). */
const PROBATION_HELD_BYTES = 8 * 1024 * 1024;

/** How long an 'uncacheable' marker makes requests for the object pass straight through (hit-for-pass). */
export const HIT_FOR_PASS_MS = 10_000;

/** Length of the prefix of `blocks` without holes (blocks are written in order, but be safe). */
function contiguous(blocks: readonly (number | undefined)[]): number {
  let n = 0;
  while (n < blocks.length && blocks[n] !== undefined) n++;
  return n;
}

function timingOf(meta: StoredTiming): StoredTiming {
  return { requestTime: meta.requestTime, responseTime: meta.responseTime, dateMs: meta.dateMs, ageHeaderSec: meta.ageHeaderSec };
}
