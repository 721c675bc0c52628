/**
 * @module origin/selector
 * Picks the member of a vhost for one origin transaction (STON `<BalanceMode>`). Candidates are the `<Address>`
 * members that are neither down (per the primary's health view) nor already tried by this transaction; only when
 * none is left do the `<Address2>` standbys become candidates. Then:
 * - RoundRobin: the next candidate in turn (a per-vhost counter of this worker).
 * - Hash: rendezvous (highest random weight) hashing of the key: every member gets a score hash(member, key) and the
 *   highest wins. The choice depends only on the key and the member keys, so it is the same in every worker and
 *   after restarts; removing one of N members moves only the keys it had (~1/N), and a member that goes down and
 *   comes back takes back exactly its own keys.
 * - Session: a candidate with an idle keep-alive connection, in turn; round robin when none has one.
 * Runs in workers. Pure apart from the round-robin counters.
 */
import type { BalanceMode } from '../config/types.js';
import type { MemberSet, OriginMember } from './members.js';

export interface Selection {
  readonly mode: BalanceMode;
  /** Hash mode: what is hashed (the URL after `<IgnoreSuffix>`, or the client IP for origin affinity). */
  readonly hashKey: string;
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's 32-bit finaliser: spreads every input bit over the output. */
function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The rendezvous score of `member` for a key hash. */
export function hrwScore(member: string, keyHash: number): number {
  return fmix32(fmix32(fnv1a(member) ^ 0x9e3779b9) ^ keyHash);
}

/** The member with the highest score for `key` (ties broken by the smaller member key), or null when none. */
export function rendezvous<T extends { readonly key: string }>(members: readonly T[], key: string): T | null {
  const keyHash = fmix32(fnv1a(key));
  let best: T | null = null;
  let bestScore = -1;
  for (const member of members) {
    const score = hrwScore(member.key, keyHash);
    if (score > bestScore || (score === bestScore && best !== null && member.key < best.key)) {
      best = member;
      bestScore = score;
    }
  }
  return best;
}

/** The URL hashed in Hash mode: cut at the first `<IgnoreSuffix>` found in it, so variants share a member. */
export function hashedUrl(url: string, ignoreSuffixes: readonly string[]): string {
  let end = url.length;
  for (const suffix of ignoreSuffixes) {
    const at = url.indexOf(suffix);
    if (at >= 0 && at < end) end = at;
  }
  return url.slice(0, end);
}

export class MemberSelector {
  /** vhost name -> round-robin position. */
  readonly #turn = new Map<string, number>();

  /**
   * The member for one attempt, or null when no candidate is left (every member down or tried).
   * `usable` says whether a member may be tried (not down, not tried yet); `idle` whether it has an idle connection.
   */
  pick(vhost: string, set: MemberSet, selection: Selection, usable: (m: OriginMember) => boolean, idle: (m: OriginMember) => boolean): OriginMember | null {
    let candidates = set.active.filter(usable);
    if (candidates.length === 0) candidates = set.standby.filter(usable);
    if (candidates.length === 0) return null;
    if (candidates.length === 1) return candidates[0] ?? null;
    switch (selection.mode) {
      case 'Hash':
        return rendezvous(candidates, selection.hashKey);
      case 'Session': {
        const warm = candidates.filter(idle);
        return this.#next(vhost, warm.length > 0 ? warm : candidates);
      }
      case 'RoundRobin':
        return this.#next(vhost, candidates);
    }
  }

  #next(vhost: string, candidates: readonly OriginMember[]): OriginMember | null {
    const turn = this.#turn.get(vhost) ?? 0;
    this.#turn.set(vhost, (turn + 1) % 0x40000000);
    return candidates[turn % candidates.length] ?? null;
  }
}
