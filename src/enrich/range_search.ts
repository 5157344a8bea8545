/**
 * Binary search over sorted, non-overlapping inclusive address ranges: IPv4 as `Uint32Array`
 * starts/ends, IPv6 as four 32-bit words per address (most significant first). Shared by the ASN
 * table and the threat lists. Pure functions; never allocate on the lookup path.
 * @module
 */

import type { IpAddr } from "./ip.ts";

/** Index of the IPv4 range holding `ip`, or -1. */
export function findV4(starts: Uint32Array, ends: Uint32Array, ip: number): number {
  let lo = 0, hi = starts.length - 1, at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid] <= ip) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return at >= 0 && ends[at] >= ip ? at : -1;
}

/** Index of the IPv6 range holding `ip`, or -1. `starts`/`ends` hold 4 words per range. */
export function findV6(starts: Uint32Array, ends: Uint32Array, ip: IpAddr): number {
  let lo = 0, hi = (starts.length >>> 2) - 1, at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp6(starts, mid << 2, ip) <= 0) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return at >= 0 && cmp6(ends, at << 2, ip) >= 0 ? at : -1;
}

/** Compare the address at `a[o..o+3]` with `ip`: negative, 0 or positive. */
export function cmp6(a: Uint32Array, o: number, ip: IpAddr): number {
  if (a[o] !== ip.w0) return a[o] < ip.w0 ? -1 : 1;
  if (a[o + 1] !== ip.w1) return a[o + 1] < ip.w1 ? -1 : 1;
  if (a[o + 2] !== ip.w2) return a[o + 2] < ip.w2 ? -1 : 1;
  if (a[o + 3] !== ip.w3) return a[o + 3] < ip.w3 ? -1 : 1;
  return 0;
}

/** Compare two 4-word addresses stored in arrays. */
export function cmpWords(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number) {
  for (let i = 0; i < 4; i++) {
    if (a[ao + i] !== b[bo + i]) return a[ao + i] < b[bo + i] ? -1 : 1;
  }
  return 0;
}

/**
 * The shortest CIDR prefix length whose block around `ip` lies within [start, end] (IPv4): the
 * largest network the data maps as one. Binary search: a longer prefix only shrinks the block.
 */
export function prefixWithinV4(ip: number, start: number, end: number): number {
  let lo = 0, hi = 32;
  while (lo < hi) {
    const len = (lo + hi) >>> 1;
    const size = 2 ** (32 - len);
    const base = Math.floor(ip / size) * size;
    if (base >= start && base + size - 1 <= end) hi = len;
    else lo = len + 1;
  }
  return lo;
}

const scratchBase = [0, 0, 0, 0], scratchTop = [0, 0, 0, 0];

/** As `prefixWithinV4`, for the IPv6 range `i` of `starts`/`ends` (4 words per range). */
export function prefixWithinV6(ip: IpAddr, starts: Uint32Array, ends: Uint32Array, i: number) {
  const w = [ip.w0, ip.w1, ip.w2, ip.w3];
  const o = i << 2;
  let lo = 0, hi = 128;
  while (lo < hi) {
    const len = (lo + hi) >>> 1;
    maskInto(w, len, false, scratchBase);
    maskInto(w, len, true, scratchTop);
    if (cmpWords(scratchBase, 0, starts, o) >= 0 && cmpWords(scratchTop, 0, ends, o) <= 0) hi = len;
    else lo = len + 1;
  }
  return lo;
}

/** `w` with the bits after `len` cleared (or set, when `fill`). */
export function maskWords(w: readonly number[], len: number, fill: boolean): number[] {
  return maskInto(w, len, fill, [0, 0, 0, 0]);
}

function maskInto(w: readonly number[], len: number, fill: boolean, out: number[]): number[] {
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, len - i * 32));
    const keep = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    out[i] = fill ? ((w[i] & keep) | (~keep >>> 0)) >>> 0 : (w[i] & keep) >>> 0;
  }
  return out;
}
