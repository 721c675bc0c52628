/** The node flags a worker is forked with: the primary's, plus Flint's V8 flags unless the operator set them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerExecArgv } from '../../src/primary/supervisor.js';

test('a worker gets the primary\'s node flags and Flint\'s heap growth', () => {
  assert.deepEqual(workerExecArgv([]), ['--heap-growing-percent=200']);
  assert.deepEqual(workerExecArgv(['--max-old-space-size=512']), ['--max-old-space-size=512', '--heap-growing-percent=200']);
});

test('a flag the operator gave the primary wins over Flint\'s', () => {
  assert.deepEqual(workerExecArgv(['--heap-growing-percent=50']), ['--heap-growing-percent=50']);
});
