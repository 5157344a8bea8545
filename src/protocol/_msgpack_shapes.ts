/**
 * Field tables of the proxy's event structs, in declaration order (PROTOCOL.md §3.3).
 * The order matters for MessagePack, where rmp_serde writes nested structs as arrays
 * (`metadata` has 11 elements, 12 with `traceparent`); the same tables validate JSON events.
 * Pure data; used by `decode.ts` in the pipeline worker. Never touched by the ack path.
 * @module
 */

/** What a field holds once decoded. */
export type FieldType =
  | "string"
  | "u16"
  | "u32"
  | "u64"
  | "bool"
  | "headers"
  | "strings"
  | "object"
  | "any"
  | "metadata";

/**
 * How a field may be absent:
 * `required` must be there and non-null; `nullable` (`?`) is `null` when absent;
 * `omittable` (`‡`) stays absent when absent; `default` takes the serde default when absent.
 */
export type Presence = "required" | "nullable" | "omittable" | "default";

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly presence: Presence;
}

function f(name: string, type: FieldType, presence: Presence = "required"): FieldSpec {
  return { name, type, presence };
}

/** `RequestMetadata`: the `metadata` of RequestHeaders. */
export const METADATA_FIELDS: readonly FieldSpec[] = [
  f("correlation_id", "string"),
  f("request_id", "string"),
  f("client_ip", "string"),
  f("client_port", "u16"),
  f("server_name", "string", "nullable"),
  f("protocol", "string"),
  f("tls_version", "string", "nullable"),
  f("tls_cipher", "string", "nullable"),
  f("route_id", "string", "nullable"),
  f("upstream_id", "string", "nullable"),
  f("timestamp", "string"),
  f("traceparent", "string", "omittable"),
];

const CID = f("correlation_id", "string");

/** Event structs by event kind name (v2 type bytes 0x10..0x17, in this order). */
export const EVENT_FIELDS: Readonly<Record<string, readonly FieldSpec[]>> = {
  request_headers: [
    f("metadata", "metadata"),
    f("method", "string"),
    f("uri", "string"),
    f("headers", "headers"),
  ],
  request_body_chunk: [
    CID,
    f("data", "string"),
    f("is_last", "bool"),
    f("total_size", "u64", "nullable"),
    f("chunk_index", "u32", "default"),
    f("bytes_received", "u64", "default"),
  ],
  response_headers: [CID, f("status", "u16"), f("headers", "headers")],
  response_body_chunk: [
    CID,
    f("data", "string"),
    f("is_last", "bool"),
    f("total_size", "u64", "nullable"),
    f("chunk_index", "u32", "default"),
    f("bytes_sent", "u64", "default"),
  ],
  request_complete: [
    CID,
    f("status", "u16"),
    f("duration_ms", "u64"),
    f("request_body_size", "u64"),
    f("response_body_size", "u64"),
    f("upstream_attempts", "u32"),
    f("error", "string", "nullable"),
  ],
  // `opcode` and `inspection_type` are serde enums written as strings; any string is accepted so
  // that a variant added by a newer proxy is recorded rather than dropped.
  websocket_frame: [
    CID,
    f("opcode", "string"),
    f("data", "string"),
    f("client_to_server", "bool"),
    f("frame_index", "u64"),
    f("fin", "bool"),
    f("route_id", "string", "nullable"),
    f("client_ip", "string"),
  ],
  guardrail_inspect: [
    CID,
    f("inspection_type", "string"),
    f("content", "string"),
    f("model", "string", "omittable"),
    f("categories", "strings", "default"),
    f("route_id", "string", "omittable"),
    f("metadata", "object", "default"),
  ],
  // The proxy's v2 Configure has no id of its own: the id is the injected top-level one.
  // The vectors show `config_version` omitted when absent, so it is `‡`, not `?`.
  configure: [f("config", "any", "nullable"), f("config_version", "string", "omittable")],
};

/** The v1 `configure` payload: `{"agent_id":…,"config":…}` (PROTOCOL.md §2). */
export const V1_CONFIGURE_FIELDS: readonly FieldSpec[] = [
  f("agent_id", "string"),
  f("config", "any", "nullable"),
];

/** The serde default of a `default` field. */
export function defaultOf(type: FieldType): unknown {
  if (type === "strings") return [];
  if (type === "object") return {};
  return 0;
}
