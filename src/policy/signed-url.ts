/**
 * @module policy/signed-url
 * `<SignedUrl>` (issue 20): links under the configured paths carry `<ExpiresParam>=<unix seconds>` and
 * `<Param>=<token>`, token = base64url without padding of HMAC-SHA256(key, message), message `<expires>:<path>`,
 * or `<expires>:<client-ip>:<path>` with BindClientIp ON (an IP never holds `/` and a path always starts with one,
 * so the message splits one way only, IPv6 colons included). `<path>` is the request path in Flint's normal form
 * (cache/key.ts normalisePath: what the cache key and the origin see), so `/%70rivate/x` is signed and matched as
 * `/private/x` and cannot slip past a `/private/*` Path; for plain paths it is the path as sent.
 * Every configured key verifies (rotation), compared in constant time. Both parameters are cut from the query for
 * the cache key and the origin request, so every signed link to one object shares one cached copy.
 * Compiled once per config; pure but for the clock. Runs in workers (and in `flint sign-url`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignedUrlConfig } from '../config/types.js';
import { rulePath } from '../cache/key.js';
import { UrlGlobSet } from './url-glob.js';

/** A token is 32 bytes of HMAC-SHA256, 43 base64url characters without padding. */
const TOKEN_FORM = /^[A-Za-z0-9_-]{43}$/;
/** Expiry: Unix seconds, digits only (no sign, no fraction, no exponent), at most 12 of them. */
const EXPIRES_FORM = /^\d{1,12}$/;

/** Why a request under a signed Path was refused (access log `errorDetail`); null = valid. */
export type SignedUrlRefusal = 'missing' | 'malformed' | 'expired' | 'bad-signature' | null;

/** The message a token signs (see the module doc). */
export function signedMessage(expires: string, path: string, clientIp: string | null): string {
  return clientIp === null ? `${expires}:${path}` : `${expires}:${clientIp}:${path}`;
}

/** The token for a message under `key`: base64url without padding of HMAC-SHA256. */
export function signToken(key: string, message: string): string {
  return createHmac('sha256', key).update(message).digest('base64url');
}

/** What a signed request leaves for the cache key and the origin: the query without the two parameters. */
export interface SignedCheck {
  readonly refusal: SignedUrlRefusal;
  /** The query with the token and expiry parameters removed (only meaningful when `refusal` is null). */
  readonly query: string;
}

export class SignedUrlPolicy {
  readonly #keys: readonly string[];
  readonly #paths: UrlGlobSet;
  readonly #param: string;
  readonly #expiresParam: string;
  readonly bindClientIp: boolean;

  constructor(config: SignedUrlConfig) {
    this.#keys = config.keys;
    // Case-insensitive: matching more paths is the safe side for a rule that protects them.
    this.#paths = new UrlGlobSet(config.paths, false);
    this.#param = config.param;
    this.#expiresParam = config.expiresParam;
    this.bindClientIp = config.bindClientIp;
  }

  /** True when normalised `path` needs a signature. */
  covers(path: string): boolean {
    return this.#paths.match(rulePath(path)).length > 0;
  }

  /**
   * Checks a request under a signed Path: `path` normalised, `query` as sent, `nowSec` Unix seconds. A parameter
   * given twice is malformed (which of two values would be checked and which forwarded is exactly the ambiguity an
   * attacker looks for).
   */
  check(path: string, query: string, clientIp: string, nowSec: number): SignedCheck {
    let token: string | null = null;
    let expires: string | null = null;
    let twice = false;
    const rest: string[] = [];
    for (const pair of query.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      if (name === this.#param) {
        twice ||= token !== null;
        token = value;
      } else if (name === this.#expiresParam) {
        twice ||= expires !== null;
        expires = value;
      } else rest.push(pair);
    }
    const stripped = rest.join('&');
    if (token === null || expires === null) return { refusal: 'missing', query: stripped };
    if (twice || !TOKEN_FORM.test(token) || !EXPIRES_FORM.test(expires)) return { refusal: 'malformed', query: stripped };
    if (Number(expires) < nowSec) return { refusal: 'expired', query: stripped };
    const given = Buffer.from(token, 'base64url');
    // The 43rd character carries 4 spare bits: only the canonical spelling counts, so a token has one form.
    if (given.toString('base64url') !== token) return { refusal: 'malformed', query: stripped };
    const message = signedMessage(expires, path, this.bindClientIp ? clientIp : null);
    let valid = false;
    // Every key is tried (no early exit), so the time taken does not tell which key, if any, matched.
    for (const key of this.#keys) {
      const expected = createHmac('sha256', key).update(message).digest();
      if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true;
    }
    return { refusal: valid ? null : 'bad-signature', query: stripped };
  }

  /** Appends `expires` and a token under the first key to a path and query (`flint sign-url`). */
  sign(path: string, query: string, expiresSec: number, clientIp: string | null): string {
    const expires = String(expiresSec);
    const token = signToken(this.#keys[0] as string, signedMessage(expires, path, this.bindClientIp ? clientIp : null));
    const params = `${this.#expiresParam}=${expires}&${this.#param}=${token}`;
    return `${path}?${query === '' ? params : `${query}&${params}`}`;
  }
}
