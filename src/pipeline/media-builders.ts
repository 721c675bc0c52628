/**
 * @module pipeline/media-builders
 * Binds the media builders (src/media/mp4, hls, mp3) to the pipeline's MediaBuilders interface
 * (pipeline/media-service.ts). A builder not merged yet throws MediaFormatError: the original is then served
 * unchanged. Runs in workers.
 */
import { hlsPlaylist, hlsSegment } from '../media/hls/hls.js';
import { parseMp3 } from '../media/mp3/parse.js';
import type { Mp3Info } from '../media/mp3/parse.js';
import { mp3TrimPlan } from '../media/mp3/trim.js';
import { parseMovie } from '../media/mp4/parse.js';
import { relocatePlan } from '../media/mp4/relocate.js';
import { trimMovie, trimPlan } from '../media/mp4/trim.js';
import { MediaFormatError } from '../media/types.js';
import type { MediaBuilders } from './media-service.js';

const notYet = (what: string) => (): never => {
  throw new MediaFormatError(`${what} is not available in this build`);
};

/** The worker's builders. The MP3 ones get back the Mp3Info parseMp3 made (the pipeline sees its summary only). */
export const MEDIA_BUILDERS: MediaBuilders = {
  parseMovie,
  relocatePlan,
  trimPlan,
  trimMovie,
  hlsPlaylist,
  hlsSegment,
  parseMp3,
  mp3TrimPlan: (info, read, clips) => mp3TrimPlan(info as Mp3Info, read, clips),
  mp3HlsPlaylist: notYet('MP3 HLS'),
  mp3HlsSegment: notYet('MP3 HLS'),
};
