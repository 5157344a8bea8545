/**
 * Encodes frames byte for byte as the proxy does (PROTOCOL.md §2, §3.1, §3.4, §3.5, §3.7):
 * serde_json with sorted keys at every depth, and rmp_serde (`to_vec`: structs nested as arrays,
 * the top level a map with a duplicated `correlation_id`). Test-only helper.
 * @module
 */

import { type EventName, eventType, frameV1, frameV2, MSG } from "./frames.ts";

/** A JSON-like value as a test builds it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const enc = new TextEncoder();

/** Compare by UTF-8 bytes (= code points), as Rust's BTreeMap<String, _> orders keys. */
export function utf8Compare(a: string, b: string): number {
  const x = enc.encode(a);
  const y = enc.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** serde_json's compact text of a `Value`: objects with sorted keys at every depth. */
export function sortedJson(v: Json): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(",")}]`;
  const keys = Object.keys(v).sort(utf8Compare);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(v[k])}`).join(",")}}`;
}

/** `‡` fields (`skip_serializing_if = "Option::is_none"`): no key when absent or null. */
const SKIPPED_WHEN_NONE: Partial<Record<string, readonly string[]>> = {
  guardrail_inspect: ["model", "route_id"],
  configure: ["config_version"],
};

/** The event as serde serialises it: `‡` fields dropped when null (also `metadata.traceparent`). */
export function serdeShape(name: string, event: JsonObject): JsonObject {
  const out: JsonObject = { ...event };
  for (const k of SKIPPED_WHEN_NONE[name] ?? []) if ((out[k] ?? null) === null) delete out[k];
  const meta = out.metadata;
  if (name === "request_headers" && meta && typeof meta === "object" && !Array.isArray(meta)) {
    const m = { ...meta };
    if ((m.traceparent ?? null) === null) delete m.traceparent;
    out.metadata = m;
  }
  return out;
}

/** The v2 JSON payload of an event: the event plus the injected top-level `correlation_id`. */
export function eventJson(name: EventName, event: JsonObject, correlationId: string): Uint8Array {
  return enc.encode(sortedJson({ ...serdeShape(name, event), correlation_id: correlationId }));
}

/** The v1 body: outer keys in struct order, payload sorted (PROTOCOL.md §2). */
export function v1RequestJson(eventType: string, payload: JsonObject): Uint8Array {
  const wire = eventType === "websocket_frame" ? "web_socket_frame" : eventType;
  const shaped = sortedJson(serdeShape(eventType, payload));
  return enc.encode(`{"version":1,"event_type":${JSON.stringify(wire)},"payload":${shaped}}`);
}

/** The HandshakeRequest JSON, fields in struct order; the list is omitted when empty. */
export function handshakeJson(
  encodings: readonly string[],
  proxyVersion = "0.6.20",
  proxyId = "zentinel-proxy",
): Uint8Array {
  const list = encodings.length ? `,"supported_encodings":${JSON.stringify(encodings)}` : "";
  return enc.encode(
    `{"supported_versions":[2],"proxy_id":${JSON.stringify(proxyId)},` +
      `"proxy_version":${JSON.stringify(proxyVersion)},"config":null${list}}`,
  );
}

export function cancelJson(correlationId: string, reason: number, timestampMs: number): Uint8Array {
  return enc.encode(
    `{"correlation_id":${
      JSON.stringify(correlationId)
    },"reason":${reason},"timestamp_ms":${timestampMs}}`,
  );
}

export function pingJson(sequence: number, timestampMs: number): Uint8Array {
  return enc.encode(`{"sequence":${sequence},"timestamp_ms":${timestampMs}}`);
}

// ---------------------------------------------------------------------------------------------
// rmp_serde

/** How one struct field is written by rmp_serde. */
type Kind = "plain" | "meta" | "headers" | "sorted" | "opt‡";
type FieldList = readonly (readonly [string, Kind])[];

const META: FieldList = [
  "correlation_id",
  "request_id",
  "client_ip",
  "client_port",
  "server_name",
  "protocol",
  "tls_version",
  "tls_cipher",
  "route_id",
  "upstream_id",
  "timestamp",
].map((n) => [n, "plain"] as const);

const CHUNK = (bytes: string): FieldList => [
  ["correlation_id", "plain"],
  ["data", "plain"],
  ["is_last", "plain"],
  ["total_size", "plain"],
  ["chunk_index", "plain"],
  [bytes, "plain"],
];

/** Declaration order of each event struct (PROTOCOL.md §3.3, as the proxy defines them). */
const STRUCTS: Record<EventName, FieldList> = {
  request_headers: [["metadata", "meta"], ["method", "plain"], ["uri", "plain"], [
    "headers",
    "headers",
  ]],
  request_body_chunk: CHUNK("bytes_received"),
  response_headers: [["correlation_id", "plain"], ["status", "plain"], ["headers", "headers"]],
  response_body_chunk: CHUNK("bytes_sent"),
  request_complete: [
    "correlation_id",
    "status",
    "duration_ms",
    "request_body_size",
    "response_body_size",
    "upstream_attempts",
    "error",
  ].map((n) => [n, "plain"] as const),
  websocket_frame: [
    "correlation_id",
    "opcode",
    "data",
    "client_to_server",
    "frame_index",
    "fin",
    "route_id",
    "client_ip",
  ].map((n) => [n, "plain"] as const),
  guardrail_inspect: [
    ["correlation_id", "plain"],
    ["inspection_type", "plain"],
    ["content", "plain"],
    ["model", "opt‡"],
    ["categories", "plain"],
    ["route_id", "opt‡"],
    ["metadata", "headers"],
  ],
  configure: [["config", "sorted"], ["config_version", "opt‡"]],
};

/** The v2 MessagePack payload of an event, as `rmp_serde::to_vec` writes it. */
export function eventMsgpack(
  name: EventName,
  event: JsonObject,
  correlationId: string,
): Uint8Array {
  const w = new MsgpackWriter();
  const fields = STRUCTS[name].filter(([n, k]) => k !== "opt‡" || (event[n] ?? null) !== null);
  w.mapHeader(1 + fields.length);
  w.str("correlation_id");
  w.str(correlationId);
  for (const [n, kind] of fields) {
    w.str(n);
    writeField(w, kind, event[n] ?? null);
  }
  return w.bytes();
}

function writeField(w: MsgpackWriter, kind: Kind, v: Json): void {
  if (kind === "meta") {
    const m = v as JsonObject;
    const tp = m.traceparent ?? null;
    w.arrayHeader(tp === null ? 11 : 12);
    for (const [n] of META) w.value(m[n] ?? null, false);
    if (tp !== null) w.value(tp, false);
  } else {
    w.value(v, kind === "sorted");
  }
}

/** A minimal MessagePack writer choosing the smallest forms, as rmp does. */
export class MsgpackWriter {
  #out: number[] = [];

  bytes(): Uint8Array {
    return Uint8Array.from(this.#out);
  }

  value(v: Json, sortKeys: boolean): void {
    if (v === null) this.#out.push(0xc0);
    else if (typeof v === "boolean") this.#out.push(v ? 0xc3 : 0xc2);
    else if (typeof v === "number") this.num(v);
    else if (typeof v === "string") this.str(v);
    else if (Array.isArray(v)) {
      this.arrayHeader(v.length);
      for (const x of v) this.value(x, sortKeys);
    } else {
      const keys = sortKeys ? Object.keys(v).sort(utf8Compare) : Object.keys(v);
      this.mapHeader(keys.length);
      for (const k of keys) {
        this.str(k);
        this.value(v[k], sortKeys);
      }
    }
  }

  num(n: number): void {
    if (!Number.isInteger(n)) {
      this.#out.push(0xcb);
      this.#be(8, (dv) => dv.setFloat64(0, n));
    } else if (n >= 0) this.#uint(n);
    else if (n >= -32) this.#out.push(n & 0xff);
    else if (n >= -128) this.#out.push(0xd0, n & 0xff);
    else if (n >= -32768) this.#tagged(0xd1, 2, (dv) => dv.setInt16(0, n));
    else if (n >= -2147483648) this.#tagged(0xd2, 4, (dv) => dv.setInt32(0, n));
    else this.#tagged(0xd3, 8, (dv) => dv.setBigInt64(0, BigInt(n)));
  }

  str(s: string): void {
    const b = enc.encode(s);
    if (b.length < 32) this.#out.push(0xa0 | b.length);
    else if (b.length < 256) this.#out.push(0xd9, b.length);
    else if (b.length < 65536) this.#tagged(0xda, 2, (dv) => dv.setUint16(0, b.length));
    else this.#tagged(0xdb, 4, (dv) => dv.setUint32(0, b.length));
    for (const x of b) this.#out.push(x);
  }

  arrayHeader(n: number): void {
    this.#header(n, 0x90, 0xdc, 0xdd);
  }

  mapHeader(n: number): void {
    this.#header(n, 0x80, 0xde, 0xdf);
  }

  #header(n: number, fix: number, b16: number, b32: number): void {
    if (n < 16) this.#out.push(fix | n);
    else if (n < 65536) this.#tagged(b16, 2, (dv) => dv.setUint16(0, n));
    else this.#tagged(b32, 4, (dv) => dv.setUint32(0, n));
  }

  #uint(n: number): void {
    if (n < 128) this.#out.push(n);
    else if (n < 256) this.#out.push(0xcc, n);
    else if (n < 65536) this.#tagged(0xcd, 2, (dv) => dv.setUint16(0, n));
    else if (n < 2 ** 32) this.#tagged(0xce, 4, (dv) => dv.setUint32(0, n));
    else this.#tagged(0xcf, 8, (dv) => dv.setBigUint64(0, BigInt(n)));
  }

  #tagged(tag: number, size: number, set: (dv: DataView) => void): void {
    this.#out.push(tag);
    this.#be(size, set);
  }

  #be(size: number, set: (dv: DataView) => void): void {
    const b = new Uint8Array(size);
    set(new DataView(b.buffer));
    for (const x of b) this.#out.push(x);
  }
}

// ---------------------------------------------------------------------------------------------
// Whole frames

/** A whole v2 event frame in the given encoding. */
export function v2EventFrame(
  name: EventName,
  event: JsonObject,
  correlationId: string,
  encoding: "json" | "msgpack",
): Uint8Array {
  const payload = encoding === "json"
    ? eventJson(name, event, correlationId)
    : eventMsgpack(name, event, correlationId);
  return frameV2(eventType(name), payload);
}

/** A whole v1 frame. */
export function v1Frame(eventType: string, payload: JsonObject): Uint8Array {
  return frameV1(v1RequestJson(eventType, payload));
}

export function handshakeFrame(encodings: readonly string[]): Uint8Array {
  return frameV2(MSG.HANDSHAKE_REQUEST, handshakeJson(encodings));
}

// ---------------------------------------------------------------------------------------------
// Typical events, shaped as the proxy sends them (PROTOCOL.md §5)

/** A request_headers event as v0.6.20 builds it. */
export function requestHeadersEvent(cid: string, extra: Partial<JsonObject> = {}): JsonObject {
  return {
    metadata: {
      correlation_id: cid,
      request_id: crypto.randomUUID(),
      client_ip: "203.0.113.7:51234",
      client_port: 0,
      server_name: null,
      protocol: "HTTP/1.1",
      tls_version: null,
      tls_cipher: null,
      route_id: "api",
      upstream_id: "backend-1",
      timestamp: "2026-03-01T12:00:00.123456789+00:00",
    },
    method: "GET",
    uri: "/api/v1/users/42?expand=true",
    headers: { host: ["example.com"], "user-agent": ["curl/8.5.0"] },
    ...extra as JsonObject,
  };
}

/** A response_headers event. */
export function responseHeadersEvent(cid: string, status = 200): JsonObject {
  return {
    correlation_id: cid,
    status,
    headers: { "content-type": ["application/json"], "content-length": ["42"] },
  };
}

/** A request_body_chunk event (a buffered body: one chunk). */
export function requestBodyChunkEvent(cid: string, text = '{"a":1}'): JsonObject {
  const data = btoa(text);
  return {
    correlation_id: cid,
    data,
    is_last: true,
    total_size: text.length,
    chunk_index: 0,
    bytes_received: text.length,
  };
}
