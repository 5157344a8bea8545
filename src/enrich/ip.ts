/**
 * IP addresses as numbers: parses IPv4, IPv6 (any spelling, zone ids, embedded dotted quads) and
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`, `::ffff:102:304`, which are read as the IPv4 address they
 * carry) into 32-bit words for range searches and tree lookups. Pipeline worker and CLI.
 * Never throws: what it cannot read is `null`.
 * @module
 */

/**
 * A parsed address. IPv4: `v4` holds the address as an unsigned 32-bit number. IPv6: `w0..w3` hold
 * its 128 bits, most significant word first. `mapped` is true when an IPv4-mapped IPv6 address was
 * read as IPv4.
 */
export interface IpAddr {
  version: 4 | 6;
  v4: number;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  mapped: boolean;
}

/** Parse an address; null when it is not a valid IPv4 or IPv6 address. */
export function parseIp(s: string): IpAddr | null {
  if (s.length === 0 || s.length > 64) return null;
  if (s.indexOf(":") < 0) {
    const v4 = parseV4(s, 0, s.length);
    return v4 < 0 ? null : ipv4(v4, false);
  }
  return parseV6(s);
}

/** An IPv4 address from its 32-bit value. */
export function ipv4(v4: number, mapped = false): IpAddr {
  return { version: 4, v4: v4 >>> 0, w0: 0, w1: 0, w2: 0xffff, w3: v4 >>> 0, mapped };
}

/** Dotted-quad text of a 32-bit IPv4 value. */
export function formatV4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Compressed IPv6 text (RFC 5952) of four 32-bit words. */
export function formatV6(w: readonly number[]): string {
  const g: number[] = [];
  for (const x of w) g.push((x >>> 16) & 0xffff, x & 0xffff);
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(":");
  const head = hex.slice(0, bestAt).join(":");
  const tail = hex.slice(bestAt + bestLen).join(":");
  return `${head}::${tail}`;
}

/** The text to look the address up by: dotted quad for IPv4 (mapped ones too), else IPv6. */
export function lookupText(ip: IpAddr): string {
  return ip.version === 4 ? formatV4(ip.v4) : formatV6([ip.w0, ip.w1, ip.w2, ip.w3]);
}

/** A dotted quad from s[from, to); -1 when invalid. Leading zeros are refused (ambiguous). */
function parseV4(s: string, from: number, to: number): number {
  let value = 0, octet = 0, digits = 0, dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function parseV6(input: string): IpAddr | null {
  const zone = input.indexOf("%");
  const s = zone < 0 ? input : input.slice(0, zone);
  const groups = new Array<number>(8).fill(0);
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return null;
  const head = dbl < 0 ? s : s.slice(0, dbl);
  const tail = dbl < 0 ? "" : s.slice(dbl + 2);
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const parts = [...left, ...right];
  const words: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].indexOf(".") >= 0 && i !== parts.length - 1) return null;
    if (!pushGroup(parts[i], words)) return null;
  }
  if (dbl >= 0 && tail === "" && left.some((p) => p.indexOf(".") >= 0)) return null;
  const nLeft = countGroups(left);
  if (dbl < 0 ? words.length !== 8 : words.length > 7) return null;
  for (let i = 0; i < nLeft; i++) groups[i] = words[i];
  for (let i = nLeft; i < words.length; i++) groups[8 - (words.length - i)] = words[i];
  return fromGroups(groups);
}

/** Append one group (or two, for a trailing dotted quad); false when invalid. */
function pushGroup(part: string, out: number[]): boolean {
  if (part.indexOf(".") >= 0) {
    const v4 = parseV4(part, 0, part.length);
    if (v4 < 0) return false;
    out.push(v4 >>> 16, v4 & 0xffff);
    return true;
  }
  if (part.length === 0 || part.length > 4) return false;
  let v = 0;
  for (let i = 0; i < part.length; i++) {
    const d = hexDigit(part.charCodeAt(i));
    if (d < 0) return false;
    v = v * 16 + d;
  }
  out.push(v);
  return true;
}

function countGroups(parts: string[]): number {
  let n = 0;
  for (const p of parts) n += p.indexOf(".") >= 0 ? 2 : 1;
  return n;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function fromGroups(g: number[]): IpAddr {
  const w0 = ((g[0] << 16) | g[1]) >>> 0, w1 = ((g[2] << 16) | g[3]) >>> 0;
  const w2 = ((g[4] << 16) | g[5]) >>> 0, w3 = ((g[6] << 16) | g[7]) >>> 0;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return ipv4(w3, true);
  return { version: 6, v4: 0, w0, w1, w2, w3, mapped: false };
}
