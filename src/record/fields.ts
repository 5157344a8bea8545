/**
 * The machine-readable description of the record (schema v1): every field of
 * `src/record/schema.ts` with its type, whether it is always present, a cardinality hint and a
 * one-line meaning. Generators (ClickHouse DDL and rows, later BigQuery, Parquet, JSON Schema)
 * read this one description. Typed groups are checked against `TelemetryRecord` at compile
 * time: a field added to schema.ts and missing here fails `deno check`.
 * Any thread. Pure data.
 * @module
 */

import type { TelemetryRecord } from "./schema.ts";

/** What a field holds, independent of any backend. */
export type FieldKind =
  /** UTF-8 text. */
  | "string"
  /** Integer; `bits` gives the width, `signed` whether it can be negative. */
  | "integer"
  /** IEEE 754 double. */
  | "float"
  | "boolean"
  /** RFC 3339 UTC with milliseconds (`2026-03-01T12:00:00.123Z`). */
  | "timestamp"
  /** IPv4 or IPv6 address as text (may be changed by a redaction policy). */
  | "ip"
  /** List of strings, in order. */
  | "string_list"
  /** HTTP header name → list of values (`Record<string, string[]>`). */
  | "header_map";

/** One leaf field. */
export interface FieldSpec {
  readonly kind: FieldKind;
  /** Integer width in bits (integers only). */
  readonly bits?: 8 | 16 | 32 | 64;
  /** Integers only: may be negative. @default false */
  readonly signed?: boolean;
  /** Always present in every record. @default false */
  readonly required?: boolean;
  /** Few distinct values (methods, countries, route ids): worth dictionary encoding. */
  readonly lowCardinality?: boolean;
  /** What the field means (docs/schema.md says where it comes from). */
  readonly doc: string;
}

/** A nested group of fields (`request`, `geo`, `geo.location` …). */
export interface GroupSpec {
  readonly group: Readonly<Record<string, FieldNode>>;
  readonly doc: string;
}

export type FieldNode = FieldSpec | GroupSpec;

/** A description of `T`: every key of `T` (optional ones too), each a leaf or a group. */
export type Describe<T> = {
  readonly [K in keyof Required<T>]: NonNullable<T[K]> extends Leafy ? FieldSpec
    : NonNullable<T[K]> extends Record<string, string[]> ? FieldSpec
    : GroupSpec & { readonly group: Describe<NonNullable<T[K]>> };
};
type Leafy = string | number | boolean | readonly unknown[];

/** One leaf with its path, as generators walk them. */
export interface FieldEntry {
  /** Keys from the record root, e.g. `["geo", "location", "lat"]`. */
  readonly path: readonly string[];
  readonly spec: FieldSpec;
}

const str = (doc: string, o: Partial<FieldSpec> = {}): FieldSpec => ({ kind: "string", doc, ...o });
const lc = (doc: string, o: Partial<FieldSpec> = {}): FieldSpec =>
  str(doc, { lowCardinality: true, ...o });
const int = (bits: 8 | 16 | 32 | 64, doc: string, o: Partial<FieldSpec> = {}): FieldSpec => ({
  kind: "integer",
  bits,
  doc,
  ...o,
});
const float = (doc: string, o: Partial<FieldSpec> = {}): FieldSpec => ({
  kind: "float",
  doc,
  ...o,
});
const bool = (doc: string, o: Partial<FieldSpec> = {}): FieldSpec => ({
  kind: "boolean",
  doc,
  ...o,
});
const list = (doc: string, o: Partial<FieldSpec> = {}): FieldSpec => ({
  kind: "string_list",
  doc,
  ...o,
});
const headers = (doc: string): FieldSpec => ({ kind: "header_map", doc });
const group = <T extends Record<string, FieldNode>>(doc: string, g: T) => ({ doc, group: g });

/** The record, field by field. Order here is column order in generated tables. */
export const RECORD_FIELDS: Describe<TelemetryRecord> = {
  schema_version: int(16, "Layout version of the record (1)", { required: true }),
  event_id: str("UUIDv7 made by the agent; time-ordered, use it to de-duplicate", {
    required: true,
  }),
  timestamp: {
    kind: "timestamp",
    required: true,
    doc: "Proxy request_headers time, else agent arrival time",
  },
  sample_rate: float("Weight of the record: 1/p of the sampling decision", { required: true }),
  partial: bool("The lifecycle was incomplete", { required: true }),
  partial_reason: lc("Why the record is partial"),
  events: int(32, "Proxy events merged into the record", { required: true }),
  protocol_version: int(8, "Protocol the proxy spoke (1 or 2)"),
  agent: group("The agent that built the record", {
    id: lc("Agent instance id", { required: true }),
    version: lc("Agent version", { required: true }),
    host: lc("Agent host name", { required: true }),
  }),
  request: group("The request as the proxy saw it", {
    correlation_id: str("Proxy correlation id (client-controlled, not unique)", {
      required: true,
    }),
    request_id: str("Proxy per-event request id"),
    method: lc("HTTP method"),
    host: lc("Host header, else the proxy's server name"),
    path: str("URI path"),
    path_template: lc("Route template of the path"),
    query: str("Query string as sent (before redaction policy)"),
    query_keys: list("Distinct query parameter names, in order", { lowCardinality: true }),
    protocol: lc("HTTP protocol version"),
    headers: headers("Allowlisted request headers"),
    body_bytes: int(64, "Request body size in bytes"),
    body_chunks: int(32, "Request body chunks seen"),
    referer: str("Referer header"),
    content_type: lc("Content-Type header"),
    user_agent: str("User-Agent header"),
    trace_id: str("W3C trace id"),
    span_id: str("W3C parent span id"),
    body_size_bucket: lc("Derived: request body size class"),
    hour_of_day: int(8, "Derived: UTC hour 0–23 of timestamp"),
    day_of_week: int(8, "Derived: ISO day of week in UTC, 1 = Monday"),
  }),
  response: group("The upstream response", {
    status: int(16, "HTTP status code"),
    status_class: lc("Status class (2xx …)"),
    body_bytes: int(64, "Response body size in bytes"),
    body_chunks: int(32, "Response body chunks seen"),
    content_type: lc("Content-Type header"),
    headers: headers("Allowlisted response headers"),
    body_size_bucket: lc("Derived: response body size class"),
  }),
  client: group("The client address", {
    ip: { kind: "ip", doc: "Client IP (per IP policy)" },
    port: int(16, "Client port"),
    ip_version: int(8, "4 or 6"),
    address_kind: lc("ip, unix, unknown or invalid"),
    network_type: lc("public, private, loopback …"),
  }),
  tls: group("TLS of the client connection", {
    version: lc("TLS version"),
    cipher: lc("Cipher suite"),
    server_name: lc("SNI server name"),
  }),
  geo: group("Location of the client IP", {
    continent_code: lc("Continent code"),
    country_iso_code: lc("ISO 3166-1 alpha-2 country"),
    country_name: lc("Country name (English)"),
    region_iso_code: lc("ISO 3166-2 subdivision"),
    region_name: lc("Subdivision name"),
    city_name: lc("City name"),
    postal_code: lc("Postal code"),
    location: group("Approximate coordinates", {
      lat: float("Latitude"),
      lon: float("Longitude"),
    }),
    accuracy_radius_km: int(32, "Accuracy radius in km"),
    timezone: lc("IANA time zone"),
    data_version: lc("GeoIP database that answered"),
  }),
  asn: group("Autonomous system of the client IP", {
    number: int(32, "AS number"),
    organization: lc("AS organisation"),
    network: str("Announced network (CIDR)"),
    connection_type: lc("Cable/DSL, Cellular, Corporate …"),
    data_version: lc("ASN database that answered"),
  }),
  device: group("Client device from the User-Agent", {
    type: lc("desktop, mobile, tablet, bot …"),
    vendor: lc("Device vendor"),
    model: lc("Device model"),
    os_name: lc("Operating system"),
    os_version: lc("Operating system version"),
    browser_name: lc("Browser"),
    browser_version: lc("Browser version"),
    engine_name: lc("Rendering engine"),
    engine_version: lc("Rendering engine version"),
    cpu_arch: lc("CPU architecture"),
    is_bot: bool("Known bot"),
    bot_name: lc("Bot name"),
    fingerprint: str("Stable header fingerprint of the client software"),
    source: lc("ua or client_hints"),
  }),
  threat: group("Threat intelligence on the client", {
    is_known_bad: bool("On a block list"),
    lists: list("Lists that matched", { lowCardinality: true }),
    is_tor_exit: bool("Tor exit node"),
    is_proxy: bool("Known proxy"),
    is_vpn: bool("Known VPN"),
    is_hosting: bool("Hosting / data-centre network"),
    is_bogon: bool("Bogon address"),
    score: float("Threat score 0–100"),
    reasons: list("Why the score is what it is", { lowCardinality: true }),
    data_version: lc("Threat data that answered"),
  }),
  timing: group("Durations in milliseconds (docs/schema.md: what each measures)", {
    upstream_ms: float("request_headers → response_headers arrival"),
    request_body_ms: float("request_headers → last request body chunk"),
    response_body_ms: float("response_headers → last response body chunk"),
    total_ms: float("Proxy duration (request_complete only)"),
    agent_lag_ms: float("Last event arrival → record built"),
    source: lc("agent or proxy"),
  }),
  sentinel: group("What the proxy decided", {
    route_id: lc("Route id"),
    upstream_id: lc("Upstream id"),
    upstream_attempts: int(16, "Upstream attempts"),
    decision: lc("Proxy decision"),
    decision_source: lc("header, inferred_status or inferred_no_response"),
    risk_score: float("Proxy risk score"),
    matched_rules: list("Rules that matched", { lowCardinality: true }),
    error: str("Proxy error"),
  }),
  labels: group("Ready-made targets for ML", {
    is_error: bool("Status >= 500 or a proxy error"),
    is_bot: bool("Bot traffic"),
    is_threat: bool("Threat traffic"),
    is_slow: bool("Slow request"),
    is_blocked: bool("The proxy blocked the request"),
  }),
};

/**
 * Every leaf of the record description, depth first, in declaration order.
 *
 * @example
 * ```ts
 * for (const { path, spec } of recordFields()) console.log(path.join("."), spec.kind);
 * ```
 */
export function recordFields(): FieldEntry[] {
  const out: FieldEntry[] = [];
  walk(RECORD_FIELDS as Readonly<Record<string, FieldNode>>, [], out);
  return out;
}

function walk(node: Readonly<Record<string, FieldNode>>, path: string[], out: FieldEntry[]): void {
  for (const [key, child] of Object.entries(node)) {
    if ("group" in child) walk(child.group, [...path, key], out);
    else out.push({ path: [...path, key], spec: child });
  }
}
