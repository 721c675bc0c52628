/**
 * The /metrics text spells a not-a-number sample `NaN`, as the exposition format does: prom-client writes `Nan`
 * (the primary's event-loop lag before its first sample), which strict parsers refuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gauge } from 'prom-client';
import { FlintMetrics } from '../../src/primary/metrics.js';
import { sampleMetricsInput } from '../helpers/metrics-input.js';

test('a NaN sample is written NaN, never Nan; other values are untouched', async () => {
  const metrics = new FlintMetrics();
  const nan = new Gauge({ name: 'test_not_a_number', help: 'A NaN sample.', registers: [metrics.registry] });
  nan.set(Number.NaN);
  const named = new Gauge({ name: 'test_named_nan', help: 'A label value that reads Nan.', labelNames: ['who'], registers: [metrics.registry] });
  named.set({ who: 'Nan' }, 3);
  const text = await metrics.render(sampleMetricsInput());
  assert.match(text, /^test_not_a_number NaN$/m);
  assert.doesNotMatch(text, / Nan$/m);
  assert.match(text, /^test_named_nan\{who="Nan"\} 3$/m);
});
