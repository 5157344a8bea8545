/**
 * Parses the proxy's `client_ip` field, which carries the port (PROTOCOL.md §5):
 * `203.0.113.7:51234`, `[2001:db8::1]:443`, a bare address, a Unix socket path, or `unknown`.
 * Pipeline worker. Never throws: what it cannot read is `address_kind: "invalid"`.
 * @module
 */

import type { ClientGroup } from "../record/schema.ts";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

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
    return withPort({ ip, ip_version: 6, address_kind: "ip" }, port);
  }
  const colons = raw.split(":").length - 1;
  if (colons === 0 || colons === 1) {
    const [host, p] = raw.split(":");
    const port = p === undefined ? undefined : parsePort(p);
    if (!IPV4.test(host) || port === null) return { address_kind: "invalid" };
    return withPort({ ip: host, ip_version: 4, address_kind: "ip" }, port);
  }
  const ip = normaliseV6(raw);
  return ip ? { ip, ip_version: 6, address_kind: "ip" } : { address_kind: "invalid" };
}

function withPort(g: ClientGroup, port: number | undefined): ClientGroup {
  if (port !== undefined && port !== 0) g.port = port;
  return g;
}

function parsePort(s: string): number | null {
  if (!/^\d{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** The canonical (compressed, lower-case) form of an IPv6 address, or null if invalid. */
function normaliseV6(s: string): string | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return null;
  try {
    const host = new URL(`http://[${s}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return null; // URL refused it: not an IPv6 address
  }
}
