/**
 * @module media/hls/codecs
 * The decoder configurations HLS packaging reads (avcC, ISO/IEC 14496-15 §5.3.3; hvcC, §8.3.3; the AAC
 * AudioSpecificConfig, ISO/IEC 14496-3 §1.6.2.1) and the RFC 6381 CODECS strings of the master playlist. Pure; runs
 * in workers. A configuration it cannot read throws MediaFormatError (media/hls/segments then leaves the track out,
 * or refuses the movie when no track of that kind remains).
 */
import { MediaFormatError } from '../types.js';
import type { Track } from '../types.js';

/** A video track's in-band parameter sets and NAL length size. */
export interface VideoConfig {
  readonly codec: 'h264' | 'hevc';
  /** Bytes of the length prefix before each NAL unit in a sample (1, 2 or 4). */
  readonly lengthSize: number;
  /** Parameter sets (VPS, SPS, PPS order), sent before each keyframe in MPEG-TS. */
  readonly parameterSets: readonly Buffer[];
  /** RFC 6381 codec string, e.g. `avc1.64001f`. */
  readonly codecString: string;
}

/** An AAC track's ADTS fields. */
export interface AacConfig {
  /** Audio object type (2 = AAC LC; 5 / 29 = HE-AAC, carried as its core object type in ADTS). */
  readonly objectType: number;
  /** ADTS profile (object type of the core coder minus 1). */
  readonly adtsProfile: number;
  readonly freqIndex: number;
  readonly channelConfig: number;
  /** `mp4a.40.<objectType>`. */
  readonly codecString: string;
}

const VIDEO_CODECS: Record<string, 'h264' | 'hevc'> = { avc1: 'h264', avc3: 'h264', hvc1: 'hevc', hev1: 'hevc' };

/** The video configuration of a track, or a MediaFormatError naming what is unsupported. */
export function videoConfig(track: Track): VideoConfig {
  const codec = VIDEO_CODECS[track.codec];
  if (!codec) throw new MediaFormatError(`video codec '${track.codec}' is not packaged as HLS`);
  const cfg = track.decoderConfig;
  if (!cfg) throw new MediaFormatError(`track ${track.id}: no ${codec === 'h264' ? 'avcC' : 'hvcC'}`);
  return codec === 'h264' ? readAvcC(cfg) : readHvcC(cfg, track.codec);
}

function readAvcC(b: Buffer): VideoConfig {
  if (b.length < 7 || b[0] !== 1) throw new MediaFormatError('avcC: bad version or too short');
  const lengthSize = ((b[4] ?? 0) & 3) + 1;
  if (lengthSize === 3) throw new MediaFormatError('avcC: 3-byte NAL lengths');
  const sets: Buffer[] = [];
  let pos = 5;
  for (const mask of [0x1f, 0xff]) {
    const n = (b[pos] ?? 0) & mask;
    pos++;
    for (let i = 0; i < n; i++) {
      if (pos + 2 > b.length) throw new MediaFormatError('avcC: truncated parameter set');
      const len = b.readUInt16BE(pos);
      if (pos + 2 + len > b.length) throw new MediaFormatError('avcC: parameter set passes the box');
      sets.push(b.subarray(pos + 2, pos + 2 + len));
      pos += 2 + len;
    }
    if (pos >= b.length && mask === 0x1f) throw new MediaFormatError('avcC: no PPS count');
  }
  const hex = (v: number | undefined): string => (v ?? 0).toString(16).padStart(2, '0');
  return { codec: 'h264', lengthSize, parameterSets: sets, codecString: `avc1.${hex(b[1])}${hex(b[2])}${hex(b[3])}` };
}

function readHvcC(b: Buffer, fourcc: string): VideoConfig {
  if (b.length < 23 || b[0] !== 1) throw new MediaFormatError('hvcC: bad version or too short');
  const lengthSize = ((b[21] ?? 0) & 3) + 1;
  if (lengthSize === 3) throw new MediaFormatError('hvcC: 3-byte NAL lengths');
  const arrays = b[22] ?? 0;
  const sets: Buffer[] = [];
  let pos = 23;
  for (let a = 0; a < arrays; a++) {
    if (pos + 3 > b.length) throw new MediaFormatError('hvcC: truncated array');
    const n = b.readUInt16BE(pos + 1);
    pos += 3;
    for (let i = 0; i < n; i++) {
      if (pos + 2 > b.length) throw new MediaFormatError('hvcC: truncated NAL unit');
      const len = b.readUInt16BE(pos);
      if (pos + 2 + len > b.length) throw new MediaFormatError('hvcC: NAL unit passes the box');
      sets.push(b.subarray(pos + 2, pos + 2 + len));
      pos += 2 + len;
    }
  }
  return { codec: 'hevc', lengthSize, parameterSets: sets, codecString: hevcCodecString(b, fourcc) };
}

/** `hvc1.<space><profile>.<compat, bit-reversed hex>.<L|H><level>[.<constraint bytes>]` (ISO/IEC 14496-15 Annex E). */
function hevcCodecString(b: Buffer, fourcc: string): string {
  const byte1 = b[1] ?? 0;
  const space = ['', 'A', 'B', 'C'][byte1 >> 6] ?? '';
  const compat = b.readUInt32BE(2);
  let reversed = 0;
  for (let i = 0; i < 32; i++) if (compat & (1 << i)) reversed |= 1 << (31 - i);
  const constraints: string[] = [];
  for (let i = 6; i < 12; i++) constraints.push((b[i] ?? 0).toString(16).toUpperCase());
  while (constraints.length > 0 && constraints[constraints.length - 1] === '0') constraints.pop();
  const tier = byte1 & 0x20 ? 'H' : 'L';
  const parts = [fourcc, `${space}${byte1 & 0x1f}`, (reversed >>> 0).toString(16).toUpperCase(), `${tier}${b[12] ?? 0}`, ...constraints];
  return parts.join('.');
}

/** The AAC configuration of a track, or a MediaFormatError when ADTS cannot carry it. */
export function aacConfig(track: Track): AacConfig {
  if (track.codec !== 'mp4a') throw new MediaFormatError(`audio codec '${track.codec}' is not packaged as HLS`);
  const b = track.decoderConfig;
  if (!b || b.length < 2) throw new MediaFormatError(`track ${track.id}: no AAC AudioSpecificConfig`);
  const bits = new BitReader(b);
  const readObjectType = (): number => {
    const t = bits.read(5);
    return t === 31 ? 32 + bits.read(6) : t;
  };
  const objectType = readObjectType();
  const freqIndex = bits.read(4);
  if (freqIndex === 15) throw new MediaFormatError('AAC: explicit sample rate cannot be carried in ADTS');
  const channelConfig = bits.read(4);
  let core = objectType;
  if (objectType === 5 || objectType === 29) {
    // Explicit SBR/PS signalling: the extension rate follows, then the core coder's object type (§1.6.2.1).
    if (bits.read(4) === 15) bits.read(24);
    core = readObjectType();
  }
  if (core < 1 || core > 4) throw new MediaFormatError(`AAC object type ${core} cannot be carried in ADTS`);
  if (channelConfig === 0 || channelConfig > 7) throw new MediaFormatError(`AAC channel configuration ${channelConfig} needs a PCE`);
  return { objectType, adtsProfile: core - 1, freqIndex, channelConfig, codecString: `mp4a.40.${objectType}` };
}

class BitReader {
  #buf: Buffer;
  #bit = 0;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.#buf[this.#bit >> 3];
      if (byte === undefined) throw new MediaFormatError('AudioSpecificConfig: truncated');
      v = v * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return v;
  }
}
