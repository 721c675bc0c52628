/**
 * @module bench/report
 * `npm run bench:report` (`node dist/bench/report.js [--file RESULT.json] [--out CHART.svg]`): render the latest
 * results file in bench/results/ (the one whose run started last) as an SVG chart (lib/chart.ts), by default to
 * bench/results/latest.svg, which bench/README.md embeds. Reads and writes files only; starts nothing.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { renderChart } from './lib/chart.js';
import { REPO_ROOT } from './lib/environment.js';
import type { ResultFile } from './lib/results.js';

const RESULTS_DIR = join(REPO_ROOT, 'bench/results');

/** The results file whose run started last (settings.startedAt), or null when there is none. */
export function latestResultFile(dir: string = RESULTS_DIR): string | null {
  let best: { path: string; started: string } | null = null;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json')) continue;
    const path = join(dir, name);
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { settings?: { startedAt?: unknown } };
      const started = typeof parsed.settings?.startedAt === 'string' ? parsed.settings.startedAt : '';
      if (best === null || started > best.started) best = { path, started };
    } catch {
      // not a results file
    }
  }
  return best?.path ?? null;
}

function main(): number {
  const { values } = parseArgs({ options: { file: { type: 'string' }, out: { type: 'string', default: join(RESULTS_DIR, 'latest.svg') } } });
  const file = values.file ?? latestResultFile();
  if (file === null) {
    console.error(`bench report: no results file in ${RESULTS_DIR} (run npm run bench first)`);
    return 1;
  }
  const result = JSON.parse(readFileSync(file, 'utf8')) as ResultFile;
  if (result.schema !== 1 || !Array.isArray(result.runs)) {
    console.error(`bench report: ${file} is not a bench results file (schema 1)`);
    return 1;
  }
  writeFileSync(values.out, renderChart(result));
  console.log(`bench report: ${relative(REPO_ROOT, file)} -> ${relative(REPO_ROOT, values.out)}`);
  return 0;
}

process.exitCode = main();
