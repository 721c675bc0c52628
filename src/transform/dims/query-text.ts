/**
 * @module transform/dims/query-text
 * The text of an `<Annotation Text="$QUERYSTRING[key]">`: read from the request's query, for the variant's tag (in
 * the worker) and for drawing it (in the converter). Pure.
 */
import type { DimsAnnotationConfig } from '../../config/types.js';

/** The annotation's text: static, or the query parameter it names (at most 256 characters); null when absent. */
export function annotationText(note: DimsAnnotationConfig, query: string): string | null {
  if (note.queryKey === null) return note.text;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if ((eq === -1 ? pair : pair.slice(0, eq)) !== note.queryKey) continue;
    try {
      return decodeURIComponent((eq === -1 ? '' : pair.slice(eq + 1)).replace(/\+/g, ' ')).slice(0, 256);
    } catch {
      return null;
    }
  }
  return null;
}
