// Unit tests of the worker's origin outcome reporter: outcomes leave in batches (one send per ~100 ms, never one per
// request), every failure is sent, a success only when it is news (first ever, first after a failure, or a refresh
// once a second), and error codes map to the outcomes the primary counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BATCH_MS, OutcomeReporter, outcomeOfError, outcomeOfStatus } from '../../src/origin/health-reporter.js';
import type { OutcomeBatch } from '../../src/origin/health-reporter.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a burst of outcomes leaves as one batch; repeated successes are not repeated', async () => {
  const batches: OutcomeBatch[] = [];
  const reporter = new OutcomeReporter((b) => batches.push(b));
  for (let i = 0; i < 1000; i++) reporter.report('a.com', '10.0.0.1:80', 'ok');
  reporter.report('a.com', '10.0.0.1:80', 'connect-fail');
  reporter.report('a.com', '10.0.0.1:80', '5xx');
  reporter.report('a.com', '10.0.0.1:80', 'ok');
  reporter.report('a.com', '10.0.0.1:80', 'ok');
  reporter.report('b.com', '[::1]:8080', 'receive-fail');
  assert.equal(batches.length, 0, 'nothing is sent synchronously');
  await sleep(BATCH_MS + 50);
  assert.deepEqual(batches, [
    [
      ['a.com', '10.0.0.1:80', 'ok'],
      ['a.com', '10.0.0.1:80', 'connect-fail'],
      ['a.com', '10.0.0.1:80', '5xx'],
      ['a.com', '10.0.0.1:80', 'ok'],
      ['b.com', '[::1]:8080', 'receive-fail'],
    ],
  ]);
  await sleep(BATCH_MS + 50);
  assert.equal(batches.length, 1, 'no empty batches');
});

test('a healthy busy member costs at most one report a second', async () => {
  const batches: OutcomeBatch[] = [];
  const reporter = new OutcomeReporter((b) => batches.push(b));
  const until = Date.now() + 600;
  while (Date.now() < until) {
    reporter.report('a.com', '10.0.0.1:80', 'ok');
    await sleep(5);
  }
  reporter.flush();
  assert.equal(batches.flat().length, 1);
});

test('error codes and statuses map to outcomes', () => {
  assert.equal(outcomeOfError('FLINT_ERR_ORIGIN_CONNECT'), 'connect-fail');
  assert.equal(outcomeOfError('FLINT_ERR_ORIGIN_CONNECT_TIMEOUT'), 'connect-fail');
  assert.equal(outcomeOfError('FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT'), 'receive-fail');
  assert.equal(outcomeOfError('FLINT_ERR_ORIGIN_RESET'), 'receive-fail');
  assert.equal(outcomeOfError('FLINT_ERR_CLIENT_ABORTED'), null);
  assert.equal(outcomeOfStatus(200), 'ok');
  assert.equal(outcomeOfStatus(404), 'ok');
  assert.equal(outcomeOfStatus(503), '5xx');
});
