/**
 * @module media/hls/ts-segment
 * One MPEG-TS HLS segment from MP4 samples, never transcoded: H.264/HEVC length-prefixed NAL units become Annex B
 * with an access unit delimiter per access unit and the avcC/hvcC parameter sets before each keyframe (ISO/IEC
 * 14496-10 §7.4.1.2.3, HLS authoring: every segment decodes on its own); raw AAC frames get ADTS headers from the
 * AudioSpecificConfig (ISO/IEC 13818-7 §6.2). Access units go out in decode order across tracks, PCR on the first
 * video PID (audio when there is no video). Pure; runs in workers.
 */
import { MediaFormatError } from '../types.js';
import { aacConfig, videoConfig } from './codecs.js';
import type { AacConfig, VideoConfig } from './codecs.js';
import { decodeSec, presentationSec } from './segments.js';
import type { HlsTrack } from './segments.js';
import { TsWriter } from './ts-packets.js';
import type { PesUnit, TsStream } from './ts-packets.js';

/** The 90 kHz clock starts 1.4 s before presentation time 0 (as ffmpeg's muxer does), so AAC priming and B-frame DTS stay positive. */
export const CLOCK_OFFSET = 126_000;
/** The PCR runs this far (90 kHz ticks) ahead of a video access unit's DTS: its bytes arrive before it is decoded. */
const PCR_LEAD = 9_000;
/** AAC frames per audio PES (about 0.2 s at 44.1 kHz): fewer stuffed packets than one frame per PES. */
const AUDIO_FRAMES_PER_PES = 9;
const VIDEO_PID = 0x100;
const AUDIO_PID = 0x101;

/** One track's samples of the segment: indices [first, first + data.length) and their bytes. */
export interface SegmentSamples {
  readonly hls: HlsTrack;
  readonly first: number;
  readonly data: readonly Buffer[];
}

interface Frame {
  readonly track: number;
  readonly sample: number;
  readonly dts: number;
}

/** The MPEG-TS bytes of one segment. MediaFormatError on a codec or sample the muxer cannot carry. */
export function muxTsSegment(parts: readonly SegmentSamples[]): Buffer {
  let videos = 0;
  let audios = 0;
  const configs: Array<VideoConfig | AacConfig> = [];
  const streams: Array<TsStream & { streamId: number }> = [];
  for (const p of parts) {
    if (p.hls.track.kind === 'video') {
      const cfg = videoConfig(p.hls.track);
      configs.push(cfg);
      streams.push({ pid: VIDEO_PID + 0x10 * videos, streamType: cfg.codec === 'h264' ? 0x1b : 0x24, streamId: 0xe0 + videos });
      videos++;
    } else {
      configs.push(aacConfig(p.hls.track));
      streams.push({ pid: AUDIO_PID + 0x10 * audios, streamType: 0x0f, streamId: 0xc0 + audios });
      audios++;
    }
  }
  const pcrIndex = Math.max(0, parts.findIndex((p) => p.hls.track.kind === 'video'));
  const pcrPid = streams[pcrIndex]?.pid ?? VIDEO_PID;

  const frames: Frame[] = [];
  parts.forEach((p, track) => {
    for (let i = 0; i < p.data.length; i++) frames.push({ track, sample: i, dts: decodeSec(p.hls, p.first + i) });
  });
  frames.sort((a, b) => a.dts - b.dts || a.track - b.track);

  const units: PesUnit[] = [];
  let payloadBytes = 0;
  for (let f = 0; f < frames.length; ) {
    const frame = frames[f] as Frame;
    const part = parts[frame.track] as SegmentSamples;
    const stream = streams[frame.track] as TsStream & { streamId: number };
    const cfg = configs[frame.track] as VideoConfig | AacConfig;
    const index = part.first + frame.sample;
    const dts = Math.round(frame.dts * 90_000) + CLOCK_OFFSET;
    const pts = Math.round(presentationSec(part.hls, index) * 90_000) + CLOCK_OFFSET;
    const pcr = frame.track === pcrIndex ? Math.max(0, dts - PCR_LEAD) : null;
    let payload: Buffer[];
    let length = 0;
    if ('lengthSize' in cfg) {
      const key = part.hls.track.samples.sync[index] === 1;
      payload = annexB(part.data[frame.sample] as Buffer, cfg, key);
      for (const c of payload) length += c.length;
      units.push({ pid: stream.pid, streamId: stream.streamId, payload, pts, dts, pcr, randomAccess: key });
      f++;
    } else {
      payload = [];
      let g = f;
      while (g < frames.length && g - f < AUDIO_FRAMES_PER_PES && (frames[g] as Frame).track === frame.track) {
        const data = part.data[(frames[g] as Frame).sample] as Buffer;
        payload.push(adtsHeader(cfg, data.length), data);
        length += 7 + data.length;
        g++;
      }
      units.push({ pid: stream.pid, streamId: stream.streamId, payload, pts, dts: null, pcr, randomAccess: f === 0 || pcr !== null });
      f = g;
    }
    payloadBytes += length + 19;
  }
  const writer = new TsWriter(payloadBytes, units.length);
  writer.writeTables(streams, pcrPid);
  for (const u of units) writer.writePes(u);
  return writer.finish();
}

const H264_AUD = Buffer.from([0, 0, 0, 1, 0x09, 0xf0]);
const HEVC_AUD = Buffer.from([0, 0, 0, 1, 0x46, 0x01, 0x50]);
const START = Buffer.from([0, 0, 0, 1]);

/** Length-prefixed NAL units → Annex B pieces: AUD, parameter sets before a keyframe, each NAL after a 4-byte start code. */
export function annexB(sample: Buffer, cfg: VideoConfig, keyframe: boolean): Buffer[] {
  const h264 = cfg.codec === 'h264';
  const out: Buffer[] = [h264 ? H264_AUD : HEVC_AUD];
  if (keyframe) for (const s of cfg.parameterSets) out.push(START, s);
  for (let pos = 0; pos < sample.length; ) {
    if (pos + cfg.lengthSize > sample.length) throw new MediaFormatError('NAL length prefix passes the sample');
    const len = cfg.lengthSize === 4 ? sample.readUInt32BE(pos) : cfg.lengthSize === 2 ? sample.readUInt16BE(pos) : (sample[pos] ?? 0);
    pos += cfg.lengthSize;
    if (len === 0 || pos + len > sample.length) throw new MediaFormatError('NAL unit passes the sample');
    const head = sample[pos] ?? 0;
    const type = h264 ? head & 0x1f : (head >> 1) & 0x3f;
    // The sample's own AUD is dropped: ours opens the access unit.
    if (!(h264 ? type === 9 : type === 35)) out.push(START, sample.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/** The 7-byte ADTS header (no CRC) of a raw AAC frame of `size` bytes. */
export function adtsHeader(cfg: AacConfig, size: number): Buffer {
  const len = size + 7;
  if (len > 0x1fff) throw new MediaFormatError(`AAC frame of ${size} bytes does not fit ADTS`);
  const out = Buffer.allocUnsafe(7);
  out[0] = 0xff;
  out[1] = 0xf1;
  out[2] = (cfg.adtsProfile << 6) | (cfg.freqIndex << 2) | (cfg.channelConfig >> 2);
  out[3] = ((cfg.channelConfig & 3) << 6) | (len >> 11);
  out[4] = (len >> 3) & 0xff;
  out[5] = ((len & 7) << 5) | 0x1f;
  out[6] = 0xfc;
  return out;
}
