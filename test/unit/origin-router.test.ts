// Unit tests of origin/router.ts against real loopback servers: members the health view calls down are skipped,
// every member down answers FLINT_ERR_ORIGIN_DOWN at once without a connection, outcomes reach the sink
// ('ok', '5xx', 'connect-fail', 'receive-fail'), a refused member is retried on another within <Retry>.
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
import { OriginRouter } from '../../src/origin/router.js';
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

function vhostWith(addresses: readonly string[], retries = 65535): Vhost {
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
      dnsRefreshMs: 10_000,
      hashIgnoreSuffixes: [],
      originAffinity: true,
      tls: null,
    },
    options: { ttl: { errorExtensionSec: 0 } },
  } as unknown as Vhost;
}

interface Result {
  status: number;
  body: string;
  error: FlintError | null;
  members: string[];
  ms: number;
}

function routerFor(vhost: Vhost, view: OriginHealthView, outcomes: Array<[string, OriginOutcome]>): OriginRouter {
  const router = new OriginRouter(pino({ level: 'silent' }), view, { report: (_v, member, outcome) => outcomes.push([member, outcome]) });
  router.apply({ vhosts: [vhost] } as unknown as Config);
  return router;
}

function get(router: OriginRouter, vhost: Vhost): Promise<Result> {
  const started = performance.now();
  const members: string[] = [];
  return new Promise((resolve) => {
    let status = 0;
    let body = '';
    router.open(
      vhost,
      { method: 'GET', path: '/', headers: [], body: null, selection: { mode: 'RoundRobin', hashKey: '/' } },
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

test('outcomes: 5xx, connect-fail (retried on another member), receive-fail', async () => {
  const dead = `127.0.0.1:${await freePort()}`;
  const view = new OriginHealthView();
  const outcomes: Array<[string, OriginOutcome]> = [];
  const five = routerFor(vhostWith([address(failing)]), view, outcomes);
  assert.equal((await get(five, vhostWith([address(failing)]))).status, 500);
  assert.deepEqual(outcomes.at(-1), [address(failing), '5xx']);
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
