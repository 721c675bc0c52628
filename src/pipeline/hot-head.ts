/**
 * @module pipeline/hot-head
 * The response head of a hot-tier hit, encoded (http/respond.ts encodeHead) once and reused, so a plain GET hit
 * or a matching revalidation on a hot object builds no header list and no string. Only Age and the Cache-Status
 * ttl change between hits, both in whole seconds, so an encoded head stays valid until one of them ticks (about
 * one rebuild per second per hot object) or the vhost's config is reloaded. `$RES` header rules that apply the same
 * way to everyone (policy/edge-rules/headers.ts hitEdits) are part of the encoded head, keyed on their edits object.
 * Runs in workers.
 */
import type { Vhost } from '../config/types.js';
import { encodeHead } from '../http/respond.js';
import type { ResponseEdits } from '../policy/edge-rules/headers.js';

export class HotHead {
  #vhost: Vhost | null = null;
  #edits: ResponseEdits | null = null;
  #age = -1;
  #ttl = 0;
  #encoded: Buffer | null = null;

  /**
   * The encoded head for this age and remaining ttl (whole seconds) with `edits` applied; `headers` builds the
   * name/value list (edits included) when the cached one does not fit.
   */
  get(vhost: Vhost, edits: ResponseEdits, age: number, ttl: number, status: number, headers: () => readonly string[]): Buffer {
    if (this.#encoded === null || this.#vhost !== vhost || this.#edits !== edits || this.#age !== age || this.#ttl !== ttl) {
      this.#encoded = encodeHead(status, '', headers());
      this.#vhost = vhost;
      this.#edits = edits;
      this.#age = age;
      this.#ttl = ttl;
    }
    return this.#encoded;
  }
}
