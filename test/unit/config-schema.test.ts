// Unit tests of config/schema and config/parse: the table covers every Config field (and nothing else), drives the
// known elements and repeated elements, renders every row; the raw tree keeps attributes, arrays and no comments.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { parseXml } from '../../src/config/parse.js';
import { REPEATED_ELEMENTS, SETTINGS, TYPE_DOCS, formatSize, getSetting, renderConfigReference, settingFile } from '../../src/config/schema.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Fields that are empty by default (repeated settings with schema default `[]`, and lists whose default `OFF` reads as
 * none): an empty array is their leaf. Also a query-string rule's keys: only Keep/Drop rules have them, and the
 * shipped conf/ leaves those as comments (a key left out of the cache key must not change the origin's answer, which
 * only the operator can know).
 */
const EMPTY_BY_DEFAULT = new Set([
  ...SETTINGS.filter((s) => (Array.isArray(s.default) && s.default.length === 0) || (s.type === 'status-set' && s.default === 'OFF')).map((s) => s.field),
  'vhosts[].rules.queryString[].keys',
  // <ErrorPage> names files the shipped conf/ cannot ship; it shows the element commented out.
  'vhosts[].errorPages',
  // acl rules in the shipped conf/ would need <AccessControl>ON there, and a shipped conf refuses nobody.
  'vhosts[].rules.acl',
  // Header rules are examples in the shipped conf/, not defaults.
  'vhosts[].rules.headers',
  // Compression targets default to a built-in list (transform/compression-targets.ts); the conf shows an example.
  'vhosts[].rules.compression',
  // Throttling rules need <Throttling>ON, which the shipped conf/ shows commented out.
  'vhosts[].rules.throttling',
  // <Sub> and <URLRewrite> name other vhosts; the shipped conf/ shows them commented out.
  'vhosts[].sub',
  'urlRewrites',
]);

/** Every leaf path of a value: `server.manager.port`, `vhosts[].origins[].host`, ... */
function leafPaths(value: unknown, prefix: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0 && EMPTY_BY_DEFAULT.has(prefix)) return [prefix];
    assert.ok(value.length > 0, `${prefix} is empty in the sample config; the coverage test needs one element`);
    return leafPaths(value[0], `${prefix}[]`);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix === '' ? key : `${prefix}.${key}`));
  }
  return [prefix];
}

/** A null optional group (`vhosts[].https` without <Https>) stands for its fields. */
const covers = (field: string, leaf: string): boolean => leaf === field || leaf.startsWith(`${field}.`) || leaf.startsWith(`${field}[`) || (NULL_GROUPS.has(leaf) && (field.startsWith(`${leaf}.`) || field.startsWith(`${leaf}[`)));
const NULL_GROUPS = new Set(['vhosts[].https', 'vhosts[].signedUrl', 'vhosts[].cors', 'vhosts[].errorPages', 'server.cluster', 'vhosts[].sub', 'urlRewrites', 'vhosts[].dims', 'vhosts[].media.mp4Hls', 'vhosts[].media.mp3Hls', 'vhosts[].throttling']);

test('the schema covers every Config field, and every schema field exists in Config', () => {
  // The shipped config has at least one element in every array.
  // A rule's `source` (where it was written) is bookkeeping for messages, not a setting.
  const leaves = leafPaths(loadConfig(path.join(REPO_ROOT, 'conf'), { cpuCount: 1 }), '').filter(
    (p) => p !== 'confDir' && p !== 'hash' && !p.endsWith('[].source'),
  );
  const fields = SETTINGS.map((s) => s.field);
  const uncovered = leaves.filter((leaf) => !fields.some((field) => covers(field, leaf)));
  assert.deepEqual(uncovered, [], 'Config fields without a schema row');
  const unknown = fields.filter((field) => !leaves.some((leaf) => covers(field, leaf)));
  assert.deepEqual(unknown, [], 'schema rows naming no Config field');
});

test('the shipped conf/ shows every setting (set, or commented out with its default)', () => {
  const serverXml = readFileSync(path.join(REPO_ROOT, 'conf', 'server.xml'), 'utf8');
  const vhostsXml = readFileSync(path.join(REPO_ROOT, 'conf', 'vhosts.xml'), 'utf8');
  for (const s of SETTINGS) {
    // Per-vhost settings that inherit are shown in <VHostDefault>; the others in vhosts.xml.
    const text = s.path.startsWith('Server/') || s.inherit === true ? serverXml : vhostsXml;
    const [elementPath = '', attr] = s.path.split('@');
    const element = elementPath.slice(elementPath.lastIndexOf('/') + 1);
    const defaults = s.default === null ? [] : typeof s.default === 'string' ? [s.default] : s.default;
    for (const value of defaults) {
      const written = attr === undefined ? `<${element}>${value}</${element}>` : `${attr}="${value}"`;
      assert.ok(text.includes(written), `conf/ does not show ${s.path} = ${value} (${written})`);
    }
    if (defaults.length === 0) assert.ok(text.includes(attr === undefined ? `<${element}>` : `${attr}=`), `conf/ does not show ${s.path}`);
  }
});

test('schema rows are well formed', () => {
  const paths = new Set<string>();
  for (const s of SETTINGS) {
    assert.ok(!paths.has(s.path), `duplicate path ${s.path}`);
    paths.add(s.path);
    // STON names carry digits (Res2xx, TTLExtensionBy5xx) but always start with a letter.
    assert.match(s.path, /^(Server|Vhosts|Vhost)([/@][A-Za-z][A-Za-z0-9]*)+$/, s.path);
    assert.ok(s.doc.length > 10 && !s.doc.includes('\n'), `${s.path}: one-line doc`);
    assert.equal(s.type === 'enum', s.values !== undefined, `${s.path}: values exactly for enums`);
    assert.ok(s.inherit !== true || s.path.startsWith('Vhost/'), `${s.path}: only Vhost/ settings inherit`);
    assert.ok(s.required !== true || s.default === null, `${s.path}: a required setting has no default`);
    assert.ok(Array.isArray(s.default) === (s.repeated === true) || (s.required === true && s.default === null), `${s.path}: array default iff repeated`);
    assert.ok(s.type in TYPE_DOCS);
    assert.equal(getSetting(s.path), s);
  }
  assert.throws(() => getSetting('Server/Nope'), /no setting Server\/Nope/);
  assert.equal(settingFile(getSetting('Server/Cache/Workers')), 'server.xml');
  assert.equal(settingFile(getSetting('Vhost/Listen')), 'vhosts.xml');
  assert.equal(settingFile(getSetting('Vhosts/Default')), 'vhosts.xml');
});

test('repeated elements are exactly Vhost, Alias, Listen, Address, Address2, IgnoreSuffix, Allow, Deny, ServerName, Disk, HealthChecker, Rule, MatchingList, Key, Path, ErrorPage, URLRewrite, Cluster/Url and the Dims ones', () => {
  assert.deepEqual([...REPEATED_ELEMENTS].sort(), ['Address', 'Address2', 'Alias', 'Allow', 'Annotation', 'ByOriginal', 'Composite', 'Condition', 'Deny', 'Disk', 'ErrorPage', 'HealthChecker', 'IgnoreSuffix', 'Key', 'Listen', 'MatchingList', 'Path', 'Rule', 'ServerName', 'URLRewrite', 'Url', 'Vhost']);
});

test('the reference lists every setting with its default', () => {
  const doc = renderConfigReference();
  for (const s of SETTINGS) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${s.path}\` |`));
    assert.ok(row !== undefined, `no row for ${s.path}`);
    if (typeof s.default === 'string') assert.ok(row.includes(`\`${s.default}\``), `${s.path}: default shown`);
  }
  assert.match(doc, /\| `Server\/Cache\/BlockSize` \| size \| `1M` \| bytes \| 64K\.\.64M, power of two \|/);
  assert.match(doc, /\| `Vhost\/OriginOptions\/BalanceMode` \| enum: RoundRobin, Hash, Session \(inherits\) \|/);
  assert.match(doc, /\| `Vhost\/Options\/TTL@Priority` \| enum: origin, config \(inherits\) \| `origin` \|/);
  assert.match(doc, /\| `Vhost\/Options\/TTL\/Res2xx@Max` \| whole-seconds \(inherits\) \| `86400` \| s \| 0\.\.2147483648 \|/);
  assert.match(doc, /\| `Server\/Cache\/HotObjectMaxSize` \| size \| `1M` \| bytes \| 0\.\.16M \|/);
});

test('formatSize writes bytes the way the XML does', () => {
  assert.equal(formatSize(0), '0');
  assert.equal(formatSize(1000), '1000');
  assert.equal(formatSize(65536), '64K');
  assert.equal(formatSize(64 * 1024 ** 2), '64M');
  assert.equal(formatSize(3 * 1024 ** 4), '3T');
  assert.equal(formatSize(1024 ** 5), '1024T');
});

test('parseXml keeps attributes, makes repeated elements arrays, drops comments and the declaration', () => {
  const result = parseXml(
    'vhosts.xml',
    '<?xml version="1.0"?>\n<!-- top -->\n<Vhosts><Vhost Name="a.com"><!-- c --><Alias> b.com </Alias><Origin><Address>x</Address></Origin>' +
      '<Options><ViaHeader>OFF</ViaHeader></Options></Vhost><Default>a.com</Default></Vhosts>',
  );
  assert.ok(result.ok);
  assert.deepEqual(result.tree, {
    Vhosts: {
      Vhost: [{ '@_Name': 'a.com', Alias: ['b.com'], Origin: { Address: ['x'] }, Options: { ViaHeader: 'OFF' } }],
      Default: 'a.com',
    },
  });
});

test('parseXml keeps values as strings and text next to attributes', () => {
  const result = parseXml('server.xml', '<Server><Cache><Workers>010</Workers><Storage><Disk Quota="1e3">0x10</Disk></Storage></Cache></Server>');
  assert.ok(result.ok);
  assert.deepEqual(result.tree, { Server: { Cache: { Workers: '010', Storage: { Disk: [{ '@_Quota': '1e3', '#text': '0x10' }] } } } });
});

test('parseXml reports malformed XML with the file and line, and never throws', () => {
  assert.deepEqual(parseXml('server.xml', '<Server>\n<Host>\n</Server>'), {
    ok: false,
    problem: "server.xml: line 3, column 1: malformed XML: Expected closing tag 'Host' (opened in line 2, col 1) instead of closing tag 'Server'.",
  });
  assert.deepEqual(parseXml('server.xml', ' \n'), { ok: false, problem: 'server.xml: the file is empty' });
  const reserved = parseXml('server.xml', '<Server><constructor>1</constructor></Server>');
  assert.ok(!reserved.ok && reserved.problem.startsWith('server.xml: malformed XML: '), JSON.stringify(reserved));
  assert.ok(parseXml('server.xml', '\uFEFF<Server/>').ok, 'a UTF-8 byte order mark is allowed');
});
