/**
 * @module bench/lib/http-probe
 * Single bounded GETs over loopback for readiness polling and for checking a target's response (status, headers,
 * body size) before it is loaded. No keep-alive: a probe never leaves a connection open on a server under test.
 * Runs in the bench process.
 */
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { sleep } from './processes.js';

/** One complete response. */
export interface ProbeResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** GET `url` once; rejects on connection error or after `timeoutMs`. */
export function httpGet(url: string, timeoutMs = 2_000): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no response in ${timeoutMs} ms`)));
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
