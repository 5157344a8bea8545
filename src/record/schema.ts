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
}

export interface ResponseGroup {
  status?: number;
  status_class?: string;
  body_bytes?: number;
  body_chunks?: number;
  content_type?: string;
  headers?: Record<string, string[]>;
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
  /** First event arrival → record emitted by the pipeline. */
  agent_lag_ms?: number;
  /** `agent` (own arrival times) or `proxy` (request_complete). */
  source?: "agent" | "proxy";
}

export interface SentinelGroup {
  route_id?: string;
  upstream_id?: string;
  upstream_attempts?: number;
  decision?: string;
  risk_score?: number;
  matched_rules?: string[];
  error?: string;
}

export interface LabelsGroup {
  is_error?: boolean;
  is_bot?: boolean;
  is_threat?: boolean;
  is_slow?: boolean;
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
  geo?: Record<string, unknown>;
  asn?: Record<string, unknown>;
  device?: Record<string, unknown>;
  threat?: Record<string, unknown>;
  timing?: TimingGroup;
  sentinel?: SentinelGroup;
  labels?: LabelsGroup;
}
