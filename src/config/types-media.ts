/**
 * @module config/types-media
 * `<Vhost><Media>` (issue 22, STON video.html): MP4/M4A header relocation, MP4/M4A/MP3 trimming, MP4 and MP3 to HLS.
 * Types only; part of config/types.ts, which re-exports it. Used by every process: the primary builds the Config
 * (config/read-media.ts), workers receive it over IPC.
 */

/** `<MP4HLS Container>`: MPEG-TS segments (STON) or fMP4/CMAF (`#EXT-X-MAP` + `.m4s`, HLS version 7). */
export const HLS_CONTAINERS = ['TS', 'FMP4'] as const;
export type HlsContainer = (typeof HLS_CONTAINERS)[number];
/** `<MP3HLS SegmentType>`: MP3 frames in MPEG-TS, or raw MP3 segments. */
export const MP3_SEGMENT_TYPES = ['TS', 'MP3'] as const;
export type Mp3SegmentType = (typeof MP3_SEGMENT_TYPES)[number];

export interface MediaTrimming {
  /** `<MP4Trimming>`: `?start=&end=` cuts MP4 files. Default false. */
  readonly mp4: boolean;
  /** `<M4ATrimming>` (audio-only MP4). Default false. */
  readonly m4a: boolean;
  /** `<MP3Trimming>`. Default false. */
  readonly mp3: boolean;
  /** `StartParam`, `EndParam`: query names of the clip's bounds in seconds. Defaults start, end. */
  readonly startParam: string;
  readonly endParam: string;
  /** `MultiParam`: `?trimming=10-70,560-620` joins clips. Default trimming. */
  readonly multiParam: string;
  /** `AllTracks`: keep every track (else the video and audio tracks only). Default false. */
  readonly allTracks: boolean;
  /** `MaxRatio`: joined clips may last at most this percentage of the original. Default 50. */
  readonly maxRatioPercent: number;
}

export interface MediaHls {
  /** `Keyword`: the path segment after the original's URL, `/v.mp4/<Keyword>/index.m3u8`. */
  readonly keyword: string;
  /** `<Index>`: the playlist's file name. Default index.m3u8. */
  readonly indexName: string;
  /** `<Index Ver>`: EXT-X-VERSION (fMP4 forces 7). Default 3. */
  readonly version: number;
  /** `<Sequence>`: EXT-X-MEDIA-SEQUENCE and the first segment's number. Default 0. */
  readonly sequence: number;
  /** `<Duration>`: target segment length in seconds (cut on the next keyframe). Default 10. */
  readonly segmentSec: number;
  readonly container: HlsContainer;
}

export interface MediaConfig {
  /** `<UpfrontMP4Header>`: an MP4 with its moov after mdat is served with ftyp + moov first. Default false. */
  readonly upfrontMp4: boolean;
  /** `<UpfrontM4AHeader>`: the same for audio-only MP4. Default false. */
  readonly upfrontM4a: boolean;
  readonly trimming: MediaTrimming;
  /** `<MP4HLS Status="Active">`; null = off. */
  readonly mp4Hls: MediaHls | null;
  /** `<MP3HLS Status="Active">`; null = off. Its playlist settings (`Index`, `Sequence`, `Duration`) are MP4HLS's. */
  readonly mp3Hls: (Omit<MediaHls, 'container'> & { readonly segmentType: Mp3SegmentType }) | null;
}
