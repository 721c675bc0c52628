/**
 * @module config/cluster
 * Parsers of the `<Cluster>` values (server.xml) that no other setting shares: the NATS server list of `<Nats Url>`
 * and the fleet names `<NodeName>` and `<Group>`, which become NATS subject tokens, JetStream consumer names and
 * key-value keys, so they keep to the characters all three accept. Pure; used by config/validate.ts.
 */

/** A parse result, as config/validate.ts's value types return. */
export type ClusterParsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** A fleet name: letters, digits, `-` and `_`, 1-64 characters (no `.`, `*`, `>`: they are NATS subject syntax). */
const FLEET_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** `nats://host:port` or `tls://host:port`; host a DNS name, IPv4 or bracketed IPv6; no credentials, path or query. */
const NATS_URL = /^(nats|tls):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([1-9]\d{0,4}))?$/;

/** `<Nats Url>`: one or more NATS server URLs separated by commas or spaces (the servers of one NATS cluster). */
export function parseNatsUrls(text: string): ClusterParsed<string[]> {
  const urls = text.split(/[\s,]+/).filter((u) => u !== '');
  if (urls.length === 0) return { ok: false, error: 'no NATS server URL given' };
  for (const url of urls) {
    const match = NATS_URL.exec(url);
    if (match === null) return { ok: false, error: `${JSON.stringify(url)} is not a NATS URL (nats://host:port or tls://host:port, without user or path)` };
    if (match[3] !== undefined && Number(match[3]) > 65535) return { ok: false, error: `${JSON.stringify(url)}: port out of range (1..65535)` };
  }
  return { ok: true, value: urls };
}

/** `<NodeName>` and `<Group>`. */
export function parseFleetName(text: string): ClusterParsed<string> {
  return FLEET_NAME.test(text) ? { ok: true, value: text } : { ok: false, error: `${JSON.stringify(text)} is not a fleet name (1-64 letters, digits, - or _)` };
}

/** The default node name: the host name cut to its first label and to the fleet-name characters. */
export function defaultNodeName(hostName: string): string {
  const name = (hostName.split('.')[0] ?? '').replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  return name === '' ? 'flint' : name;
}
