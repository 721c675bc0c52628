/**
 * @module media/hls/playlist
 * The text of HLS playlists (RFC 8216): a VOD media playlist over a segmentation (EXTINF with the real segment
 * durations, TARGETDURATION the ceiling of the longest, EXT-X-MAP for fMP4) and a master playlist with one variant
 * per video track and one audio rendition per audio track (BANDWIDTH the peak segment bit rate, AVERAGE-BANDWIDTH
 * the mean, CODECS per RFC 6381, RESOLUTION). Pure; runs in workers.
 */
import { aacConfig, videoConfig } from './codecs.js';
import type { Segmentation } from './segments.js';

/** What a media playlist lists: its tracks, its segments' names and its init segment (fMP4). */
export interface MediaPlaylistSpec {
  readonly version: number;
  readonly sequence: number;
  /** Segment name of number n: `${prefix}${n}.${ext}`. */
  readonly prefix: string;
  readonly ext: 'ts' | 'm4s' | 'mp3';
  /** `#EXT-X-MAP` URI, or null for MPEG-TS. */
  readonly map: string | null;
}

/** EXTINF value: milliseconds from version 3 on (RFC 8216 §4.3.2.1), whole seconds (at least 1) before. */
function extinf(sec: number, version: number): string {
  return version >= 3 ? sec.toFixed(3) : String(Math.max(1, Math.round(sec)));
}

/** Media playlist text over segments of the given durations. */
export function mediaPlaylist(seg: Pick<Segmentation, 'count' | 'durationSec'>, spec: MediaPlaylistSpec): string {
  let longest = 0;
  for (let k = 0; k < seg.count; k++) longest = Math.max(longest, Number(extinf(seg.durationSec[k] ?? 0, spec.version)));
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${spec.version}`,
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(longest))}`,
    `#EXT-X-MEDIA-SEQUENCE:${spec.sequence}`,
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  if (spec.map !== null) lines.push(`#EXT-X-MAP:URI="${spec.map}"`);
  for (let k = 0; k < seg.count; k++) {
    lines.push(`#EXTINF:${extinf(seg.durationSec[k] ?? 0, spec.version)},`, `${spec.prefix}${spec.sequence + k}.${spec.ext}`);
  }
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

/** Largest segment number a name may carry (10 digits: sequence + a count of segments stays a safe integer). */
const SEGMENT_NUMBER = /^(0|[1-9][0-9]{0,9})$/;

/** Index (0-based) of the segment named `rest` (`<n><ext>`, n from `sequence`) among `count`, or null. */
export function segmentIndex(rest: string, ext: string, sequence: number, count: number): number | null {
  if (!rest.endsWith(ext)) return null;
  const digits = rest.slice(0, -ext.length);
  if (!SEGMENT_NUMBER.test(digits)) return null;
  const k = Number(digits) - sequence;
  return Number.isSafeInteger(k) && k >= 0 && k < count ? k : null;
}

/** Peak and mean bits per second of tracks `which` over the segments, container overhead estimated. */
function bandwidth(seg: Segmentation, which: readonly number[], container: 'ts' | 'fmp4'): { peak: number; average: number } {
  let peak = 0;
  let totalBytes = 0;
  let totalSec = 0;
  for (let k = 0; k < seg.count; k++) {
    // Container bytes beyond the samples (measured on 720p/360p H.264 + AAC, segments built and weighed): MPEG-TS
    // has PAT + PMT per segment, 4 header bytes per 184, per video access unit a PES header, AUD, start codes, PCR
    // and on average half a packet of stuffing (~140 bytes), per AAC frame its ADTS header and a share of its PES
    // (~24 bytes); fMP4 has styp/moof/traf headers per segment and 16 trun bytes per sample.
    let bytes = container === 'ts' ? 2 * 188 : 256;
    for (const t of which) {
      const cuts = seg.cuts[t] as Uint32Array;
      const track = seg.tracks[t]?.track;
      const size = track?.samples.size;
      const first = cuts[k] ?? 0;
      const end = cuts[k + 1] ?? 0;
      for (let i = first; i < end; i++) bytes += size?.[i] ?? 0;
      bytes += (end - first) * (container === 'fmp4' ? 16 : track?.kind === 'video' ? 140 : 24);
    }
    if (container === 'ts') bytes *= 188 / 184;
    const sec = seg.durationSec[k] ?? 0;
    if (sec > 0) peak = Math.max(peak, (bytes * 8) / sec);
    totalBytes += bytes;
    totalSec += sec;
  }
  return { peak: Math.ceil(peak), average: Math.ceil(totalSec > 0 ? (totalBytes * 8) / totalSec : 0) };
}

function codecOf(seg: Segmentation, t: number): string {
  const track = seg.tracks[t]?.track;
  if (!track) return '';
  return track.kind === 'video' ? videoConfig(track).codecString : aacConfig(track).codecString;
}

/** Name of the per-track media playlist of a master, and the prefix of its segments. */
export function trackPlaylistName(trackId: number): string {
  return `t${trackId}.m3u8`;
}
export function trackSegmentPrefix(trackId: number): string {
  return `t${trackId}-`;
}

/**
 * Master playlist: each audio track an EXT-X-MEDIA rendition of group "audio" (the first the default), each video
 * track an EXT-X-STREAM-INF using that group; with no video, each audio track a variant of its own.
 */
export function masterPlaylist(seg: Segmentation, version: number, container: 'ts' | 'fmp4'): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${version}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  const videos: number[] = [];
  const audios: number[] = [];
  seg.tracks.forEach((t, i) => (t.track.kind === 'video' ? videos : audios).push(i));
  if (videos.length === 0) {
    for (const a of audios) {
      const bw = bandwidth(seg, [a], container);
      const track = seg.tracks[a]?.track;
      lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${bw.peak},AVERAGE-BANDWIDTH=${bw.average},CODECS="${codecOf(seg, a)}"`, trackPlaylistName(track?.id ?? 0));
    }
    lines.push('');
    return lines.join('\n');
  }
  let audioPeak = 0;
  let audioAverage = 0;
  audios.forEach((a, n) => {
    const track = seg.tracks[a]?.track;
    if (!track) return;
    const bw = bandwidth(seg, [a], container);
    audioPeak = Math.max(audioPeak, bw.peak);
    audioAverage = Math.max(audioAverage, bw.average);
    const lang = /^[a-z]{2,3}$/.test(track.language) && track.language !== 'und' ? `,LANGUAGE="${track.language}"` : '';
    const def = n === 0 ? 'YES' : 'NO';
    lines.push(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio ${track.id}"${lang},DEFAULT=${def},AUTOSELECT=YES,URI="${trackPlaylistName(track.id)}"`);
  });
  // CODECS names every codec a variant may need: each distinct one of the audio group.
  const audioCodec = [...new Set(audios.map((a) => codecOf(seg, a)))].map((c) => `,${c}`).join('');
  for (const v of videos) {
    const track = seg.tracks[v]?.track;
    if (!track) continue;
    const bw = bandwidth(seg, [v], container);
    const attrs = [
      `BANDWIDTH=${bw.peak + audioPeak}`,
      `AVERAGE-BANDWIDTH=${bw.average + audioAverage}`,
      `CODECS="${codecOf(seg, v)}${audioCodec}"`,
      ...(track.width > 0 && track.height > 0 ? [`RESOLUTION=${track.width}x${track.height}`] : []),
      ...(audios.length > 0 ? ['AUDIO="audio"'] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, trackPlaylistName(track.id));
  }
  lines.push('');
  return lines.join('\n');
}
