/**
 * `<Https>`, `<RedirectHttpToHttps>` and `<Http2>` in the config: certificates are checked when the config loads and
 * every problem names the file and the element (issue 18 §3). Certificates are made at test time with openssl.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { makeCert, makeExpiredCert } from '../helpers/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'flint-https-conf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const a = makeCert(dir, 'a', ['a.test']);
const b = makeCert(dir, 'b', ['b.test', '*.b.test']);
const soon = makeCert(dir, 'soon', ['soon.test'], 7);
const expired = makeExpiredCert(dir, 'old', 'old.test');
const garbage = join(dir, 'garbage.pem');
writeFileSync(garbage, 'not a certificate\n');
const unreadable = join(dir, 'unreadable.crt');
writeFileSync(unreadable, '');
chmodSync(unreadable, 0o000);

const SERVER = '<Server><Cache><Storage><Disk>/tmp/x</Disk></Storage></Cache></Server>';

function vhost(name: string, https: string, extra = ''): string {
  return `<Vhost Name="${name}"><Listen>127.0.0.1:8080</Listen><Origin><Address>10.0.0.1</Address></Origin>${https}${extra}</Vhost>`;
}
function https(cert: string, key: string, attrs = 'Listen="127.0.0.1:8443"'): string {
  return `<Https ${attrs}><Cert>${cert}</Cert><Key>${key}</Key></Https>`;
}
function load(vhosts: string, server = SERVER): ReturnType<typeof loadConfigFromText> {
  return loadConfigFromText('/srv/flint/conf', server, `<Vhosts>${vhosts}</Vhosts>`, { cpuCount: 1 });
}
function problems(vhosts: string, server = SERVER): string[] {
  try {
    load(vhosts, server);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

test('a valid <Https> carries the checked PEM text, versions and HSTS; vhosts share one Https Listen', () => {
  const config = load(vhost('a.test', https(a.cert, a.key)) + vhost('b.test', `<Https Listen="127.0.0.1:8443"><Cert>${b.cert}</Cert><Key>${b.key}</Key><Hsts IncludeSubDomains="ON">600</Hsts></Https><RedirectHttpToHttps ResCode="308"/>`));
  const [va, vb] = config.vhosts;
  assert.equal(va?.https?.listen.port, 8443);
  assert.match(va?.https?.certPem ?? '', /BEGIN CERTIFICATE/);
  assert.equal(va?.https?.minVersion, 'TLSv1.2');
  assert.equal(va?.https?.maxVersion, 'TLSv1.3');
  assert.equal(va?.https?.engine, 'node');
  assert.equal(va?.https?.hsts, null);
  assert.equal(va?.redirectHttpToHttps, null);
  assert.equal(vb?.https?.hsts, 'max-age=600; includeSubDomains');
  assert.equal(vb?.redirectHttpToHttps, 308);
  assert.ok((va?.https?.notAfterMs ?? 0) > Date.now() + 20 * 24 * 3600 * 1000);
});

test('<Https> in <VHostDefault> is inherited; a vhost certificate expiring within 14 days still loads', () => {
  const server = `<Server><Cache><Storage><Disk>/tmp/x</Disk></Storage></Cache><VHostDefault>${https(soon.cert, soon.key)}</VHostDefault></Server>`;
  const config = load(vhost('a.test', '') + vhost('b.test', ''), server);
  assert.equal(config.vhosts[1]?.https?.certPath, soon.cert);
  assert.ok((config.vhosts[0]?.https?.notAfterMs ?? 0) < Date.now() + 14 * 24 * 3600 * 1000);
});

test('<Https Engine="uws"> is read, alone or shared by the vhosts of one Https Listen', () => {
  const config = load(vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:8443" Engine="uws"')) + vhost('b.test', https(b.cert, b.key, 'Listen="127.0.0.1:8443" Engine="uws"')));
  assert.deepEqual(config.vhosts.map((v) => v.https?.engine), ['uws', 'uws']);
});

test('HTTP/2 settings have defaults and ranges', () => {
  const server = '<Server><Host><Http2><MaxConcurrentStreams>8</MaxConcurrentStreams><InitialWindowSize>64K</InitialWindowSize><IdleTimeout>5</IdleTimeout></Http2></Host><Cache><Storage><Disk>/tmp/x</Disk></Storage></Cache></Server>';
  assert.deepEqual(load(vhost('a.test', ''), server).server.http2, { maxConcurrentStreams: 8, initialWindowSize: 65536, idleTimeoutMs: 5000 });
  const bad = '<Server><Host><Http2><MaxConcurrentStreams>0</MaxConcurrentStreams></Http2></Host><Cache><Storage><Disk>/tmp/x</Disk></Storage></Cache></Server>';
  assert.match(problems(vhost('a.test', ''), bad).join('\n'), /server\.xml: Server\/Host\/Http2\/MaxConcurrentStreams: "0" is out of range/);
});

const W = 'vhosts\\.xml: Vhosts/Vhost\\[Name=a\\.test\\]';
const CASES: Array<{ name: string; vhosts: string; expect: RegExp }> = [
  { name: 'missing certificate file', vhosts: vhost('a.test', https(join(dir, 'nope.crt'), a.key)), expect: new RegExp(`${W}/Https/Cert: cannot read .*nope\\.crt \\(ENOENT\\)`) },
  { name: 'missing key file', vhosts: vhost('a.test', https(a.cert, join(dir, 'nope.key'))), expect: new RegExp(`${W}/Https/Key: cannot read .*nope\\.key \\(ENOENT\\)`) },
  { name: 'a directory as certificate', vhosts: vhost('a.test', https(dir, a.key)), expect: new RegExp(`${W}/Https/Cert: cannot read .* \\(EISDIR\\)`) },
  { name: 'not PEM', vhosts: vhost('a.test', https(garbage, a.key)), expect: new RegExp(`${W}/Https/Cert: .*garbage\\.pem is not a PEM certificate`) },
  { name: 'a certificate as key', vhosts: vhost('a.test', https(a.cert, a.cert)), expect: new RegExp(`${W}/Https/Key: .*a\\.crt is not an unencrypted PEM private key`) },
  { name: 'key of another certificate', vhosts: vhost('a.test', https(a.cert, b.key)), expect: new RegExp(`${W}/Https/Key: .*b\\.key is not the private key of the certificate in .*a\\.crt`) },
  { name: 'expired certificate', vhosts: vhost('a.test', https(expired.cert, expired.key)), expect: new RegExp(`${W}/Https/Cert: .*old\\.crt expired on 2020-01-02`) },
  { name: 'no Listen', vhosts: vhost('a.test', https(a.cert, a.key, '')), expect: new RegExp(`${W}/Https@Listen: missing; it is required`) },
  { name: 'no Cert', vhosts: vhost('a.test', `<Https Listen="127.0.0.1:8443"><Key>${a.key}</Key></Https>`), expect: new RegExp(`${W}/Https/Cert: missing; it is required`) },
  { name: 'bad Listen', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:99999"')), expect: new RegExp(`${W}/Https@Listen: "127.0.0.1:99999" is not a valid listen address`) },
  { name: 'TLS 1.1', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:8443" MinVersion="TLSv1.1"')), expect: new RegExp(`${W}/Https@MinVersion: "TLSv1.1" is not one of TLSv1.2, TLSv1.3`) },
  { name: 'Min above Max', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:8443" MinVersion="TLSv1.3" MaxVersion="TLSv1.2"')), expect: new RegExp(`${W}/Https@MinVersion: TLSv1.3 is newer than MaxVersion TLSv1.2`) },
  { name: 'cipher list with spaces', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:8443" Ciphers="A B"')), expect: new RegExp(`${W}/Https@Ciphers: "A B" is not an OpenSSL cipher list`) },
  { name: 'Https Listen = a plain Listen', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:8080"')), expect: new RegExp(`${W}/Https@Listen: 127.0.0.1:8080 is also a plain <Listen> address of vhost a.test`) },
  { name: 'Https Listen = the manager port', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="*:10040"')), expect: new RegExp(`${W}/Https@Listen: port 10040 is also the management port`) },
  { name: 'redirect without Https', vhosts: vhost('a.test', '', '<RedirectHttpToHttps/>'), expect: new RegExp(`${W}/RedirectHttpToHttps: needs <Https>`) },
  { name: 'bad redirect code', vhosts: vhost('a.test', https(a.cert, a.key), '<RedirectHttpToHttps ResCode="303"/>'), expect: new RegExp(`${W}/RedirectHttpToHttps@ResCode: "303" is not one of 301, 302, 307, 308`) },
  {
    name: 'shared Https Listen with different versions',
    vhosts: vhost('a.test', https(a.cert, a.key)) + vhost('b.test', https(b.cert, b.key, 'Listen="127.0.0.1:8443" MinVersion="TLSv1.3"')),
    expect: /vhosts\.xml: Vhosts\/Vhost\[Name=b\.test\]\/Https: MinVersion, MaxVersion and Ciphers differ from vhost a\.test's on the same Https Listen 127\.0\.0\.1:8443/,
  },
  { name: 'unknown Engine', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:8443" Engine="nginx"')), expect: new RegExp(`${W}/Https@Engine: "nginx" is not one of node, uws`) },
  { name: 'Engine uws with MinVersion', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:8443" Engine="uws" MinVersion="TLSv1.3"')), expect: new RegExp(`${W}/Https@Engine: Engine="uws" takes no MinVersion, MaxVersion or Ciphers`) },
  { name: 'Engine uws with Ciphers', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:8443" Engine="uws" Ciphers="ECDHE-RSA-AES128-GCM-SHA256"')), expect: new RegExp(`${W}/Https@Engine: Engine="uws" takes no MinVersion`) },
  {
    name: 'shared Https Listen with different engines',
    vhosts: vhost('a.test', https(a.cert, a.key)) + vhost('b.test', https(b.cert, b.key, 'Listen="127.0.0.1:8443" Engine="uws"')),
    expect: /vhosts\.xml: Vhosts\/Vhost\[Name=b\.test\]\/Https@Engine: uws differs from vhost a\.test's node on the same Https Listen 127\.0\.0\.1:8443/,
  },
  { name: 'unknown Https attribute', vhosts: vhost('a.test', https(a.cert, a.key, 'Listen="127.0.0.1:8443" Protocol="h2"')), expect: new RegExp(`${W}/Https@Protocol: unknown attribute`) },
];
// root reads any file whatever its mode: the unreadable case is only meaningful for other users.
if (process.getuid?.() !== 0) CASES.push({ name: 'unreadable certificate', vhosts: vhost('a.test', https(unreadable, a.key)), expect: new RegExp(`${W}/Https/Cert: cannot read .* \\(EACCES\\)`) });

for (const c of CASES) {
  test(`config error: ${c.name}`, () => {
    const found = problems(c.vhosts);
    assert.ok(found.some((p) => c.expect.test(p)), `expected ${c.expect} in:\n${found.join('\n')}`);
  });
}
