/**
 * @module transform/compression-targets
 * Which cached objects a vhost compresses: the lines of its `compression` list (`<MatchingList
 * Target="compression">`, STON's svc/<vhost>/compression.txt), one target per line, its terms joined by `&` and all
 * required: `$MIME[glob]` (the response's media type, parameters dropped, case-insensitive, `*` any run:
 * `text/*`), `$URL[glob]` or a bare glob (the normalised path, policy/url-glob.ts). Any line matching makes an
 * object a target; no lines = DEFAULT_MIME_TYPES. Media types that are compressed already (ALREADY_COMPRESSED:
 * photos, audio, video, archives, web fonts) are never targets, whatever a line says (`$URL[*]` included). Parsing
 * is strict (an unknown `$NAME`, a bad media-type glob, a term given twice or a line with an action is a problem
 * naming the source and line). Pure; parsing runs in the primary (validation), matching in workers.
 */
import type { CompressionTarget } from '../config/types.js';
import { edgeLines, parseTerm, quote, splitOutside } from '../policy/edge-rules/parse.js';
import { UrlGlobSet, globProblem } from '../policy/url-glob.js';

/** The targets when a vhost lists none (issue 21): text formats browsers ask for, all of which compress well. */
export const DEFAULT_MIME_TYPES: readonly string[] = [
  'text/html',
  'text/css',
  'text/plain',
  'text/xml',
  'application/javascript',
  'application/json',
  'application/xml',
  'image/svg+xml',
];

/**
 * Media types whose bodies are compressed by their format (issue 21: never compressed again): gzip or br gains a
 * percent or two on them for a full pass of CPU, and a video or audio copy would break its byte ranges' meaning.
 * image/svg+xml, image/bmp and other raw formats stay eligible.
 */
const ALREADY_COMPRESSED = new Set([
  'image/jpeg', 'image/pjpeg', 'image/png', 'image/apng', 'image/gif', 'image/webp', 'image/avif', 'image/heic', 'image/heif', 'image/jxl', 'image/jp2',
  'application/zip', 'application/gzip', 'application/x-gzip', 'application/x-bzip2', 'application/x-xz', 'application/zstd', 'application/x-7z-compressed',
  'application/vnd.rar', 'application/x-rar-compressed', 'application/x-brotli', 'font/woff', 'font/woff2', 'application/font-woff',
]);

/** Whether media type `mime` (lower case, no parameters) is compressed by its format already. */
export function compressedAlready(mime: string): boolean {
  return ALREADY_COMPRESSED.has(mime) || mime.startsWith('video/') || mime.startsWith('audio/');
}

/** A media type glob: `type/subtype` of RFC 9110 token characters, `*` allowed in either part. */
const MIME_GLOB = /^[a-z0-9!#$%&'*+.^_`|~-]+\/[a-z0-9!#$%&'*+.^_`|~-]+$/;

/** The targets of one source (a MatchingList or compression.txt), labelled `label` in problems. */
export function compressionTargetsFromText(label: string, text: string): { rules: CompressionTarget[]; problems: string[] } {
  const problems: string[] = [];
  const rules: CompressionTarget[] = [];
  for (const line of edgeLines(label, text, problems)) {
    const at = `${label}: line ${line.n}`;
    if (line.fields.length !== 1) {
      problems.push(`${at}: a compression target has no action (found ${quote(line.fields.slice(1).join(', '))})`);
      continue;
    }
    const parsed = parseTarget(line.fields[0] as string);
    if (typeof parsed === 'string') problems.push(`${at}: ${parsed}`);
    else rules.push(parsed);
  }
  return { rules, problems };
}

/** One line's terms, or the problem with them. */
function parseTarget(field: string): CompressionTarget | string {
  const terms = splitOutside(field, '&');
  if (!terms.ok) return terms.error;
  let mime: string | null = null;
  let url: string | null = null;
  for (const text of terms.value) {
    const term = parseTerm(text);
    if (!term.ok) return term.error;
    const name = term.value.name === '' ? 'URL' : term.value.name;
    const value = term.value.value;
    if (name === 'MIME') {
      if (mime !== null) return '$MIME[...] appears twice';
      const lower = value.toLowerCase();
      if (!MIME_GLOB.test(lower)) return `${quote(value)} is not a media type pattern (type/subtype, \`*\` allowed: text/*)`;
      mime = lower;
    } else if (name === 'URL') {
      if (url !== null) return '$URL[...] appears twice';
      const glob = globProblem(value);
      if (glob !== null) return glob;
      url = value;
    } else return `$${name}[...] is not a condition here (use $MIME, $URL)`;
  }
  return { mime, url };
}

/** A vhost's targets compiled for matching (built once per config, see compression.ts). */
export class CompressionTargets {
  readonly #lines: ReadonlyArray<{ readonly mime: RegExp | null; readonly url: number | null }>;
  readonly #urls: UrlGlobSet | null;

  constructor(targets: readonly CompressionTarget[]) {
    const list = targets.length > 0 ? targets : DEFAULT_MIME_TYPES.map((mime) => ({ mime, url: null }));
    const globs: string[] = [];
    this.#lines = list.map((t) => ({
      mime: t.mime === null ? null : new RegExp(`^${t.mime.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`),
      url: t.url === null ? null : globs.push(t.url) - 1,
    }));
    this.#urls = globs.length > 0 ? new UrlGlobSet(globs, false) : null;
  }

  /** Whether an object of media type `contentType` (a Content-Type value, or undefined) at `path` is a target. */
  matches(contentType: string | undefined, path: string): boolean {
    const mime = contentType === undefined ? '' : mediaType(contentType);
    if (compressedAlready(mime)) return false;
    let urls: number[] | null = null;
    for (const line of this.#lines) {
      if (line.mime !== null && !line.mime.test(mime)) continue;
      if (line.url !== null) {
        urls ??= (this.#urls as UrlGlobSet).match(path);
        if (!urls.includes(line.url)) continue;
      }
      return true;
    }
    return false;
  }
}

/** `text/HTML; charset=utf-8` -> `text/html`. */
function mediaType(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}
