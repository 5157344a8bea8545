/**
 * Classifies a client address by the IANA special-purpose registries (RFC 6890 and successors):
 * `public`, or the kind of non-routable range it is in. Non-public addresses are never looked up
 * in geo/ASN data. Pipeline worker and CLI. Pure functions.
 * @module
 */

import type { IpAddr } from "./ip.ts";

/** What `client.network_type` says. Only `public` addresses are looked up. */
export type NetworkType =
  | "public"
  | "private"
  | "loopback"
  | "link_local"
  | "cgnat"
  | "documentation"
  | "benchmarking"
  | "multicast"
  | "broadcast"
  | "unspecified"
  | "nat64"
  | "reserved";

/** Types an honest client cannot have on the public internet (spoofing or misconfiguration). */
export const IMPOSSIBLE_SOURCES: ReadonlySet<NetworkType> = new Set<NetworkType>([
  "documentation",
  "benchmarking",
  "multicast",
  "broadcast",
  "unspecified",
  "reserved",
]);

type V4Rule = [start: number, prefix: number, type: NetworkType];
type V6Rule = [words: [number, number, number, number], prefix: number, type: NetworkType];

const V4: V4Rule[] = [
  [v4(0, 0, 0, 0), 8, "unspecified"],
  [v4(10, 0, 0, 0), 8, "private"],
  [v4(100, 64, 0, 0), 10, "cgnat"],
  [v4(127, 0, 0, 0), 8, "loopback"],
  [v4(169, 254, 0, 0), 16, "link_local"],
  [v4(172, 16, 0, 0), 12, "private"],
  [v4(192, 0, 0, 0), 24, "reserved"],
  [v4(192, 0, 2, 0), 24, "documentation"],
  [v4(192, 88, 99, 0), 24, "reserved"],
  [v4(192, 168, 0, 0), 16, "private"],
  [v4(198, 18, 0, 0), 15, "benchmarking"],
  [v4(198, 51, 100, 0), 24, "documentation"],
  [v4(203, 0, 113, 0), 24, "documentation"],
  [v4(224, 0, 0, 0), 4, "multicast"],
  [v4(255, 255, 255, 255), 32, "broadcast"],
  [v4(240, 0, 0, 0), 4, "reserved"],
];

const V6: V6Rule[] = [
  [[0, 0, 0, 0], 128, "unspecified"],
  [[0, 0, 0, 1], 128, "loopback"],
  [[0x0064ff9b, 0, 0, 0], 96, "nat64"],
  [[0x0064ff9b, 0x00010000, 0, 0], 48, "private"],
  [[0x01000000, 0, 0, 0], 64, "reserved"],
  [[0x20010002, 0, 0, 0], 48, "benchmarking"],
  [[0x20010db8, 0, 0, 0], 32, "documentation"],
  [[0x20010010, 0, 0, 0], 28, "reserved"],
  [[0x20010020, 0, 0, 0], 28, "reserved"],
  [[0x3fff0000, 0, 0, 0], 20, "documentation"],
  [[0xfc000000, 0, 0, 0], 7, "private"],
  [[0xfe800000, 0, 0, 0], 10, "link_local"],
  [[0xfec00000, 0, 0, 0], 10, "reserved"],
  [[0xff000000, 0, 0, 0], 8, "multicast"],
];

/** The network type of an address (IPv4-mapped addresses are classified as IPv4). */
export function networkType(ip: IpAddr): NetworkType {
  if (ip.version === 4) {
    for (const [start, prefix, type] of V4) {
      if (inV4(ip.v4, start, prefix)) return type;
    }
    return "public";
  }
  const w = [ip.w0, ip.w1, ip.w2, ip.w3];
  for (const [start, prefix, type] of V6) if (inV6(w, start, prefix)) return type;
  // Outside 2000::/3 nothing is allocated for global unicast.
  return (ip.w0 >>> 29) === 1 ? "public" : "reserved";
}

function v4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function inV4(ip: number, start: number, prefix: number): boolean {
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return ((ip & mask) >>> 0) === start;
}

function inV6(w: number[], start: number[], prefix: number): boolean {
  for (let i = 0; i < 4 && prefix > 0; i++, prefix -= 32) {
    const bits = Math.min(32, prefix);
    const mask = (~0 << (32 - bits)) >>> 0;
    if (((w[i] & mask) >>> 0) !== start[i]) return false;
  }
  return true;
}
