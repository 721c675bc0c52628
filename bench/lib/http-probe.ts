/**
 * @module bench/lib/http-probe
 * Single bounded GETs over loopback for readiness polling and for checking a target's response (status, headers,
 * body size) before it is loaded. No keep-alive: a probe never leaves a connection open on a server under test.
 * An `https:` URL is fetched over TLS (HTTP/1.1, no ALPN) without checking the certificate: the TLS scenarios'
 * certificates are self-signed at bench time. Runs in the bench process.
 */
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { sleep } from './processes.js';

/** One complete response. */
export interface ProbeResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * GET `url` once (with extra request `headers`); rejects on a connection error, after `timeoutMs` of silence, or
 * when the whole response took longer than 5 x `timeoutMs` (so a body that trickles forever cannot hang a run).
 */
export function httpGet(url: string, timeoutMs = 2_000, headers: Readonly<Record<string, string>> = {}): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let got = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        got += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error(`GET ${url}: connection closed after ${got} body bytes (status ${res.statusCode ?? '?'}, content-length ${res.headers['content-length'] ?? 'none'})`));
      });
    };
    const options = { method: 'GET', agent: false, timeout: timeoutMs, headers } as const;
    const req = url.startsWith('https:') ? httpsRequest(url, { ...options, rejectUnauthorized: false }, onResponse) : request(url, options, onResponse);
    const whole = setTimeout(() => req.destroy(new Error(`GET ${url}: response not complete in ${5 * timeoutMs} ms`)), 5 * timeoutMs);
    whole.unref();
    req.on('close', () => clearTimeout(whole));
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no data for ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Poll `url` every 100 ms until it answers 200, for at most `deadlineMs`. `alive` is asked between polls so a
 * server that crashed at startup fails fast instead of waiting out the deadline. Throws with the last error.
 */
export async function waitFor200(url: string, deadlineMs: number, alive: () => boolean): Promise<void> {
  const end = Date.now() + deadlineMs;
  let last = 'no attempt';
  while (Date.now() < end) {
    if (!alive()) throw new Error(`process exited before ${url} answered 200 (last: ${last})`);
    try {
      const r = await httpGet(url, 1_000);
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${deadlineMs} ms (last: ${last})`);
}
