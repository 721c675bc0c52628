// Fails when docs/configuration.md is out of date with src/config/schema.ts. To fix it, rebuild and run:
//   node dist/src/config/print-reference.js > docs/configuration.md
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderConfigReference } from '../../src/config/schema.js';

test('docs/configuration.md is generated from the current schema', () => {
  const onDisk = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(
    onDisk === renderConfigReference(),
    'docs/configuration.md is stale: run `npx tsc -p . && node dist/src/config/print-reference.js > docs/configuration.md`',
  );
});
