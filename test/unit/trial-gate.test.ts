// Unit tests of the worker's all-down trial gate (origin/trial-gate.ts): one question in flight per vhost, none before
// the time the primary's last answer named, a lost answer counts as "no" after a second, and answers are matched to
// their question.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrialGate } from '../../src/origin/trial-gate.js';

test('one question per vhost in flight; the answer names the member and when to ask again', async () => {
  const asked: Array<[string, number]> = [];
  const gate = new TrialGate((vhost, id) => asked.push([vhost, id]));
  const first = gate.ask('a.com');
  assert.ok(first !== null);
  assert.equal(gate.ask('a.com'), null, 'a second request of this worker does not ask while the first waits');
  const other = gate.ask('b.com');
  assert.ok(other !== null, 'another vhost asks on its own');
  assert.deepEqual(asked.map(([v]) => v), ['a.com', 'b.com']);
  const [, idA] = asked[0] ?? ['', 0];
  gate.answer(idA + 1000, 'a.com', '10.0.0.1:80', 0);
  gate.answer(idA, 'a.com', '10.0.0.1:80', Date.now() + 200);
  assert.equal(await first, '10.0.0.1:80');
  assert.equal(gate.ask('a.com'), null, 'quiet until retryAt');
  await new Promise((resolve) => setTimeout(resolve, 220));
  const again = gate.ask('a.com');
  assert.ok(again !== null, 'asks again after retryAt');
  gate.answer(asked.at(-1)?.[1] ?? 0, 'a.com', null, Date.now() + 1000);
  assert.equal(await again, null);
  gate.reset();
  assert.ok(gate.ask('a.com') !== null, 'a reload forgets the waits');
  const [, idB] = asked[1] ?? ['', 0];
  gate.answer(idB, 'b.com', null, 0);
  assert.equal(await other, null);
});

test('an answer that never comes is a "no" after a second', async () => {
  const gate = new TrialGate(() => undefined);
  const started = Date.now();
  assert.equal(await gate.ask('a.com'), null);
  const waited = Date.now() - started;
  assert.ok(waited >= 990 && waited < 1500, `waited ${waited} ms`);
  assert.equal(gate.ask('a.com'), null, 'and the worker stays quiet a while');
});
