/**
 * `<Vhost><Media>` (issue 22): the issue's example reads to the expected MediaConfig, VHostDefault is inherited
 * element by element, and bad values are refused with the file and the element named.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import type { MediaConfig } from '../../src/config/types.js';

const SERVER = (vhostDefault = ''): string => `<Server>
  <Host><Manager Port="10040"><Allow>127.0.0.1</Allow></Manager></Host>
  <Cache><Workers>1</Workers><Storage><Disk>/var/cache/flint</Disk></Storage></Cache>
  <VHostDefault>${vhostDefault}</VHostDefault>
</Server>`;

const VHOSTS = (media: string): string => `<Vhosts><Vhost Name="video.example.com"><Origin><Address>127.0.0.1:9000</Address></Origin>${media}</Vhost></Vhosts>`;

function media(inner: string, vhostDefault = ''): MediaConfig {
  const config = loadConfigFromText('/srv/flint/conf', SERVER(vhostDefault), VHOSTS(inner), { cpuCount: 1 });
  const vhost = config.vhosts[0];
  assert.ok(vhost !== undefined);
  return vhost.media;
}

function problems(inner: string, vhostDefault = ''): string {
  try {
    media(inner, vhostDefault);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

const ISSUE_EXAMPLE = `<Media>
    <UpfrontMP4Header>ON</UpfrontMP4Header>
    <UpfrontM4AHeader>ON</UpfrontM4AHeader>
    <MP4Trimming StartParam="start" EndParam="end" AllTracks="OFF" MultiParam="trimming" MaxRatio="50">ON</MP4Trimming>
    <M4ATrimming>ON</M4ATrimming>
    <MP3Trimming>ON</MP3Trimming>
    <MP4HLS Status="Active" Keyword="mp4hls">
      <Index Ver="3">index.m3u8</Index>
      <Sequence>0</Sequence>
      <Duration>6</Duration>
    </MP4HLS>
    <MP3HLS Status="Active" Keyword="mp3hls" SegmentType="TS"/>
  </Media>`;

test('the issue example reads to the expected settings', () => {
  assert.deepEqual(media(ISSUE_EXAMPLE), {
    upfrontMp4: true,
    upfrontM4a: true,
    trimming: { mp4: true, m4a: true, mp3: true, startParam: 'start', endParam: 'end', multiParam: 'trimming', allTracks: false, maxRatioPercent: 50 },
    mp4Hls: { keyword: 'mp4hls', container: 'TS', indexName: 'index.m3u8', version: 3, sequence: 0, segmentSec: 6 },
    mp3Hls: { keyword: 'mp3hls', segmentType: 'TS', indexName: 'index.m3u8', version: 3, sequence: 0, segmentSec: 6 },
  });
});

test('defaults: everything off (STON), so a vhost without <Media> behaves as before', () => {
  const m = media('');
  assert.equal(m.upfrontMp4, false);
  assert.equal(m.trimming.mp4, false);
  assert.equal(m.mp4Hls, null);
  assert.equal(m.mp3Hls, null);
});

test('VHostDefault is inherited element by element', () => {
  const m = media('<Media><MP4HLS Container="FMP4"/></Media>', '<Media><UpfrontMP4Header>ON</UpfrontMP4Header><MP4HLS Status="Active" Keyword="hls"><Duration>4</Duration></MP4HLS></Media>');
  assert.equal(m.upfrontMp4, true);
  assert.deepEqual(m.mp4Hls, { keyword: 'hls', container: 'FMP4', indexName: 'index.m3u8', version: 3, sequence: 0, segmentSec: 4 });
});

const BAD: ReadonlyArray<[string, string, RegExp]> = [
  ['not a boolean', '<Media><UpfrontMP4Header>yes</UpfrontMP4Header></Media>', /vhosts\.xml: .*Media\/UpfrontMP4Header: "yes" is not a valid boolean/],
  ['MaxRatio 0', '<Media><MP4Trimming MaxRatio="0">ON</MP4Trimming></Media>', /MP4Trimming@MaxRatio: "0" is out of range/],
  ['MaxRatio not a number', '<Media><MP4Trimming MaxRatio="5O">ON</MP4Trimming></Media>', /MaxRatio: "5O" is not a whole number/],
  ['same parameter twice', '<Media><MP4Trimming StartParam="t" EndParam="t">ON</MP4Trimming></Media>', /StartParam, EndParam and MultiParam must differ/],
  ['parameter with a space', '<Media><MP4Trimming StartParam="a b">ON</MP4Trimming></Media>', /StartParam/],
  ['keyword with a slash', '<Media><MP4HLS Status="Active" Keyword="a/b"/></Media>', /MP4HLS@Keyword: "a\/b" is not a keyword/],
  ['index not .m3u8', '<Media><MP4HLS Status="Active"><Index>index.html</Index></MP4HLS></Media>', /MP4HLS\/Index: "index.html" is not a playlist name/],
  ['index with a path', '<Media><MP4HLS Status="Active"><Index>../x.m3u8</Index></MP4HLS></Media>', /is not a playlist name/],
  ['version 2', '<Media><MP4HLS Status="Active"><Index Ver="2">index.m3u8</Index></MP4HLS></Media>', /Index@Ver: "2" is out of range \(3..7\)/],
  ['duration 0', '<Media><MP4HLS Status="Active"><Duration>0</Duration></MP4HLS></Media>', /Duration: "0" is out of range/],
  ['negative sequence', '<Media><MP4HLS Status="Active"><Sequence>-1</Sequence></MP4HLS></Media>', /Sequence: "-1" is out of range/],
  ['unknown container', '<Media><MP4HLS Status="Active" Container="DASH"/></Media>', /Container: "DASH" is not one of TS, FMP4/],
  ['unknown status', '<Media><MP4HLS Status="On"/></Media>', /MP4HLS@Status: "On" is not one of Active, Inactive/],
  ['same keywords', '<Media><MP4HLS Status="Active" Keyword="hls"/><MP3HLS Status="Active" Keyword="hls"/></Media>', /MP3HLS@Keyword: "hls" is also MP4HLS's Keyword/],
  ['unknown segment type', '<Media><MP3HLS Status="Active" SegmentType="AAC"/></Media>', /SegmentType: "AAC" is not one of TS, MP3/],
  ['unknown element', '<Media><UpfrontMP5Header>ON</UpfrontMP5Header></Media>', /UpfrontMP5Header/],
];

for (const [name, inner, expected] of BAD) {
  test(`refused: ${name}`, () => {
    assert.match(problems(inner), expected);
  });
}
