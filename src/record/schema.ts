/**
 * The canonical telemetry record (schema v1, nested), one per request lifecycle.
 * Every sink maps this one shape to its own encoding. A field that cannot be known is absent,
 * never made up. Field-by-field provenance: docs/schema.md.
 * @module
 */

export const SCHEMA_VERSION = 1;

export interface RequestGroup {
  correlation_id: string;
  /** Proxy's per-event request id from the request_headers metadata (not a join key). */
  request_id?: string;
  method?: string;
  host?: string;
  path?: string;
  path_template?: string;
  query?: string;
  query_keys?: string[];
  protocol?: string;
  headers?: Record<string, string[]>;
  body_bytes?: number;
  body_chunks?: number;
  referer?: string;
  content_type?: string;
  user_agent?: string;
  trace_id?: string;
  span_id?: string;
  /** Derived: `body_bytes` (else content-length) bucketed, see docs/enrichment.md. */
  body_size_bucket?: SizeBucket;
  /** Derived: UTC hour 0–23 of `timestamp`. */
  hour_of_day?: number;
  /** Derived: ISO day of week of `timestamp` in UTC, 1 = Monday … 7 = Sunday. */
  day_of_week?: number;
}

/** Body size classes of the derived `body_size_bucket` fields. */
export type SizeBucket =
  | "0"
  | "1B-1KiB"
  | "1-10KiB"
  | "10-100KiB"
  | "100KiB-1MiB"
  | "1-10MiB"
  | "10MiB+";

export interface ResponseGroup {
  status?: number;
  status_class?: string;
  body_bytes?: number;
  body_chunks?: number;
  content_type?: string;
  headers?: Record<string, string[]>;
  /** Derived: `body_bytes` (else content-length) bucketed. */
  body_size_bucket?: SizeBucket;
}

export interface ClientGroup {
  /** As the proxy sent it minus the port (redaction policy may change it later). */
  ip?: string;
  port?: number;
  ip_version?: 4 | 6;
  /** `unix` for a socket-path peer, `unknown` when the proxy said so. */
  address_kind?: "ip" | "unix" | "unknown" | "invalid";
  network_type?: string;
}

export interface TlsGroup {
  version?: string;
  cipher?: string;
  server_name?: string;
}

export interface TimingGroup {
  /** Agent-observed: request_headers arrival → response_headers arrival. */
  upstream_ms?: number;
  request_body_ms?: number;
  response_body_ms?: number;
  /** Only when a client sends request_complete. */
  total_ms?: number;
  /** Last event's arrival (ack path) → record built by the pipeline. */
  agent_lag_ms?: number;
  /** `agent` (own arrival times) or `proxy` (request_complete). */
  source?: "agent" | "proxy";
}

export interface SentinelGroup {
  route_id?: string;
  upstream_id?: string;
  upstream_attempts?: number;
  decision?: string;
  /** Where `decision` came from: a header another agent set, or inferred by the agent. */
  decision_source?: "header" | "inferred_status" | "inferred_no_response";
  risk_score?: number;
  matched_rules?: string[];
  error?: string;
}

export interface LabelsGroup {
  is_error?: boolean;
  is_bot?: boolean;
  is_threat?: boolean;
  is_slow?: boolean;
  /** The proxy (another agent) blocked the request, by header or inferred (see sentinel). */
  is_blocked?: boolean;
}

/** `geo.*`: from the client address in a GeoIP database (absent for non-public addresses). */
export interface GeoGroup {
  continent_code?: string;
  country_iso_code?: string;
  country_name?: string;
  /** ISO 3166-2, e.g. `US-CA` (only from databases that carry subdivision codes). */
  region_iso_code?: string;
  region_name?: string;
  city_name?: string;
  postal_code?: string;
  location?: { lat: number; lon: number };
  accuracy_radius_km?: number;
  timezone?: string;
  /** The database that answered, e.g. `dbip-city-mmdb@2.3.2026060513`. */
  data_version?: string;
}

/** `asn.*`: the autonomous system announcing the client address. */
export interface AsnGroup {
  number?: number;
  organization?: string;
  /** The CIDR block around the address that the data maps to this AS. */
  network?: string;
  /** From a Connection-Type database: `Cable/DSL`, `Cellular`, `Corporate`, … */
  connection_type?: string;
  data_version?: string;
}

/** `device.*`: parsed from User-Agent and client hints (`sec-ch-ua*`). */
export interface DeviceGroup {
  /** `desktop`, `mobile`, `tablet`, `smarttv`, `console`, `wearable`, `embedded`, `xr`, `bot`. */
  type?: string;
  vendor?: string;
  model?: string;
  os_name?: string;
  os_version?: string;
  browser_name?: string;
  browser_version?: string;
  engine_name?: string;
  engine_version?: string;
  cpu_arch?: string;
  is_bot?: boolean;
  bot_name?: string;
  /** Stable header fingerprint of the client software (`hf1:` + 16 hex digits). */
  fingerprint?: string;
  /** `ua` or `client_hints` (hints took precedence for at least one field). */
  source?: "ua" | "client_hints";
}

/** `threat.*`: reputation of the client address and request; `score` 0–100 with reasons. */
export interface ThreatGroup {
  is_known_bad?: boolean;
  /** Names of the threat lists the address is on. */
  lists?: string[];
  is_tor_exit?: boolean;
  is_proxy?: boolean;
  is_vpn?: boolean;
  is_hosting?: boolean;
  is_bogon?: boolean;
  score?: number;
  /** Why the score is what it is, e.g. `list:spamhaus-drop`, `tor_exit`, `hosting_asn`. */
  reasons?: string[];
  data_version?: string;
}

export interface AgentGroup {
  id: string;
  version: string;
  host: string;
}

/** Why a record is partial; absent on complete records. */
export type PartialReason =
  | "no_response"
  | "no_request"
  | "superseded"
  | "table_full"
  | "shutdown";

export interface TelemetryRecord {
  schema_version: number;
  event_id: string;
  /** Proxy timestamp of request_headers when known, else agent arrival time; RFC 3339 UTC ms. */
  timestamp: string;
  /** Weight: 1/p of the sampling decision that kept it. */
  sample_rate: number;
  /** True when the lifecycle was not complete (see `partial_reason`). */
  partial: boolean;
  partial_reason?: PartialReason;
  /** Events merged into this record (for accounting). */
  events: number;
  /** Protocol the proxy spoke: 1 or 2. */
  protocol_version?: number;
  agent: AgentGroup;
  request: RequestGroup;
  response?: ResponseGroup;
  client?: ClientGroup;
  tls?: TlsGroup;
  geo?: GeoGroup;
  asn?: AsnGroup;
  device?: DeviceGroup;
  threat?: ThreatGroup;
  timing?: TimingGroup;
  sentinel?: SentinelGroup;
  labels?: LabelsGroup;
}
