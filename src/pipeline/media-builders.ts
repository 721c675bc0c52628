/**
 * @module pipeline/media-builders
 * Binds the media builders (src/media/mp4, hls, mp3) to the pipeline's MediaBuilders interface
 * (pipeline/media-service.ts). Runs in workers.
 */
import { MediaFormatError } from '../media/types.js';
import type { MediaBuilders } from './media-service.js';

const unavailable = (): never => {
  throw new MediaFormatError('media builders are not merged yet');
};

/** The worker's builders. */
export const MEDIA_BUILDERS: MediaBuilders = {
  parseMovie: () => Promise.reject(new MediaFormatError('media builders are not merged yet')),
  relocatePlan: unavailable,
  trimPlan: unavailable,
  trimMovie: unavailable,
  hlsPlaylist: unavailable,
  hlsSegment: unavailable,
  parseMp3: () => Promise.reject(new MediaFormatError('media builders are not merged yet')),
  mp3TrimPlan: unavailable,
  mp3HlsPlaylist: unavailable,
  mp3HlsSegment: unavailable,
};
