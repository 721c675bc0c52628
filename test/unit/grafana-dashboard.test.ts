/**
 * conf/grafana/flint.json only queries metrics that /metrics exposes: every `flint_*` name in a panel expression
 * is a series name of FlintMetrics rendered from a small input (so renaming a metric breaks this test, not the
 * operators' dashboards), histogram quantiles use `_bucket` series with `le`, and panel ids are unique.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FlintMetrics } from '../../src/primary/metrics.js';
import { sampleMetricsInput } from '../helpers/metrics-input.js';

const DASHBOARD = fileURLToPath(new URL('../../../conf/grafana/flint.json', import.meta.url));

interface Panel {
  readonly id: number;
  readonly title: string;
  readonly targets: ReadonlyArray<{ readonly expr: string }>;
}

test('every metric the Grafana dashboard queries is exposed by /metrics', async () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ query: string }> } };
  const text = await new FlintMetrics().render(sampleMetricsInput());
  const exposed = new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][\w:]*/.exec(l)?.[0]));
  const exprs = [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dashboard.templating.list.map((v) => v.query)];
  const used = new Set(exprs.flatMap((e) => e.match(/\bflint_\w+/g) ?? []));
  assert.ok(used.size >= 15, `the dashboard uses ${used.size} metrics`);
  for (const name of used) assert.ok(exposed.has(name), `dashboard queries ${name}, which /metrics does not expose`);
  for (const e of exprs.filter((x) => x.includes('histogram_quantile'))) assert.match(e, /_bucket\{.*\}\[\$__rate_interval\]\)\)\)$|by \(le\)/);
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  for (const title of ['Request rate per vhost', 'Hit ratio per vhost', 'Time to first byte (quantiles)', 'Origin requests and errors', 'Requests/s per worker']) {
    assert.ok(dashboard.panels.some((p) => p.title === title), `panel ${title}`);
  }
});
