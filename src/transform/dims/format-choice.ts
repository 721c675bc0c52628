/**
 * @module transform/dims/format-choice
 * `format/auto` (Flint's own, beyond STON): the output format from the client's Accept header. AVIF when the client
 * lists image/avif, else WebP when it lists image/webp, else the source's own format; a wildcard (`image/*`,
 * `*\/*`) chooses nothing, since every client sends one and not every client decodes AVIF. A type with q=0 is
 * refused (RFC 9110 §12.5.1). The choice, not the Accept string, names the variant, and the response carries
 * `Vary: Accept`, so there is one cached variant per format. Pure; runs in workers.
 */
import type { OutputFormat } from './url.js';

/** The format `format/auto` gives for this Accept header; null = the source's format. */
export function chooseAutoFormat(accept: string | undefined): OutputFormat | null {
  if (accept === undefined || accept === '') return null;
  let avif = false;
  let webp = false;
  for (const item of accept.toLowerCase().split(',')) {
    const [type, ...params] = item.split(';');
    const name = type?.trim();
    if (name !== 'image/avif' && name !== 'image/webp') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    if (name === 'image/avif') avif = true;
    else webp = true;
  }
  return avif ? 'avif' : webp ? 'webp' : null;
}
