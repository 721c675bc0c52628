/**
 * @module media/mp3/frame-header
 * The MPEG audio frame header (ISO 11172-3 §2.4.2.3, ISO 13818-3 for MPEG-2 and the MPEG-2.5 extension): decoding
 * the four header bytes into version, layer, bitrate, sample rate and frame length, and the check that two frames
 * belong to the same stream. Pure; run by workers. Free-format (bitrate index 0) and reserved values are refused:
 * their frame length cannot be known from the header, so a cut point could not be found safely.
 */

export type MpegVersion = 1 | 2 | 2.5;
export type MpegLayer = 1 | 2 | 3;

export interface FrameHeader {
  readonly version: MpegVersion;
  readonly layer: MpegLayer;
  /** Bits per second. */
  readonly bitrate: number;
  readonly sampleRate: number;
  readonly channels: 1 | 2;
  readonly samplesPerFrame: number;
  /** Whole frame length in bytes, header included. */
  readonly length: number;
  /** True when a 16-bit CRC follows the header (protection bit 0). */
  readonly crc: boolean;
}

// kbps by bitrate index 1..14 (0 = free format, 15 = bad).
const KBPS_V1_L1 = [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448];
const KBPS_V1_L2 = [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384];
const KBPS_V1_L3 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const KBPS_V2_L1 = [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256];
const KBPS_V2_L23 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

const RATES_V1 = [44100, 48000, 32000];

/** The bitrate table of a version and layer (index 1..14 in kbps). */
export function bitrateTable(version: MpegVersion, layer: MpegLayer): readonly number[] {
  if (version === 1) return layer === 1 ? KBPS_V1_L1 : layer === 2 ? KBPS_V1_L2 : KBPS_V1_L3;
  return layer === 1 ? KBPS_V2_L1 : KBPS_V2_L23;
}

/** Samples per frame: 384 for layer I, 1152 for layer II and MPEG-1 layer III, 576 for MPEG-2/2.5 layer III. */
export function samplesPerFrameOf(version: MpegVersion, layer: MpegLayer): number {
  if (layer === 1) return 384;
  if (layer === 2 || version === 1) return 1152;
  return 576;
}

/** Frame length in bytes for a bitrate (bps), sample rate and padding bit: layer I counts 4-byte slots. */
export function frameLength(version: MpegVersion, layer: MpegLayer, bitrate: number, sampleRate: number, padding: 0 | 1): number {
  if (layer === 1) return (Math.floor((12 * bitrate) / sampleRate) + padding) * 4;
  return Math.floor((samplesPerFrameOf(version, layer) / 8) * bitrate / sampleRate) + padding;
}

/** Decodes the header at `at` of `buf`, or null when those bytes are not a usable frame header. */
export function decodeFrameHeader(buf: Buffer, at: number): FrameHeader | null {
  if (at < 0 || at + 4 > buf.length) return null;
  const b0 = buf[at] as number;
  const b1 = buf[at + 1] as number;
  const b2 = buf[at + 2] as number;
  const b3 = buf[at + 3] as number;
  if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0) return null;
  const versionBits = (b1 >> 3) & 3;
  const layerBits = (b1 >> 1) & 3;
  if (versionBits === 1 || layerBits === 0) return null;
  const version: MpegVersion = versionBits === 3 ? 1 : versionBits === 2 ? 2 : 2.5;
  const layer: MpegLayer = layerBits === 3 ? 1 : layerBits === 2 ? 2 : 3;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  // 0 = free format (length not in the header), 15 = forbidden; rate 3 = reserved; emphasis 2 = reserved.
  if (bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3 || (b3 & 3) === 2) return null;
  const base = RATES_V1[rateIndex] as number;
  const sampleRate = version === 1 ? base : version === 2 ? base / 2 : base / 4;
  const bitrate = (bitrateTable(version, layer)[bitrateIndex] as number) * 1000;
  const padding = ((b2 >> 1) & 1) as 0 | 1;
  return {
    version,
    layer,
    bitrate,
    sampleRate,
    channels: (b3 >> 6) === 3 ? 1 : 2,
    samplesPerFrame: samplesPerFrameOf(version, layer),
    length: frameLength(version, layer, bitrate, sampleRate, padding),
    crc: (b1 & 1) === 0,
  };
}

/** True when `b` can follow `a` in one stream (same version, layer, sample rate; bitrate may change: VBR). */
export function sameStream(a: FrameHeader, b: FrameHeader): boolean {
  return a.version === b.version && a.layer === b.layer && a.sampleRate === b.sampleRate;
}

/** Bytes of layer III side information after the header (and CRC): where a Xing/Info tag starts. */
export function sideInfoLength(version: MpegVersion, channels: 1 | 2): number {
  if (version === 1) return channels === 1 ? 17 : 32;
  return channels === 1 ? 9 : 17;
}
