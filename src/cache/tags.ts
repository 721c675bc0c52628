/**
 * @module cache/tags
 * Cache tags from an origin response (`Surrogate-Key: a b c`, `Cache-Tag: a,b`; the fields are the vhost's
 * <CacheTag>): tags are separated by spaces, tabs or commas in any of the fields. The origin is not trusted to
 * bound them, so this does: a tag is 1..MaxLength bytes of visible ASCII other than `,` and `"` (it becomes part of
 * an index key and of a purge parameter); a tag with any other byte, a longer one, and every tag past Max are
 * dropped and counted, never cut (cutting could turn two tags into one). Duplicates count once. Also the one reader
 * of a purge's tag list (parseTagList: /command/purge?tag=, the fleet's tag purges). Pure; runs in workers (tags of
 * responses) and in the primary (tag lists of purges).
 */
import type { CacheTagOptions } from '../config/types.js';
import type { OriginHeaders } from '../origin/fetch.js';

/** The tags kept and how many the bounds dropped. */
export interface ParsedTags {
  readonly tags: string[];
  readonly dropped: number;
}

const NO_TAGS: ParsedTags = Object.freeze({ tags: [], dropped: 0 }) as ParsedTags;

/** Whether `tag` may be a tag at all (the byte rule, without the length bound); also used to check purge parameters. */
export function isTagText(tag: string): boolean {
  if (tag.length === 0) return false;
  for (let i = 0; i < tag.length; i++) {
    const c = tag.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x2c || c === 0x22) return false;
  }
  return true;
}

/** Tags one purge call takes, and the longest tag it accepts (the <CacheTag MaxLength> ceiling). */
export const MAX_TAGS_PER_CALL = 100;
export const MAX_TAG_LENGTH = 1024;
/** Longest tag list text: every tag at its longest, one separator each (a list of separators only is no longer). */
export const MAX_TAG_LIST_CHARS = MAX_TAGS_PER_CALL * (MAX_TAG_LENGTH + 1);

/**
 * A purge's tag list (`tag=a b,c`: separated by spaces or commas, as in the tag fields), deduplicated, in order; or
 * why it is not one. The same rule for a local call and for a fleet message (fleet/messages.ts).
 */
export function parseTagList(text: string): { ok: true; tags: string[] } | { ok: false; error: string } {
  if (text.length > MAX_TAG_LIST_CHARS) return { ok: false, error: `a tag list holds at most ${MAX_TAG_LIST_CHARS} characters` };
  const tags = [...new Set(text.split(/[\s,]+/).filter((t) => t !== ''))];
  if (tags.length === 0) return { ok: false, error: 'no tag: give tag=name (several separated by spaces or commas)' };
  const bad = tags.find((t) => t.length > MAX_TAG_LENGTH || !isTagText(t));
  if (bad !== undefined) return { ok: false, error: `${JSON.stringify(bad.slice(0, 64))} is not a tag (visible ASCII other than , and ", at most ${MAX_TAG_LENGTH} bytes)` };
  if (tags.length > MAX_TAGS_PER_CALL) return { ok: false, error: `at most ${MAX_TAGS_PER_CALL} tags in one call` };
  return { ok: true, tags };
}

/** The tags of a response under `options`, in header order. */
export function parseTags(headers: OriginHeaders, options: CacheTagOptions): ParsedTags {
  let seen: Set<string> | null = null;
  let dropped = 0;
  for (const field of options.fields) {
    const value = headers[field];
    if (value === undefined) continue;
    seen ??= new Set<string>();
    if (typeof value === 'string') dropped += addTags(seen, value, options);
    else for (const v of value) dropped += addTags(seen, v, options);
  }
  return seen === null ? NO_TAGS : { tags: [...seen], dropped };
}

/** Adds the tags of one field value to `seen` (a Set keeps insertion order); returns how many were dropped. */
function addTags(seen: Set<string>, text: string, options: CacheTagOptions): number {
  let dropped = 0;
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 0x20 : text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x2c) {
      if (start === -1) start = i;
      continue;
    }
    if (start === -1) continue;
    const tag = text.slice(start, i);
    start = -1;
    if (seen.has(tag)) continue;
    if (tag.length > options.maxLength || !isTagText(tag) || seen.size >= options.max) dropped++;
    else seen.add(tag);
  }
  return dropped;
}
