/**
 * @module test/helpers/mmdb-writer
 * A small MaxMind DB (MMDB 2.0) writer for tests: IPv4 and IPv6 networks -> `{ country: { iso_code } }`, written
 * as an IPv6 tree with 24-bit records (IPv4 networks live under ::/96, where readers look them up), followed by the
 * 16-byte separator, the data section and the metadata (format: https://maxmind.github.io/MaxMind-DB/). npm has
 * no maintained writer; this one writes only what the tests need (maps, UTF-8 strings, uint16/32/64, arrays).
 */
import { isIPv4 } from 'node:net';

/** One network (CIDR text, e.g. `127.0.0.2/32`, `::1/128`) and the country code it maps to. */
export interface MmdbNetwork {
  readonly cidr: string;
  readonly country: string;
}

type Leaf = { readonly data: number };
interface TreeNode {
  left: TreeNode | Leaf | null;
  right: TreeNode | Leaf | null;
}

const isLeaf = (n: TreeNode | Leaf | null): n is Leaf => n !== null && 'data' in n;

/** 16 bytes of an IPv6 address, or of an IPv4 address as ::a.b.c.d. */
function addressBytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  if (isIPv4(text)) {
    text.split('.').forEach((p, i) => (out[12 + i] = Number(p)));
    return out;
  }
  const [head = '', tail] = text.split('::');
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

// ---- data section encoding (MMDB "Data Section Format")

function control(type: number, size: number): Buffer {
  const extended = type > 7;
  const first = (extended ? 0 : type) << 5;
  let sizeBytes: number[] = [];
  let low: number;
  if (size < 29) low = size;
  else if (size < 29 + 256) {
    low = 29;
    sizeBytes = [size - 29];
  } else {
    low = 30;
    const v = size - 285;
    sizeBytes = [v >> 8, v & 255];
  }
  return Buffer.from([first | low, ...(extended ? [type - 7] : []), ...sizeBytes]);
}

function uint(type: number, value: number | bigint): Buffer {
  const bytes: number[] = [];
  let v = BigInt(value);
  while (v > 0n) {
    bytes.unshift(Number(v & 255n));
    v >>= 8n;
  }
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

type Value = string | number | bigint | readonly Value[] | { readonly [key: string]: Value };

/** Encodes a value: strings, numbers as uint32 (uint16 below 65536), bigints as uint64, arrays and maps. */
function encode(value: Value): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([control(2, bytes.length), bytes]);
  }
  if (typeof value === 'bigint') return uint(9, value);
  if (typeof value === 'number') return uint(value < 65536 ? 5 : 6, value);
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map(encode)]);
  const entries = Object.entries(value as Record<string, Value>);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encode(k), encode(v)])]);
}

/**
 * The bytes of an MMDB file mapping `networks` to their country (`databaseType` goes into the metadata). Later
 * networks win where they overlap earlier ones.
 */
export function buildMmdb(networks: readonly MmdbNetwork[], databaseType = 'Flint-Test-Country'): Buffer {
  // Data section: one record per distinct country.
  const records: Buffer[] = [];
  const offsets = new Map<string, number>();
  let dataSize = 0;
  for (const { country } of networks) {
    if (offsets.has(country)) continue;
    const record = encode({ country: { iso_code: country }, registered_country: { iso_code: country } });
    offsets.set(country, dataSize);
    records.push(record);
    dataSize += record.length;
  }
  // Search tree over 128 bits.
  const root: TreeNode = { left: null, right: null };
  for (const { cidr, country } of networks) {
    const [address = '', prefixText] = cidr.split('/');
    const v4 = isIPv4(address);
    const prefix = (prefixText === undefined ? (v4 ? 32 : 128) : Number(prefixText)) + (v4 ? 96 : 0);
    const bytes = addressBytes(address);
    let node = root;
    for (let bit = 0; bit < prefix; bit++) {
      const right = ((bytes[bit >> 3] as number) >> (7 - (bit & 7))) & 1;
      const key = right === 1 ? 'right' : 'left';
      if (bit === prefix - 1) {
        node[key] = { data: offsets.get(country) as number };
        break;
      }
      const next = node[key];
      if (next === null || isLeaf(next)) {
        // Splitting a leaf: both halves keep its data until narrower networks overwrite one.
        const child: TreeNode = { left: next, right: next };
        node[key] = child;
        node = child;
      } else node = next;
    }
  }
  // Number the nodes breadth-first (root = 0), then write each as two 24-bit records.
  const order: TreeNode[] = [];
  const ids = new Map<TreeNode, number>();
  const queue: TreeNode[] = [root];
  while (queue.length > 0) {
    const n = queue.shift() as TreeNode;
    ids.set(n, order.length);
    order.push(n);
    for (const c of [n.left, n.right]) if (c !== null && !isLeaf(c)) queue.push(c);
  }
  const nodeCount = order.length;
  const tree = Buffer.alloc(nodeCount * 6);
  const recordOf = (c: TreeNode | Leaf | null): number => {
    if (c === null) return nodeCount;
    if (isLeaf(c)) return nodeCount + 16 + c.data;
    return ids.get(c) as number;
  };
  order.forEach((n, i) => {
    tree.writeUIntBE(recordOf(n.left), i * 6, 3);
    tree.writeUIntBE(recordOf(n.right), i * 6 + 3, 3);
  });
  const metadata = encode({
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: BigInt(Math.floor(Date.now() / 1000)),
    database_type: databaseType,
    description: { en: 'Flint test database' },
    ip_version: 6,
    languages: ['en'],
    node_count: nodeCount,
    record_size: 24,
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...records, Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1'), metadata]);
}
