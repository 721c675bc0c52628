/**
 * @module admin/send-json
 * The one way management routes answer: pretty JSON (or a text document), never cached. An answer to a caller that
 * must not see file paths (admin/redact.ts) goes through its redactor, registered per response by the server.
 * Runs in the primary.
 */
import type { ServerResponse } from 'node:http';

/** Responses whose body must be redacted, with the function that does it. */
const REDACTORS = new WeakMap<ServerResponse, (text: string) => string>();

/** Makes every answer sent on `res` through sendText/sendJson pass through `redact`. */
export function redactAnswer(res: ServerResponse, redact: (text: string) => string): void {
  REDACTORS.set(res, redact);
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  const body = REDACTORS.get(res)?.(text) ?? text;
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, 'application/json', `${JSON.stringify(body, null, 2)}\n`);
}
