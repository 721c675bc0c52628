/**
 * @module admin/monitoring-routes
 * STON's monitoring endpoints and Prometheus on the manager port: `/monitoring/realtime?type=json|xml[&vhost=a,b]`,
 * `/monitoring/average?type=json|xml&min=1..60[&vhost=a,b]` and `/metrics`. Query parameters are checked strictly
 * (unknown names, a bad `type` or `min` answer 400; an unknown vhost 404). XML is built from the very JSON document
 * (same element names, arrays as repeated elements), so the two always mirror each other. Runs in the primary.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildXml } from '../config/parse.js';
import type { AdminViews } from './routes.js';
import { sendText } from './send-json.js';

/** What the monitoring routes need from the primary (AdminViews.monitoring). */
export interface MonitoringViews {
  realtime(vhosts: readonly string[] | null): Promise<unknown>;
  average(minutes: number, vhosts: readonly string[] | null): Promise<unknown>;
  metrics(): Promise<{ readonly contentType: string; readonly text: string }>;
}

type Route = (req: IncomingMessage, res: ServerResponse, views: AdminViews) => Promise<void>;

/** JSON or XML (root element `<Stats>`), as `type` asks. */
function sendDocument(res: ServerResponse, status: number, type: 'json' | 'xml', body: unknown): void {
  if (type === 'json') sendText(res, status, 'application/json', `${JSON.stringify(body, null, 2)}\n`);
  else sendText(res, status, 'application/xml; charset=utf-8', buildXml('Stats', body));
}

class BadQuery extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface Query {
  readonly type: 'json' | 'xml';
  readonly minutes: number;
  readonly vhosts: readonly string[] | null;
}

/** Parses and checks the query; `allowed` names the parameters the endpoint takes. */
function parseQuery(req: IncomingMessage, allowed: readonly string[]): Query {
  const params = new URL(req.url ?? '/', 'http://manager').searchParams;
  for (const name of new Set(params.keys())) {
    if (!allowed.includes(name)) throw new BadQuery(`unknown query parameter "${name}" (allowed: ${allowed.join(', ')})`);
    if (params.getAll(name).length > 1) throw new BadQuery(`query parameter "${name}" given more than once`);
  }
  const type = params.get('type') ?? 'json';
  if (type !== 'json' && type !== 'xml') throw new BadQuery(`type must be json or xml, got "${type}"`);
  const min = params.get('min') ?? '5';
  if (!/^\d{1,2}$/.test(min) || Number(min) < 1 || Number(min) > 60) throw new BadQuery(`min must be a whole number of minutes from 1 to 60, got "${min}"`);
  const vhost = params.get('vhost');
  let vhosts: string[] | null = null;
  if (vhost !== null && vhost !== '') {
    vhosts = vhost.split(',').map((v) => v.trim());
    if (vhosts.some((v) => v === '')) throw new BadQuery(`vhost must be a comma-separated list of vhost names, got "${vhost}"`);
  }
  return { type, minutes: Number(min), vhosts };
}

/** Runs a document route, turning query problems and unknown vhosts into 400/404. */
function documentRoute(allowed: readonly string[], build: (q: Query, views: AdminViews) => Promise<unknown>): Route {
  return async (req, res, views) => {
    let query: Query;
    try {
      query = parseQuery(req, allowed);
    } catch (error) {
      if (!(error instanceof BadQuery)) throw error;
      sendDocument(res, error.status, 'json', { error: error.message });
      return;
    }
    let body: unknown;
    try {
      body = await build(query, views);
    } catch (error) {
      if ((error as Error).name !== 'UnknownVhostError') throw error;
      sendDocument(res, 404, query.type, { error: (error as Error).message });
      return;
    }
    sendDocument(res, 200, query.type, body);
  };
}

export const MONITORING_ROUTES: Record<string, Route> = {
  '/monitoring/realtime': documentRoute(['type', 'vhost'], (q, views) => views.monitoring.realtime(q.vhosts)),
  '/monitoring/average': documentRoute(['type', 'min', 'vhost'], (q, views) => views.monitoring.average(q.minutes, q.vhosts)),
  '/metrics': async (req, res, views) => {
    if (new URL(req.url ?? '/', 'http://manager').search !== '') {
      sendDocument(res, 400, 'json', { error: '/metrics takes no query parameters' });
      return;
    }
    const { contentType, text } = await views.monitoring.metrics();
    sendText(res, 200, contentType, text);
  },
};
