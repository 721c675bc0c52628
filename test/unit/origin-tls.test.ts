// Unit tests of HTTPS origins (issue 18 §5): the <Origin Protocol="HTTPS"> / <CA> / <TlsVerify> config rows (a bad
// CA file is a config error naming the file and the element), the default port 443, the SNI name rules, and which
// error codes count as TLS failures. Pure but for a throw-away CA made with openssl in a temp dir.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Config, OriginAddress, OriginOptions, Vhost } from '../../src/config/types.js';
import { isTlsError, originServerName, originTlsOptions } from '../../src/origin/tls.js';
import { makeCerts } from '../helpers/origin-certs.js';
import type { TestCerts } from '../helpers/origin-certs.js';

const SERVER = '<Server><Cache><Storage><Disk>/var/cache/flint</Disk></Storage></Cache></Server>';

let certs: TestCerts;
let dir: string;
before(() => {
  certs = makeCerts('Flint Unit CA', ['origin.test'], ['127.0.0.1']);
  dir = mkdtempSync(path.join(tmpdir(), 'flint-ca-'));
});
after(() => {
  certs.remove();
  rmSync(dir, { recursive: true, force: true });
});

function vhosts(origin: string, extra = ''): string {
  return `<Vhosts><Vhost Name="a.com"><Listen>*:8080</Listen>${origin}${extra}</Vhost></Vhosts>`;
}

function load(vhostsXml: string): Config {
  return loadConfigFromText('/srv/flint/conf', SERVER, vhostsXml);
}

function vhost(config: Config): Vhost {
  const v = config.vhosts[0];
  assert.ok(v !== undefined);
  return v;
}

function problems(vhostsXml: string): string {
  try {
    load(vhostsXml);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected a config error');
}

test('Protocol defaults to HTTP: no TLS, port 80', () => {
  const v = vhost(load(vhosts('<Origin><Address>origin.test</Address></Origin>')));
  assert.equal(v.originOptions.tls, null);
  assert.equal(v.origins[0]?.port, 80);
});

test('Protocol="HTTPS": verification on, no CA, an address without a port means 443 (Address and Address2)', () => {
  const v = vhost(load(vhosts('<Origin Protocol="HTTPS"><Address>origin.test</Address><Address>10.0.0.2:8443</Address><Address>[::1]/p</Address><Address2>b.test</Address2></Origin>')));
  assert.deepEqual(v.originOptions.tls, { verify: true, caFile: null, caPem: null });
  assert.deepEqual(
    v.origins.map((a) => a.port),
    [443, 8443, 443],
  );
  assert.equal(v.standbyOrigins[0]?.port, 443);
  assert.equal(v.origins[2]?.pathPrefix, '/p');
});

test('<CA> is read into the config; <TlsVerify>OFF is kept; the protocol name is case-insensitive', () => {
  const v = vhost(load(vhosts(`<Origin Protocol="https"><Address>127.0.0.1:9443</Address><CA>${certs.caFile}</CA><TlsVerify>OFF</TlsVerify></Origin>`)));
  assert.equal(v.originOptions.tls?.caFile, certs.caFile);
  assert.equal(v.originOptions.tls?.caPem, certs.caPem.trim());
  assert.equal(v.originOptions.tls?.verify, false);
});

test('bad <CA> files and misplaced TLS settings are config errors naming the file and the element', () => {
  const garbage = path.join(dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  const broken = path.join(dir, 'broken.pem');
  writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  const keyOnly = path.join(dir, 'key.pem');
  writeFileSync(keyOnly, certs.key);
  const unreadable = path.join(dir, 'unreadable.pem');
  writeFileSync(unreadable, certs.caPem);
  chmodSync(unreadable, 0o000);
  const rootCanRead = process.getuid?.() === 0;
  const where = 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Origin/CA';
  const cases: Array<[string, string, RegExp]> = [
    ['missing file', path.join(dir, 'nope.pem'), /cannot read ".*nope\.pem": no such file/],
    ['a directory', dir, /is a directory/],
    ['no PEM block', garbage, /holds no PEM certificate/],
    ['a damaged PEM block', broken, /certificate 1 of 1 is not a valid X\.509 certificate/],
    ['a private key, no certificate', keyOnly, /holds no PEM certificate/],
    ['STON habit ON', 'ON', /"ON" is not accepted here/],
    ['empty', '', /is empty/],
  ];
  if (!rootCanRead) cases.push(['unreadable', unreadable, /permission denied/]);
  for (const [name, file, expected] of cases) {
    const message = problems(vhosts(`<Origin Protocol="HTTPS"><Address>origin.test</Address><CA>${file}</CA></Origin>`));
    assert.ok(message.includes(where), `${name}: ${message}`);
    assert.match(message, expected, name);
  }
  assert.match(problems(vhosts(`<Origin><Address>origin.test</Address><CA>${certs.caFile}</CA></Origin>`)), /Origin\/CA: applies only to <Origin Protocol="HTTPS">/);
  assert.match(problems(vhosts('<Origin><Address>origin.test</Address><TlsVerify>OFF</TlsVerify></Origin>')), /Origin\/TlsVerify: applies only to <Origin Protocol="HTTPS">/);
  assert.match(problems(vhosts('<Origin Protocol="HTTP2"><Address>origin.test</Address></Origin>')), /Origin@Protocol: "HTTP2" is not one of HTTP, HTTPS/);
  assert.match(problems(vhosts('<Origin Protocol="HTTPS"><Address>origin.test</Address><TlsVerify>maybe</TlsVerify></Origin>')), /Origin\/TlsVerify/);
});

const OPTIONS = { hostHeader: null } as unknown as OriginOptions;
const address = (text: string, host: string): OriginAddress => ({ text, host, port: 443, pathPrefix: '' });

test('SNI: <Host> when set, else the address DNS name; never an IP literal', () => {
  const cases: Array<[string, OriginAddress, string | null, string | null]> = [
    ['dns name', address('Origin.Test:8443/x', '10.0.0.9'), null, 'origin.test'],
    ['ipv4 literal', address('127.0.0.1:8443', '127.0.0.1'), null, null],
    ['ipv6 literal', address('[::1]:8443', '::1'), null, null],
    ['<Host> wins', address('origin.test', '10.0.0.9'), 'cdn.example.com', 'cdn.example.com'],
    ['<Host> with a port', address('127.0.0.1', '127.0.0.1'), 'cdn.example.com:8443', 'cdn.example.com'],
    ['<Host> an IP', address('origin.test', '10.0.0.9'), '10.1.1.1', null],
    ['<Host> a bracketed IPv6', address('origin.test', '10.0.0.9'), '[::1]:443', null],
  ];
  for (const [name, a, host, expected] of cases) {
    assert.equal(originServerName(a, { ...OPTIONS, hostHeader: host }), expected, name);
  }
  const withCa = originTlsOptions(address('127.0.0.1', '127.0.0.1'), OPTIONS, { verify: true, caFile: 'x', caPem: certs.caPem });
  assert.equal(withCa.servername, undefined);
  assert.ok((withCa.ca?.length ?? 0) > 1 && withCa.ca?.at(-1) === certs.caPem, 'the bundled roots plus the CA file');
  assert.equal(originTlsOptions(address('o.test', '1.1.1.1'), OPTIONS, { verify: false, caFile: null, caPem: null }).ca, undefined);
});

test('isTlsError: handshake and certificate codes only', () => {
  for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'HOSTNAME_MISMATCH']) {
    assert.ok(isTlsError(code), code);
  }
  for (const code of ['', 'ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND']) {
    assert.ok(!isTlsError(code), code);
  }
});
