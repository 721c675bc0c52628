/**
 * @module config/schema-throttle
 * The `<Options><BandwidthThrottling>` rows of the settings table (STON bandwidth_control.html, issue 22): default
 * bandwidth, ratio and boost, their query parameters, and the switch. The rule lines (`<MatchingList
 * Target="throttling">`, svc/<vhost>/throttling.txt) are parsed by media/throttle/throttle-parse.ts. Pure data;
 * loaded by the primary (validation) and the docs script, never needed by workers.
 */
import { BANDWIDTH_UNITS } from './types-throttle.js';
import type { Setting } from './schema-types.js';

const AT = 'Vhost/Options/BandwidthThrottling';

/** These rows, in reference order. */
export const THROTTLE_SETTINGS: readonly Setting[] = [
  {
    path: `${AT}/Throttling`,
    type: 'bool',
    default: 'OFF',
    field: 'vhosts[].throttling',
    doc: 'ON: a response whose request matches a throttling rule (`<MatchingList Target="throttling">` or svc/<vhost>/throttling.txt: `conditions, bandwidth[x][, ratio[, boost]]` or `conditions, no`; first match wins) is paced: the media header (MP4 up to its mdat payload, MP3 up to its first audio frame, read from the body\'s first bytes) and Boost seconds of the bandwidth go at full speed, the rest at bandwidth x Ratio %. `1000x` = the bitrate read from the MP4/M4A/MP3 (file size over duration; MP3: the Xing/VBRI header or the frame bitrate), 1000 when it cannot be read (a Range response, moov after mdat, tags longer than the first chunk). An omitted or `-` value is the <Settings> one. Rules with this OFF are a config error.',
  },
  {
    path: `${AT}/Throttling@QueryString`,
    type: 'bool',
    default: 'OFF',
    field: 'vhosts[].throttling.queryString',
    doc: 'ON: the Bandwidth, Ratio and Boost Param query parameters override the values of the matching rule (or, with no rule matching, of <Settings>: the request is then throttled too; a `no` rule still exempts), and are removed from the cache key and the origin request. An invalid value is ignored.',
  },
  {
    path: `${AT}/Settings/Bandwidth`,
    type: 'int',
    default: '1000',
    unit: 'Unit',
    min: 1,
    max: 1_000_000_000,
    field: 'vhosts[].throttling.bandwidthBps',
    doc: 'Bandwidth a rule without its own gets, in Unit; rule lines and the query give theirs in the same Unit.',
  },
  {
    path: `${AT}/Settings/Bandwidth@Unit`,
    type: 'enum',
    values: BANDWIDTH_UNITS,
    default: 'kbps',
    field: 'vhosts[].throttling.unitBps',
    doc: 'bps, kbps (1000 bit/s), mbps; bytes, kb (1024 bytes/s), mb per second.',
  },
  {
    path: `${AT}/Settings/Bandwidth@Param`,
    type: 'query-param',
    default: 'bandwidth',
    field: 'vhosts[].throttling.params.bandwidth',
    doc: 'Query parameter overriding the bandwidth (`500`, or `500x` to read the bitrate from the file) with QueryString ON.',
  },
  {
    path: `${AT}/Settings/Ratio`,
    type: 'int',
    default: '100',
    unit: '%',
    min: 1,
    max: 10000,
    field: 'vhosts[].throttling.ratioPercent',
    doc: 'The paced part goes at this per cent of the bandwidth (120 = 20% faster than the media plays).',
  },
  {
    path: `${AT}/Settings/Ratio@Param`,
    type: 'query-param',
    default: 'ratio',
    field: 'vhosts[].throttling.params.ratio',
    doc: 'Query parameter overriding the ratio with QueryString ON.',
  },
  {
    path: `${AT}/Settings/Boost`,
    type: 'int',
    default: '5',
    unit: 's',
    min: 0,
    max: 3600,
    field: 'vhosts[].throttling.boostSec',
    doc: 'Seconds of the bandwidth sent at full speed after the media header, before pacing starts.',
  },
  {
    path: `${AT}/Settings/Boost@Param`,
    type: 'query-param',
    default: 'boost',
    field: 'vhosts[].throttling.params.boost',
    doc: 'Query parameter overriding the boost with QueryString ON.',
  },
];
