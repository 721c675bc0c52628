/**
 * @module pipeline/https-redirect
 * `<RedirectHttpToHttps ResCode>`: a plain-HTTP request for a vhost that has `<Https>` is answered with a redirect
 * to the same host, path and query on the vhost's Https Listen port (443 is left out of the URL). The Host was
 * checked by http/framing.ts, so it holds no characters that could break the Location field. Runs in workers.
 */
import { STATUS_CODES } from 'node:http';
import type { RequestHead } from '../http/request.js';
import type { ClientWriter } from '../http/writer.js';
import type { Vhost } from '../config/types.js';
import { normaliseHost } from '../policy/vhost.js';

const REDIRECT_HEADERS: readonly string[] = ['content-type', 'text/plain; charset=utf-8', 'cache-control', 'no-store'];

/** Answers `head` with the vhost's redirect when it is a plain-HTTP request and one is configured; true if it did. */
export function redirectToHttps(vhost: Vhost, head: RequestHead, writer: ClientWriter): boolean {
  const code = vhost.redirectHttpToHttps;
  if (code === null || vhost.https === null || head.tls !== undefined) return false;
  const port = vhost.https.listen.port;
  const target = `https://${normaliseHost(head.host)}${port === 443 ? '' : `:${port}`}${head.path}${head.query === '' ? '' : `?${head.query}`}`;
  writer.endWithBody(code, STATUS_CODES[code] ?? '', [...REDIRECT_HEADERS, 'location', target], `${target}\n`);
  return true;
}
