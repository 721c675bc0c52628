/**
 * @module admin/fleet-routes
 * The management routes of the fleet (src/fleet/): /fleet/command/{purge,expire,hardpurge}?[group=G&][wait=S&]url=
 * (POST like /command/*; url= last, as STON's rule) or ?tag=T[&vhost=V][&group=G][&wait=S] (tags checked here as
 * /command/purge?tag= checks them, so a bad list is a 400, never a published message), /fleet/command/push (POST:
 * a JSON body {vhosts, rules}, or ?version=N for a rollback; optional group= and wait=), /fleet/stats and
 * /fleet/status (?group=). Each calls into the fleet view the primary hands in; it answers 404 on a standalone edge
 * and 503 while NATS is away. Runs in the primary.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseFleetName } from '../config/cluster.js';
import { MAX_PUSHED_CHARS, decodePushed, isVhostName } from '../fleet/messages.js';
import type { FleetCommand, PurgeTarget, PushedConfig } from '../fleet/messages.js';
import { parseTagList } from '../cache/tags.js';
import { commandParams, queryAndBody, readBody } from './cache-routes.js';
import { sendJson } from './send-json.js';

/** A fleet view's answer. */
export interface FleetAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** What these routes need from the primary. */
export interface FleetViews {
  purge(command: FleetCommand, target: PurgeTarget, group: string | null, waitMs: number | null): Promise<FleetAnswer>;
  push(config: PushedConfig | null, rollbackOf: number | null, group: string | null, waitMs: number | null): Promise<FleetAnswer>;
  stats(group: string | null, waitMs: number | null): Promise<FleetAnswer>;
  status(group: string | null): Promise<FleetAnswer>;
}

/** Longest `wait=` (seconds): a fleet call never holds a management connection longer (the CLI gives up at 130 s). */
export const MAX_WAIT_SEC = 120;

/** `group=` and `wait=` of a fleet call (`wait` in seconds, fractions allowed, optional `s`); or the problem. */
export function fleetParams(params: URLSearchParams): { ok: true; group: string | null; waitMs: number | null } | { ok: false; error: string } {
  const group = params.get('group');
  if (group !== null && !parseFleetName(group).ok) return { ok: false, error: `group=${JSON.stringify(group)} is not a fleet name (1-64 letters, digits, - or _)` };
  const wait = params.get('wait');
  let waitMs: number | null = null;
  if (wait !== null) {
    const match = /^(\d{1,3}(?:\.\d{1,3})?)s?$/.exec(wait);
    const seconds = match === null ? Number.NaN : Number(match[1]);
    if (!(seconds > 0 && seconds <= MAX_WAIT_SEC)) return { ok: false, error: `wait=${JSON.stringify(wait)} is not a number of seconds in 0..${MAX_WAIT_SEC} (e.g. 5 or 5s)` };
    waitMs = Math.round(seconds * 1000);
  }
  return { ok: true, group: group === '' ? null : group, waitMs };
}

type FleetRoute = (req: IncomingMessage, res: ServerResponse, views: FleetViews) => Promise<void>;

/** The target of a fleet purge (url= with STON's rule, or tag= and vhost= as /command/purge takes them), or the problem. */
export function fleetPurgeTarget(text: string): { ok: true; target: PurgeTarget; params: URLSearchParams } | { ok: false; error: string } {
  const { url, params } = commandParams(text);
  const tagged = url === '' ? new URLSearchParams(text) : params;
  const tags = tagged.get('tag');
  if (url !== '' && tags !== null) return { ok: false, error: 'give url= or tag=, not both' };
  if (url !== '') return { ok: true, target: { urls: url }, params };
  if (tags === null) return { ok: false, error: 'missing url=: give host/path, a glob (host/img/*.jpg) or several joined by | (group= and wait= go before url=); or tag=name' };
  const list = parseTagList(tags);
  if (!list.ok) return { ok: false, error: list.error };
  const vhost = tagged.get('vhost');
  if (!isVhostName(vhost)) return { ok: false, error: 'vhost= is not a host name (1-255 letters, digits, . - _ : * [ ])' };
  return { ok: true, target: { tags: list.tags.join(' '), vhost }, params: tagged };
}

function command(name: FleetCommand): FleetRoute {
  return async (req, res, views) => {
    const parsed = fleetPurgeTarget(await queryAndBody(req));
    if (!parsed.ok) {
      sendJson(res, 400, { error: parsed.error });
      return;
    }
    const options = fleetParams(parsed.params);
    if (!options.ok) {
      sendJson(res, 400, { error: options.error });
      return;
    }
    const answer = await views.purge(name, parsed.target, options.group, options.waitMs);
    sendJson(res, answer.status, answer.body);
  };
}

/** Reads the query's options, or answers 400 and returns null. */
function queryOptions(req: IncomingMessage, res: ServerResponse): { params: URLSearchParams; group: string | null; waitMs: number | null } | null {
  const params = new URL(req.url ?? '/', 'http://manager').searchParams;
  const options = fleetParams(params);
  if (!options.ok) {
    sendJson(res, 400, { error: options.error });
    return null;
  }
  return { params, group: options.group, waitMs: options.waitMs };
}

/** Route table entries; admin/routes.ts spreads them into its table. */
export const FLEET_ROUTES: Readonly<Record<string, FleetRoute>> = {
  '/fleet/command/purge': command('purge'),
  '/fleet/command/expire': command('expire'),
  '/fleet/command/hardpurge': command('hardpurge'),
  '/fleet/command/push': async (req, res, views) => {
    const options = queryOptions(req, res);
    if (options === null) return;
    const version = options.params.get('version');
    if (version !== null) {
      if (!/^[1-9]\d{0,15}$/.test(version)) {
        sendJson(res, 400, { error: `version=${JSON.stringify(version)} is not a version number` });
        return;
      }
      const answer = await views.push(null, Number(version), options.group, options.waitMs);
      sendJson(res, answer.status, answer.body);
      return;
    }
    const text = req.method === 'POST' ? await readBody(req) : '';
    if (text.length > MAX_PUSHED_CHARS) {
      sendJson(res, 413, { error: `a pushed config may hold at most ${MAX_PUSHED_CHARS} bytes` });
      return;
    }
    // The body is the config without the envelope fields the node adds.
    let envelope: string;
    try {
      envelope = JSON.stringify({ ...(JSON.parse(text) as object), from: 'manager', time: 0, rollbackOf: null });
    } catch {
      sendJson(res, 400, { error: 'the body must be JSON: {"vhosts": "<Vhosts>...</Vhosts>", "rules": [{"path": "svc/<vhost>/ttl.txt", "text": "..."}]} (or give ?version=N)' });
      return;
    }
    const decoded = decodePushed(envelope);
    if (!decoded.ok) {
      sendJson(res, 400, { error: `not a config: ${decoded.error}` });
      return;
    }
    const answer = await views.push(decoded.value, null, options.group, options.waitMs);
    sendJson(res, answer.status, answer.body);
  },
  '/fleet/stats': async (req, res, views) => {
    const options = queryOptions(req, res);
    if (options === null) return;
    const answer = await views.stats(options.group, options.waitMs);
    sendJson(res, answer.status, answer.body);
  },
  '/fleet/status': async (req, res, views) => {
    const options = queryOptions(req, res);
    if (options === null) return;
    const answer = await views.status(options.group);
    sendJson(res, answer.status, answer.body);
  },
};
