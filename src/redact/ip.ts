/**
 * Client IP truncation: keeps the network prefix (`/24` for IPv4, `/48` for IPv6 by default)
 * and zeroes the host bits, so `203.0.113.77` → `203.0.113.0` and `2001:db8:1:2::9` →
 * `2001:db8:1::`. Pipeline worker. Pure.
 * @module
 */

/** `ip` with the bits after `prefix` zeroed; null when `ip` is not an IPv4 address. */
export function truncateIpv4(ip: string, prefix: number): string | null {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) {
    return null;
  }
  const n = parts.reduce((a, p) => a * 256 + Number(p), 0);
  const keep = prefix <= 0 ? 0 : Math.floor(n / 2 ** (32 - prefix)) * 2 ** (32 - prefix);
  return [24, 16, 8, 0].map((s) => Math.floor(keep / 2 ** s) % 256).join(".");
}

/** `ip` with the bits after `prefix` zeroed, compressed; null when not an IPv6 address. */
export function truncateIpv6(ip: string, prefix: number): string | null {
  const groups = expandIpv6(ip);
  if (!groups) return null;
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    groups[i] = bits === 0 ? 0 : groups[i] & (0xffff << (16 - bits)) & 0xffff;
  }
  return compressIpv6(groups);
}

/** Eight 16-bit groups, or null. Accepts `::` and an IPv4 tail. */
export function expandIpv6(ip: string): number[] | null {
  let s = ip;
  const v4 = /:(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const o = v4.slice(1).map(Number);
    if (o.some((x) => x > 255)) return null;
    s = `${s.slice(0, v4.index + 1)}${((o[0] << 8) | o[1]).toString(16)}:${
      ((o[2] << 8) | o[3]).toString(16)
    }`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (h: string) => (h === "" ? [] : h.split(":"));
  const head = parse(halves[0]), tail = halves.length === 2 ? parse(halves[1]) : [];
  const all = [...head, ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const missing = 8 - all.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const fill = halves.length === 2 ? new Array(missing).fill("0") : [];
  return [...head, ...fill, ...tail].map((g) => parseInt(g, 16));
}

/** RFC 5952 text: lowercase, longest run (≥ 2) of zero groups as `::`. */
export function compressIpv6(groups: number[]): string {
  let bestAt = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}
