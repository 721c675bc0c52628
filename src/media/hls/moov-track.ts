/**
 * @module media/hls/moov-track
 * What the HLS builders need from a track's boxes in the raw moov that the shared Movie model does not carry: the
 * stsd box (copied into the fMP4 init segment) and the edit list's shift (ISO/IEC 14496-12 §8.6.6: the media time
 * the presentation starts at, e.g. the B-frame delay or the AAC priming), which parseMovie leaves to players; a
 * leading empty edit is already in the sample table's dts (media/mp4/parse.ts). Box walking is media/mp4's
 * (bounds-checked: a hostile moov is a MediaFormatError). Pure; runs in workers.
 */
import { childBoxes, findChild } from '../mp4/boxes.js';
import { sourceMediaTime, sourceTraks } from '../mp4/moov-build.js';
import { MediaFormatError } from '../types.js';
import type { Movie } from '../types.js';

/** What the HLS builders read from one trak. */
export interface TrackBoxes {
  /** The whole stsd box, header included. */
  readonly stsd: Buffer;
  /** Media time (track timescale) where the presentation starts: the first non-empty edit's media_time, else 0. */
  readonly shift: number;
}

/** The stsd and edit list shift of track `trackId` in `movie.moov`. MediaFormatError when the trak or its stsd is missing. */
export function trackBoxes(movie: Movie, trackId: number): TrackBoxes {
  const moov = movie.moov;
  for (const trak of sourceTraks(moov)) {
    const kids = childBoxes(moov, trak.body, trak.end);
    const tkhd = findChild(kids, 'tkhd');
    if (!tkhd) continue;
    // tkhd: version, flags, then creation and modification times (32 or 64 bits each), then track_ID.
    const idAt = tkhd.body + (moov[tkhd.body] === 1 ? 20 : 12);
    if (idAt + 4 > tkhd.end) throw new MediaFormatError('truncated tkhd');
    if (moov.readUInt32BE(idAt) !== trackId) continue;
    const mdia = findChild(kids, 'mdia');
    const minf = mdia ? findChild(childBoxes(moov, mdia.body, mdia.end), 'minf') : null;
    const stbl = minf ? findChild(childBoxes(moov, minf.body, minf.end), 'stbl') : null;
    const stsd = stbl ? findChild(childBoxes(moov, stbl.body, stbl.end), 'stsd') : null;
    if (!stsd) throw new MediaFormatError(`track ${trackId}: no stsd`);
    return { stsd: moov.subarray(stsd.start, stsd.end), shift: sourceMediaTime(moov, trak) };
  }
  throw new MediaFormatError(`track ${trackId}: no trak in moov`);
}
