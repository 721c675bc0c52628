/**
 * @module pipeline/media-builders
 * Binds the media builders (src/media/mp4, hls, mp3) to the pipeline's MediaBuilders interface
 * (pipeline/media-service.ts). Runs in workers.
 */
import { hlsPlaylist, hlsSegment } from '../media/hls/hls.js';
import { mp3HlsPlaylist, mp3HlsSegment } from '../media/hls/mp3-hls.js';
import { parseMp3 } from '../media/mp3/parse.js';
import type { Mp3Info } from '../media/mp3/parse.js';
import { mp3TrimPlan } from '../media/mp3/trim.js';
import { parseMovie } from '../media/mp4/parse.js';
import { relocatePlan } from '../media/mp4/relocate.js';
import { trimMovie, trimPlan } from '../media/mp4/trim.js';
import type { MediaBuilders } from './media-service.js';

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
  mp3HlsPlaylist: (info, name, options) => mp3HlsPlaylist(info as Mp3Info, name, options),
  mp3HlsSegment: (info, name, read, options) => mp3HlsSegment(info as Mp3Info, name, read, options),
};
