/**
 * @module test/helpers/hostile
 * Malformed and hostile HTTP/1.1 requests (issue 19: framing, smuggling, Host) for raw-socket tests, and the check
 * that each got a 4xx/5xx answer and a closed connection at once.
 */
import assert from 'node:assert/strict';
import { rawExchange } from './http.js';

export interface HostileRequest {
  readonly name: string;
  /** Bytes sent, each string one write 50 ms apart. */
  readonly parts: readonly string[];
  /** Every answer's status lies in low..high (a range where the answer is uWS's own and differs between builds). */
  readonly low: number;
  readonly high: number;
}

/**
 * The hostile requests for a vhost named `host`. Measured on uWS v20.51: uWS answers the Content-Length syntax,
 * CL + TE, obs-fold, space before colon, bare LF, control bytes below 0x20, duplicated and missing Host itself;
 * Flint the rest (http/framing.ts). `/victim` is a request smuggled or pipelined behind a refused one.
 */
export function hostileRequests(host: string): HostileRequest[] {
  const H = `Host: ${host}\r\n`;
  const VICTIM = `GET /victim HTTP/1.1\r\n${H}\r\n`;
  const table: Array<[string, string[], number | [number, number]]> = [
    ['Content-Length -1', [`POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`], 400],
    ['Content-Length +5', [`POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`], 400],
    ['Content-Length 5abc', [`POST / HTTP/1.1\r\n${H}Content-Length: 5abc\r\n\r\nhello`], 400],
    ['Content-Length 5.0', [`POST / HTTP/1.1\r\n${H}Content-Length: 5.0\r\n\r\nhello`], 400],
    ['Content-Length empty', [`POST / HTTP/1.1\r\n${H}Content-Length: \r\n\r\nhello`], 400],
    ['Content-Length list', [`POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`], 400],
    ['Content-Length 20 digits', [`POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\nhello`], 400],
    ['two differing Content-Lengths + pipelined request', [`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!${VICTIM}`], 400],
    ['Content-Length + Transfer-Encoding', [`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${VICTIM}`], 400],
    ['Transfer-Encoding xchunked', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`], 400],
    ['Transfer-Encoding chunked, gzip', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n`], 400],
    ['Transfer-Encoding twice', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`], 400],
    ['Transfer-Encoding gzip, chunked', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`], 501],
    ['chunked body', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`], 411],
    ['chunk extension', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n`], 411],
    ['chunk size 1g', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1g\r\nA\r\n0\r\n\r\n${VICTIM}`], 411],
    // One packet: uWS's chunk parser eats into the next request and answers the leftover itself (505 on v20.51).
    ['chunk size 1; smuggling, one packet', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;\r\nA\r\n0\r\n\r\n${VICTIM}`], [400, 505]],
    ['chunk size 1; smuggling, body after the head', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`, `1;\r\nA\r\n0\r\n\r\n${VICTIM}`], 411],
    ['chunk size 1: smuggling', [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1:\r\nA\r\n0\r\n\r\n${VICTIM}`], [400, 505]],
    ['obs-fold', [`GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`], 400],
    ['space before colon', [`POST / HTTP/1.1\r\n${H}Content-Length : 5\r\n\r\nhello`], 400],
    ['bare LF', [`GET / HTTP/1.1\n${H.replace('\r', '')}\n`], [400, 505]],
    ['bare LF mid-head', [`GET / HTTP/1.1\r\n${H.replace('\r', '')}X-A: b\r\n\r\n`], 400],
    ['control byte 0x01 in a value', [`GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`], 400],
    ['NUL in a value', [`GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`], 400],
    ['DEL in a value', [`GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n`], 400],
    ['no Host', ['GET / HTTP/1.1\r\n\r\n'], 400],
    ['two Hosts', [`GET / HTTP/1.1\r\n${H}Host: evil.test\r\n\r\n`], 400],
    ['empty Host', ['GET / HTTP/1.1\r\nHost: \r\n\r\n'], 400],
    ['Host with a path', [`GET / HTTP/1.1\r\nHost: ${host}/evil?x\r\n\r\n`], 400],
    ['Host with userinfo', [`GET / HTTP/1.1\r\nHost: evil@${host}\r\n\r\n`], 400],
    ['Host with a bad port', [`GET / HTTP/1.1\r\nHost: ${host}:80x\r\n\r\n`], 400],
    // uWS v20.51 answers every absolute-form target 505 itself; Flint refuses it (400) on builds that pass it on.
    ['absolute-form target, other authority', [`GET http://evil.test/x HTTP/1.1\r\n${H}\r\n`], [400, 505]],
  ];
  return table.map(([name, parts, expected]) => {
    const [low, high] = Array.isArray(expected) ? expected : [expected, expected];
    return { name, parts, low, high };
  });
}

/** Sends `hostile` on a new connection to `port`: at least one answer, every status in range, closed by the server at once. */
export async function assertRefusedAtOnce(port: number, hostile: HostileRequest): Promise<void> {
  const startedAt = Date.now();
  const result = await rawExchange(port, hostile.parts, 50, 3000);
  const elapsed = Date.now() - startedAt;
  const statuses = [...result.received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  assert.ok(statuses.length >= 1, `${hostile.name}: an answer, got ${JSON.stringify(result.received)}`);
  for (const status of statuses) {
    assert.ok(status >= hostile.low && status <= hostile.high, `${hostile.name}: status ${status} in ${hostile.low}..${hostile.high}: ${JSON.stringify(result.received)}`);
  }
  assert.ok(result.closedByServer, `${hostile.name}: connection closed by the server`);
  assert.ok(elapsed < 50 * hostile.parts.length + 1500, `${hostile.name}: closed at once, not after a timeout (${elapsed} ms)`);
}
