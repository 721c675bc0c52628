// Unit tests of origin/router.ts against real loopback servers: members the health view calls down are skipped,
// every member down answers FLINT_ERR_ORIGIN_DOWN at once without a connection, outcomes reach the sink
// ('ok', 'bad-status' only for statuses <Exclusion ResCode> lists, 'connect-fail', 'receive-fail'), a request undici
// refuses before sending (or a client body that fails) reports nothing, a refused member is retried on another within
// <Retry>, every member down asks for the vhost's trial (and tries only the member granted), and a fill's URL that
// found no member is remembered in the view and shared through the sink.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import pino from 'pino';
import type { Config, Vhost } from '../../src/config/types.js';
import type { FlintError } from '../../src/errors.js';
import type { OriginOutcome } from '../../src/origin/health-view.js';
import { OriginHealthView } from '../../src/origin/health-view.js';
import type { FailedUrl } from '../../src/origin/health-view.js';
import { Readable } from 'node:stream';
import { OriginRouter } from '../../src/origin/router.js';
import type { RoutedRequest } from '../../src/origin/router.js';
import { freePort } from '../helpers/ports.js';

let ok: Server;
let failing: Server;
let resetting: Server;
const connections = { ok: 0, failing: 0 };
const address = (server: Server): string => `127.0.0.1:${(server.address() as AddressInfo).port}`;

async function listen(server: Server): Promise<Server> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

before(async () => {
  ok = await listen(createServer((_req, res) => res.end('ok')));
  ok.on('connection', () => connections.ok++);
  failing = await listen(createServer((_req, res) => {
    res.statusCode = 500;
    res.end('no');
  }));
  failing.on('connection', () => connections.failing++);
  resetting = await listen(createServer((req) => req.socket.destroy()));
});

after(() => {
  ok.close();
  failing.close();
  resetting.close();
});

function vhostWith(addresses: readonly string[], retries = 65535, exclusionResCodes: readonly number[] = []): Vhost {
  const origins = addresses.map((text) => {
    const [host = '', port = ''] = text.split(':');
    return { text, host, port: Number(port), pathPrefix: '' };
  });
  return {
    name: 'v',
    origins,
    standbyOrigins: [],
    originOptions: {
      connectTimeoutMs: 1000,
      receiveTimeoutMs: 2000,
      reuseTimeoutMs: 1000,
      maxConnections: 4,
      balanceMode: 'RoundRobin',
      hostHeader: null,
      userAgent: null,
      xffClientIpOnly: false,
      retries,
      exclusionResCodes,
      dnsRefreshMs: 10_000,
      hashIgnoreSuffixes: [],
      originAffinity: true,
      tls: null,
    },
    options: { ttl: { errorExtensionSec: 0 } },
    log: { originPath: null },
  } as unknown as Vhost;
}

interface Result {
  status: number;
  body: string;
  error: FlintError | null;
  members: string[];
  ms: number;
}

function routerFor(vhost: Vhost, view: OriginHealthView, outcomes: Array<[string, OriginOutcome]>, failed: FailedUrl[] = []): OriginRouter {
  const sink = { report: (_v: string, member: string, outcome: OriginOutcome) => void outcomes.push([member, outcome]), rememberFailure: (f: FailedUrl) => void failed.push(f) };
  const router = new OriginRouter(pino({ level: 'silent' }), view, sink);
  router.apply({ vhosts: [vhost] } as unknown as Config);
  return router;
}

function get(router: OriginRouter, vhost: Vhost, request: Partial<RoutedRequest> = {}): Promise<Result> {
  const started = performance.now();
  const members: string[] = [];
  return new Promise((resolve) => {
    let status = 0;
    let body = '';
    router.open(
      vhost,
      { method: 'GET', path: '/', headers: [], body: null, selection: { mode: 'RoundRobin', hashKey: '/' }, ...request },
      {
        onMember: (m) => void members.push(m),
        onHeaders: (s) => void (status = s),
        onData: (chunk) => void (body += chunk.toString()),
        onEnd: () => resolve({ status, body, error: null, members, ms: performance.now() - started }),
        onError: (error) => resolve({ status, body, error, members, ms: performance.now() - started }),
      },
    );
  });
}

test('members the health view calls down are skipped; all down = FLINT_ERR_ORIGIN_DOWN at once, no connection', async () => {
  const vhost = vhostWith([address(ok), address(failing)]);
  const view = new OriginHealthView();
  const outcomes: Array<[string, OriginOutcome]> = [];
  const router = routerFor(vhost, view, outcomes);
  view.apply({ v: [address(failing)] });
  for (let i = 0; i < 6; i++) {
    const r = await get(router, vhost);
    assert.equal(r.body, 'ok');
    assert.deepEqual(r.members, [address(ok)]);
  }
  assert.equal(connections.failing, 0);
  assert.deepEqual(new Set(outcomes.map((o) => o.join(' '))), new Set([`${address(ok)} ok`]));
  view.apply({ v: [address(failing), address(ok)] });
  const before = connections.ok;
  const r = await get(router, vhost);
  assert.equal(r.error?.code, 'FLINT_ERR_ORIGIN_DOWN');
  assert.deepEqual(r.members, []);
  assert.ok(r.ms < 50, `took ${r.ms} ms`);
  assert.equal(connections.ok, before);
  assert.equal(router.allDown(vhost), true);
  view.apply({});
  assert.equal(router.allDown(vhost), false);
  await router.close();
});

test('outcomes: a 500 is an answer unless Exclusion ResCode lists it, connect-fail (retried on another member), receive-fail', async () => {
  const dead = `127.0.0.1:${await freePort()}`;
  const view = new OriginHealthView();
  const outcomes: Array<[string, OriginOutcome]> = [];
  const answered = routerFor(vhostWith([address(failing)]), view, outcomes);
  assert.equal((await get(answered, vhostWith([address(failing)]))).status, 500);
  assert.deepEqual(outcomes.at(-1), [address(failing), 'ok'], 'a 500 is not a failure by default');
  await answered.close();
  const listed = vhostWith([address(failing)], 65535, [502, 500]);
  const five = routerFor(listed, view, outcomes);
  assert.equal((await get(five, listed)).status, 500);
  assert.deepEqual(outcomes.at(-1), [address(failing), 'bad-status']);
  await five.close();

  const vhost = vhostWith([dead, address(ok)]);
  const router = routerFor(vhost, view, outcomes);
  for (let i = 0; i < 4; i++) {
    const r = await get(router, vhost);
    assert.equal(r.body, 'ok', `attempt ${i}: ${r.error?.message}`);
  }
  assert.ok(outcomes.some((o) => o[0] === dead && o[1] === 'connect-fail'), 'the refused member was reported');
  await router.close();

  const noRetry = vhostWith([dead, address(ok)], 0);
  const strict = routerFor(noRetry, view, outcomes);
  const codes = new Set<string>();
  for (let i = 0; i < 4; i++) codes.add((await get(strict, noRetry)).error?.code ?? 'none');
  assert.deepEqual(codes, new Set(['none', 'FLINT_ERR_ORIGIN_CONNECT']));
  await strict.close();

  const resetVhost = vhostWith([address(resetting)]);
  const reset = routerFor(resetVhost, view, outcomes);
  const r = await get(reset, resetVhost);
  assert.notEqual(r.error, null);
  assert.deepEqual(outcomes.at(-1), [address(resetting), 'receive-fail']);
  await reset.close();
});

test('a request undici refuses before sending, or whose client body fails, is a 400 and never an outcome of the member', async () => {
  const vhost = vhostWith([address(ok)]);
  const view = new OriginHealthView();
  const outcomes: Array<[string, OriginOutcome]> = [];
  const router = routerFor(vhost, view, outcomes);
  // Hostile inputs that get past a lenient front door and reach undici's own request validation.
  const refused: Array<[string, Partial<RoutedRequest>]> = [
    ['a target with a character above U+00FF', { path: '/\u20ac' }],
    ['a target with a space', { path: '/a b' }],
    ['a method that is not a token', { method: 'G(T' }],
    ['a header value above U+00FF', { headers: ['x-a', '\u20ac'] }],
    ['a header value with a CR', { headers: ['x-a', 'a\rb'] }],
    ['a header name that is not a token', { headers: ['x(y', '1'] }],
    ['Content-Length -1', { method: 'POST', headers: ['content-length', '-1'] }],
    ['Content-Length +5', { method: 'POST', headers: ['content-length', '+5'] }],
    ['a duplicated Content-Length', { method: 'POST', headers: ['content-length', '0', 'content-length', '0'] }],
    ['Transfer-Encoding passed through', { method: 'POST', headers: ['transfer-encoding', 'chunked'] }],
    ['Expect passed through', { headers: ['expect', '100-continue'] }],
    ['Upgrade passed through', { headers: ['upgrade', 'websocket'] }],
    ['Connection with a non-token', { headers: ['connection', 'a b'] }],
  ];
  const before = connections.ok;
  for (const [what, request] of refused) {
    const r = await get(router, vhost, request);
    assert.equal(r.error?.code, 'FLINT_ERR_CLIENT_BAD_REQUEST', `${what}: ${r.error?.code} ${r.error?.message}`);
    assert.equal(r.error?.source, 'client', what);
    assert.doesNotMatch(r.error?.message ?? '', /UND_ERR|127\.0\.0\.1/, `${what}: no internals in the message`);
  }
  assert.equal(connections.ok, before, 'a refused request opens no connection');
  // 13 refusals on a pool of 4 connections: undici's pool would have lost every slot to them and hung here.
  const good = await get(router, vhost);
  assert.equal(good.body, 'ok', 'the pool still serves after more refusals than it has connections');
  assert.deepEqual(outcomes, [[address(ok), 'ok']]);
  outcomes.length = 0;
  // A client body that fails mid-upload (the client went away): the origin did nothing wrong.
  const body = new Readable({ read() {} });
  const pending = get(router, vhost, { method: 'POST', headers: ['content-length', '10'], body });
  body.push('01234');
  setTimeout(() => body.destroy(new Error('client went away')), 20);
  const r = await pending;
  assert.ok(outcomes.every(([, o]) => o === 'ok'), `no failure reported: ${JSON.stringify(outcomes)} (error ${r.error?.code ?? 'none'})`);
  await router.close();
});

test('every member down: one trial, to the member the primary grants; none for a request with a body or when refused', async () => {
  const vhost = vhostWith([address(failing), address(ok)]);
  const view = new OriginHealthView();
  const reports: Array<[string, OriginOutcome, boolean]> = [];
  const sink = { report: (_v: string, m: string, o: OriginOutcome, trial?: boolean) => void reports.push([m, o, trial === true]), rememberFailure: () => undefined };
  const router = new OriginRouter(pino({ level: 'silent' }), view, sink);
  router.apply({ vhosts: [vhost] } as unknown as Config);
  view.apply({ v: [address(failing), address(ok)] });
  const asked: string[] = [];
  let grant: string | null = address(ok);
  view.trials = { ask: (v) => (asked.push(v), Promise.resolve(grant)) };
  const granted = await get(router, vhost);
  assert.equal(granted.body, 'ok');
  assert.deepEqual(granted.members, [address(ok)]);
  assert.deepEqual(reports, [[address(ok), 'ok', true]], 'the trial outcome is flagged');
  grant = null;
  const denied = await get(router, vhost);
  assert.equal(denied.error?.code, 'FLINT_ERR_ORIGIN_DOWN');
  assert.deepEqual(denied.members, []);
  const post = await get(router, vhost, { method: 'POST', body: Readable.from(['x']) });
  assert.equal(post.error?.code, 'FLINT_ERR_ORIGIN_DOWN');
  assert.deepEqual(asked, ['v', 'v'], 'a request with a body never asks');
  view.trials = { ask: () => null };
  const before = connections.ok;
  const quiet = await get(router, vhost);
  assert.equal(quiet.error?.code, 'FLINT_ERR_ORIGIN_DOWN');
  assert.ok(quiet.ms < 50);
  assert.equal(connections.ok, before, 'no trial, no connection');
  await router.close();
});

test('a fill whose member failed is remembered in the view and shared; a URL another worker remembered fails at once', async () => {
  const vhost = vhostWith([address(resetting)]);
  (vhost.options.ttl as { errorExtensionSec: number }).errorExtensionSec = 5;
  const view = new OriginHealthView();
  const outcomes: Array<[string, OriginOutcome]> = [];
  const failed: FailedUrl[] = [];
  const router = routerFor(vhost, view, outcomes, failed);
  const first = await get(router, vhost, { path: '/x', negativeCache: true });
  assert.equal(first.error?.code, 'FLINT_ERR_ORIGIN_DOWN');
  assert.deepEqual(first.members, [address(resetting)]);
  assert.equal(failed.length, 1);
  assert.deepEqual(failed[0]?.slice(0, 2), ['v', '/x']);
  assert.ok((failed[0]?.[2] ?? 0) > Date.now() + 4000, 'until now + ConnectTimeout');
  const again = await get(router, vhost, { path: '/x', negativeCache: true });
  assert.deepEqual(again.members, [], 'remembered: no second attempt');
  view.rememberFailed([['v', '/y', Date.now() + 5000]]);
  const other = await get(router, vhost, { path: '/y', negativeCache: true });
  assert.equal(other.error?.code, 'FLINT_ERR_ORIGIN_DOWN');
  assert.deepEqual(other.members, [], "another worker's failure is honoured");
  // All members down in the view and no trial: nothing was tried, nothing to remember.
  view.apply({ v: [address(resetting)] });
  await get(router, vhost, { path: '/z', negativeCache: true });
  assert.equal(failed.length, 1);
  await router.close();
});
