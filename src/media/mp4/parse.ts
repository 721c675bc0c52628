/**
 * @module media/mp4/parse
 * MP4/M4A parser: walks the top-level box headers (never reading mdat), then reads only the moov and expands each
 * track's sample tables (stts, ctts, stss, stsc, stsz, stco/co64) into the columnar SampleTable. Runs in workers.
 * Invariants: every untrusted count is checked against the bytes that hold it (or against the file size) before
 * anything is allocated from it; every sample lies inside the file; any malformed input is a MediaFormatError.
 */
import { BoxCursor, childBoxes, findChild, isPrintableType } from './boxes.js';
import type { BoxRef } from './boxes.js';
import { MediaFormatError } from '../types.js';
import type { Movie, RangeReader, SampleTable, TopBox, Track } from '../types.js';

/** Top-level boxes walked before giving up: a real file has a handful; each costs one small read. */
export const MAX_TOP_BOXES = 256;
/** Largest moov read into memory: a 10-hour 60 fps video + AAC moov is ~30 MiB. */
export const MAX_MOOV_BYTES = 64 * 1024 * 1024;
const MAX_FTYP_BYTES = 4096;
/** Samples over all tracks (29 bytes each in the tables): 10 h of 60 fps video + 48 kHz AAC is ~3.9 M. */
export const MAX_SAMPLES = 4 * 1024 * 1024;
const MAX_TRACKS = 64;
/** Sample entry types of protected content (ISO/IEC 23001-7): never served as plain media. */
const ENCRYPTED_ENTRIES = new Set(['encv', 'enca', 'enct', 'encs', 'drms', 'drmi']);

/** Reads the top-level box headers and the moov; never reads mdat. Throws MediaFormatError on anything it cannot use. */
export async function parseMovie(read: RangeReader, fileSize: number): Promise<Movie> {
  if (!Number.isSafeInteger(fileSize) || fileSize < 8) throw new MediaFormatError('file too small for an MP4');
  const boxes = await walkTopLevel(read, fileSize);
  let moovBox: TopBox | null = null;
  let ftypBox: TopBox | null = null;
  let firstMdat = -1;
  for (const b of boxes) {
    if (b.type === 'moov') {
      if (moovBox) throw new MediaFormatError('more than one moov');
      moovBox = b;
    } else if (b.type === 'ftyp' && !ftypBox) ftypBox = b;
    else if (b.type === 'mdat' && firstMdat < 0) firstMdat = b.offset;
  }
  if (!moovBox) throw new MediaFormatError('no moov box');
  if (moovBox.size > MAX_MOOV_BYTES) throw new MediaFormatError('moov larger than the limit');
  if (ftypBox && ftypBox.size > MAX_FTYP_BYTES) throw new MediaFormatError('ftyp larger than the limit');
  const moov = await readExact(read, moovBox.offset, moovBox.size);
  const ftyp = ftypBox ? await readExact(read, ftypBox.offset, ftypBox.size) : null;
  const head = childBoxes(moov, 0, moov.length)[0];
  if (!head || head.type !== 'moov' || head.end !== moov.length) throw new MediaFormatError('moov box changed while read');
  const parsed = parseMoov(moov, head, fileSize);
  const hasVideo = parsed.tracks.some((t) => t.kind === 'video');
  if (!hasVideo && !parsed.tracks.some((t) => t.kind === 'audio')) throw new MediaFormatError('no audio or video track');
  return {
    kind: hasVideo ? 'mp4' : 'm4a',
    fileSize,
    timescale: parsed.timescale,
    durationSec: parsed.durationSec,
    tracks: parsed.tracks,
    boxes,
    moov,
    ftyp,
    faststart: firstMdat < 0 || moovBox.offset < firstMdat,
  };
}

async function readExact(read: RangeReader, offset: number, length: number): Promise<Buffer> {
  const buf = await read(offset, length);
  if (buf.length !== length) throw new MediaFormatError('short read');
  return buf;
}

/** The top-level boxes by their headers: 8 or 16 bytes read per box, sizes checked against the file. */
async function walkTopLevel(read: RangeReader, fileSize: number): Promise<TopBox[]> {
  const boxes: TopBox[] = [];
  let off = 0;
  while (off < fileSize) {
    if (boxes.length >= MAX_TOP_BOXES) throw new MediaFormatError('too many top-level boxes');
    const avail = Math.min(16, fileSize - off);
    if (avail < 8) throw new MediaFormatError('truncated top-level box header');
    const h = await readExact(read, off, avail);
    const type = h.toString('latin1', 4, 8);
    if (!isPrintableType(type)) throw new MediaFormatError('not an MP4 box');
    const size32 = h.readUInt32BE(0);
    let size: number;
    let header = 8;
    if (size32 === 1) {
      if (avail < 16) throw new MediaFormatError('truncated 64-bit box header');
      size = h.readUInt32BE(8) * 2 ** 32 + h.readUInt32BE(12);
      header = 16;
    } else if (size32 === 0) size = fileSize - off;
    else size = size32;
    if (size < header) throw new MediaFormatError(`box '${type}' smaller than its header`);
    if (size > fileSize - off) throw new MediaFormatError(`box '${type}' passes the end of the file`);
    if (type === 'moof') throw new MediaFormatError('fragmented MP4 (moof) is not supported');
    boxes.push({ type, offset: off, size });
    off += size;
  }
  return boxes;
}

interface ParsedMoov {
  readonly timescale: number;
  readonly durationSec: number;
  readonly tracks: Track[];
}

function parseMoov(moov: Buffer, head: BoxRef, fileSize: number): ParsedMoov {
  const kids = childBoxes(moov, head.body, head.end);
  if (findChild(kids, 'mvex')) throw new MediaFormatError('fragmented MP4 (mvex) is not supported');
  const mvhd = findChild(kids, 'mvhd');
  if (!mvhd) throw new MediaFormatError('no mvhd');
  const c = new BoxCursor(moov, mvhd.body, mvhd.end);
  const version = c.u8('mvhd');
  c.skip(3, 'mvhd');
  c.skip(version === 1 ? 16 : 8, 'mvhd');
  const timescale = c.u32('mvhd timescale');
  const duration = version === 1 ? c.u64('mvhd duration') : c.u32('mvhd duration');
  if (timescale === 0) throw new MediaFormatError('mvhd timescale is 0');
  const tracks: Track[] = [];
  const budget = { samples: MAX_SAMPLES };
  for (const k of kids) {
    if (k.type !== 'trak') continue;
    if (tracks.length >= MAX_TRACKS) throw new MediaFormatError('too many tracks');
    tracks.push(parseTrak(moov, k, timescale, fileSize, budget));
  }
  let durationSec = duration / timescale;
  // 0xffffffff (v0) is "unknown duration" (§8.2.2.3): take the longest track instead.
  if (duration === 0 || (version === 0 && duration === 0xffffffff)) {
    durationSec = 0;
    for (const t of tracks) durationSec = Math.max(durationSec, t.duration / t.timescale);
  }
  return { timescale, durationSec, tracks };
}

/** The parts of a trak the tables need, by box. */
interface StblBoxes {
  stsd: BoxRef | null;
  stts: BoxRef | null;
  ctts: BoxRef | null;
  stss: BoxRef | null;
  stsc: BoxRef | null;
  stsz: BoxRef | null;
  stco: BoxRef | null;
  co64: BoxRef | null;
}

function need(box: BoxRef | null, what: string): BoxRef {
  if (!box) throw new MediaFormatError(`no ${what}`);
  return box;
}

function parseTrak(moov: Buffer, trak: BoxRef, movieTimescale: number, fileSize: number, budget: { samples: number }): Track {
  const kids = childBoxes(moov, trak.body, trak.end);
  const tkhd = need(findChild(kids, 'tkhd'), 'tkhd');
  const tc = new BoxCursor(moov, tkhd.body, tkhd.end);
  const tv = tc.u8('tkhd');
  tc.skip(3 + (tv === 1 ? 16 : 8), 'tkhd');
  const id = tc.u32('tkhd track_ID');
  const mdia = need(findChild(kids, 'mdia'), 'mdia');
  const mdiaKids = childBoxes(moov, mdia.body, mdia.end);
  const mdhd = need(findChild(mdiaKids, 'mdhd'), 'mdhd');
  const mc = new BoxCursor(moov, mdhd.body, mdhd.end);
  const mv = mc.u8('mdhd');
  mc.skip(3 + (mv === 1 ? 16 : 8), 'mdhd');
  const timescale = mc.u32('mdhd timescale');
  let duration = mv === 1 ? mc.u64('mdhd duration') : mc.u32('mdhd duration');
  const lang = mc.u16('mdhd language');
  if (timescale === 0) throw new MediaFormatError('mdhd timescale is 0');
  const hdlr = need(findChild(mdiaKids, 'hdlr'), 'hdlr');
  const hc = new BoxCursor(moov, hdlr.body, hdlr.end);
  hc.skip(8, 'hdlr');
  const handler = hc.bytes(4, 'hdlr handler_type').toString('latin1');
  const kind: Track['kind'] = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
  const minf = need(findChild(mdiaKids, 'minf'), 'minf');
  const stbl = need(findChild(childBoxes(moov, minf.body, minf.end), 'stbl'), 'stbl');
  const sb: StblBoxes = { stsd: null, stts: null, ctts: null, stss: null, stsc: null, stsz: null, stco: null, co64: null };
  for (const b of childBoxes(moov, stbl.body, stbl.end)) {
    if (b.type === 'stz2') throw new MediaFormatError('stz2 is not supported');
    if (Object.hasOwn(sb, b.type) && sb[b.type as keyof StblBoxes] === null) sb[b.type as keyof StblBoxes] = b;
  }
  const entry = parseSampleEntry(moov, need(sb.stsd, 'stsd'), kind);
  const delay = leadingEmptyEdit(moov, findChild(kids, 'edts'), timescale, movieTimescale);
  const samples = expandSamples(moov, sb, fileSize, delay, budget);
  let bytes = 0;
  let mediaDuration = 0;
  for (let i = 0; i < samples.count; i++) {
    bytes += samples.size[i] as number;
    mediaDuration += samples.duration[i] as number;
  }
  if (duration === 0 || (mv === 0 && duration === 0xffffffff)) duration = mediaDuration;
  return {
    id,
    kind,
    codec: entry.codec,
    timescale,
    duration,
    decoderConfig: entry.config,
    width: kind === 'video' ? entry.width : 0,
    height: kind === 'video' ? entry.height : 0,
    sampleRate: kind === 'audio' ? entry.sampleRate || timescale : 0,
    channels: kind === 'audio' ? entry.channels : 0,
    language: language(lang),
    bitrate: duration > 0 ? Math.round((bytes * 8 * timescale) / duration) : 0,
    samples,
  };
}

/** ISO-639-2/T packed as three 5-bit letters offset by 0x60 (§8.4.2.3). */
function language(packed: number): string {
  const a = (packed >> 10) & 31;
  const b = (packed >> 5) & 31;
  const c = packed & 31;
  if (a === 0 || b === 0 || c === 0) return 'und';
  return String.fromCharCode(a + 0x60, b + 0x60, c + 0x60);
}

/**
 * A leading empty edit (media_time -1) delays the track: its duration in the track's timescale, added to every dts.
 * Other edits are not applied to the table: a single edit's media_time (B-frame shift, AAC priming, a few frames) is
 * left to players, multi-segment edit lists are ignored (the whole media is used).
 */
function leadingEmptyEdit(moov: Buffer, edts: BoxRef | null, timescale: number, movieTimescale: number): number {
  if (!edts) return 0;
  const elst = findChild(childBoxes(moov, edts.body, edts.end), 'elst');
  if (!elst) return 0;
  const c = new BoxCursor(moov, elst.body, elst.end);
  const v = c.u8('elst');
  c.skip(3, 'elst');
  const n = c.u32('elst entry_count');
  const entrySize = v === 1 ? 20 : 12;
  if (n > c.remaining / entrySize) throw new MediaFormatError('elst entry_count passes its box');
  if (n === 0) return 0;
  const segment = v === 1 ? c.u64('elst segment_duration') : c.u32('elst segment_duration');
  const mediaTime = v === 1 ? c.i64('elst media_time') : c.i32('elst media_time');
  if (mediaTime !== -1) return 0;
  return Math.round((segment * timescale) / movieTimescale);
}

interface SampleEntry {
  readonly codec: string;
  readonly config: Buffer | null;
  readonly width: number;
  readonly height: number;
  readonly sampleRate: number;
  readonly channels: number;
}

const VIDEO_CONFIG: Record<string, string> = { avc1: 'avcC', avc3: 'avcC', hvc1: 'hvcC', hev1: 'hvcC' };

/** The first sample description: its four-cc, the decoder configuration, picture size or audio format. */
function parseSampleEntry(moov: Buffer, stsd: BoxRef, kind: Track['kind']): SampleEntry {
  const c = new BoxCursor(moov, stsd.body, stsd.end);
  c.skip(4, 'stsd');
  const n = c.u32('stsd entry_count');
  if (n === 0) throw new MediaFormatError('stsd has no entry');
  const entries = childBoxes(moov, c.pos, stsd.end);
  if (entries.length < n) throw new MediaFormatError('stsd entry_count passes its box');
  for (const e of entries) if (ENCRYPTED_ENTRIES.has(e.type)) throw new MediaFormatError('encrypted track');
  const e = entries[0] as BoxRef;
  const codec = e.type;
  const ec = new BoxCursor(moov, e.body, e.end);
  ec.skip(8, 'sample entry'); // reserved(6) + data_reference_index(2)
  let width = 0;
  let height = 0;
  let sampleRate = 0;
  let channels = 0;
  let childStart = -1;
  if (kind === 'video') {
    ec.skip(16, 'visual sample entry');
    width = ec.u16('width');
    height = ec.u16('height');
    ec.skip(50, 'visual sample entry'); // resolutions, reserved, frame_count, compressorname, depth, pre_defined
    childStart = ec.pos;
  } else if (kind === 'audio') {
    const qtVersion = ec.u16('audio sample entry');
    ec.skip(6, 'audio sample entry');
    channels = ec.u16('channelcount');
    ec.skip(6, 'audio sample entry'); // samplesize, pre_defined, reserved
    sampleRate = ec.u32('samplerate') >>> 16;
    // QuickTime sound description v1 adds 16 bytes, v2 adds 36 (QTFF "Sound Sample Description").
    if (qtVersion === 1) ec.skip(16, 'audio sample entry v1');
    else if (qtVersion === 2) ec.skip(36, 'audio sample entry v2');
    childStart = ec.pos;
  }
  let config: Buffer | null = null;
  if (childStart >= 0) {
    const kids = childBoxes(moov, childStart, e.end);
    if (findChild(kids, 'sinf')) throw new MediaFormatError('encrypted track');
    const want = VIDEO_CONFIG[codec];
    if (want) {
      const box = findChild(kids, want);
      if (!box) throw new MediaFormatError(`${codec} without ${want}`);
      config = Buffer.from(moov.subarray(box.body, box.end));
    } else if (codec === 'mp4a') {
      const esds = findChild(kids, 'esds');
      config = esds ? audioSpecificConfig(moov, esds) : null;
      // Writers put 2 in channelcount whatever the stream has (ffmpeg does); the AudioSpecificConfig is the truth.
      if (config) channels = ascChannels(config) || channels;
    }
  }
  return { codec, config, width, height, sampleRate, channels };
}

/** channelConfiguration of an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1); 0 when it is not given there. */
function ascChannels(asc: Buffer): number {
  let bit = 0;
  const bits = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      const byte = asc[bit >> 3];
      if (byte === undefined) return -1;
      v = (v << 1) | ((byte >> (7 - (bit & 7))) & 1);
    }
    return v;
  };
  if (bits(5) === 31) bits(6);
  if (bits(4) === 15) bits(24);
  const conf = bits(4);
  if (conf <= 0) return 0;
  return conf === 7 ? 8 : conf;
}

/** Reads an MPEG-4 descriptor header (ISO/IEC 14496-1 §8.3.3): tag, then a 1-4 byte length. */
function descriptor(c: BoxCursor): { tag: number; end: number } {
  const tag = c.u8('esds descriptor');
  let len = 0;
  for (let i = 0; i < 4; i++) {
    const b = c.u8('esds descriptor length');
    len = len * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) break;
  }
  c.need(len, 'esds descriptor');
  return { tag, end: c.pos + len };
}

/** The DecoderSpecificInfo (AudioSpecificConfig) inside esds' ES_Descriptor → DecoderConfigDescriptor; null if absent. */
function audioSpecificConfig(moov: Buffer, esds: BoxRef): Buffer | null {
  const c = new BoxCursor(moov, esds.body, esds.end);
  c.skip(4, 'esds');
  const es = descriptor(c);
  if (es.tag !== 0x03) return null;
  const ec = new BoxCursor(moov, c.pos, es.end);
  ec.skip(2, 'ES_Descriptor');
  const flags = ec.u8('ES_Descriptor flags');
  if (flags & 0x80) ec.skip(2, 'ES_Descriptor'); // dependsOn_ES_ID
  if (flags & 0x40) ec.skip(ec.u8('ES_Descriptor URL length'), 'ES_Descriptor URL');
  if (flags & 0x20) ec.skip(2, 'ES_Descriptor'); // OCR_ES_Id
  while (ec.remaining > 0) {
    const d = descriptor(ec);
    if (d.tag !== 0x04) {
      ec.skip(d.end - ec.pos, 'esds');
      continue;
    }
    const dc = new BoxCursor(moov, ec.pos, d.end);
    dc.skip(13, 'DecoderConfigDescriptor');
    while (dc.remaining > 0) {
      const s = descriptor(dc);
      if (s.tag === 0x05) return Buffer.from(moov.subarray(dc.pos, s.end));
      dc.skip(s.end - dc.pos, 'esds');
    }
    return null;
  }
  return null;
}

/** Opens a full box's table: returns its cursor after version/flags and the entry count, checked to fit the box. */
function table(moov: Buffer, box: BoxRef, entrySize: number, what: string): { c: BoxCursor; n: number; version: number } {
  const c = new BoxCursor(moov, box.body, box.end);
  const version = c.u8(what);
  c.skip(3, what);
  const n = c.u32(`${what} entry_count`);
  if (n > c.remaining / entrySize) throw new MediaFormatError(`${what} entry_count passes its box`);
  return { c, n, version };
}

/** Expands the sample tables of one track; `delay` (a leading empty edit) is added to every dts. */
function expandSamples(moov: Buffer, sb: StblBoxes, fileSize: number, delay: number, budget: { samples: number }): SampleTable {
  // stsz first: it fixes the sample count every other table must agree with.
  const stsz = need(sb.stsz, 'stsz');
  const zc = new BoxCursor(moov, stsz.body, stsz.end);
  zc.skip(4, 'stsz');
  const fixedSize = zc.u32('stsz sample_size');
  const count = zc.u32('stsz sample_count');
  if (fixedSize === 0 && count > zc.remaining / 4) throw new MediaFormatError('stsz sample_count passes its box');
  if (fixedSize !== 0 && count * fixedSize > fileSize) throw new MediaFormatError('stsz samples larger than the file');
  if (count > budget.samples) throw new MediaFormatError('too many samples');
  budget.samples -= count;

  const stts = table(moov, need(sb.stts, 'stts'), 8, 'stts');
  let sttsTotal = 0;
  for (let i = 0; i < stts.n; i++) {
    sttsTotal += moov.readUInt32BE(stts.c.pos + i * 8);
    if (sttsTotal > count) throw new MediaFormatError('stts covers more samples than stsz');
  }
  if (sttsTotal !== count) throw new MediaFormatError('stts covers fewer samples than stsz');

  const chunkBox = sb.co64 ?? sb.stco;
  if (!chunkBox) throw new MediaFormatError('no stco or co64');
  const wide = chunkBox === sb.co64;
  const chunks = table(moov, chunkBox, wide ? 8 : 4, wide ? 'co64' : 'stco');
  const stsc = table(moov, need(sb.stsc, 'stsc'), 12, 'stsc');

  const offset = new Float64Array(count);
  const size = new Uint32Array(count);
  const dts = new Float64Array(count);
  const ctsOffset = new Int32Array(count);
  const duration = new Uint32Array(count);
  const sync = new Uint8Array(count);

  if (fixedSize !== 0) size.fill(fixedSize);
  else for (let i = 0; i < count; i++) size[i] = zc.u32('stsz entry');

  let s = 0;
  let t = delay;
  for (let i = 0; i < stts.n; i++) {
    const n = stts.c.u32('stts');
    const d = stts.c.u32('stts');
    for (let j = 0; j < n; j++, s++) {
      dts[s] = t;
      duration[s] = d;
      t += d;
    }
  }

  if (sb.ctts) {
    // Version 1 offsets are signed; version 0 ones are read signed too, as writers put negative values there.
    const ct = table(moov, sb.ctts, 8, 'ctts');
    let k = 0;
    for (let i = 0; i < ct.n && k < count; i++) {
      const n = ct.c.u32('ctts');
      const o = ct.c.i32('ctts');
      const stop = Math.min(count, k + n);
      for (; k < stop; k++) ctsOffset[k] = o;
    }
  }

  if (sb.stss) {
    const ss = table(moov, sb.stss, 4, 'stss');
    for (let i = 0; i < ss.n; i++) {
      const n = ss.c.u32('stss');
      if (n < 1 || n > count) throw new MediaFormatError('stss names a sample that does not exist');
      sync[n - 1] = 1;
    }
  } else {
    sync.fill(1);
  }

  // stsc runs over the chunks: entry i covers chunks first_chunk[i] .. first_chunk[i+1]-1 (1-based).
  const chunkCount = chunks.n;
  if (count > 0 && stsc.n === 0) throw new MediaFormatError('stsc is empty');
  let sample = 0;
  const sc = stsc.c;
  let firstChunk = stsc.n > 0 ? sc.u32('stsc') : chunkCount + 1;
  let perChunk = stsc.n > 0 ? sc.u32('stsc') : 0;
  if (stsc.n > 0) sc.skip(4, 'stsc');
  if (stsc.n > 0 && firstChunk !== 1) throw new MediaFormatError('stsc does not start at chunk 1');
  for (let e = 0; e < stsc.n; e++) {
    let nextFirst = chunkCount + 1;
    let nextPer = 0;
    if (e + 1 < stsc.n) {
      nextFirst = sc.u32('stsc');
      nextPer = sc.u32('stsc');
      sc.skip(4, 'stsc');
      if (nextFirst <= firstChunk) throw new MediaFormatError('stsc chunks out of order');
      if (nextFirst > chunkCount) throw new MediaFormatError('stsc references chunks beyond stco');
    }
    if (firstChunk > chunkCount) throw new MediaFormatError('stsc references chunks beyond stco');
    for (let ch = firstChunk; ch < nextFirst; ch++) {
      if (perChunk > count - sample) throw new MediaFormatError('stsc places more samples than stsz has');
      const base = chunks.c.pos + (ch - 1) * (wide ? 8 : 4);
      let off = wide ? moov.readUInt32BE(base) * 2 ** 32 + moov.readUInt32BE(base + 4) : moov.readUInt32BE(base);
      for (let j = 0; j < perChunk; j++, sample++) {
        const sz = size[sample] as number;
        if (off + sz > fileSize) throw new MediaFormatError('sample passes the end of the file');
        offset[sample] = off;
        off += sz;
      }
    }
    firstChunk = nextFirst;
    perChunk = nextPer;
  }
  if (sample !== count) throw new MediaFormatError('stsc places fewer samples than stsz has');
  return { count, offset, size, dts, ctsOffset, duration, sync };
}
