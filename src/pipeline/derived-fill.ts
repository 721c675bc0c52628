/**
 * @module pipeline/derived-fill
 * A client of a running fill that wants a derived variant of its object (a compressed copy: compressed-hit.ts; a
 * DIMS image: dims-hit.ts). Variants are made from the stored original, never streamed, so such a client waits for
 * the fill to end and is then served like a hit. What both kinds share: whether the fill can give an original at all,
 * whether a completed fill stored it whole, and the wait. Runs in workers.
 */
import type { CacheStore, ObjectMeta } from '../cache/store.js';
import type { ClientWriter } from '../http/writer.js';
import type { Fill } from './fill.js';

/**
 * True when `fill` will store (or has stored) an original to derive from: it has its head, the admission filter is
 * not about to drop it, and storage is not degraded. Otherwise the client streams the original as usual.
 */
export function fillCanDerive(fill: Fill, store: CacheStore): boolean {
  return (fill.state === 'streaming' || fill.state === 'complete') && !fill.onProbation && !store.degraded;
}

/** False when a completed fill was not stored after all (the quota ran out mid-body): nothing to derive from. */
export function storedWhole(meta: ObjectMeta): boolean {
  return meta.inline !== null || meta.blocks.length * meta.blockSize >= meta.size;
}

/**
 * Waits for `fill` to leave 'streaming', then runs `reenter` (the flow's head step: a complete fill is then a hit),
 * or `aborted` when the client went away meanwhile.
 */
export function afterFill(fill: Fill, writer: ClientWriter, aborted: () => void, reenter: () => void): void {
  const unsubscribe = fill.subscribe(() => {
    if (fill.state === 'streaming') return;
    unsubscribe();
    if (writer.state === 'aborted') aborted();
    else reenter();
  });
}
