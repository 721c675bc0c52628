/**
 * @module dashboard/routes
 * The live dashboard on the manager port: `/dashboard` (the page) and its static files, copied into dist/dashboard/
 * by `npm run build` (dashboard/build-assets.ts, uPlot from the installed package), and `/dashboard/config-diff`
 * (two config snapshots compared, dashboard/config-diff.ts). The page holds no data: every figure comes from the
 * API it calls with the operator's token (/stats, /conf/history, /command/*, /fleet/stats), so the page and its
 * files need the <Allow> list (and the Host/Origin checks) but not the token (a browser cannot add Authorization
 * to a page load); config-diff is API and needs both, as Admin. Every page answer carries a Content-Security-Policy
 * that allows only this origin's scripts and styles, so text shown from the cache (URLs) cannot run as script even
 * if it reached the page unescaped. Runs in the primary.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { sendJson } from '../admin/send-json.js';
import { diffConfigs } from './config-diff.js';

/** Where the build put the page's files (dist/dashboard/). */
const ASSET_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/**
 * No inline script or style, nothing from another origin, no framing (clickjacking of the purge form), forms post
 * only here. uPlot styles its elements through the CSSOM (element.style), which style-src does not restrict.
 */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The page and its files: URL path -> file in ASSET_DIR and its type. An explicit list: no path reaches the disk. */
const ASSETS: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '/dashboard': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/dashboard/uPlot.iife.min.js': { file: 'uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/uPlot.min.css': { file: 'uPlot.min.css', type: 'text/css; charset=utf-8' },
};

/** Whether `path` is the page or one of its files (served without the token; see the module header). */
export function isDashboardAsset(path: string): boolean {
  return Object.hasOwn(ASSETS, path);
}

/** What the dashboard's API route needs from the primary. */
export interface DashboardViews {
  /** A config snapshot's files by relative path, or null when unknown. */
  confSnapshotFiles(hashOrId: string): ReadonlyMap<string, string> | null;
}

/** File contents, read once (they change only with a new build, which means a restart). */
const loaded = new Map<string, Buffer>();

function serveAsset(res: ServerResponse, head: boolean, asset: { readonly file: string; readonly type: string }): void {
  let body = loaded.get(asset.file);
  if (body === undefined) {
    try {
      body = readFileSync(`${ASSET_DIR}${asset.file}`);
    } catch {
      sendJson(res, 404, { error: 'the dashboard files are missing: run npm run build' });
      return;
    }
    loaded.set(asset.file, body);
  }
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': body.length,
    'cache-control': 'no-store',
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  });
  res.end(head ? undefined : body);
}

type DashboardRoute = (req: IncomingMessage, res: ServerResponse, views: DashboardViews) => void;

function configDiff(req: IncomingMessage, res: ServerResponse, views: DashboardViews): void {
  const params = new URL(req.url ?? '/', 'http://manager').searchParams;
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  if (from === '' || to === '') {
    sendJson(res, 400, { error: 'give from= and to=: hashes (7+ characters) or ids from /conf/history' });
    return;
  }
  const a = views.confSnapshotFiles(from);
  const b = views.confSnapshotFiles(to);
  if (a === null || b === null) {
    sendJson(res, 404, { error: `no snapshot ${a === null ? from : to} in the config history (or its files are gone)` });
    return;
  }
  sendJson(res, 200, { from, to, files: diffConfigs(a, b) });
}

/** Route table entries; admin/routes.ts spreads them into its table. */
export const DASHBOARD_ROUTES: Readonly<Record<string, DashboardRoute>> = {
  ...Object.fromEntries(Object.entries(ASSETS).map(([path, asset]): [string, DashboardRoute] => [path, (req, res) => serveAsset(res, req.method === 'HEAD', asset)])),
  '/dashboard/config-diff': configDiff,
};
