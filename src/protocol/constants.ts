/**
 * Wire constants of the Sentinel/Zentinel agent protocol (PROTOCOL.md §1–§4).
 * @module
 */

/** Largest v1 body length N (10 MiB, as the proxy's v1 reader enforces). */
export const V1_MAX_FRAME = 10 * 1024 * 1024;
/** Largest v2 N (type byte + payload; 16 MiB). */
export const V2_MAX_FRAME = 16 * 1024 * 1024;

/** v2 message type bytes. */
export const MsgType = {
  HandshakeRequest: 0x01,
  HandshakeResponse: 0x02,
  RequestHeaders: 0x10,
  RequestBodyChunk: 0x11,
  ResponseHeaders: 0x12,
  ResponseBodyChunk: 0x13,
  RequestComplete: 0x14,
  WebSocketFrame: 0x15,
  GuardrailInspect: 0x16,
  Configure: 0x17,
  AgentResponse: 0x20,
  Cancel: 0x40,
  Ping: 0x41,
  Pong: 0x42,
} as const;

/** Event kinds as the pipeline names them; index = v2 type byte − 0x10. */
export const EVENT_KINDS = [
  "request_headers",
  "request_body_chunk",
  "response_headers",
  "response_body_chunk",
  "request_complete",
  "websocket_frame",
  "guardrail_inspect",
  "configure",
] as const;

export type EventKind = typeof EVENT_KINDS[number];

/** v1 `event_type` strings (wire spelling) → event kind. */
export const V1_EVENT_TYPES: Readonly<Record<string, EventKind>> = {
  request_headers: "request_headers",
  request_body_chunk: "request_body_chunk",
  response_headers: "response_headers",
  response_body_chunk: "response_body_chunk",
  request_complete: "request_complete",
  web_socket_frame: "websocket_frame",
  websocket_frame: "websocket_frame",
  guardrail_inspect: "guardrail_inspect",
  configure: "configure",
};

/** Encoding of a handed-off event body. */
export const Encoding = { V1Json: 0, Json: 1, MsgPack: 2 } as const;
export type EncodingId = typeof Encoding[keyof typeof Encoding];
