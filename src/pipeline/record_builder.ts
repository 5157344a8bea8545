/**
 * Turns an assembled lifecycle into the canonical record (src/record/schema.ts). Pipeline worker.
 * Fills only what the events say; enrichment groups (geo, asn, device, threat) are added by
 * their own stages. Headers leave the agent only when allowlisted (the redaction policy's lists,
 * `redaction/policy.ts` `headerCopyLists`): credential-bearing headers are not copied unless the
 * policy masks or hashes them, which the redaction stage then does.
 * @module
 */

import type {
  AgentGroup,
  PartialReason,
  RequestGroup,
  ResponseGroup,
  TelemetryRecord,
  TimingGroup,
} from "../record/schema.ts";
import { SCHEMA_VERSION } from "../record/schema.ts";
import { uuidv7 } from "../record/uuid.ts";
import { DEFAULT_REQUEST_HEADERS, DEFAULT_RESPONSE_HEADERS } from "../redact/presets.ts";
import { parseClientAddress } from "./client_address.ts";
import type { Lifecycle } from "./lifecycle.ts";

/** Request headers copied into `request.headers` by default (`redaction { request-headers }`). */
export const REQUEST_HEADER_ALLOWLIST: ReadonlySet<string> = new Set(DEFAULT_REQUEST_HEADERS);

/** Response headers copied into `response.headers` by default. */
export const RESPONSE_HEADER_ALLOWLIST: ReadonlySet<string> = new Set(DEFAULT_RESPONSE_HEADERS);

/** The header names to copy; from the redaction policy (`headerCopyLists`). */
export interface HeaderLists {
  request: ReadonlySet<string>;
  response: ReadonlySet<string>;
}

const DEFAULT_HEADER_LISTS: HeaderLists = {
  request: REQUEST_HEADER_ALLOWLIST,
  response: RESPONSE_HEADER_ALLOWLIST,
};

type Headers = Record<string, string[]>;
type Obj = Record<string, unknown>;

export function buildRecord(
  lc: Lifecycle,
  partial: PartialReason | null,
  agent: AgentGroup,
  nowMs: number,
  headers: HeaderLists = DEFAULT_HEADER_LISTS,
): TelemetryRecord {
  const meta = (lc.request?.metadata ?? {}) as Obj;
  const reqHeaders = headersOf(lc.request?.headers);
  const record: TelemetryRecord = {
    schema_version: SCHEMA_VERSION,
    event_id: uuidv7(),
    timestamp: timestampOf(meta.timestamp, lc.requestArrival ?? lc.firstArrival),
    sample_rate: 1,
    partial: partial !== null,
    events: lc.events,
    protocol_version: lc.protocol,
    agent,
    request: requestGroup(lc, meta, reqHeaders, headers.request),
  };
  if (partial) record.partial_reason = partial;
  const response = responseGroup(lc, headers.response);
  if (response) record.response = response;
  if (lc.request) record.client = parseClientAddress(meta.client_ip);
  const tls = tlsGroup(meta);
  if (tls) record.tls = tls;
  record.timing = timingGroup(lc, nowMs);
  record.sentinel = sentinelGroup(meta, lc.complete);
  record.labels = { is_error: isError(record) };
  return record;
}

function requestGroup(
  lc: Lifecycle,
  meta: Obj,
  headers: Headers,
  allow: ReadonlySet<string>,
): RequestGroup {
  const r: RequestGroup = { correlation_id: lc.cid };
  const req = lc.request;
  if (req) {
    if (typeof meta.request_id === "string") r.request_id = meta.request_id;
    if (typeof req.method === "string") r.method = req.method;
    const host = first(headers.host) ?? str(meta.server_name);
    if (host) r.host = host;
    if (typeof req.uri === "string") splitUri(req.uri, r);
    if (typeof meta.protocol === "string") r.protocol = meta.protocol;
    r.headers = pick(headers, allow);
    setIf(r, "referer", first(headers.referer));
    setIf(r, "content_type", first(headers["content-type"]));
    setIf(r, "user_agent", first(headers["user-agent"]));
    const trace = parseTraceparent(str(meta.traceparent) ?? first(headers.traceparent));
    if (trace) {
      r.trace_id = trace.traceId;
      r.span_id = trace.spanId;
    }
  }
  if (lc.requestChunks > 0) {
    r.body_bytes = lc.requestBytes;
    r.body_chunks = lc.requestChunks;
  } else if (lc.complete && typeof lc.complete.request_body_size === "number") {
    r.body_bytes = lc.complete.request_body_size;
  }
  return r;
}

function responseGroup(lc: Lifecycle, allow: ReadonlySet<string>): ResponseGroup | undefined {
  const status = lc.response?.status ?? lc.complete?.status;
  if (!lc.response && typeof status !== "number") return undefined;
  const g: ResponseGroup = {};
  if (typeof status === "number") {
    g.status = status;
    g.status_class = `${Math.floor(status / 100)}xx`;
  }
  if (lc.response) {
    const h = headersOf(lc.response.headers);
    setIf(g, "content_type", first(h["content-type"]));
    g.headers = pick(h, allow);
  }
  if (lc.responseChunks > 0) {
    g.body_bytes = lc.responseBytes;
    g.body_chunks = lc.responseChunks;
  } else if (lc.complete && typeof lc.complete.response_body_size === "number") {
    g.body_bytes = lc.complete.response_body_size;
  }
  return g;
}

function tlsGroup(meta: Obj): TelemetryRecord["tls"] {
  const version = str(meta.tls_version), cipher = str(meta.tls_cipher);
  const server = str(meta.server_name);
  if (!version && !cipher && !server) return undefined;
  const g: NonNullable<TelemetryRecord["tls"]> = {};
  setIf(g, "version", version);
  setIf(g, "cipher", cipher);
  setIf(g, "server_name", server);
  return g;
}

function timingGroup(lc: Lifecycle, nowMs: number): TimingGroup {
  const t: TimingGroup = { source: lc.complete ? "proxy" : "agent" };
  // A response that reached the agent before its request (different connections, proxy
  // timeouts) has no measurable span: absent rather than negative.
  const span = (from?: number, to?: number) =>
    from !== undefined && to !== undefined && to >= from ? round3(to - from) : undefined;
  setIf(t, "upstream_ms", span(lc.requestArrival, lc.responseArrival));
  setIf(t, "request_body_ms", span(lc.requestArrival, lc.requestLastChunkArrival));
  setIf(t, "response_body_ms", span(lc.responseArrival, lc.responseLastChunkArrival));
  if (lc.complete && typeof lc.complete.duration_ms === "number") {
    t.total_ms = lc.complete.duration_ms;
  }
  t.agent_lag_ms = round3(Math.max(0, nowMs - lc.lastArrival));
  return t;
}

function sentinelGroup(meta: Obj, complete: Obj | undefined): TelemetryRecord["sentinel"] {
  const g: NonNullable<TelemetryRecord["sentinel"]> = {};
  setIf(g, "route_id", str(meta.route_id));
  setIf(g, "upstream_id", str(meta.upstream_id));
  if (complete) {
    if (typeof complete.upstream_attempts === "number") {
      g.upstream_attempts = complete.upstream_attempts;
    }
    setIf(g, "error", str(complete.error));
  }
  return g;
}

function isError(r: TelemetryRecord): boolean {
  return (r.response?.status ?? 0) >= 500 || r.sentinel?.error !== undefined;
}

/** W3C traceparent → ids; null when absent, malformed, or all-zero. */
export function parseTraceparent(
  v: string | undefined,
): { traceId: string; spanId: string } | null {
  if (!v) return null;
  const s = v.trim();
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/.exec(s);
  if (!m || m[1] === "ff" || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) return null;
  // Version 00 is exactly 55 characters; later versions may append `-`-separated fields.
  if (s.length !== 55 && (m[1] === "00" || s[55] !== "-")) return null;
  return { traceId: m[2], spanId: m[3] };
}

/** Proxy RFC 3339 (0–9 fraction digits, `+00:00`) → UTC with milliseconds; arrival if unreadable. */
export function timestampOf(v: unknown, arrivalMs: number): string {
  const ms = typeof v === "string" ? parseRfc3339(v) : null;
  return new Date(ms ?? arrivalMs).toISOString();
}

/**
 * Milliseconds since the epoch of a valid RFC 3339 date-time
 * (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`), or null (no roll-over). Read character by
 * character: it runs once per record.
 */
function parseRfc3339(v: string): number | null {
  const n = v.length;
  if (n < 20 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84) {
    return null; // "-", "-", "T"
  }
  if (v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return null; // ":"
  const y = digits(v, 0, 4), mo = digits(v, 5, 2), d = digits(v, 8, 2);
  const h = digits(v, 11, 2), mi = digits(v, 14, 2), s = digits(v, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return null;
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return null;
  let i = 19, frac = 0;
  if (v.charCodeAt(i) === 46) { // "."
    const start = ++i;
    while (i < n && isDigit(v.charCodeAt(i))) {
      if (i - start < 3) frac = frac * 10 + v.charCodeAt(i) - 48;
      i++;
    }
    if (i === start) return null;
    for (let k = Math.min(i - start, 3); k < 3; k++) frac *= 10;
  }
  let offset = 0;
  const z = v.charCodeAt(i);
  if (z === 90 && i + 1 === n) offset = 0; // "Z"
  else if ((z === 43 || z === 45) && i + 6 === n && v.charCodeAt(i + 3) === 58) {
    const oh = digits(v, i + 1, 2), om = digits(v, i + 4, 2);
    if (oh < 0 || om < 0) return null;
    offset = (z === 45 ? -1 : 1) * (oh * 60 + om);
  } else return null;
  return Date.UTC(y, mo - 1, d) + ((h * 60 + mi - offset) * 60 + s) * 1000 + frac;
}

/** The decimal number in `v[at, at + len)`, or -1 if a character is not a digit. */
function digits(v: string, at: number, len: number): number {
  let x = 0;
  for (let i = at; i < at + len; i++) {
    const c = v.charCodeAt(i);
    if (!isDigit(c)) return -1;
    x = x * 10 + c - 48;
  }
  return x;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Days in a month of year `y` as `Date.UTC` reads it (years 0–99 are 1900–1999 there). */
function daysIn(y: number, mo: number): number {
  if (y < 100) y += 1900;
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

function splitUri(uri: string, r: RequestGroup): void {
  // Absolute form (`https://host/path?q`): the authority is not part of the path.
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(uri);
  if (scheme) {
    r.host ??= scheme[1].replace(/^.*@/, "") || undefined;
    uri = uri.slice(scheme[0].length);
    if (!uri.startsWith("/")) uri = "/" + uri;
  }
  const q = uri.indexOf("?");
  r.path = q < 0 ? uri : uri.slice(0, q);
  if (q < 0) return;
  r.query = uri.slice(q + 1);
  const keys = new Set<string>();
  for (const part of r.query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    keys.add(safeDecode(eq < 0 ? part : part.slice(0, eq)));
  }
  r.query_keys = [...keys];
}

function safeDecode(s: string): string {
  if (s.indexOf("%") < 0 && s.indexOf("+") < 0) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s; // malformed percent-encoding: keep the key as sent
  }
}

function headersOf(v: unknown): Headers {
  return v && typeof v === "object" && !Array.isArray(v) ? v as Headers : {};
}

function pick(h: Headers, allow: ReadonlySet<string>): Headers {
  const out: Headers = {};
  for (const name in h) if (allow.has(name) && Array.isArray(h[name])) out[name] = h[name];
  return out;
}

function first(v: unknown): string | undefined {
  return Array.isArray(v) && typeof v[0] === "string" && v[0] !== "" ? v[0] : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function setIf<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
