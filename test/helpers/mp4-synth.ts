/**
 * @module test/helpers/mp4-synth
 * Synthetic MP4 files built box by box for the parser's hostile-input tables and the rewriters' box-level tests: one
 * AAC-like audio track (or a video one) whose sample table boxes can each be replaced by hand-made bytes.
 */
import { makeBox, makeFullBox } from '../../src/media/mp4/boxes.js';

const u32 = (...v: number[]): Buffer => {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => b.writeUInt32BE(x >>> 0, i * 4));
  return b;
};
export { u32 };

export interface SynthOptions {
  /** Replacement bytes for a box, by type (whole box, header included); null drops the box. */
  readonly replace?: Partial<Record<string, Buffer | null>>;
  /** Extra moov children appended after the trak. */
  readonly moovExtra?: readonly Buffer[];
  /** Top-level layout: 'end' = ftyp, mdat, moov (default); 'start' = ftyp, moov, mdat. */
  readonly layout?: 'end' | 'start';
  /** Samples (100 bytes each, 5 per chunk). */
  readonly samples?: number;
  readonly handler?: 'soun' | 'vide';
  /** Sample entry type (default mp4a / avc1). */
  readonly entry?: string;
}

/** The moov of a synthetic file whose mdat body starts at `mdatBody`. */
export function synthMoov(mdatBody: number, o: SynthOptions = {}): Buffer {
  const n = o.samples ?? 10;
  const chunks = Math.ceil(n / 5);
  const handler = o.handler ?? 'soun';
  const r = o.replace ?? {};
  const pick = (type: string, def: Buffer): Buffer[] => {
    if (type in r) {
      const v = r[type];
      return v ? [v] : [];
    }
    return [def];
  };
  const mvhd = makeFullBox('mvhd', 0, 0, Buffer.concat([u32(0, 0, 1000, n * 100), Buffer.alloc(80)]));
  const tkhd = makeFullBox('tkhd', 0, 3, Buffer.concat([u32(0, 0, 1, 0, n * 100), Buffer.alloc(60)]));
  const mdhd = makeFullBox('mdhd', 0, 0, Buffer.concat([u32(0, 0, 1000, n * 100), Buffer.from([0x55, 0xc4, 0, 0])]));
  const hdlr = makeFullBox('hdlr', 0, 0, Buffer.concat([u32(0), Buffer.from(handler, 'latin1'), Buffer.alloc(13)]));
  let entry: Buffer;
  if (handler === 'soun') {
    const esds = makeFullBox('esds', 0, 0, Buffer.from([
      0x03, 0x19, 0x00, 0x01, 0x00,
      0x04, 0x11, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x02, 0x12, 0x10,
      0x06, 0x01, 0x02,
    ]));
    const body = Buffer.concat([Buffer.alloc(6), Buffer.from([0, 1]), Buffer.alloc(8), Buffer.from([0, 1, 0, 16, 0, 0, 0, 0]), u32(44100 * 65536)]);
    entry = makeBox(o.entry ?? 'mp4a', [body, ...pick('esds', esds)]);
  } else {
    const avcC = makeBox('avcC', [Buffer.from([1, 0x42, 0xc0, 0x1e, 0xff, 0xe0, 0x00])]);
    const body = Buffer.concat([Buffer.alloc(6), Buffer.from([0, 1]), Buffer.alloc(16), Buffer.from([0, 64, 0, 48]), Buffer.alloc(50)]);
    entry = makeBox(o.entry ?? 'avc1', [body, ...pick('avcC', avcC)]);
  }
  const stsd = makeFullBox('stsd', 0, 0, Buffer.concat([u32(1), entry]));
  const stts = makeFullBox('stts', 0, 0, u32(1, n, 100));
  const stsc = makeFullBox('stsc', 0, 0, u32(1, 1, 5, 1));
  const stsz = makeFullBox('stsz', 0, 0, u32(0, n, ...Array.from({ length: n }, () => 100)));
  const stco = makeFullBox('stco', 0, 0, u32(chunks, ...Array.from({ length: chunks }, (_, i) => mdatBody + i * 500)));
  const stbl = makeBox('stbl', [
    ...pick('stsd', stsd), ...pick('stts', stts), ...pick('ctts', Buffer.alloc(0)), ...pick('stss', Buffer.alloc(0)),
    ...pick('stsc', stsc), ...pick('stsz', stsz), ...pick('stco', stco),
  ]);
  const minf = makeBox('minf', [makeFullBox(handler === 'soun' ? 'smhd' : 'vmhd', 0, 0, Buffer.alloc(4)), stbl]);
  const mdia = makeBox('mdia', [...pick('mdhd', mdhd), ...pick('hdlr', hdlr), minf]);
  const trak = makeBox('trak', [...pick('tkhd', tkhd), ...pick('edts', Buffer.alloc(0)), mdia]);
  return makeBox('moov', [...pick('mvhd', mvhd), ...pick('trak', trak), ...(o.moovExtra ?? [])]);
}

export const FTYP = makeBox('ftyp', [Buffer.from('isom'), u32(0x200), Buffer.from('isommp41')]);

/** A whole synthetic file: ftyp, then mdat and moov in the order of `layout`. */
export function synthFile(o: SynthOptions = {}): Buffer {
  const n = o.samples ?? 10;
  const payload = Buffer.alloc(n * 100);
  for (let i = 0; i < n; i++) payload.fill(i & 0xff, i * 100, i * 100 + 100);
  const mdat = makeBox('mdat', [payload]);
  if ((o.layout ?? 'end') === 'end') {
    const moov = synthMoov(FTYP.length + 8, o);
    return Buffer.concat([FTYP, mdat, moov]);
  }
  const size = synthMoov(0, o).length;
  const moov = synthMoov(FTYP.length + size + 8, o);
  return Buffer.concat([FTYP, moov, mdat]);
}
