/**
 * @module pipeline/media-request
 * Reads a media request (issue 22, `<Vhost><Media>`) from a GET/HEAD's path and query, before the cache flow: an
 * HLS URL `<original>/<Keyword>/<name>` (the original's URL is the prefix, as for DIMS), trim parameters on an
 * `.mp4`/`.m4a`/`.mp3` (`?start=&end=`, `?trimming=a-b,c-d`), or a plain `.mp4`/`.m4a` to relocate. Trim parameters
 * leave the query, so the cache key and the origin request are the original's (it is cached once). Malformed
 * parameters are refused here (400) with a short reason for the access log. Pure; runs in workers.
 */
import type { MediaConfig } from '../config/types.js';
import type { Clip } from '../media/types.js';

/** What the request asks of the original. */
export const MEDIA_KINDS = ['relocate', 'trim', 'hls-playlist', 'hls-segment'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];
/** The original's format, by its extension (`.m4v` is MP4). */
export type MediaFormat = 'mp4' | 'm4a' | 'mp3';

/** Counter and access-log labels: the kind, `mp3-` in front for MP3 originals. */
export const MEDIA_LABELS = ['relocate', 'trim', 'hls-playlist', 'hls-segment', 'mp3-trim', 'mp3-hls-playlist', 'mp3-hls-segment'] as const;
export type MediaLabel = (typeof MEDIA_LABELS)[number];

export interface MediaRequest {
  readonly kind: MediaKind;
  readonly format: MediaFormat;
  /** The clips asked for, in order and non-overlapping; null = the whole file. */
  readonly clips: readonly Clip[] | null;
  /** The clips came from MultiParam (MaxRatio applies). */
  readonly multi: boolean;
  /** The trim parameters as the client wrote them (`start=0&end=60`): an HLS playlist passes them on to its URIs. */
  readonly trimQuery: string;
  /** The HLS file name (`index.m3u8`, `3.ts`, `init.mp4`, ...); '' otherwise. */
  readonly hlsName: string;
  /** The transformation, for the ETag and the derived-variant tag: `trim:10-70`, `hls:3.ts`, ... */
  readonly tag: string;
  readonly label: MediaLabel;
}

export type MediaReading =
  /** `path` and `query` are the original's: the flow runs on them. */
  | { readonly kind: 'media'; readonly request: MediaRequest; readonly path: string; readonly query: string }
  /** A malformed media request: 400, `problem` for the access log only. */
  | { readonly kind: 'invalid'; readonly problem: string };

/** Most clips one `?trimming=` may join. */
export const MAX_CLIPS = 32;
/** Longest time a clip bound may name (a week in seconds): larger values are clamped by no real file. */
const MAX_SECONDS = 604_800;
/** A clip bound: seconds, at most 3 decimals. */
const SECONDS = /^\d{1,6}(\.\d{1,3})?$/;
/** An HLS file name: one plain segment. */
const HLS_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;

function formatOf(path: string): MediaFormat | null {
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/')) return null;
  switch (path.slice(dot + 1).toLowerCase()) {
    case 'mp4':
    case 'm4v':
      return 'mp4';
    case 'm4a':
      return 'm4a';
    case 'mp3':
      return 'mp3';
    default:
      return null;
  }
}

function labelOf(kind: MediaKind, format: MediaFormat): MediaLabel {
  if (format !== 'mp3') return kind === 'relocate' ? 'relocate' : kind;
  return kind === 'trim' ? 'mp3-trim' : kind === 'hls-playlist' ? 'mp3-hls-playlist' : 'mp3-hls-segment';
}

function trimmingOn(media: MediaConfig, format: MediaFormat): boolean {
  return format === 'mp4' ? media.trimming.mp4 : format === 'm4a' ? media.trimming.m4a : media.trimming.mp3;
}

/**
 * The media request `path` + `query` makes on a vhost with `media`, or null when it is none (an ordinary request).
 * `path` is normalised (no dot segments).
 */
export function readMediaRequest(media: MediaConfig, path: string, query: string): MediaReading | null {
  if (media.mp4Hls === null && media.mp3Hls === null && !media.upfrontMp4 && !media.upfrontM4a && !media.trimming.mp4 && !media.trimming.m4a && !media.trimming.mp3) return null;
  const hls = readHls(media, path);
  if (hls !== null && hls.kind === 'invalid') return hls;
  const originalPath = hls === null ? path : hls.originalPath;
  const format = formatOf(originalPath);
  if (format === null) return null;
  let clips: readonly Clip[] | null = null;
  let multi = false;
  let rest = query;
  let trimQuery = '';
  if (trimmingOn(media, format) && query !== '') {
    const trim = readTrim(media, query);
    if (trim.kind === 'invalid') return trim;
    ({ clips, multi, rest, trimQuery } = trim);
  }
  let kind: MediaKind;
  if (hls !== null) kind = hls.name.endsWith('.m3u8') ? 'hls-playlist' : 'hls-segment';
  else if (clips !== null) kind = 'trim';
  else if ((format === 'mp4' && media.upfrontMp4) || (format === 'm4a' && media.upfrontM4a)) kind = 'relocate';
  else return null;
  const clipTag = clips === null ? '' : clips.map((c) => `${c.startSec}-${c.endSec === Infinity ? '' : c.endSec}`).join(',');
  const tag = kind === 'relocate' ? 'relocate' : kind === 'trim' ? `trim:${clipTag}` : `hls:${hls?.name ?? ''}${clipTag === '' ? '' : `:${clipTag}`}`;
  const request: MediaRequest = { kind, format, clips, multi, trimQuery, hlsName: hls?.name ?? '', tag, label: labelOf(kind, format) };
  return { kind: 'media', request, path: originalPath, query: rest };
}

/** `<original>/<Keyword>/<name>` for an active MP4HLS/MP3HLS keyword whose original has the right extension. */
function readHls(media: MediaConfig, path: string): { kind: 'hls'; originalPath: string; name: string } | { kind: 'invalid'; problem: string } | null {
  const nameSlash = path.lastIndexOf('/');
  const keywordSlash = nameSlash <= 0 ? -1 : path.lastIndexOf('/', nameSlash - 1);
  if (keywordSlash <= 0) return null;
  const keyword = path.slice(keywordSlash + 1, nameSlash);
  const originalPath = path.slice(0, keywordSlash);
  const format = formatOf(originalPath);
  const mp4 = media.mp4Hls !== null && keyword === media.mp4Hls.keyword && (format === 'mp4' || format === 'm4a');
  const mp3 = media.mp3Hls !== null && keyword === media.mp3Hls.keyword && format === 'mp3';
  if (!mp4 && !mp3) return null;
  const name = path.slice(nameSlash + 1);
  if (!HLS_NAME.test(name)) return { kind: 'invalid', problem: `the HLS file name ${JSON.stringify(name.slice(0, 80))} is malformed` };
  return { kind: 'hls', originalPath, name };
}

type TrimReading = { kind: 'trim'; clips: readonly Clip[] | null; multi: boolean; rest: string; trimQuery: string } | { kind: 'invalid'; problem: string };

/** The trim parameters of `query` (each at most once, well formed), and the query without them. */
function readTrim(media: MediaConfig, query: string): TrimReading {
  const { startParam, endParam, multiParam } = media.trimming;
  let start: string | null = null;
  let end: string | null = null;
  let multiText: string | null = null;
  const kept: string[] = [];
  const taken: string[] = [];
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (name !== startParam && name !== endParam && name !== multiParam) {
      kept.push(pair);
      continue;
    }
    if ((name === startParam ? start : name === endParam ? end : multiText) !== null) return { kind: 'invalid', problem: `${name} is given twice` };
    taken.push(pair);
    if (name === startParam) start = value;
    else if (name === endParam) end = value;
    else multiText = value;
  }
  const rest = kept.join('&');
  const trimQuery = taken.join('&');
  if (start === null && end === null && multiText === null) return { kind: 'trim', clips: null, multi: false, rest, trimQuery };
  if (multiText !== null) {
    if (start !== null || end !== null) return { kind: 'invalid', problem: `${multiParam} cannot be combined with ${startParam}/${endParam}` };
    const clips = readClips(decodeComma(multiText));
    return typeof clips === 'string' ? { kind: 'invalid', problem: clips } : { kind: 'trim', clips, multi: true, rest, trimQuery };
  }
  const startSec = start === null ? 0 : seconds(start);
  const endSec = end === null ? Infinity : seconds(end);
  if (startSec === null) return { kind: 'invalid', problem: `${startParam} is not a number of seconds` };
  if (endSec === null) return { kind: 'invalid', problem: `${endParam} is not a number of seconds` };
  if (startSec >= endSec) return { kind: 'invalid', problem: `${startParam} must be before ${endParam}` };
  return { kind: 'trim', clips: [{ startSec, endSec }], multi: false, rest, trimQuery };
}

/** `%2C` is a comma: clients encode it. */
function decodeComma(text: string): string {
  return text.replace(/%2[cC]/g, ',');
}

function seconds(text: string): number | null {
  if (!SECONDS.test(text)) return null;
  const value = Number(text);
  return value <= MAX_SECONDS ? value : null;
}

/** `10-70,560-620` -> clips, or the problem: each `a-b` with a < b, in order without overlap, at most MAX_CLIPS. */
function readClips(text: string): Clip[] | string {
  const parts = text.split(',');
  if (parts.length > MAX_CLIPS) return `more than ${MAX_CLIPS} clips`;
  const clips: Clip[] = [];
  for (const part of parts) {
    const dash = part.indexOf('-');
    const startSec = dash < 0 ? null : seconds(part.slice(0, dash));
    const endSec = dash < 0 ? null : seconds(part.slice(dash + 1));
    if (startSec === null || endSec === null) return `clip ${JSON.stringify(part.slice(0, 40))} is not start-end in seconds`;
    if (startSec >= endSec) return `clip ${part} ends before it starts`;
    const previous = clips[clips.length - 1];
    if (previous !== undefined && startSec < previous.endSec) return `clip ${part} overlaps or precedes the one before`;
    clips.push({ startSec, endSec });
  }
  return clips;
}

/** The clips' total length against `durationSec` (MaxRatio): the problem, or null when within the ratio. */
export function ratioProblem(clips: readonly Clip[], durationSec: number, maxRatioPercent: number): string | null {
  let total = 0;
  for (const clip of clips) total += Math.max(0, Math.min(clip.endSec, durationSec) - Math.min(clip.startSec, durationSec));
  return total > (durationSec * maxRatioPercent) / 100 ? `the clips last ${total.toFixed(1)} s, more than ${maxRatioPercent}% of ${durationSec.toFixed(1)} s` : null;
}
