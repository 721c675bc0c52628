/**
 * @module dashboard/build-assets
 * Run by `npm run build` after tsc: copies the dashboard's static files (src/dashboard/static/) and uPlot's
 * browser build (the installed `uplot` package: uPlot.iife.min.js, uPlot.min.css) into dist/dashboard/, where
 * dashboard/routes.ts serves them. Nothing is fetched from the internet, at build or at run time. Build time only.
 */
import { copyFileSync, cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** uPlot's files the page loads, as named in its package's dist/. */
const UPLOT_FILES = ['uPlot.iife.min.js', 'uPlot.min.css'] as const;

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const out = join(here, '..', '..', 'dashboard');

mkdirSync(out, { recursive: true });
cpSync(join(repoRoot, 'src', 'dashboard', 'static'), out, { recursive: true });
const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot'));
for (const file of UPLOT_FILES) copyFileSync(join(uplotDist, file), join(out, file));
