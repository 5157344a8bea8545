/**
 * The compact ASN table: IP ranges → (AS number, organisation), as one little-endian binary file
 * that loads without parsing (typed-array views on the file) and answers by binary search.
 * Layout (all u32 unless said otherwise, every section 4-byte aligned):
 *
 *   0  magic "TLASNTB1" (8 bytes) · format version (1) · v4Count · v6Count · asCount ·
 *      stringBytes · reserved 0
 *  32  v4 starts[v4Count] · v4 ends[v4Count] · v4 as[v4Count]
 *      v6 starts[4·v6Count] · v6 ends[4·v6Count] · v6 as[v6Count]
 *      as numbers[asCount] · org offsets[asCount + 1] · organisation names (UTF-8, stringBytes)
 *
 * Built by scripts/fetch-geo-data.ts (`encodeAsnTable`); loaded and validated in the pipeline
 * worker (`decodeAsnTable`), which refuses a file that is truncated, unsorted or inconsistent.
 * @module
 */

import { DataFileError } from "./errors.ts";
import { formatV4, formatV6, type IpAddr } from "./ip.ts";
import { findV4, findV6, maskWords, prefixWithinV4, prefixWithinV6 } from "./range_search.ts";

const MAGIC = "TLASNTB1";
const VERSION = 1;
const HEADER_BYTES = 32;

/** One input range for the encoder: inclusive bounds as words (IPv4: `w` has one element). */
export interface AsnRange {
  start: number[];
  end: number[];
  asn: number;
  org: string;
}

/** An ASN lookup result. `network` is the largest CIDR block around the address in its range. */
export interface AsnHit {
  number: number;
  organization?: string;
  network: string;
}

/** A loaded ASN table. */
export interface AsnTable {
  v4Count: number;
  v6Count: number;
  asCount: number;
  lookup(ip: IpAddr): AsnHit | null;
}

/** Encode ranges (sorted or not; adjacent ranges of the same AS are merged). */
export function encodeAsnTable(v4: AsnRange[], v6: AsnRange[]): Uint8Array {
  const asIndex = new Map<string, number>();
  const asNumbers: number[] = [], orgs: string[] = [];
  const indexOf = (r: AsnRange) => {
    const key = `${r.asn}\u0000${r.org}`;
    let i = asIndex.get(key);
    if (i === undefined) {
      i = asNumbers.length;
      asIndex.set(key, i);
      asNumbers.push(r.asn);
      orgs.push(r.org);
    }
    return i;
  };
  const m4 = mergeRanges(v4, 1, indexOf), m6 = mergeRanges(v6, 4, indexOf);
  const strings = orgs.map((o) => new TextEncoder().encode(o));
  const stringBytes = strings.reduce((n, s) => n + s.length, 0);
  const words = 3 * m4.length + 9 * m6.length + asNumbers.length * 2 + 1;
  const out = new Uint8Array(HEADER_BYTES + words * 4 + stringBytes);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  [VERSION, m4.length, m6.length, asNumbers.length, stringBytes, 0].forEach((v, i) =>
    dv.setUint32(8 + i * 4, v, true)
  );
  let o = HEADER_BYTES;
  const put = (v: number) => {
    dv.setUint32(o, v, true);
    o += 4;
  };
  for (const part of ["start", "end"] as const) for (const r of m4) put(r[part][0]);
  for (const r of m4) put(r.as);
  for (const part of ["start", "end"] as const) for (const r of m6) r[part].forEach(put);
  for (const r of m6) put(r.as);
  asNumbers.forEach(put);
  let off = 0;
  for (const s of strings) {
    put(off);
    off += s.length;
  }
  put(off);
  for (const s of strings) {
    out.set(s, o);
    o += s.length;
  }
  return out;
}

interface Merged {
  start: number[];
  end: number[];
  as: number;
}

function mergeRanges(rs: AsnRange[], n: number, indexOf: (r: AsnRange) => number): Merged[] {
  const sorted = [...rs].sort((a, b) => cmpArr(a.start, b.start));
  const out: Merged[] = [];
  for (const r of sorted) {
    if (r.start.length !== n || r.end.length !== n || cmpArr(r.end, r.start) < 0) {
      throw new DataFileError("enrich_data_invalid", "asn", `bad range ${r.start}-${r.end}`);
    }
    const as = indexOf(r);
    const last = out[out.length - 1];
    let start = r.start;
    if (last && cmpArr(start, last.end) <= 0) {
      // Overlap: the earlier range keeps the shared part; the rest of this one stays.
      if (cmpArr(r.end, last.end) <= 0) continue;
      start = inc(last.end);
    }
    if (last && last.as === as && cmpArr(inc(last.end), start) === 0) last.end = r.end;
    else out.push({ start, end: r.end, as });
  }
  return out;
}

function cmpArr(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** `a + 1` (wrapping to all zeros past the top address). */
function inc(a: number[]): number[] {
  const c = [...a];
  for (let i = c.length - 1; i >= 0; i--) {
    if (c[i] !== 0xffffffff) {
      c[i]++;
      return c;
    }
    c[i] = 0;
  }
  return c;
}

/** View and validate an encoded table; throws `DataFileError` naming what is wrong. */
export function decodeAsnTable(bytes: Uint8Array, file = "asn table"): AsnTable {
  const bad = (why: string) => new DataFileError("enrich_data_invalid", file, why);
  if (bytes.length < HEADER_BYTES) throw bad("file is shorter than its header");
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw bad("not a Telemetry ASN table (bad magic)");
  }
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const dv = new DataView(aligned.buffer, aligned.byteOffset, aligned.byteLength);
  const h = (i: number) => dv.getUint32(8 + i * 4, true);
  if (h(0) !== VERSION) throw bad(`format version ${h(0)}, expected ${VERSION}`);
  const [n4, n6, nAs, nStr] = [h(1), h(2), h(3), h(4)];
  const words = 3 * n4 + 9 * n6 + 2 * nAs + 1;
  if (aligned.length !== HEADER_BYTES + words * 4 + nStr) {
    throw bad(`size ${aligned.length} does not match its header (truncated or corrupt)`);
  }
  let o = aligned.byteOffset + HEADER_BYTES;
  const take = (n: number) => {
    const a = new Uint32Array(aligned.buffer, o, n);
    o += n * 4;
    return a;
  };
  const t = {
    s4: take(n4),
    e4: take(n4),
    a4: take(n4),
    s6: take(4 * n6),
    e6: take(4 * n6),
    a6: take(n6),
    asn: take(nAs),
    off: take(nAs + 1),
    str: new Uint8Array(aligned.buffer, o, nStr),
  };
  validate(t, nAs, nStr, bad);
  return new Table(t, n4, n6, nAs);
}

type Views = {
  s4: Uint32Array;
  e4: Uint32Array;
  a4: Uint32Array;
  s6: Uint32Array;
  e6: Uint32Array;
  a6: Uint32Array;
  asn: Uint32Array;
  off: Uint32Array;
  str: Uint8Array;
};

function validate(t: Views, nAs: number, nStr: number, bad: (w: string) => Error): void {
  for (let i = 0; i < t.s4.length; i++) {
    if (t.e4[i] < t.s4[i] || (i > 0 && t.s4[i] <= t.e4[i - 1]) || t.a4[i] >= nAs) {
      throw bad(`IPv4 range ${i} is out of order or points past the AS table`);
    }
  }
  for (let i = 0; i < t.a6.length; i++) {
    const o = i << 2;
    const order = cmpAt(t.e6, o, t.s6, o) < 0 || (i > 0 && cmpAt(t.s6, o, t.e6, o - 4) <= 0);
    if (order || t.a6[i] >= nAs) throw bad(`IPv6 range ${i} is out of order`);
  }
  for (let i = 0; i < nAs; i++) {
    if (t.off[i + 1] < t.off[i]) throw bad(`organisation ${i} has a negative length`);
  }
  if (nAs > 0 && (t.off[0] !== 0 || t.off[nAs] !== nStr)) throw bad("string table size mismatch");
}

function cmpAt(a: Uint32Array, ao: number, b: Uint32Array, bo: number): number {
  for (let i = 0; i < 4; i++) if (a[ao + i] !== b[bo + i]) return a[ao + i] < b[bo + i] ? -1 : 1;
  return 0;
}

class Table implements AsnTable {
  readonly #t: Views;
  readonly #orgs: (string | undefined)[];
  readonly #decoder = new TextDecoder();
  constructor(
    t: Views,
    readonly v4Count: number,
    readonly v6Count: number,
    readonly asCount: number,
  ) {
    this.#t = t;
    this.#orgs = new Array(asCount);
  }

  lookup(ip: IpAddr): AsnHit | null {
    const t = this.#t;
    if (ip.version === 4) {
      const i = findV4(t.s4, t.e4, ip.v4);
      if (i < 0) return null;
      const len = prefixWithinV4(ip.v4, t.s4[i], t.e4[i]);
      const base = len === 0 ? 0 : (ip.v4 & (~0 << (32 - len))) >>> 0;
      return this.#hit(t.a4[i], `${formatV4(base)}/${len}`);
    }
    const i = findV6(t.s6, t.e6, ip);
    if (i < 0) return null;
    const len = prefixWithinV6(ip, t.s6, t.e6, i);
    const base = maskWords([ip.w0, ip.w1, ip.w2, ip.w3], len, false);
    return this.#hit(t.a6[i], `${formatV6(base)}/${len}`);
  }

  #hit(as: number, network: string): AsnHit {
    const hit: AsnHit = { number: this.#t.asn[as], network };
    const org = this.#org(as);
    if (org !== "") hit.organization = org;
    return hit;
  }

  #org(as: number): string {
    let s = this.#orgs[as];
    if (s === undefined) {
      const t = this.#t;
      s = this.#decoder.decode(t.str.subarray(t.off[as], t.off[as + 1]));
      this.#orgs[as] = s;
    }
    return s;
  }
}
