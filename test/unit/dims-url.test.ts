// Unit tests of DIMS URLs (transform/dims/url.ts), ImageMagick geometry (geometry.ts) and format/auto
// (format-choice.ts): every op of issue 21 parses to its step, and a table of hostile paths (huge geometry,
// negative and overflowing numbers, unknown ops, missing arguments, dot segments, encoded slashes, repeated
// settings, thousands of ops) is refused with a problem, never thrown and never half-parsed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxSize, cropRegion, parseGeometry, resizedSize } from '../../src/transform/dims/geometry.js';
import type { Geometry } from '../../src/transform/dims/geometry.js';
import { chooseAutoFormat } from '../../src/transform/dims/format-choice.js';
import { MAX_STEPS, parseChainText, parseDimsPath } from '../../src/transform/dims/url.js';
import type { DimsNames } from '../../src/transform/dims/url.js';
import { DimsService } from '../../src/transform/dims/service.js';
import type { RequestHead } from '../../src/http/request.js';
import pino from 'pino';

const NAMES: DimsNames = { keyword: 'dims', composites: new Set(['logo']), annotations: new Set(['title', 'caption']), byOriginal: new Set(['big']) };

const chainOf = (path: string): string => {
  const parsed = parseDimsPath(path, NAMES);
  assert.equal(parsed.kind, 'dims', `${path}: ${parsed.kind === 'invalid' ? parsed.problem : 'not dims'}`);
  return parsed.kind === 'dims' ? parsed.chain.canonical : '';
};

test('every op of issue 21 parses, and the canonical chain is the variant name', () => {
  const table: Array<[string, string]> = [
    ['/img/cat.jpg/dims/resize/200x150/format/webp/quality/80/', 'resize/200x150/format/webp/quality/80/'],
    ['/img/cat.jpg/dims/resize/200x150/format/webp/quality/80', 'resize/200x150/format/webp/quality/80/'],
    ['/a.jpg/dims/format/jpg', 'format/jpeg/'],
    ['/a.jpg/dims/resizec/300x300', 'resizec/300x300/'],
    ['/a.jpg/dims/resizef/300x200', 'resizef/300x200/'],
    ['/a.jpg/dims/resizecrop/300x200', 'resizecrop/300x200/'],
    ['/a.jpg/dims/extent/300x200', 'extent/300x200/'],
    ['/a.jpg/dims/trim/true', 'trim/10/'],
    ['/a.jpg/dims/trim/30', 'trim/30/'],
    ['/a.jpg/dims/crop/100x50+10+20', 'crop/100x50+10+20/'],
    ['/a.jpg/dims/crop/50x50%25', 'crop/50x50%/'],
    ['/a.jpg/dims/cropcenter/100x100', 'cropcenter/100x100/'],
    ['/a.jpg/dims/thumbnail/78x110', 'thumbnail/78x110/'],
    ['/a.jpg/dims/thumbnail/50%25', 'thumbnail/50%/'],
    ['/a.jpg/dims/thumbnail/10000@', 'thumbnail/10000@/'],
    ['/a.jpg/dims/thumbnail/100x100!', 'thumbnail/100x100!/'],
    ['/a.jpg/dims/thumbnail/100x100%3E', 'thumbnail/100x100>/'],
    ['/a.jpg/dims/thumbnail/100x100%3C', 'thumbnail/100x100</'],
    ['/a.jpg/dims/thumbnail/100', 'thumbnail/100/'],
    ['/a.jpg/dims/thumbnail/x200', 'thumbnail/x200/'],
    ['/a.jpg/dims/format/png/quality/0', 'format/png/quality/1/'],
    ['/a.jpg/dims/format/gif', 'format/gif/'],
    ['/a.jpg/dims/format/avif', 'format/avif/'],
    ['/a.jpg/dims/format/auto', 'format/auto/'],
    ['/a.jpg/dims/strip/true', 'strip/true/'],
    ['/a.jpg/dims/autorotate/on/resize/10x10', 'resize/10x10/autorotate/on/'],
    ['/a.jpg/dims/grayscale/true/invert/true', 'grayscale/true/invert/true/'],
    ['/a.jpg/dims/grayscale/false', ''],
    ['/a.jpg/dims/flipflop/vertical/flipflop/horizontal', 'flipflop/vertical/flipflop/horizontal/'],
    ['/a.jpg/dims/rotate/90', 'rotate/90/'],
    ['/a.jpg/dims/rotate/360', ''],
    ['/a.jpg/dims/bright/40', 'bright/40/'],
    ['/a.jpg/dims/sepia/0.8', 'sepia/0.8/'],
    ['/a.jpg/dims/round/20', 'round/20/'],
    ['/a.jpg/dims/composite/logo', 'composite/logo/'],
    ['/a.jpg/dims/annotation/title*caption', 'annotation/title*caption/'],
    ['/a.jpg/dims/byoriginal/big', 'byoriginal/big/'],
    ['/a.gif/dims/limit/3', 'limit/3/'],
    ['/a.gif/dims/firstframeonly/on', 'limit/1/'],
    ['/a.gif/dims/firstframeonly/off', 'limit/all/'],
    ['/a.jpg/dims/optimize/true', 'optimize/true/'],
    // The last keyword splits: an original path may itself hold the keyword.
    ['/dims/x/dims/a.jpg/dims/resize/10x', 'resize/10x/'],
  ];
  for (const [path, canonical] of table) assert.equal(chainOf(path), canonical, path);
  const parsed = parseDimsPath('/img/cat.jpg/dims/resize/200x150/', NAMES);
  assert.ok(parsed.kind === 'dims');
  assert.equal(parsed.originalPath, '/img/cat.jpg');
  assert.deepEqual(parseDimsPath('/img/cat.jpg', NAMES), { kind: 'none' });
  assert.deepEqual(parseDimsPath('/dims/resize/10x', NAMES), { kind: 'none' }, 'an empty original is not a DIMS URL');
  assert.deepEqual(parseDimsPath('/img/cat.jpg/DIMS/resize/10x', NAMES), { kind: 'none' }, 'the keyword is case-sensitive');
});

test('hostile DIMS paths are refused with a problem', () => {
  const many = '/resize/10x10'.repeat(MAX_STEPS + 1);
  const thousands = '/grayscale/true'.repeat(5000);
  const table: Array<[string, RegExp]> = [
    ['/a.jpg/dims/', /no operation/],
    ['/a.jpg/dims/resize', /no argument/],
    ['/a.jpg/dims/resize/', /no argument/],
    ['/a.jpg/dims/resize/10x10/quality', /no argument/],
    ['/a.jpg/dims/explode/10', /unknown operation/],
    ['/a.jpg/dims/RESIZE/10x10', /unknown operation/],
    ['/a.jpg/dims/__proto__/1', /unknown operation/],
    ['/a.jpg/dims/constructor/1', /unknown operation/],
    ['/a.jpg/dims/toString/1', /unknown operation/],
    ['/a.jpg/dims/resize/99999999x99999999', /not a geometry|above/],
    ['/a.jpg/dims/resize/16384x10', /above 16383/],
    ['/a.jpg/dims/resize/10x16384', /above 16383/],
    ['/a.jpg/dims/resize/100000%25', /not a geometry|more than/],
    ['/a.jpg/dims/resize/1001%25', /more than 1000%/],
    ['/a.jpg/dims/resize/-10x10', /not a geometry/],
    ['/a.jpg/dims/resize/0x0', /a side of 0/],
    ['/a.jpg/dims/resize/0x10', /a side of 0/],
    ['/a.jpg/dims/resize/x', /not a geometry|needs a width/],
    ['/a.jpg/dims/resize/10x10+5+5', /takes no offset/],
    ['/a.jpg/dims/resize/10x10%3C%3E', /exclude each other/],
    ['/a.jpg/dims/resize/10x10!!', /repeated/],
    ['/a.jpg/dims/resize/1e3x10', /not a geometry/],
    ['/a.jpg/dims/resize/0x10@', /takes no height|not a geometry/],
    ['/a.jpg/dims/resize/10.5x10', /not a geometry/],
    ['/a.jpg/dims/extent/100', /needs WxH/],
    ['/a.jpg/dims/crop/10x10+99999999+0', /not a geometry/],
    ['/a.jpg/dims/crop/10x10!', /only WxH\+X\+Y/],
    ['/a.jpg/dims/quality/101', /0-100/],
    ['/a.jpg/dims/quality/-1', /0-100/],
    ['/a.jpg/dims/quality/9999999999999999999999', /malformed|0-100/],
    ['/a.jpg/dims/quality/80/quality/50', /given twice/],
    ['/a.jpg/dims/format/webp/format/png', /given twice/],
    ['/a.jpg/dims/format/bmp', /takes jpg/],
    ['/a.jpg/dims/format/tiff', /takes jpg/],
    ['/a.jpg/dims/rotate/361', /0-360/],
    ['/a.jpg/dims/rotate/-90', /0-360/],
    ['/a.jpg/dims/bright/101', /0-100/],
    ['/a.jpg/dims/sepia/1.5', /0-1/],
    ['/a.jpg/dims/sepia/NaN', /0-1/],
    ['/a.jpg/dims/round/91', /0-90/],
    ['/a.jpg/dims/grayscale/maybe', /true or false/],
    ['/a.jpg/dims/flipflop/diagonal', /vertical or horizontal/],
    ['/a.jpg/dims/limit/0', /1-1000/],
    ['/a.jpg/dims/limit/1001', /1-1000/],
    ['/a.jpg/dims/composite/nope', /no <Composite>/],
    ['/a.jpg/dims/composite/..', /malformed/],
    ['/a.jpg/dims/annotation/title*nope', /no <Annotation>/],
    ['/a.jpg/dims/annotation/title*title*title*title*title', /more than 4/],
    ['/a.jpg/dims/byoriginal/small', /no <ByOriginal>/],
    ['/a.jpg/dims/resize/..', /malformed/],
    ['/a.jpg/dims/resize/.', /malformed/],
    ['/a.jpg/dims/resize/10%2F10', /malformed/],
    ['/a.jpg/dims/resize/10%2f..%2f10', /malformed/],
    ['/a.jpg/dims/resize/10%5C10', /malformed/],
    ['/a.jpg/dims/resize/%', /malformed/],
    ['/a.jpg/dims/resize/%E0%A4%A', /malformed/],
    ['/a.jpg/dims/resize/10%00', /malformed/],
    ['/a.jpg/dims/resize/10x10%0D%0AX-Evil:1', /malformed/],
    ['/a.jpg/dims/resize//10x10', /unknown operation|malformed|no argument/],
    [`/a.jpg/dims/resize/${'9'.repeat(70)}`, /malformed/],
    [`/a.jpg/dims${many}`, new RegExp(`more than ${MAX_STEPS} operations`)],
    [`/a.jpg/dims${thousands}`, /too long/],
  ];
  for (const [path, problem] of table) {
    const parsed = parseDimsPath(path, NAMES);
    assert.equal(parsed.kind, 'invalid', `${path.slice(0, 80)} should be refused, got ${JSON.stringify(parsed).slice(0, 200)}`);
    if (parsed.kind === 'invalid') assert.match(parsed.problem, problem, path.slice(0, 80));
  }
});

test('geometry arithmetic follows ImageMagick -resize', () => {
  const g = (text: string): Geometry => {
    const parsed = parseGeometry(text);
    assert.ok(typeof parsed !== 'string', `${text}: ${String(parsed)}`);
    return parsed;
  };
  const src = { width: 1600, height: 1200 };
  const table: Array<[string, number, number]> = [
    ['400x400', 400, 300],
    ['400', 400, 300],
    ['x300', 400, 300],
    ['400x400!', 400, 400],
    ['400x400^', 533, 400],
    ['50%', 800, 600],
    ['50x25%', 800, 300],
    ['480000@', 800, 600],
    ['4000000@', 1600, 1200],
    ['2000x2000>', 1600, 1200],
    ['800x800>', 800, 600],
    ['2000x2000<', 2000, 1500],
    ['800x800<', 1600, 1200],
  ];
  for (const [text, w, h] of table) assert.deepEqual(resizedSize(src, g(text)), { width: w, height: h }, text);
  assert.deepEqual(boxSize(src, g('50%')), { width: 800, height: 600 });
  assert.deepEqual(cropRegion(src, g('100x50+10+20'), false), { left: 10, top: 20, width: 100, height: 50 });
  assert.deepEqual(cropRegion(src, g('100x100'), true), { left: 750, top: 550, width: 100, height: 100 });
  assert.deepEqual(cropRegion(src, g('100x100+1590+1190'), false), { left: 1590, top: 1190, width: 10, height: 10 }, 'clipped to the image');
  assert.equal(cropRegion(src, g('100x100+1600+0'), false), null, 'entirely outside');
  assert.equal(cropRegion(src, g('10x10-20-20'), false), null);
  // A tiny image never resizes to 0 pixels.
  assert.deepEqual(resizedSize({ width: 1, height: 5000 }, g('100x10')), { width: 1, height: 10 });
});

test('ByOriginal chains parse like URL chains', () => {
  const chain = parseChainText('/quality/50/resize/100x/', NAMES);
  assert.ok(typeof chain !== 'string');
  assert.equal(chain.canonical, 'resize/100x/quality/50/');
  assert.match(String(parseChainText('/quality/', NAMES)), /op\/arg pairs/);
  assert.match(String(parseChainText('', NAMES)), /op\/arg pairs/);
});

test('format/auto: AVIF, then WebP, by explicit Accept types only', () => {
  const table: Array<[string | undefined, string | null]> = [
    [undefined, null],
    ['', null],
    ['*/*', null],
    ['image/*,*/*;q=0.8', null],
    ['image/avif,image/webp,image/apng,image/*,*/*;q=0.8', 'avif'],
    ['image/webp,*/*', 'webp'],
    ['IMAGE/WEBP', 'webp'],
    ['image/avif;q=0,image/webp', 'webp'],
    ['image/avif;q=0.000', null],
    ['image/avif;q=abc', null],
    ['image/avifx', null],
    ['text/html,image/avif;q=0.1', 'avif'],
  ];
  for (const [accept, format] of table) assert.equal(chooseAutoFormat(accept), format, String(accept));
});

test('the variant tag: format/auto resolved per client, query-taken annotation text included', () => {
  const note = { name: 'who', text: null, queryKey: 'name', font: 'sans', fontSize: 20, fontColor: '#ffffff', backgroundColor: null, gravity: 'c' as const, x: 0, y: 0, percent: false, dissolve: 100 };
  const dims = { keyword: 'dims', maxSourceBytes: 1 << 20, maxPixels: 1e6, firstFrameOnly: false, composites: [], annotations: [note], byOriginal: [] };
  const service = new DimsService({ concurrency: 1, queueLimit: 1, timeoutMs: 1000 }, pino({ level: 'silent' }), { conversion: () => undefined, failure: () => undefined, refused: () => undefined });
  const head = (query: string, accept?: string): RequestHead => ({ method: 'GET', path: '/a.jpg', query, headers: accept === undefined ? [] : ['accept', accept], host: 'h', clientIp: '127.0.0.1' });
  const tag = (path: string, query = '', accept?: string): string => {
    const reading = service.read(dims, path, head(query, accept));
    assert.equal(reading.kind, 'dims', path);
    return reading.kind === 'dims' ? reading.request.tag : '';
  };
  assert.equal(tag('/a.jpg/dims/resize/10x/format/auto', '', 'image/avif'), 'dims:resize/10x/format/avif/');
  assert.equal(tag('/a.jpg/dims/resize/10x/format/auto', '', 'image/webp'), 'dims:resize/10x/format/webp/');
  assert.equal(tag('/a.jpg/dims/resize/10x/format/auto', '', '*/*'), 'dims:resize/10x/format/source/');
  const alice = tag('/a.jpg/dims/annotation/who', 'name=alice&x=1');
  const bob = tag('/a.jpg/dims/annotation/who', 'x=1&name=bob');
  assert.notEqual(alice, bob, 'text from the query names its own variant');
  assert.equal(tag('/a.jpg/dims/annotation/who', 'name=alice&y=2'), alice, 'other parameters do not');
  assert.equal(service.read(dims, '/a.jpg/dims/annotation/nobody', head('')).kind, 'invalid');
});
