// Unit tests of `<Options><Dims>` and `<Cache><Dims>` config (issue 21): a good config loads into DimsConfig and
// DimsLimits (the Composite file read as bytes), and each mistake is one problem naming the element path: bad
// keyword, names, offsets, colours, text variables, missing File or Text, duplicate names, ByOriginal chains that
// use what the vhost does not define (or byoriginal itself, or output settings), out-of-range limits.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { loadConfigFromText } from '../../src/config/load.js';

const dir = mkdtempSync(path.join(tmpdir(), 'flint-dims-config-'));
const logo = path.join(dir, 'logo.png');
writeFileSync(logo, Buffer.from('not really a png, read as bytes'));
after(() => rmSync(dir, { recursive: true, force: true }));

const vhost = (dims: string): string => `<Vhosts><Vhost Name="img.com"><Origin><Address>10.0.0.1</Address></Origin><Options>${dims}</Options></Vhost></Vhosts>`;

function problemsOf(serverXml: string, vhostsXml: string): readonly string[] {
  try {
    loadConfigFromText('/srv/flint/conf', serverXml, vhostsXml, { cpuCount: 2 });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('the config was accepted');
}

test('a full <Dims> loads', () => {
  const config = loadConfigFromText(
    '/srv/flint/conf',
    '<Server><Cache><Dims Concurrency="3" Queue="5" Timeout="2.5"/></Cache></Server>',
    vhost(`<Dims Status="Active" Keyword="img" MaxSourceSize="5" MaxPixels="1000000" FirstFrameOnly="ON">
      <Composite Name="logo" File="${logo}" Gravity="se" Geometry="+10+5%" Dissolve="40"/>
      <Annotation Name="title" Text="$QUERYSTRING[t]" FontSize="30" FontColor="#FF0000" BackgroundColor="#000000" Gravity="n"/>
      <Annotation Name="fixed" Text="Hello"/>
      <ByOriginal Name="big"><Condition Width="1000" Height="800">/resize/500x/quality/60/</Condition><Condition>/composite/logo/</Condition></ByOriginal>
    </Dims>`),
    { cpuCount: 2 },
  );
  assert.deepEqual(config.server.dims, { concurrency: 3, queueLimit: 5, timeoutMs: 2500 });
  const dims = config.vhosts[0]?.dims;
  assert.ok(dims !== null && dims !== undefined);
  assert.equal(dims.keyword, 'img');
  assert.equal(dims.maxSourceBytes, 5 * 1024 * 1024);
  assert.equal(dims.maxPixels, 1_000_000);
  assert.equal(dims.firstFrameOnly, true);
  assert.deepEqual(dims.composites.map((c) => ({ ...c, imageBase64: Buffer.from(c.imageBase64, 'base64').toString() })), [
    { name: 'logo', file: logo, imageBase64: 'not really a png, read as bytes', gravity: 'se', x: 10, y: 5, percent: true, dissolve: 40 },
  ]);
  assert.deepEqual(dims.annotations[0], { name: 'title', text: null, queryKey: 't', font: 'sans', fontSize: 30, fontColor: '#ff0000', backgroundColor: '#000000', gravity: 'n', x: 0, y: 0, percent: false, dissolve: 100 });
  assert.equal(dims.annotations[1]?.text, 'Hello');
  assert.deepEqual(dims.byOriginal, [{ name: 'big', conditions: [{ width: 1000, height: 800, chain: '/resize/500x/quality/60/' }, { width: 0, height: 0, chain: '/composite/logo/' }] }]);
  // Inactive (the default) = off; the limits keep their defaults.
  const off = loadConfigFromText('/srv/flint/conf', '<Server/>', vhost('<Dims Keyword="x"/>'), { cpuCount: 2 });
  assert.equal(off.vhosts[0]?.dims, null);
  assert.deepEqual(off.server.dims, { concurrency: 2, queueLimit: 32, timeoutMs: 10_000 });
});

test('each <Dims> mistake is a problem naming its element', () => {
  const at = 'vhosts.xml: Vhosts/Vhost[Name=img.com]/Options/Dims';
  const table: Array<[string, RegExp]> = [
    ['<Dims Status="On"/>', /Dims@Status: "On" is not one of Active, Inactive/],
    ['<Dims Status="Active" Keyword="a/b"/>', /Dims@Keyword: "a\/b" is not a keyword/],
    ['<Dims Status="Active" MaxSourceSize="0"/>', /Dims@MaxSourceSize: "0" is out of range/],
    ['<Dims Status="Active" MaxPixels="999999999999"/>', /Dims@MaxPixels: .* out of range/],
    ['<Dims Status="Active" Colour="red"/>', /unknown attribute/],
    [`<Dims Status="Active"><Composite Name="l o g o" File="${logo}"/></Dims>`, /Composite@Name: "l o g o" is not a name/],
    ['<Dims Status="Active"><Composite Name="logo"/></Dims>', /Composite@File: missing/],
    ['<Dims Status="Active"><Composite Name="logo" File="/does/not/exist.png"/></Dims>', /Composite@File: "\/does\/not\/exist.png" cannot be read/],
    [`<Dims Status="Active"><Composite Name="logo" File="${logo}" Geometry="10,10"/></Dims>`, /Geometry: "10,10" is not an offset/],
    [`<Dims Status="Active"><Composite Name="logo" File="${logo}" Gravity="middle"/></Dims>`, /Gravity: "middle" is not one of/],
    [`<Dims Status="Active"><Composite Name="logo" File="${logo}" Dissolve="101"/></Dims>`, /Dissolve: "101" is out of range/],
    [`<Dims Status="Active"><Composite Name="a" File="${logo}"/><Composite Name="a" File="${logo}"/></Dims>`, /Composite(\[2\])?@Name: "a" is already the Name of another <Composite>/],
    ['<Dims Status="Active"><Annotation Name="t"/></Dims>', /Annotation@Text: missing/],
    ['<Dims Status="Active"><Annotation Name="t" Text="$HEADER[x]"/></Dims>', /the only variable is \$QUERYSTRING\[key\]/],
    ['<Dims Status="Active"><Annotation Name="t" Text="x" FontColor="red"/></Dims>', /FontColor: "red" is not a colour/],
    ['<Dims Status="Active"><ByOriginal Name="b"><Condition>/composite/nope/</Condition></ByOriginal></Dims>', /no <Composite> is named "nope"/],
    ['<Dims Status="Active"><ByOriginal Name="b"><Condition>/byoriginal/b/</Condition></ByOriginal></Dims>', /cannot use byoriginal/],
    ['<Dims Status="Active"><ByOriginal Name="b"><Condition>/format/webp/</Condition></ByOriginal></Dims>', /image operations and quality only/],
    ['<Dims Status="Active"><ByOriginal Name="b"><Condition>/resize/</Condition></ByOriginal></Dims>', /op\/arg pairs/],
  ];
  for (const [xml, problem] of table) {
    const problems = problemsOf('<Server/>', vhost(xml));
    assert.equal(problems.length, 1, `${xml}: ${problems.join(' | ')}`);
    assert.ok((problems[0] ?? '').startsWith(at), problems[0]);
    assert.match(problems[0] ?? '', problem, xml);
  }
  assert.match(problemsOf('<Server><Cache><Dims Concurrency="0"/></Cache></Server>', vhost(''))[0] ?? '', /^server\.xml: Server\/Cache\/Dims@Concurrency: "0" is out of range \(1\.\.64\)/);
  assert.match(problemsOf('<Server><Cache><Dims Timeout="0"/></Cache></Server>', vhost(''))[0] ?? '', /Dims@Timeout: "0" is out of range/);
});
