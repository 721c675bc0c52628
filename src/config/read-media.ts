/**
 * @module config/read-media
 * Reads `<Vhost><Media>` (issue 22) for one scope: `<Server><VHostDefault>` (schema defaults apply) or one
 * `<Vhost>` (the resolved VHostDefault is inherited element by element). Checks what one row cannot: the playlist
 * name is one segment ending in `.m3u8`, keywords differ, trim parameter names differ.
 * Part of config validation; runs in the primary and in `flint check-config`.
 */
import type { HlsContainer, MediaConfig, Mp3SegmentType } from './types-media.js';
import { HLS_CONTAINERS, MP3_SEGMENT_TYPES } from './types-media.js';
import { quote, INT, BOOL, QUERY_PARAM, DIMS_KEYWORD, enumType, fromResult } from './value-types.js';
import type { ValueType } from './value-types.js';
import type { Validator, Scope } from './validator.js';

const STATUS = enumType(['Active', 'Inactive'] as const);
const CONTAINER = enumType<HlsContainer>(HLS_CONTAINERS);
const SEGMENT_TYPE = enumType<Mp3SegmentType>(MP3_SEGMENT_TYPES);

/** `<Index>`: one plain path segment ending in `.m3u8` (it is matched against the URL's last segment). */
export function parseIndexName(text: string): { ok: true; value: string } | { ok: false; error: string } {
  return /^[A-Za-z0-9_.-]{1,64}\.m3u8$/.test(text) && !text.startsWith('.')
    ? { ok: true, value: text }
    : { ok: false, error: `${quote(text)} is not a playlist name (1-64 letters, digits, -, _ or ., ending in .m3u8)` };
}
const INDEX_NAME: ValueType<string> = { type: 'token', parse: (text) => fromResult(parseIndexName(text)) };

/** `<Media>` of `scope`; `inherited` is VHostDefault's (undefined when reading VHostDefault itself). */
export function readMedia(v: Validator, scope: Scope, inherited: MediaConfig | undefined): MediaConfig {
  const t = inherited?.trimming;
  const trimming = {
    mp4: v.one(scope, 'Vhost/Media/MP4Trimming', BOOL, t?.mp4),
    m4a: v.one(scope, 'Vhost/Media/M4ATrimming', BOOL, t?.m4a),
    mp3: v.one(scope, 'Vhost/Media/MP3Trimming', BOOL, t?.mp3),
    startParam: v.one(scope, 'Vhost/Media/MP4Trimming@StartParam', QUERY_PARAM, t?.startParam),
    endParam: v.one(scope, 'Vhost/Media/MP4Trimming@EndParam', QUERY_PARAM, t?.endParam),
    multiParam: v.one(scope, 'Vhost/Media/MP4Trimming@MultiParam', QUERY_PARAM, t?.multiParam),
    allTracks: v.one(scope, 'Vhost/Media/MP4Trimming@AllTracks', BOOL, t?.allTracks),
    maxRatioPercent: v.one(scope, 'Vhost/Media/MP4Trimming@MaxRatio', INT, t?.maxRatioPercent),
  };
  const params = [trimming.startParam, trimming.endParam, trimming.multiParam];
  if (new Set(params).size !== params.length) {
    v.report(scope.file, `${scope.where}/Media/MP4Trimming`, `StartParam, EndParam and MultiParam must differ (${params.map(quote).join(', ')})`);
  }
  // Inherited values come from VHostDefault's resolved config, whether or not its HLS was active there.
  const ih = inherited?.mp4Hls ?? inherited?.mp3Hls ?? undefined;
  const playlist = {
    indexName: v.one(scope, 'Vhost/Media/MP4HLS/Index', INDEX_NAME, ih?.indexName),
    version: v.one(scope, 'Vhost/Media/MP4HLS/Index@Ver', INT, ih?.version),
    sequence: v.one(scope, 'Vhost/Media/MP4HLS/Sequence', INT, ih?.sequence),
    segmentSec: v.one(scope, 'Vhost/Media/MP4HLS/Duration', INT, ih?.segmentSec),
  };
  const mp4Status = v.one(scope, 'Vhost/Media/MP4HLS@Status', STATUS, inherited === undefined ? undefined : inherited.mp4Hls === null ? 'Inactive' : 'Active');
  const mp4Keyword = v.one(scope, 'Vhost/Media/MP4HLS@Keyword', DIMS_KEYWORD, inherited?.mp4Hls?.keyword);
  const container = v.one(scope, 'Vhost/Media/MP4HLS@Container', CONTAINER, inherited?.mp4Hls?.container);
  const mp3Status = v.one(scope, 'Vhost/Media/MP3HLS@Status', STATUS, inherited === undefined ? undefined : inherited.mp3Hls === null ? 'Inactive' : 'Active');
  const mp3Keyword = v.one(scope, 'Vhost/Media/MP3HLS@Keyword', DIMS_KEYWORD, inherited?.mp3Hls?.keyword);
  const segmentType = v.one(scope, 'Vhost/Media/MP3HLS@SegmentType', SEGMENT_TYPE, inherited?.mp3Hls?.segmentType);
  const mp4Hls = mp4Status === 'Active' ? { keyword: mp4Keyword, container, ...playlist } : null;
  const mp3Hls = mp3Status === 'Active' ? { keyword: mp3Keyword, segmentType, ...playlist } : null;
  if (mp4Hls !== null && mp3Hls !== null && mp4Keyword === mp3Keyword) {
    v.report(scope.file, `${scope.where}/Media/MP3HLS@Keyword`, `${quote(mp3Keyword)} is also MP4HLS's Keyword; the two must differ`);
  }
  return {
    upfrontMp4: v.one(scope, 'Vhost/Media/UpfrontMP4Header', BOOL, inherited?.upfrontMp4),
    upfrontM4a: v.one(scope, 'Vhost/Media/UpfrontM4AHeader', BOOL, inherited?.upfrontM4a),
    trimming,
    mp4Hls,
    mp3Hls,
  };
}
