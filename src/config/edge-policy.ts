/**
 * @module config/edge-policy
 * Value syntax of the issue-20 edge settings that have no older type: query parameter names (`<SignedUrl Param>`),
 * CORS origin lists (`<Cors AllowOrigin>`), CORS method lists, and `<ErrorPage>` files (read and size-capped at
 * config load, so a missing file is a config error and workers get the text with the config). Pure but for the
 * file read; used by config/validate.ts in the primary and by `flint check-config`.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };
const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: string): Result<T> => ({ ok: false, error });
const quote = (text: string): string => JSON.stringify(text);

/** Largest `<ErrorPage>` file: a page is sent whole from memory by every worker. */
export const ERROR_PAGE_MAX_BYTES = 64 * 1024;

/** Content-Type of an error page by extension; anything else is refused (the operator must know what is sent). */
const PAGE_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.xml': 'application/xml',
};

/** A query parameter name: RFC 3986 unreserved characters only, so it never needs escaping in a link. */
export function parseQueryParam(text: string): Result<string> {
  return /^[A-Za-z0-9\-._~]{1,64}$/.test(text) ? ok(text) : fail(`${quote(text)} is not a query parameter name (1..64 of letters, digits, -._~)`);
}

/**
 * `*` -> [] (every origin), else space-separated serialized origins (RFC 6454 §6.2: `scheme://host[:port]`, no
 * path, no trailing slash), lower-cased as browsers send them.
 */
export function parseOriginList(text: string): Result<string[]> {
  const items = text.split(/\s+/).filter((s) => s !== '');
  if (items.length === 1 && items[0] === '*') return ok([]);
  const out: string[] = [];
  for (const item of items) {
    const origin = item.toLowerCase();
    if (!/^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?$/.test(origin)) {
      return fail(`${quote(item)} is not an origin (scheme://host[:port], no path; or * alone for every origin)`);
    }
    if (!out.includes(origin)) out.push(origin);
  }
  return out.length === 0 ? fail('lists no origin') : ok(out);
}

/** Methods of `<Cors AllowMethods>`: HTTP tokens, upper-cased. */
export function parseMethodList(names: readonly string[]): Result<string[]> {
  const out: string[] = [];
  for (const name of names) {
    if (!/^[A-Za-z]{1,20}$/.test(name)) return fail(`${quote(name)} is not an HTTP method`);
    const method = name.toUpperCase();
    if (!out.includes(method)) out.push(method);
  }
  return out.length === 0 ? fail('lists no method') : ok(out);
}

/** The Content-Type and text of an error page file, or why it cannot be used. */
export function readErrorPage(file: string): Result<{ contentType: string; body: string }> {
  const contentType = PAGE_TYPES[path.extname(file).toLowerCase()];
  if (contentType === undefined) return fail(`${quote(file)}: unknown page type; use one of ${Object.keys(PAGE_TYPES).join(', ')}`);
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return fail(`${quote(file)} is not a file`);
    size = stat.size;
  } catch (error) {
    return fail(`${quote(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (size > ERROR_PAGE_MAX_BYTES) return fail(`${quote(file)} is ${size} bytes; an error page may have ${ERROR_PAGE_MAX_BYTES} at most`);
  try {
    return ok({ contentType, body: readFileSync(file, 'utf8') });
  } catch (error) {
    return fail(`${quote(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
