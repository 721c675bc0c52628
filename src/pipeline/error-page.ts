/**
 * @module pipeline/error-page
 * Sends a response Flint makes itself for an error (pipeline/fail.ts texts): the vhost's `<ErrorPage>` for that
 * status when one is configured (read at config load: config/edge-policy.ts), else the short plain-text body.
 * Either way it is never cacheable and names nothing internal. Runs in workers.
 */
import type { ErrorPageConfig, Vhost } from '../config/types.js';
import type { ClientWriter } from '../http/writer.js';
import { ERROR_HEADERS } from './fail.js';

/** The first page of `vhost` listing `status` (ResCode 0 = every status), or undefined. */
function pageFor(vhost: Vhost, status: number): ErrorPageConfig | undefined {
  for (const page of vhost.errorPages) {
    if (page.statuses.includes(status) || page.statuses.includes(0)) return page;
  }
  return undefined;
}

/** Ends `writer` with an error response of `status`: the vhost's page for it, else `body` as plain text. */
export function endWithError(writer: ClientWriter, vhost: Vhost, status: number, reason: string, body: string): void {
  const page = vhost.errorPages.length === 0 ? undefined : pageFor(vhost, status);
  if (page === undefined) writer.endWithBody(status, reason, ERROR_HEADERS, body);
  else writer.endWithBody(status, reason, ['content-type', page.contentType, 'cache-control', 'no-store'], page.body);
}
