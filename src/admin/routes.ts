/**
 * @module admin/routes
 * The management API routes on the manager port: /health, /stats, /conf/reload, /monitoring/origin, the monitoring
 * routes of admin/monitoring-routes.ts, and (admin/cache-routes.ts) cache control, the object inspector and config
 * history, and (dashboard/routes.ts) the live dashboard. Each route calls into views the primary hands in (no cache or worker internals here). Runs in the primary.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './send-json.js';
import type { CacheAdminViews } from './cache-routes.js';
import { CACHE_ADMIN_ROUTES } from './cache-routes.js';
import type { MonitoringViews } from './monitoring-routes.js';
import { MONITORING_ROUTES } from './monitoring-routes.js';
import type { FleetViews } from './fleet-routes.js';
import { FLEET_ROUTES } from './fleet-routes.js';
import type { DashboardViews } from '../dashboard/routes.js';
import { DASHBOARD_ROUTES } from '../dashboard/routes.js';

/** What the routes need from the primary. */
export interface AdminViews extends CacheAdminViews, DashboardViews {
  /** Liveness: all workers listening. */
  health(): { readonly ok: boolean; readonly workers: number; readonly ready: number };
  /** The merged /stats document. */
  stats(): Promise<unknown>;
  /** Same as SIGHUP; returns the validation result. */
  reload(): { readonly ok: boolean; readonly problems?: readonly string[]; readonly needsRestart?: readonly string[] };
  /** The /monitoring/origin document (STON's shape) for one vhost or all (null); null when the vhost is unknown. */
  originHealth(vhost: string | null): unknown;
  /** /monitoring/realtime, /monitoring/average and /metrics (admin/monitoring-routes.ts). */
  monitoring: MonitoringViews;
  /** /fleet/* (admin/fleet-routes.ts). */
  fleet: FleetViews;
}

type Route = (req: IncomingMessage, res: ServerResponse, views: AdminViews) => Promise<void> | void;


const ROUTES: Record<string, Route> = {
  '/health': (_req, res, views) => {
    const health = views.health();
    sendJson(res, health.ok ? 200 : 503, { status: health.ok ? 'ok' : 'starting', workers: health.workers, ready: health.ready });
  },
  '/stats': async (_req, res, views) => {
    sendJson(res, 200, await views.stats());
  },
  '/conf/reload': (_req, res, views) => {
    const result = views.reload();
    sendJson(res, result.ok ? 200 : 400, result);
  },
  '/monitoring/origin': (req, res, views) => {
    const vhost = new URL(req.url ?? '/', 'http://manager').searchParams.get('vhost');
    const document = views.originHealth(vhost === null || vhost === '' ? null : vhost.toLowerCase());
    if (document === null) sendJson(res, 404, { method: 'origin', status: 'Fail', error: `no such vhost: ${vhost ?? ''}` });
    else sendJson(res, 200, document);
  },
  ...CACHE_ADMIN_ROUTES,
  ...MONITORING_ROUTES,
  ...Object.fromEntries(Object.entries(FLEET_ROUTES).map(([path, route]): [string, Route] => [path, (req, res, views) => route(req, res, views.fleet)])),
  ...DASHBOARD_ROUTES,
};

/** Dispatches one admin request (access already checked). */
export async function routeAdmin(req: IncomingMessage, res: ServerResponse, views: AdminViews): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') {
    sendJson(res, 405, { error: `method ${req.method ?? ''} not allowed` });
    return;
  }
  const path = new URL(req.url ?? '/', 'http://manager').pathname;
  const route = ROUTES[path];
  if (route === undefined) {
    sendJson(res, 404, { error: `no such endpoint: ${path}`, endpoints: Object.keys(ROUTES) });
    return;
  }
  await route(req, res, views);
}
