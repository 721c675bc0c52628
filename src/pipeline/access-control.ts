/**
 * @module pipeline/access-control
 * The request-phase access checks of the worker's entry (pipeline/edge.ts #route), before any cache lookup or
 * origin work: `<ServiceAccess>` (every vhost, first thing) and the vhost's `<AccessControl>` verdict
 * (policy/edge-rules/acl.ts). A refused request is answered here and never reaches the origin; the connection is
 * closed when the request may carry a body Flint did not read. An ACL refusal gets an access record with cache
 * result TCP_DENIED (STON's). Runs in workers.
 */
import { STATUS_CODES } from 'node:http';
import type { RequestCtx } from './context.js';
import type { ClientWriter } from '../http/writer.js';
import type { AclVerdict } from '../policy/edge-rules/acl.js';
import { ERROR_HEADERS } from './fail.js';

const REDIRECT_HEADERS: readonly string[] = ['content-type', 'text/plain; charset=utf-8', 'cache-control', 'no-store'];

/** True when the request declares a body (Content-Length above 0 or any Transfer-Encoding). */
export function mayHaveBody(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name === 'transfer-encoding') return true;
    if (name === 'content-length' && headers[i + 1] !== '0') return true;
  }
  return false;
}

/** Answers a request `<ServiceAccess>` refuses: 403 and close (STON drops the connection). */
export function refuseService(writer: ClientWriter): void {
  writer.endWithBody(403, 'Forbidden', ERROR_HEADERS, '403 Forbidden: access denied\n', true);
}

/** Answers a request the vhost's ACL refuses with its denial status or its redirect; `ctx` records it (TCP_DENIED). */
export function answerAclVerdict(writer: ClientWriter, ctx: RequestCtx, verdict: AclVerdict): void {
  const close = mayHaveBody(ctx.head.headers);
  ctx.cacheResult = 'TCP_DENIED';
  ctx.status = verdict.kind === 'redirect' ? 302 : verdict.status;
  ctx.firstByteAt = performance.now();
  if (verdict.kind === 'redirect') {
    writer.endWithBody(302, 'Found', [...REDIRECT_HEADERS, 'location', verdict.location], `${verdict.location}\n`, close);
    return;
  }
  const reason = STATUS_CODES[verdict.status] ?? 'Error';
  writer.endWithBody(verdict.status, reason, ERROR_HEADERS, `${verdict.status} ${reason}: access denied\n`, close);
}
