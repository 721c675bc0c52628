/**
 * @module bench/lib/chart
 * One results file as an SVG chart, written by hand (no chart library): per scenario a row of two panels, the
 * server's CPU cost (per request, per GiB, or per run) on the left and its rate (req/s, MiB/s) or time on the right,
 * one horizontal bar per target, colored by product. Rounds of one target are reduced to their median. Pure: takes
 * a ResultFile, returns the SVG text. Runs in the bench process (bench/report.ts).
 */
import type { ResultFile, RunRecord } from './results.js';

/** One bar: a target's value in one panel. */
interface Bar {
  readonly target: string;
  readonly value: number;
}

/** One panel: a metric of one scenario over its targets. */
interface Panel {
  readonly title: string;
  readonly bars: readonly Bar[];
}

/** The two figures charted for a row, or null when the row has neither. */
interface RowMetrics {
  readonly cost: { readonly label: string; readonly value: number } | null;
  readonly rate: { readonly label: string; readonly value: number } | null;
}

const WIDTH = 980;
const PANEL_W = 470;
const LABEL_W = 120;
const BAR_H = 14;
const BAR_GAP = 4;
const HEAD_H = 22;

/** Bar colors by product: Flint orange, nginx green, Varnish blue, anything else grey; 2-worker variants darker. */
function colorOf(target: string): string {
  const two = /-2w\b|-2w$/.test(target);
  if (target.startsWith('flint')) return two ? '#b8420a' : '#f76707';
  if (target.startsWith('nginx')) return two ? '#237032' : '#40a050';
  if (target.startsWith('varnish')) return '#1c6fd6';
  return '#868e96';
}

function num(v: number | string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Which figures of a row are charted (see the module header). */
export function rowMetrics(r: RunRecord): RowMetrics {
  const m = r.metrics;
  if (m !== undefined) {
    if (m.serverCpuSPerGiB !== undefined) return { cost: { label: 'server CPU s per GiB served', value: m.serverCpuSPerGiB }, rate: { label: 'MiB/s', value: m.mibPerSec } };
    return { cost: { label: 'server CPU ms per request', value: m.serverCpuSPer1kReq }, rate: { label: 'req/s', value: m.requestsPerSec } };
  }
  const f = r.figures ?? {};
  const perReq = num(f['server CPU s/1k req']);
  const perRun = num(f['server CPU s']);
  const cost = perReq !== null ? { label: 'server CPU ms per request', value: perReq } : perRun !== null ? { label: 'server CPU s for the run', value: perRun } : null;
  const rps = num(f['req/s']);
  const done = num(f['all done s']);
  const p50 = num(f['p50 ms']);
  const rate = rps !== null ? { label: 'req/s', value: rps } : done !== null ? { label: 'seconds until all done (lower is better)', value: done } : p50 !== null ? { label: 'p50 ms (lower is better)', value: p50 } : null;
  return { cost, rate };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The panels of every scenario, in run order: [cost, rate] per scenario. The `workers` side-by-side rows are skipped (their wrk rows are charted). */
export function panelsOf(result: ResultFile): Array<[Panel | null, Panel | null]> {
  const order: string[] = [];
  const rows = new Map<string, RunRecord[]>();
  for (const r of result.runs) {
    if (r.status !== 'ok' || r.scenario === 'workers') continue;
    if (!rows.has(r.scenario)) {
      order.push(r.scenario);
      rows.set(r.scenario, []);
    }
    rows.get(r.scenario)?.push(r);
  }
  return order.map((scenario) => {
    const list = rows.get(scenario) ?? [];
    const panel = (which: 'cost' | 'rate'): Panel | null => {
      const byTarget = new Map<string, number[]>();
      let label = '';
      for (const r of list) {
        const metric = rowMetrics(r)[which];
        if (metric === null) continue;
        label = metric.label;
        const vals = byTarget.get(r.target);
        if (vals === undefined) byTarget.set(r.target, [metric.value]);
        else vals.push(metric.value);
      }
      if (byTarget.size === 0) return null;
      return { title: `${scenario}: ${label}`, bars: [...byTarget.entries()].map(([target, vals]) => ({ target, value: median(vals) })) };
    };
    return [panel('cost'), panel('rate')];
  });
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A value with 3 significant digits, thousands as k. */
function fmtValue(v: number): string {
  if (v >= 10_000) return `${(v / 1000).toFixed(v >= 100_000 ? 0 : 1)}k`;
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

function panelHeight(p: Panel | null): number {
  return p === null ? 0 : HEAD_H + p.bars.length * (BAR_H + BAR_GAP) + 8;
}

function renderPanel(p: Panel, x: number, y: number): string {
  const max = Math.max(...p.bars.map((b) => b.value), 1e-12);
  const barMax = PANEL_W - LABEL_W - 60;
  let out = `<text x="${x}" y="${y + 14}" class="t">${escapeXml(p.title)}</text>\n`;
  p.bars.forEach((b, i) => {
    const by = y + HEAD_H + i * (BAR_H + BAR_GAP);
    const w = Math.max(1, (b.value / max) * barMax);
    out += `<text x="${x + LABEL_W - 6}" y="${by + BAR_H - 3}" class="l">${escapeXml(b.target)}</text>`;
    out += `<rect x="${x + LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${colorOf(b.target)}"/>`;
    out += `<text x="${(x + LABEL_W + w + 4).toFixed(1)}" y="${by + BAR_H - 3}" class="v">${fmtValue(b.value)}</text>\n`;
  });
  return out;
}

/** The whole chart of `result`. */
export function renderChart(result: ResultFile): string {
  const rows = panelsOf(result);
  const top = 58;
  let y = top;
  let body = '';
  for (const [cost, rate] of rows) {
    const h = Math.max(panelHeight(cost), panelHeight(rate));
    if (cost !== null) body += renderPanel(cost, 10, y);
    if (rate !== null) body += renderPanel(rate, 10 + PANEL_W + 20, y);
    y += h + 10;
  }
  const m = result.machine;
  const title = `Flint bench ${result.date} at ${result.commit}${result.dirty ? ' (dirty)' : ''}: ${m.cores} cores, ${m.cpuModel}`;
  const sub = 'Left: server CPU cost (lower is better; comparable on a shared box). Right: what the whole box delivered. Median of rounds.';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" viewBox="0 0 ${WIDTH} ${y + 10}" font-family="sans-serif">
<style>.t{font-size:12px;font-weight:bold;fill:#212529}.l{font-size:11px;text-anchor:end;fill:#343a40}.v{font-size:10px;fill:#495057}.h{font-size:14px;font-weight:bold}.s{font-size:11px;fill:#495057}</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="20" class="h">${escapeXml(title)}</text>
<text x="10" y="38" class="s">${escapeXml(sub)}</text>
${body}</svg>
`;
}
