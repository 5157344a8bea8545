/**
 * Parses the proxy's `client_ip` field, which carries the port (PROTOCOL.md §5):
 * `203.0.113.7:51234`, `[2001:db8::1]:443`, a bare address, a Unix socket path, or `unknown`.
 * Pipeline worker. Never throws: what it cannot read is `address_kind: "invalid"`.
 * @module
 */

import type { ClientGroup } from "../record/schema.ts";

/** Split and validate a proxy client address. */
export function parseClientAddress(raw: unknown): ClientGroup {
  if (typeof raw !== "string" || raw === "") return { address_kind: "invalid" };
  if (raw === "unknown") return { address_kind: "unknown" };
  if (raw.startsWith("/") || raw.startsWith("@")) return { address_kind: "unix" };
  if (raw.startsWith("[")) {
    const close = raw.indexOf("]");
    if (close < 0) return { address_kind: "invalid" };
    const ip = normaliseV6(raw.slice(1, close));
    const rest = raw.slice(close + 1);
    const port = rest === "" ? undefined : rest.startsWith(":") ? parsePort(rest.slice(1)) : null;
    if (!ip || port === null) return { address_kind: "invalid" };
    return withPort(v6Group(ip), port);
  }
  const colon = raw.indexOf(":");
  if (colon < 0 || raw.indexOf(":", colon + 1) < 0) {
    const host = colon < 0 ? raw : raw.slice(0, colon);
    const port = colon < 0 ? undefined : parsePort(raw.slice(colon + 1));
    if (!isIpv4(host) || port === null) return { address_kind: "invalid" };
    return withPort({ ip: host, ip_version: 4, address_kind: "ip" }, port);
  }
  const ip = normaliseV6(raw);
  return ip ? v6Group(ip) : { address_kind: "invalid" };
}

/** An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) is an IPv4 client on a dual-stack socket. */
function v6Group(ip: string): ClientGroup {
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (!mapped) return { ip, ip_version: 6, address_kind: "ip" };
  const hi = parseInt(mapped[1], 16), lo = parseInt(mapped[2], 16);
  const v4 = [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
  return { ip: v4, ip_version: 4, address_kind: "ip" };
}

function withPort(g: ClientGroup, port: number | undefined): ClientGroup {
  if (port !== undefined && port !== 0) g.port = port;
  return g;
}

/** Dotted-quad IPv4 in canonical form: four decimal octets 0–255, no leading zeros. */
function isIpv4(s: string): boolean {
  let octets = 0, value = 0, len = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) { // "."
      if (len === 0 || value > 255 || ++octets > 4) return false;
      value = len = 0;
    } else if (c >= 48 && c <= 57) {
      if (len === 1 && value === 0) return false; // leading zero
      value = value * 10 + c - 48;
      if (++len > 3) return false;
    } else return false;
  }
  return octets === 4;
}

function parsePort(s: string): number | null {
  if (s.length === 0 || s.length > 5) return null;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    n = n * 10 + c - 48;
  }
  return n <= 65535 ? n : null;
}

/** The canonical (compressed, lower-case) form of an IPv6 address, or null if invalid. */
function normaliseV6(s: string): string | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return null;
  try {
    return new URL(`http://[${s}]/`).hostname.slice(1, -1);
  } catch {
    return null; // URL refused it: not an IPv6 address
  }
}
