/**
 * A header fingerprint of the client software, of our own design: stable across requests of one
 * client build and configuration, different across tools and browsers. Input: the set of header
 * names the client sent (sorted: the proxy does not keep header order), leaving out headers that
 * change with the request (cookies, referer, body and routing headers, ids), plus the values of
 * `user-agent`, `accept-language`, `accept-encoding` and the `sec-ch-ua` brand list. Output:
 * `hf1:` + 16 hex digits (two 32-bit FNV-1a based hashes). Not JA4H; not an identity of a person.
 * Pure function.
 * @module
 */

/** Header names that vary per request rather than per client, left out of the fingerprint. */
const VOLATILE = new Set([
  "authorization",
  "cache-control",
  "content-length",
  "content-type",
  "cookie",
  "forwarded",
  "host",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "origin",
  "pragma",
  "priority",
  "range",
  "referer",
  "traceparent",
  "tracestate",
  "upgrade-insecure-requests",
  "x-correlation-id",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-forwarded-proto",
  "x-real-ip",
  "x-request-id",
  "x-trace-id",
]);

const VALUE_HEADERS = ["user-agent", "accept-language", "accept-encoding", "sec-ch-ua"];

/** The fingerprint of a request's headers (`{name: [values]}`, names lower-case). */
export function headerFingerprint(headers: Record<string, unknown>): string {
  // Header names are combined order-free (a sum of per-name hashes), so no sort is needed.
  let names = 0, count = 0;
  for (const n in headers) {
    if (VOLATILE.has(n) || n.startsWith("sec-fetch-")) continue;
    names = (names + mix(hash(n, 0x811c9dc5))) >>> 0;
    count++;
  }
  let a = hash(String(count), names ^ 0x811c9dc5), b = mix(names ^ 0x5bd1e995);
  for (const n of VALUE_HEADERS) {
    const v = headers[n];
    const text = Array.isArray(v) && typeof v[0] === "string" ? v[0] : "";
    a = hash(text, a);
    b = mix(hash(text, b ^ 0x27d4eb2f));
  }
  return `hf1:${hex8(a)}${hex8(b)}`;
}

/** 32-bit FNV-1a of `s`, continuing from `h`, with a field separator. */
function hash(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ 0x1f, 0x01000193) >>> 0;
}

/** A 32-bit finaliser (murmur3 fmix) so sums of hashes do not cancel. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}
