// Unit tests of the worker's origin outcome reporter: outcomes leave in batches (one send per ~100 ms, never one per
// request), every failure is sent, a success only when it is news (first ever, first after a failure, or a refresh
// once a second), and error codes map to the outcomes the primary counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BATCH_MS, OutcomeReporter } from '../../src/origin/health-reporter.js';
import type { OutcomeBatch } from '../../src/origin/health-reporter.js';
import type { FailedUrl } from '../../src/origin/health-view.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a burst of outcomes leaves as one batch; repeated successes are not repeated', async () => {
  const batches: OutcomeBatch[] = [];
  const reporter = new OutcomeReporter((b) => batches.push(b));
  for (let i = 0; i < 1000; i++) reporter.report('a.com', '10.0.0.1:80', 'ok');
  reporter.report('a.com', '10.0.0.1:80', 'connect-fail');
  reporter.report('a.com', '10.0.0.1:80', 'bad-status');
  reporter.report('a.com', '10.0.0.1:80', 'ok');
  reporter.report('a.com', '10.0.0.1:80', 'ok');
  reporter.report('b.com', '[::1]:8080', 'receive-fail');
  assert.equal(batches.length, 0, 'nothing is sent synchronously');
  await sleep(BATCH_MS + 50);
  assert.deepEqual(batches, [
    [
      ['a.com', '10.0.0.1:80', 'ok'],
      ['a.com', '10.0.0.1:80', 'connect-fail'],
      ['a.com', '10.0.0.1:80', 'bad-status'],
      ['a.com', '10.0.0.1:80', 'ok'],
      ['b.com', '[::1]:8080', 'receive-fail'],
    ],
  ]);
  await sleep(BATCH_MS + 50);
  assert.equal(batches.length, 1, 'no empty batches');
});

test('the first outcome after a quiet spell leaves at once; then at most one batch per BATCH_MS', async () => {
  const sent: number[] = [];
  const reporter = new OutcomeReporter(() => sent.push(Date.now()));
  const start = Date.now();
  reporter.report('a.com', '10.0.0.1:80', 'connect-fail');
  await sleep(20);
  assert.equal(sent.length, 1, 'sent on the next turn, not after a timer');
  assert.ok((sent[0] ?? 0) - start < BATCH_MS / 2);
  const until = Date.now() + 3 * BATCH_MS;
  while (Date.now() < until) {
    reporter.report('a.com', '10.0.0.1:80', 'connect-fail');
    await sleep(2);
  }
  await sleep(BATCH_MS + 20);
  for (let i = 1; i < sent.length; i++) assert.ok((sent[i] ?? 0) - (sent[i - 1] ?? 0) >= BATCH_MS - 2, `batches ${sent.join(', ')} closer than ${BATCH_MS} ms`);
  assert.ok(sent.length >= 3 && sent.length <= 6, `${sent.length} batches`);
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

test('failed URLs ride in the same batches; a trial\'s success is always sent, even right after another success', async () => {
  const sent: Array<[OutcomeBatch, FailedUrl[]]> = [];
  const reporter = new OutcomeReporter((outcomes, failed) => sent.push([outcomes, failed]));
  reporter.report('a.com', '10.0.0.1:80', 'ok');
  reporter.report('a.com', '10.0.0.1:80', 'ok', true);
  reporter.rememberFailure(['a.com', '/x', 123]);
  reporter.rememberFailure(['a.com', '/y', 456]);
  await sleep(BATCH_MS + 50);
  assert.deepEqual(sent, [
    [
      [
        ['a.com', '10.0.0.1:80', 'ok'],
        ['a.com', '10.0.0.1:80', 'ok'],
      ],
      [
        ['a.com', '/x', 123],
        ['a.com', '/y', 456],
      ],
    ],
  ]);
  // Only failed URLs: still one batch, with no outcomes.
  reporter.rememberFailure(['a.com', '/z', 789]);
  reporter.flush();
  assert.deepEqual(sent.at(-1), [[], [['a.com', '/z', 789]]]);
});
