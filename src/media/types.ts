/**
 * @module media/types
 * The model the media builders share (src/media/mp4, hls, mp3) and the media pipeline feeds them: a parsed movie
 * whose sample tables say where every sample sits in the source file, a reader of byte ranges of that file (the
 * cached original, missing blocks fetched from the origin by Range), and a plan: a response body made of new bytes
 * and ranges of the source, which the pipeline delivers (Range included) without copying the whole file into memory.
 * Types only; imported by workers.
 */

/** `length` bytes at `offset` of the source file. Rejects when the range passes the end or the origin fails. */
export type RangeReader = (offset: number, length: number) => Promise<Buffer>;

/**
 * One track's samples in decode order, columnar: a 1-hour 30 fps video has ~108,000 samples, so no object per
 * sample. Times are in the track's timescale.
 */
export interface SampleTable {
  readonly count: number;
  /** Byte offset of each sample in the source file. */
  readonly offset: Float64Array;
  readonly size: Uint32Array;
  /** Decode timestamp. */
  readonly dts: Float64Array;
  /** Composition offset (cts - dts); 0 when the track has no ctts. */
  readonly ctsOffset: Int32Array;
  /** Decode duration. */
  readonly duration: Uint32Array;
  /** 1 for a sync sample (keyframe); every sample is one when the track has no stss. */
  readonly sync: Uint8Array;
}

export interface Track {
  /** tkhd track_ID. */
  readonly id: number;
  readonly kind: 'video' | 'audio' | 'other';
  /** Sample entry four-cc: 'avc1', 'avc3', 'hvc1', 'mp4a', 'mp3 ', ... */
  readonly codec: string;
  readonly timescale: number;
  /** Media duration in the track's timescale. */
  readonly duration: number;
  /** Decoder configuration: the avcC/hvcC payload for video, the AudioSpecificConfig (from esds) for AAC; else null. */
  readonly decoderConfig: Buffer | null;
  /** Video only (0 otherwise). */
  readonly width: number;
  readonly height: number;
  /** Audio only (0 otherwise). */
  readonly sampleRate: number;
  readonly channels: number;
  /** mdhd language, e.g. 'und'. */
  readonly language: string;
  /** Average bits per second over the track's duration. */
  readonly bitrate: number;
  readonly samples: SampleTable;
}

/** A top-level box of the file, in file order. */
export interface TopBox {
  readonly type: string;
  readonly offset: number;
  /** Whole box size, header included. */
  readonly size: number;
}

export interface Movie {
  /** 'm4a' when the file has audio tracks only. */
  readonly kind: 'mp4' | 'm4a';
  /** Source file size in bytes. */
  readonly fileSize: number;
  /** mvhd timescale. */
  readonly timescale: number;
  /** Presentation duration in seconds. */
  readonly durationSec: number;
  readonly tracks: readonly Track[];
  readonly boxes: readonly TopBox[];
  /** The raw moov box, header included (the rewriters patch or rebuild it). */
  readonly moov: Buffer;
  /** The raw ftyp box, or null when the file has none. */
  readonly ftyp: Buffer | null;
  /** True when moov comes before the first mdat (progressive download can start at once). */
  readonly faststart: boolean;
}

/** A part of a planned body: new bytes, or a range of the source file. */
export type PlanPart = { readonly data: Buffer } | { readonly offset: number; readonly length: number };

/** A response body the pipeline serves, with Range, from new bytes and cached ranges of the source. */
export interface Plan {
  readonly parts: readonly PlanPart[];
  /** Sum of the parts' lengths. */
  readonly size: number;
  readonly contentType: string;
}

/** A clip in seconds of presentation time, `startSec < endSec` (endSec may be Infinity: to the end). */
export interface Clip {
  readonly startSec: number;
  readonly endSec: number;
}

/** A file the builders cannot handle (the pipeline passes the original through and logs it once per object). */
export class MediaFormatError extends Error {
  override readonly name = 'MediaFormatError';
}
