// Differential tests of the compiled edge rule lists (policy/edge-rules/rule-list.ts path memo, acl.ts with its
// AddressRank, headers.ts) against a plain first-match scan written here: random rule lists and requests from a
// fixed seed (IPv4 and IPv6 CIDRs that overlap, a.b.c.x-y ranges, globs with `*` in the middle, `**`, extensions,
// method and header conditions, tiny memos that refill), plus table tests of AddressRank and the binary peer
// address (http/peer-address.ts). Every compiled answer must equal the scan's.
import assert from 'node:assert/strict';
import { BlockList, SocketAddress } from 'node:net';
import { test } from 'node:test';
import type { AclRule, HeaderRule, Vhost } from '../../src/config/types.js';
import { rulePath } from '../../src/cache/key.js';
import { peerText, peerValue } from '../../src/http/peer-address.js';
import type { RequestHead } from '../../src/http/request.js';
import { AddressRank } from '../../src/policy/address-rank.js';
import { addressValue } from '../../src/policy/address-set.js';
import { aclRulesFromText } from '../../src/policy/edge-rules/acl-parse.js';
import { parseAddressRange } from '../../src/policy/edge-rules/parse.js';
import type { AclVerdict } from '../../src/policy/edge-rules/acl.js';
import { AccessPolicy } from '../../src/policy/edge-rules/acl.js';
import { headerRulesFromText } from '../../src/policy/edge-rules/header-parse.js';
import { HeaderPolicy, NO_EDITS } from '../../src/policy/edge-rules/headers.js';
import { EdgeRuleList } from '../../src/policy/edge-rules/rule-list.js';
import { UrlGlobSet } from '../../src/policy/url-glob.js';

/** mulberry32: a small seeded PRNG, so a failure replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
const int = (r: Rand, n: number): number => Math.floor(r() * n);

// ---- generators -----------------------------------------------------------------------------------------------

const SEGMENTS = ['a', 'b', 'img', 'API', 'api', 'v1', 'v22', 'x.js', 'logo.png', 'A.JPG', 'deep'];

function randomGlob(r: Rand): string {
  switch (int(r, 9)) {
    case 0:
      return `/${pick(r, SEGMENTS)}/*`;
    case 1:
      return `*.${pick(r, ['jpg', 'js', 'png', 'css'])}`;
    case 2:
      return `/${pick(r, SEGMENTS)}/${pick(r, ['v*', 'l*o.png', '*.js', 'a*b*'])}`;
    case 3:
      return `/${pick(r, ['a', 'img', 'api'])}*/${pick(r, SEGMENTS)}`;
    case 4:
      return `/**/${pick(r, SEGMENTS)}`;
    case 5:
      return pick(r, ['*', '/*', '/']);
    case 6:
      return `/${pick(r, SEGMENTS)}/${pick(r, SEGMENTS)}`;
    case 7:
      return `/${pick(r, SEGMENTS)}/**/${pick(r, ['x.js', '*.png', 'deep'])}`;
    default:
      return `/${pick(r, SEGMENTS)}`;
  }
}

function randomRange(r: Rand): string {
  switch (int(r, 7)) {
    case 0:
      return `10.${int(r, 4)}.0.0/${pick(r, [8, 12, 16, 20])}`;
    case 1:
      return `10.${int(r, 4)}.${int(r, 4)}.${int(r, 8)}/${pick(r, [24, 28, 30, 32])}`;
    case 2:
      return `192.168.${int(r, 3)}.${int(r, 100)}-${100 + int(r, 155)}`;
    case 3:
      return `2001:db8:${int(r, 3).toString(16)}::/${pick(r, [32, 48, 64])}`;
    case 4:
      return `2001:db8:${int(r, 3).toString(16)}::${int(r, 16).toString(16)}/${pick(r, [120, 124, 128])}`;
    case 5:
      return `::ffff:10.${int(r, 4)}.0.0/${pick(r, [104, 112])}`;
    default:
      return pick(r, ['0.0.0.0/0', '::/0', '127.0.0.1', '::1', '10.0.0.0/8']);
  }
}

function randomConditions(r: Rand): string {
  const terms: string[] = [];
  if (r() < 0.6) terms.push(`$URL[${randomGlob(r)}]`);
  if (r() < 0.3) terms.push(`$IP[${randomRange(r)}]`);
  if (r() < 0.2) terms.push(`$METHOD[${pick(r, ['GET', 'POST', 'GET|HEAD', 'put'])}]`);
  if (r() < 0.2) terms.push(`$HEADER[${pick(r, ['referer: *evil*', 'Referer: https://ok.test/*', 'x-debug', 'user-agent: *bot*b*'])}]`);
  if (terms.length === 0) terms.push(r() < 0.5 ? `$IP[${randomRange(r)}]` : `$URL[${randomGlob(r)}]`);
  // Term order must not matter.
  for (let i = terms.length - 1; i > 0; i--) {
    const j = int(r, i + 1);
    [terms[i], terms[j]] = [terms[j] as string, terms[i] as string];
  }
  return terms.join(' & ');
}

/** An acl with long runs of address-only lines (the AddressRank's case) mixed with the other kinds. */
function randomAcl(r: Rand, lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const conditions = r() < 0.4 ? `$IP[${randomRange(r)}]` : randomConditions(r);
    const action = pick(r, ['allow', 'deny', 'deny, 401', 'deny, 451', 'redirect, https://#HOST/moved#URL']);
    out.push(`${conditions}, ${action}`);
  }
  return out.join('\n');
}

function randomHeaderLines(r: Rand, lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const target = r() < 0.5 ? '$RES' : '$REQ';
    const name = pick(r, ['x-a', 'x-b', 'server', 'cache-control']);
    const action = pick(r, ['set', 'put', 'append', 'unset']);
    const field = action === 'unset' ? `${target}[${name}]` : `${target}[${name}: v${i}]`;
    const status = target === '$RES' && r() < 0.3 ? `, ${pick(r, ['200', '2xx', '404|5xx', '3xx'])}` : '';
    out.push(r() < 0.1 ? `${field}, ${action}${status}` : `${randomConditions(r)}, ${field}, ${action}${status}`);
  }
  return out.join('\n');
}

/** A range as the rule parser hands it on (an IPv4-mapped one made IPv4). */
function normalised(range: string): string {
  const parsed = parseAddressRange(range);
  assert.ok(parsed.ok, range);
  return parsed.value;
}

const CLIENTS = ['10.0.0.1', '10.1.2.3', '10.3.3.7', '10.2.0.255', '192.168.1.150', '192.168.2.99', '127.0.0.1', '8.8.8.8', '2001:db8::1', '2001:db8:1::5', '2001:db8:2::ff', '::1', '::ffff:10.1.2.3', '2001:db9::1'];

function randomHead(r: Rand): RequestHead {
  const depth = 1 + int(r, 4);
  const segments: string[] = [];
  for (let i = 0; i < depth; i++) segments.push(pick(r, SEGMENTS));
  let path = `/${segments.join('/')}`;
  if (r() < 0.05) path = '/';
  if (r() < 0.05) path = path.replace('/', '%2F');
  const headers: string[] = [];
  if (r() < 0.4) headers.push('referer', pick(r, ['https://evil.test/x', 'https://ok.test/page', 'https://EVIL.test/', 'https://other.test/']));
  if (r() < 0.1) headers.push('x-debug', '1');
  if (r() < 0.2) headers.push('user-agent', pick(r, ['somebot/b', 'curl', 'bot']));
  if (r() < 0.3) headers.push('x-a', 'from-client', 'server', 'origin');
  const ip = pick(r, CLIENTS);
  const head: RequestHead = { method: pick(r, ['GET', 'GET', 'HEAD', 'POST', 'PUT']), path, query: '', headers, host: 'a.com', clientIp: ip };
  // Half the heads carry the address value the way uWS heads do (http/request.ts), half only its text.
  return r() < 0.5 ? { ...head, clientAddress: addressValue(ip) } : head;
}

// ---- the plain scan -------------------------------------------------------------------------------------------

function vhostOf(acl: readonly AclRule[], headers: readonly HeaderRule[], caseSensitive: boolean, defaultAction: 'allow' | 'deny'): Vhost {
  return {
    options: { caseSensitive, ruleCaseSensitive: caseSensitive, accessControl: { enabled: true, defaultAction, denialCode: 403 } },
    rules: { acl, headers },
    cors: null,
  } as unknown as Vhost;
}

/** One rule's conditions, tested one by one with no index: glob alone, node:net BlockList for addresses. */
function holdsPlainly(rule: { conditions: AclRule['conditions'] }, head: RequestHead, path: string, caseSensitive: boolean): boolean {
  for (const c of rule.conditions) {
    if (c.kind === 'url' && new UrlGlobSet([c.glob], caseSensitive).match(rulePath(path)).length === 0) return false;
    if (c.kind === 'method' && !c.methods.includes(head.method)) return false;
    if (c.kind === 'header') {
      const re = c.value === null ? null : new RegExp(`^${c.value.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
      let found = false;
      for (let i = 0; i < head.headers.length; i += 2) if (head.headers[i] === c.name && (re === null || re.test(head.headers[i + 1] as string))) found = true;
      if (!found) return false;
    }
    if (c.kind === 'ip' && !inRange(c.range, head.clientIp)) return false;
  }
  return true;
}

function inRange(range: string, ip: string): boolean {
  const list = new BlockList();
  const v6 = range.includes(':');
  const dash = /^(\d+\.\d+\.\d+\.)(\d+)-(\d+)$/.exec(range);
  if (dash !== null) list.addRange(`${dash[1]}${dash[2]}`, `${dash[1]}${dash[3]}`, 'ipv4');
  else {
    const [address = '', prefix] = range.split('/');
    if (prefix === undefined) list.addAddress(address, v6 ? 'ipv6' : 'ipv4');
    else list.addSubnet(address, Number(prefix), v6 ? 'ipv6' : 'ipv4');
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  const client = mapped === null ? ip : (mapped[1] as string);
  // Families never mix (policy/address-set.ts): an IPv4 client is not in `::/0`; mapped ranges were made IPv4 by the parser.
  if (client.includes(':') !== v6) return false;
  return list.check(client, v6 ? 'ipv6' : 'ipv4');
}

function plainVerdict(rules: readonly AclRule[], head: RequestHead, path: string, caseSensitive: boolean, defaultAction: 'allow' | 'deny'): AclVerdict | null {
  for (const rule of rules) {
    if (!holdsPlainly(rule, head, path, caseSensitive)) continue;
    const a = rule.action;
    if (a.kind === 'allow') return null;
    if (a.kind === 'deny') return { kind: 'deny', status: a.status ?? 403 };
    return { kind: 'redirect', location: a.url.replace(/#HOST/g, head.host).replace(/#URL/g, head.path) };
  }
  return defaultAction === 'deny' ? { kind: 'deny', status: 403 } : null;
}

function statusHolds(statuses: readonly string[], status: number): boolean {
  return statuses.length === 0 || statuses.some((s) => s === String(status) || (s.endsWith('xx') && s[0] === String(status)[0]));
}

function applyPlainly(headers: string[], rule: HeaderRule): void {
  const value = rule.value ?? '';
  if (rule.action === 'put') headers.push(rule.name, value);
  else if (rule.action === 'append') {
    const at = headers.map((h, i) => (i % 2 === 0 && h === rule.name ? i : -1)).filter((i) => i >= 0);
    const last = at[at.length - 1];
    if (last === undefined) headers.push(rule.name, value);
    else headers[last + 1] = `${headers[last + 1] as string}, ${value}`;
  } else {
    const kept: string[] = [];
    for (let i = 0; i < headers.length; i += 2) if (headers[i] !== rule.name) kept.push(headers[i] as string, headers[i + 1] as string);
    headers.length = 0;
    headers.push(...kept);
    if (rule.action === 'set') headers.push(rule.name, value);
  }
}

// ---- tests ----------------------------------------------------------------------------------------------------

test('AddressRank: the lowest rank among the ranges holding an address, against a scan (overlaps, edges, IPv6)', () => {
  const table: Array<[string[], string, number]> = [
    [['10.0.0.0/8', '10.1.0.0/16'], '10.1.2.3', 0],
    [['10.1.0.0/16', '10.0.0.0/8'], '10.1.2.3', 0],
    [['10.1.0.0/16', '10.0.0.0/8'], '10.2.0.0', 1],
    [['10.0.0.0/8', '10.1.0.0/16'], '11.0.0.0', -1],
    [['10.0.0.0/8'], '9.255.255.255', -1],
    [['10.0.0.0/8'], '10.255.255.255', 0],
    [['0.0.0.0/0'], '255.255.255.255', 0],
    [['192.168.1.10-20', '192.168.1.15-30'], '192.168.1.25', 1],
    [['192.168.1.10-20', '192.168.1.15-30'], '192.168.1.15', 0],
    [['2001:db8::/32', '2001:db8:1::/48'], '2001:db8:1::1', 0],
    [['2001:db8:1::/48', '2001:db8::/32'], '2001:db8:1::1', 0],
    [['2001:db8:1::/48', '2001:db8::/32'], '2001:db8:2::1', 1],
    [['::/0', '10.0.0.0/8'], '10.0.0.1', 1],
    [['10.0.0.0/8', '::/0'], '2001:db8::1', 1],
    [['::ffff:10.0.0.0/104'], '::ffff:10.9.9.9', 0],
    [['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 0],
  ];
  for (const [ranges, ip, want] of table) {
    const rank = new AddressRank(ranges.map((range, i) => ({ range, rank: i })));
    assert.equal(rank.lowest(addressValue(ip)), want, `${ranges.join(' ')} @ ${ip}`);
  }
  assert.equal(new AddressRank([{ range: '10.0.0.0/8', rank: 3 }]).lowest(null), -1, 'no address: no rank');
  assert.equal(new AddressRank([]).minRank, Number.POSITIVE_INFINITY);
  const twice = new AddressRank([
    { range: '10.0.0.0/24', rank: 1 },
    { range: '10.0.2.0/24', rank: 1 },
  ]);
  assert.equal(twice.lowest(addressValue('10.0.1.5')), -1, 'the gap between two ranges of one rank stays a gap');
  assert.equal(twice.lowest(addressValue('10.0.2.5')), 1);

  const r = prng(20);
  for (let round = 0; round < 60; round++) {
    const ranges = Array.from({ length: 1 + int(r, 40) }, (_, i) => ({ range: normalised(randomRange(r)), rank: (i * 7919) % 101 }));
    const rank = new AddressRank(ranges);
    for (const ip of CLIENTS) {
      let want = -1;
      for (const x of ranges) if (inRange(x.range, ip) && (want < 0 || x.rank < want)) want = x.rank;
      assert.equal(rank.lowest(addressValue(ip)), want, `round ${round} ${ip} in ${JSON.stringify(ranges)}`);
    }
  }
});

test('compiled acl = plain first-match scan, for random lists and requests (fixed seed)', () => {
  const r = prng(2026);
  let decided = 0;
  for (let round = 0; round < 40; round++) {
    const text = randomAcl(r, 5 + int(r, 120));
    const parsed = aclRulesFromText('acl.txt', text);
    assert.deepEqual(parsed.problems, [], text);
    const caseSensitive = r() < 0.3;
    const defaultAction = r() < 0.3 ? 'deny' : 'allow';
    // A memo of 4 paths refills all the time; every request is asked twice (computed, then remembered).
    const policy = new AccessPolicy(vhostOf(parsed.rules, [], caseSensitive, defaultAction), null, 4);
    for (let i = 0; i < 150; i++) {
      const head = randomHead(r);
      const path = head.path;
      const want = plainVerdict(parsed.rules, head, path, caseSensitive, defaultAction);
      if (want !== null) decided++;
      for (const ask of ['first', 'again']) assert.deepEqual(policy.verdict(head, path), want, `${ask}: round ${round}, ${head.method} ${path} from ${head.clientIp} ${JSON.stringify(head.headers)}\n${text}`);
    }
  }
  assert.ok(decided > 1000, `the random cases exercise refusals too (${decided})`);
});

test('compiled header rules = every matching line in order, for random lists and requests (fixed seed)', () => {
  const r = prng(77);
  let applied = 0;
  for (let round = 0; round < 40; round++) {
    const text = randomHeaderLines(r, 3 + int(r, 60));
    const parsed = headerRulesFromText('headers.txt', text);
    assert.deepEqual(parsed.problems, [], text);
    const caseSensitive = r() < 0.3;
    const policy = new HeaderPolicy(vhostOf([], parsed.rules, caseSensitive, 'allow'), null, 3);
    for (let i = 0; i < 120; i++) {
      const head = randomHead(r);
      const status = pick(r, [200, 206, 304, 404, 503]);
      const input = { head, path: head.path, cacheResult: 'TCP_HIT' };
      const stored = ['server', 'origin', 'x-a', 'one', 'x-b', 'two', 'x-a', 'three'];
      const wantRes = stored.slice();
      let any = false;
      for (const rule of parsed.rules) {
        if (rule.target !== 'res' || !statusHolds(rule.status, status) || !holdsPlainly(rule, head, head.path, caseSensitive)) continue;
        any = true;
        applyPlainly(wantRes, rule);
      }
      const wantReq = ['x-forwarded-for', head.clientIp, 'x-a', 'req'];
      for (const rule of parsed.rules) if (rule.target === 'req' && holdsPlainly(rule, head, head.path, caseSensitive)) applyPlainly(wantReq, rule);
      if (any) applied++;
      for (const ask of ['first', 'again']) {
        const at = `${ask}: round ${round}, ${head.method} ${head.path} ${status} from ${head.clientIp}\n${text}`;
        const edits = policy.hitEdits(input, status);
        assert.equal(edits !== NO_EDITS, any, `hitEdits says whether a rule applies: ${at}`);
        const res = stored.slice();
        policy.rewriteResponse(res, input, status);
        assert.deepEqual(res, wantRes, at);
        if (edits !== null) {
          const shared = stored.slice();
          edits.apply(shared);
          assert.deepEqual(shared, wantRes, `shared hit edits: ${at}`);
        }
        const req = ['x-forwarded-for', head.clientIp, 'x-a', 'req'];
        policy.rewriteRequest(req, head, head.path);
        assert.deepEqual(req, wantReq, at);
      }
    }
  }
  assert.ok(applied > 500, `the random cases apply rules too (${applied})`);
});

test('a $IP line below a matching URL line never makes the acl read the peer address', () => {
  const parsed = aclRulesFromText('acl.txt', '$URL[/open/*], allow\n$IP[10.0.0.0/8], deny\n$URL[/x/*] & $IP[::1], deny');
  const policy = new AccessPolicy(vhostOf(parsed.rules, [], false, 'allow'));
  let reads = 0;
  const counting = (path: string): RequestHead => ({
    method: 'GET',
    path,
    query: '',
    headers: [],
    host: 'a.com',
    get clientIp(): string {
      reads++;
      return '10.1.1.1';
    },
    get clientAddress(): number | null {
      reads++;
      return addressValue('10.1.1.1') as number;
    },
  });
  assert.equal(policy.verdict(counting('/open/a'), '/open/a'), null);
  assert.equal(reads, 0, 'the first line decided: no peer read');
  assert.deepEqual(policy.verdict(counting('/other'), '/other'), { kind: 'deny', status: 403 });
  assert.equal(reads, 1, 'an address line can win: one read');
});

test('peer address: uWS binary forms to values, and RFC 5952 text (the form node:net gives the TLS front end)', () => {
  const bytes = (list: number[]): ArrayBuffer => new Uint8Array(list).buffer;
  const table: Array<[number[], number | bigint | null, string]> = [
    [[127, 0, 0, 1], 0x7f000001, '127.0.0.1'],
    [[255, 255, 255, 255], 0xffffffff, '255.255.255.255'],
    [[0, 0, 0, 0], 0, '0.0.0.0'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3], 0x0a010203, '10.1.2.3'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 1n, '::1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd], BigInt(`0x20010db8${"0".repeat(20)}abcd`), '2001:db8::abcd'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 255, 255, 10, 1, 2, 3], 0x1ffff0a010203n, '::1:ffff:a01:203'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], BigInt(`0x20010db8000000010000000100000001`), '2001:db8:0:1:0:1:0:1'],
    [[0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], BigInt(`0x20010000000000010000000000000001`), '2001:0:0:1::1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], BigInt(`0x20010db8000000000001000000000001`), '2001:db8::1:0:0:1'],
    [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], BigInt(`0xfe800000000000000000000000000000`), 'fe80::'],
    [[], null, ''],
    [[1, 2, 3], null, ''],
  ];
  for (const [list, value, text] of table) {
    const v = peerValue(bytes(list));
    assert.equal(v, value, list.join(','));
    assert.equal(peerText(v), text, list.join(','));
    if (v !== null) assert.equal(addressValue(text), v, `text ${text} parses back to the same value`);
    if (typeof v === 'bigint') assert.equal(new SocketAddress({ address: text, family: 'ipv6' }).address, text, `${text} is node's own spelling`);
  }
});

test('rule list memo under hostile paths: unique paths, very long paths, encoded slashes, case', () => {
  type R = { readonly position: number; readonly glob: string | null };
  const rules: R[] = ['/admin/*', '*.php', null, '/a*b/c'].map((glob, position) => ({ position, glob }));
  const list = new EdgeRuleList(rules, (r) => r.glob, false, 8);
  const positions = (path: string): number[] => list.all(path).map((r) => r.position);
  // A flood of distinct paths keeps refilling an 8-entry memo; every answer stays right.
  for (let i = 0; i < 2000; i++) {
    assert.deepEqual(positions(`/admin/${i}`), [0, 2]);
    assert.deepEqual(positions(`/x/${i}.php`), [1, 2]);
    assert.deepEqual(positions(`/x/${i}`), [2]);
  }
  const long = `/admin/${'a'.repeat(5000)}.php`;
  for (let i = 0; i < 3; i++) assert.deepEqual(positions(long), [0, 1, 2], 'a path too long to remember is matched every time');
  assert.deepEqual(positions('/admin%2Fx'), [0, 2], 'an encoded slash is a slash to the rules');
  assert.deepEqual(positions('/ADMIN/x'), [0, 2], 'case-insensitive list');
  assert.deepEqual(positions('/aXYZb/c'), [2, 3], 'mid-segment glob');
  assert.deepEqual(positions('/admin/x'), positions('/admin/x'), 'remembered answer = computed answer');
  const first = list.first('/x/y.php', (r, want: number) => r.position >= want, 2);
  assert.equal(first?.position, 2, 'first: the lowest position passing the check, across globbed and any-URL rules');
  assert.equal(new EdgeRuleList<R>([], (r) => r.glob, false).first('/a', () => true, 0), undefined);
});
