/**
 * Answer templates: every answer the agent writes is built here from constant bytes plus the
 * event's correlation id, copied raw (JSON: still escaped, which the proxy decodes to the same
 * string; MessagePack: the UTF-8 bytes). Main thread (ack path). Forms per PROTOCOL.md §4.
 * @module
 */

import { MsgType } from "./constants.ts";

const enc = new TextEncoder();

/** v1 answer frame, header included: `{"version":1,"decision":"allow"}`. */
export const V1_ALLOW: Uint8Array = frameOf(null, enc.encode(`{"version":1,"decision":"allow"}`));

const JSON_HEAD = enc.encode(
  `{"version":2,"decision":"allow","audit":{"custom":{"correlation_id":"`,
);
const JSON_TAIL = enc.encode(`"}}}`);
// fixmap(3) "version" 2 "decision" "allow" "audit" fixmap(1) "custom" fixmap(1) "correlation_id"
const MSGPACK_HEAD = new Uint8Array([
  0x83,
  0xa7,
  ...enc.encode("version"),
  0x02,
  0xa8,
  ...enc.encode("decision"),
  0xa5,
  ...enc.encode("allow"),
  0xa5,
  ...enc.encode("audit"),
  0x81,
  0xa6,
  ...enc.encode("custom"),
  0x81,
  0xae,
  ...enc.encode("correlation_id"),
]);

/** Bytes a v2 JSON ack takes for a correlation id of `cidLength` raw bytes. */
export function v2JsonAckSize(cidLength: number): number {
  return 5 + JSON_HEAD.length + cidLength + JSON_TAIL.length;
}

/** Bytes a v2 MessagePack ack takes for a correlation id of `cidLength` bytes. */
export function v2MsgpackAckSize(cidLength: number): number {
  return 5 + MSGPACK_HEAD.length + strHeaderSize(cidLength) + cidLength;
}

/** Write a v2 JSON ack for `src[start..end)` at `out[at]`; returns the index after it. */
export function writeV2JsonAck(
  out: Uint8Array,
  at: number,
  src: Uint8Array,
  start: number,
  end: number,
): number {
  const len = end - start;
  let i = writeHeader(
    out,
    at,
    1 + JSON_HEAD.length + len + JSON_TAIL.length,
    MsgType.AgentResponse,
  );
  out.set(JSON_HEAD, i);
  i += JSON_HEAD.length;
  out.set(src.subarray(start, end), i);
  i += len;
  out.set(JSON_TAIL, i);
  return i + JSON_TAIL.length;
}

/** Write a v2 MessagePack ack for the cid bytes `src[start..end)` at `out[at]`. */
export function writeV2MsgpackAck(
  out: Uint8Array,
  at: number,
  src: Uint8Array,
  start: number,
  end: number,
): number {
  const len = end - start;
  const body = MSGPACK_HEAD.length + strHeaderSize(len) + len;
  let i = writeHeader(out, at, 1 + body, MsgType.AgentResponse);
  out.set(MSGPACK_HEAD, i);
  i += MSGPACK_HEAD.length;
  i = writeStrHeader(out, i, len);
  out.set(src.subarray(start, end), i);
  return i + len;
}

/** A whole frame: u32be length, optional type byte, body. */
export function frameOf(type: number | null, body: Uint8Array): Uint8Array {
  const head = type === null ? 4 : 5;
  const out = new Uint8Array(head + body.length);
  if (type === null) new DataView(out.buffer).setUint32(0, body.length);
  else writeHeader(out, 0, body.length + 1, type);
  out.set(body, head);
  return out;
}

function writeHeader(out: Uint8Array, at: number, n: number, type: number): number {
  out[at] = n >>> 24;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
  out[at + 4] = type;
  return at + 5;
}

function strHeaderSize(len: number): number {
  return len < 32 ? 1 : len < 256 ? 2 : len < 65536 ? 3 : 5;
}

function writeStrHeader(out: Uint8Array, i: number, len: number): number {
  if (len < 32) {
    out[i] = 0xa0 | len;
    return i + 1;
  }
  if (len < 256) {
    out[i] = 0xd9;
    out[i + 1] = len;
    return i + 2;
  }
  if (len < 65536) {
    out[i] = 0xda;
    out[i + 1] = len >>> 8;
    out[i + 2] = len & 0xff;
    return i + 3;
  }
  out[i] = 0xdb;
  out[i + 1] = len >>> 24;
  out[i + 2] = (len >>> 16) & 0xff;
  out[i + 3] = (len >>> 8) & 0xff;
  out[i + 4] = len & 0xff;
  return i + 5;
}
