/**
 * In-process micro-benchmark of the issue-20 lookups added on the request path: a GeoIP country lookup
 * (policy/geoip.ts over the maxmind Reader) for a database of 20,000 IPv4 + 2,000 IPv6 networks built by
 * test/helpers/mmdb-writer.ts, for addresses seen the first time (a tree walk), for 10,000 returning clients
 * (the client cache) and for one repeated address (the memo: what every rule after the first costs), and a `<URLRewrite>` decision (policy/url-rewrite.ts)
 * for a host with no rule, a non-matching and a matching anchored rule, and an unanchored rule.
 * Run: `npm run build && node dist/bench/policy-lookup.js`. Prints ns per operation (best of 5 rounds).
 */
import { GeoIp } from '../src/policy/geoip.js';
import { UrlRewriter } from '../src/policy/url-rewrite.js';
import { buildMmdb } from '../test/helpers/mmdb-writer.js';

const COUNTRIES = ['KR', 'US', 'JP', 'DE', 'FR', 'GB', 'CN', 'BR', 'IN', 'CA'];

function nsPerOp(label: string, ops: number, run: () => void): void {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const t = process.hrtime.bigint();
    run();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / ops);
  }
  console.log(`${label.padEnd(58)} ${best.toFixed(0).padStart(6)} ns/op`);
}

const networks = [];
for (let i = 0; i < 20_000; i++) networks.push({ cidr: `${1 + (i % 200)}.${(i >> 8) & 255}.${i & 255}.0/24`, country: COUNTRIES[i % COUNTRIES.length] as string });
for (let i = 0; i < 2_000; i++) networks.push({ cidr: `2001:db8:${i.toString(16)}::/48`, country: COUNTRIES[i % COUNTRIES.length] as string });
const bytes = buildMmdb(networks);
const geo = new GeoIp(bytes);
const N = 200_000;
const v4 = Array.from({ length: N }, (_, i) => `${1 + (i % 200)}.${(i >> 8) & 255}.${i & 255}.${i % 250}`);
const v6 = Array.from({ length: N }, (_, i) => `2001:db8:${(i % 2000).toString(16)}::${(i % 9999).toString(16)}`);
let sink = 0;
// A fresh reader per round for first-sight clients, so its client cache never answers.
nsPerOp('GeoIP, first sight of each IPv4 client (tree walk)', N, () => {
  const fresh = new GeoIp(bytes);
  for (const ip of v4) sink += fresh.country(ip)?.length ?? 0;
});
nsPerOp('GeoIP, first sight of each IPv6 client (tree walk)', N, () => {
  const fresh = new GeoIp(bytes);
  for (const ip of v6) sink += fresh.country(ip)?.length ?? 0;
});
const returning = v4.slice(0, 10_000);
nsPerOp('GeoIP, 10,000 returning IPv4 clients interleaved', N, () => {
  for (let i = 0; i < N; i++) sink += geo.country(returning[i % returning.length] as string)?.length ?? 0;
});
nsPerOp('GeoIP, the same client again (per-request memo)', N, () => {
  for (let i = 0; i < N; i++) sink += geo.country('1.2.3.4')?.length ?? 0;
});

const rewriter = new UrlRewriter([
  { source: '1', pattern: '^www\\.example\\.com/([^/]+)/(.*)', replace: '#1.example.com/#2' },
  { source: '2', pattern: '^img\\.example\\.com/img/(.*\\.(jpg|png).*)', replace: 'img.example.com/#1/w' },
]);
const unanchored = new UrlRewriter([{ source: '1', pattern: 'example.com/(.*)_(.*)_(.*)', replace: 'example.com/#1/#2/#3' }]);
nsPerOp('URLRewrite, host without rules (anchored rules elsewhere)', N, () => {
  for (let i = 0; i < N; i++) sink += rewriter.rewrite('other.test', '/some/path/file.js', 'v=1') === null ? 1 : 0;
});
nsPerOp('URLRewrite, anchored rule for the host, no match', N, () => {
  for (let i = 0; i < N; i++) sink += rewriter.rewrite('img.example.com', '/css/site.css', '') === null ? 1 : 0;
});
nsPerOp('URLRewrite, anchored rule for the host, match + rewrite, new URLs', N, () => {
  for (let i = 0; i < N; i++) sink += rewriter.rewrite('www.example.com', `/baseball/logo${i}.jpg`, 'x=1') === null ? 0 : 1;
});
nsPerOp('URLRewrite, anchored rule for the host, match, URL seen before', N, () => {
  for (let i = 0; i < N; i++) sink += rewriter.rewrite('www.example.com', '/baseball/logo.jpg', 'x=1') === null ? 0 : 1;
});
nsPerOp('URLRewrite, unanchored rule, literal absent (prefilter)', N, () => {
  for (let i = 0; i < N; i++) sink += unanchored.rewrite('other.test', '/some/path/file.js', '') === null ? 1 : 0;
});
nsPerOp('URLRewrite, unanchored rule, literal present, no match, new URLs', N, () => {
  for (let i = 0; i < N; i++) sink += unanchored.rewrite('example.com', `/some/path/file${i}.js`, '') === null ? 1 : 0;
});
nsPerOp('URLRewrite, unanchored rule, match + rewrite, new URLs', N, () => {
  for (let i = 0; i < N; i++) sink += unanchored.rewrite('example.com', `/video${i}.mp4_10_20`, '') === null ? 0 : 1;
});
nsPerOp('URLRewrite, unanchored rule, match, URL seen before', N, () => {
  for (let i = 0; i < N; i++) sink += unanchored.rewrite('example.com', '/video.mp4_10_20', '') === null ? 0 : 1;
});
if (sink === -1) console.log(sink);
