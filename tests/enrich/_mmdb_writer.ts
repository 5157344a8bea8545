/**
 * A small writer of MaxMind DB files (format 2.0, 24-bit records), so tests can bring their own
 * GeoIP2-City, ASN, Anonymous-IP and Connection-Type databases and read them through the agent's
 * real loader (`npm:maxmind`). Test-only: no data de-duplication, networks must not nest.
 * @module
 */

import { parseIp } from "../../src/enrich/ip.ts";

/** A value the data section can hold. */
export type MmdbValue = string | number | boolean | MmdbValue[] | { [k: string]: MmdbValue };

export interface MmdbSpec {
  databaseType: string;
  /** 4 or 6; IPv4 networks go under ::/96 in an IPv6 tree. */
  ipVersion: 4 | 6;
  networks: { cidr: string; data: Record<string, MmdbValue> }[];
  buildEpoch?: number;
}

interface Node {
  kids: [Node | number | null, Node | number | null];
  id?: number;
}

/** Encode a database. */
export function writeMmdb(spec: MmdbSpec): Uint8Array {
  const data: number[] = [];
  const root: Node = { kids: [null, null] };
  for (const n of spec.networks) {
    const offset = data.length;
    encode(n.data, data);
    insert(root, bitsOf(n.cidr, spec.ipVersion), offset);
  }
  const nodes: Node[] = [];
  number(root, nodes);
  const count = nodes.length;
  const tree = new Uint8Array(count * 6);
  nodes.forEach((node, i) => {
    node.kids.forEach((k, side) => {
      const v = k === null ? count : typeof k === "number" ? count + 16 + k : k.id!;
      tree[i * 6 + side * 3] = (v >>> 16) & 255;
      tree[i * 6 + side * 3 + 1] = (v >>> 8) & 255;
      tree[i * 6 + side * 3 + 2] = v & 255;
    });
  });
  const meta: number[] = [];
  encode({
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: spec.buildEpoch ?? 1_767_225_600,
    database_type: spec.databaseType,
    description: { en: `${spec.databaseType} test database` },
    ip_version: spec.ipVersion,
    languages: ["en"],
    node_count: count,
    record_size: 24,
  }, meta);
  const marker = [0xab, 0xcd, 0xef, ...new TextEncoder().encode("MaxMind.com")];
  return Uint8Array.from([...tree, ...new Array(16).fill(0), ...data, ...marker, ...meta]);
}

function bitsOf(cidr: string, version: 4 | 6): number[] {
  const [addr, lenText] = cidr.split("/");
  const ip = parseIp(addr);
  if (!ip) throw new Error(`bad network ${cidr}`);
  const words = ip.version === 4 ? [ip.v4] : [ip.w0, ip.w1, ip.w2, ip.w3];
  const width = words.length * 32;
  const len = Number(lenText ?? width);
  const bits: number[] = [];
  if (version === 6 && ip.version === 4) { for (let i = 0; i < 96; i++) bits.push(0); }
  for (let i = 0; i < len; i++) bits.push((words[i >>> 5] >>> (31 - (i & 31))) & 1);
  return bits;
}

function insert(root: Node, bits: number[], offset: number): void {
  let node = root;
  for (let i = 0; i < bits.length - 1; i++) {
    let next = node.kids[bits[i]];
    if (next === null) next = node.kids[bits[i]] = { kids: [null, null] };
    if (typeof next === "number") throw new Error("networks nest");
    node = next;
  }
  node.kids[bits[bits.length - 1]] = offset;
}

function number(node: Node, out: Node[]): void {
  node.id = out.length;
  out.push(node);
  for (const k of node.kids) if (k !== null && typeof k === "object") number(k, out);
}

function encode(v: MmdbValue, out: number[]): void {
  if (typeof v === "string") {
    const b = new TextEncoder().encode(v);
    control(2, b.length, out);
    out.push(...b);
  } else if (typeof v === "boolean") control(14, v ? 1 : 0, out);
  else if (typeof v === "number") encodeNumber(v, out);
  else if (Array.isArray(v)) {
    control(11, v.length, out);
    for (const x of v) encode(x, out);
  } else {
    const keys = Object.keys(v);
    control(7, keys.length, out);
    for (const k of keys) {
      encode(k, out);
      encode(v[k], out);
    }
  }
}

function encodeNumber(n: number, out: number[]): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    control(3, 8, out);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, n);
    out.push(...b);
    return;
  }
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 255);
  control(n <= 0xffff ? 5 : 6, bytes.length, out);
  out.push(...bytes);
}

function control(type: number, size: number, out: number[]): void {
  const ext = type > 7;
  const sizeBits = size < 29 ? size : size < 285 ? 29 : 30;
  out.push(((ext ? 0 : type) << 5) | sizeBits);
  if (ext) out.push(type - 7);
  if (size >= 29 && size < 285) out.push(size - 29);
  else if (size >= 285) out.push(((size - 285) >>> 8) & 255, (size - 285) & 255);
}
