/**
 * @module admin/cache-routes
 * The management routes of cache control, object inspection and config history (STON names and shapes):
 * /command/{purge,expire,expireafter,hardpurge}?url= or ?tag=[&vhost=] (POST with the query or a `url=` form body; GET only with a token,
 * admin/request-guard.ts), /monitoring/fileinfo?url=, /conf/server.xml, /conf/vhosts.xml, /conf/history,
 * /conf/restore?hash= (or a `hash=` form body). Each calls into a view the primary hands in. Runs in the primary.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ControlCommand } from '../policy/purge-target.js';
import { sendJson } from './send-json.js';

/** Largest request body the management API takes (admin/server.ts refuses a larger Content-Length up front). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A request body over MAX_BODY_BYTES (sent chunked, so only reading it tells): the server answers 413. */
export class BodyTooLargeError extends Error {
  constructor() {
    super(`request body over ${MAX_BODY_BYTES} bytes`);
  }
}

/** What these routes need from the primary. */
export interface CacheAdminViews {
  /** Runs a cache-control command on `url` (targets joined by `|`); `sec` is expireafter's. */
  cacheControl(command: ControlCommand, url: string, sec: number): Promise<{ readonly status: number; readonly body: unknown }>;
  /** Runs a cache-control command on the objects carrying `tags` in vhost `host` (null: every vhost). */
  cacheControlTags(command: ControlCommand, tags: string, host: string | null, sec: number): Promise<{ readonly status: number; readonly body: unknown }>;
  /** The object inspector: every stored variant of one URL. */
  fileInfo(url: string): { readonly status: number; readonly body: unknown };
  /** The text of a running config file. */
  confText(file: 'server.xml' | 'vhosts.xml'): string | null;
  /** The snapshots kept of applied configs, oldest first. */
  confHistory(): unknown;
  /** Writes a snapshot's files back and reloads. */
  confRestore(hashOrId: string): { readonly status: number; readonly body: unknown };
}

type CacheRoute = (req: IncomingMessage, res: ServerResponse, views: CacheAdminViews) => Promise<void> | void;


/** The request body as text; throws BodyTooLargeError past MAX_BODY_BYTES. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * STON's parameter rule: `url=` takes the REST of the query (a target may hold `&` and `?` of its own), so other
 * parameters (sec=) come before it. Percent-escapes are decoded.
 */
export function commandParams(query: string): { url: string; params: URLSearchParams } {
  let at = 0;
  if (!query.startsWith('url=')) {
    const found = query.indexOf('&url=');
    if (found === -1) return { url: '', params: new URLSearchParams(query) };
    at = found + 1;
  }
  const raw = query.slice(at + 4);
  let url = raw;
  try {
    // `+` stays a plus: targets are URLs, where it is far more common than an encoded space.
    url = decodeURIComponent(raw);
  } catch {
    // Not valid percent-encoding: take it as written.
  }
  return { url, params: new URLSearchParams(query.slice(0, at)) };
}

/** The query string, followed by a POST's form body (STON's tools send either). */
export async function queryAndBody(req: IncomingMessage): Promise<string> {
  const query = new URL(req.url ?? '/', 'http://manager').search.slice(1);
  if (req.method !== 'POST') return query;
  const body = (await readBody(req)).trim();
  return body === '' ? query : query === '' ? body : `${query}&${body}`;
}

function command(name: ControlCommand): CacheRoute {
  return async (req, res, views) => {
    const text = await queryAndBody(req);
    const { url, params } = commandParams(text);
    // tag= (issue 24) is an ordinary parameter; url= keeps STON's rule and takes the rest of the query.
    const tagged = url === '' ? new URLSearchParams(text) : params;
    const tags = tagged.get('tag');
    if (url !== '' && tags !== null) {
      sendJson(res, 400, { error: 'give url= or tag=, not both' });
      return;
    }
    if (url === '' && tags === null) {
      sendJson(res, 400, { error: 'missing url=: give host/path, a glob (host/img/*.jpg) or several joined by |; or tag=name' });
      return;
    }
    let sec = 0;
    if (name === 'expireafter') {
      const text = params.get('sec');
      if (text === null || !/^\d+$/.test(text)) {
        sendJson(res, 400, { error: 'expireafter needs sec=N (whole seconds, before url=)' });
        return;
      }
      sec = Number(text);
    }
    const result = tags !== null ? await views.cacheControlTags(name, tags, tagged.get('vhost'), sec) : await views.cacheControl(name, url, sec);
    sendJson(res, result.status, result.body);
  };
}

function confFile(file: 'server.xml' | 'vhosts.xml'): CacheRoute {
  return (_req, res, views) => {
    const text = views.confText(file);
    if (text === null) {
      sendJson(res, 404, { error: `the running ${file} is not known` });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
}

/**
 * `PURGE /host/path` on the management port (STON: the methods work on the manager port too; access is checked
 * like any Admin call). node's HTTP parser knows PURGE but not EXPIRE or HARDPURGE, so only PURGE arrives here.
 */
export async function purgeMethod(req: IncomingMessage, res: ServerResponse, views: CacheAdminViews, enabled: boolean): Promise<void> {
  if (!enabled) {
    sendJson(res, 405, { error: 'PURGE is off (<Manager HttpMethod="OFF">)' });
    return;
  }
  let target: string;
  try {
    target = decodeURIComponent((req.url ?? '/').slice(1));
  } catch {
    sendJson(res, 400, { error: 'the request target is not valid percent-encoding' });
    return;
  }
  const result = await views.cacheControl('purge', target, 0);
  sendJson(res, result.status, result.body);
}

/** Route table entries; admin/routes.ts spreads them into its table. */
export const CACHE_ADMIN_ROUTES: Readonly<Record<string, CacheRoute>> = {
  '/command/purge': command('purge'),
  '/command/expire': command('expire'),
  '/command/expireafter': command('expireafter'),
  '/command/hardpurge': command('hardpurge'),
  '/monitoring/fileinfo': (req, res, views) => {
    const { url } = commandParams(new URL(req.url ?? '/', 'http://manager').search.slice(1));
    if (url === '') {
      sendJson(res, 400, { error: 'missing url=host/path' });
      return;
    }
    const result = views.fileInfo(url);
    sendJson(res, result.status, result.body);
  },
  '/conf/server.xml': confFile('server.xml'),
  '/conf/vhosts.xml': confFile('vhosts.xml'),
  '/conf/history': (_req, res, views) => sendJson(res, 200, views.confHistory()),
  '/conf/restore': async (req, res, views) => {
    const params = new URLSearchParams(await queryAndBody(req));
    const key = params.get('hash') ?? params.get('id');
    if (key === null || key === '') {
      sendJson(res, 400, { error: 'missing hash= (or id=) of a snapshot from /conf/history' });
      return;
    }
    const result = views.confRestore(key);
    sendJson(res, result.status, result.body);
  },
};
