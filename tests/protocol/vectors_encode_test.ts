/**
 * The proxy emulator reproduces the real proxy's bytes (PROTOCOL.md §8 "Encode") and judges
 * answers as the real proxy does (§8 "Answers"), checked against every recorded vector.
 * @module
 */

import assert from "node:assert/strict";
import { bytesToHex, type EventName, hexToBytes } from "../helpers/frames.ts";
import {
  cancelJson,
  eventJson,
  eventMsgpack,
  handshakeJson,
  type JsonObject,
  pingJson,
  v1RequestJson,
} from "../helpers/proxy_encode.ts";
import {
  AnswerError,
  checkAgentResponse,
  checkHandshakeResponse,
} from "../helpers/answer_check.ts";
import { readMsgpack } from "../helpers/wire_values.ts";
import { casesOf } from "../helpers/vector_cases.ts";

/**
 * Re-serialise a MessagePack event with the entries of unordered maps (header maps and
 * guardrail `metadata`, both Rust HashMaps) sorted by their bytes, so order does not matter.
 */
function canonicalMsgpack(bytes: Uint8Array, msg: string): string {
  const top = readMsgpack(bytes);
  assert.equal(top.end, bytes.length, "no trailing bytes");
  assert.equal(top.node.t, "map");
  // Walk the raw bytes: top-level map header, then key/value spans.
  const hex = bytesToHex(bytes);
  let at = headerLength(bytes[0]);
  let out = hex.slice(0, at * 2);
  while (at < bytes.length) {
    const key = readMsgpack(bytes, at);
    const value = readMsgpack(bytes, key.end);
    const keyText = key.node.t === "str" ? key.node.v : "";
    out += hex.slice(at * 2, key.end * 2);
    const unordered = keyText === "headers" ||
      (msg === "guardrail_inspect" && keyText === "metadata");
    out += unordered
      ? sortedMapHex(bytes, key.end, value.end)
      : hex.slice(key.end * 2, value.end * 2);
    at = value.end;
  }
  return out;
}

function headerLength(marker: number): number {
  if ((marker & 0xf0) === 0x80 || (marker & 0xf0) === 0x90) return 1;
  if (marker === 0xde || marker === 0xdc) return 3;
  if (marker === 0xdf || marker === 0xdd) return 5;
  throw new Error(`not a container marker 0x${marker.toString(16)}`);
}

function sortedMapHex(bytes: Uint8Array, start: number, end: number): string {
  const head = headerLength(bytes[start]);
  const entries: string[] = [];
  let at = start + head;
  while (at < end) {
    const k = readMsgpack(bytes, at);
    const v = readMsgpack(bytes, k.end);
    entries.push(bytesToHex(bytes.subarray(at, v.end)));
    at = v.end;
  }
  return bytesToHex(bytes.subarray(start, start + head)) + entries.sort().join("");
}

Deno.test("eventJson reproduces every v2_encode_event JSON vector byte for byte", () => {
  const cases = casesOf("v2_encode_event").filter((c) => c.input.encoding === "json");
  assert.equal(cases.length, 18);
  for (const c of cases) {
    const got = eventJson(
      c.input.msg as EventName,
      c.input.event as JsonObject,
      c.input.correlation_id as string,
    );
    assert.equal(bytesToHex(got), c.result.hex, `${c.input.msg}`);
  }
});

Deno.test("eventMsgpack reproduces every v2_encode_event MessagePack vector", () => {
  const cases = casesOf("v2_encode_event").filter((c) => c.input.encoding === "msgpack");
  assert.equal(cases.length, 18);
  for (const c of cases) {
    const msg = c.input.msg as EventName;
    const got = eventMsgpack(msg, c.input.event as JsonObject, c.input.correlation_id as string);
    const want = hexToBytes(c.result.hex as string);
    assert.equal(got.length, want.length, `${msg}: length`);
    assert.equal(canonicalMsgpack(got, msg), canonicalMsgpack(want, msg), msg);
  }
});

Deno.test("canonicalMsgpack still tells different header values apart", () => {
  const a = eventMsgpack("response_headers", {
    correlation_id: "c",
    status: 200,
    headers: { a: ["1"], b: ["2"] },
  }, "c");
  const b = eventMsgpack("response_headers", {
    correlation_id: "c",
    status: 200,
    headers: { a: ["2"], b: ["1"] },
  }, "c");
  const swapped = eventMsgpack("response_headers", {
    correlation_id: "c",
    status: 200,
    headers: { b: ["2"], a: ["1"] },
  }, "c");
  assert.notEqual(canonicalMsgpack(a, "response_headers"), canonicalMsgpack(b, "response_headers"));
  assert.equal(
    canonicalMsgpack(a, "response_headers"),
    canonicalMsgpack(swapped, "response_headers"),
  );
});

Deno.test("v1RequestJson reproduces every v1_encode_request vector byte for byte", () => {
  const cases = casesOf("v1_encode_request");
  assert.equal(cases.length, 16);
  for (const c of cases) {
    const got = v1RequestJson(c.input.event_type as string, c.input.payload as JsonObject);
    assert.equal(bytesToHex(got), c.result.hex, `${c.input.event_type}`);
  }
});

Deno.test("handshakeJson, cancelJson and pingJson reproduce their vectors", () => {
  const hs = casesOf("v2_handshake_request");
  assert.equal(hs.length, 4);
  for (const c of hs) {
    const got = handshakeJson(c.input.supported_encodings as string[]);
    assert.equal(bytesToHex(got), c.result.hex);
  }
  const [cancel] = casesOf("v2_cancel");
  const ci = cancel.input as { correlation_id: string; reason: number; timestamp_ms: number };
  assert.equal(
    bytesToHex(cancelJson(ci.correlation_id, ci.reason, ci.timestamp_ms)),
    cancel.result.hex,
  );
  const [ping] = casesOf("v2_ping");
  const pi = ping.input as { sequence: number; timestamp_ms: number };
  assert.equal(bytesToHex(pingJson(pi.sequence, pi.timestamp_ms)), ping.result.hex);
});

function responseBytes(input: Record<string, unknown>): Uint8Array {
  return typeof input.text === "string"
    ? new TextEncoder().encode(input.text)
    : hexToBytes(input.hex as string);
}

function judge(run: () => { cid: string }): { ok: true; cid: string } | AnswerError {
  try {
    return { ok: true, ...run() };
  } catch (e) {
    if (e instanceof AnswerError) return e;
    throw e;
  }
}

Deno.test("checkAgentResponse never accepts what the proxy rejects, and routes like it", () => {
  const cases = casesOf("v2_decode_response");
  assert.equal(cases.length, 104);
  let accepted = 0;
  for (const c of cases) {
    const enc = c.input.encoding as "json" | "msgpack";
    const label = `${enc} ${c.input.text ?? c.input.name}`;
    const got = judge(() => checkAgentResponse(responseBytes(c.input), enc, 2));
    if (!c.result.ok) {
      assert.ok(got instanceof AnswerError, `must reject ${label}`);
    } else if (got instanceof AnswerError) {
      assert.equal(got.kind, "policy", `${label}: proxy accepts it, so only policy may refuse`);
    } else {
      accepted++;
      assert.equal(got.cid, (c.result.cid as string | undefined) ?? "", label);
    }
  }
  assert.ok(accepted >= 20, `accepted ${accepted}`);
});

Deno.test("checkAgentResponse with version 1 follows the v1_decode_response vectors", () => {
  for (const c of casesOf("v1_decode_response")) {
    const got = judge(() => checkAgentResponse(responseBytes(c.input), "json", 1));
    assert.equal(!(got instanceof AnswerError), c.result.ok, `${c.input.text}`);
  }
});

Deno.test("checkHandshakeResponse follows the v2_decode_handshake_response vectors", () => {
  const cases = casesOf("v2_decode_handshake_response");
  assert.equal(cases.length, 14);
  for (const c of cases) {
    const text = c.input.text as string;
    const got = judge(() => {
      checkHandshakeResponse(new TextEncoder().encode(text), ["msgpack", "json"]);
      return { cid: "" };
    });
    if (!c.result.ok) assert.ok(got instanceof AnswerError, `must reject ${text}`);
    else if (got instanceof AnswerError) assert.equal(got.kind, "policy", text);
  }
});

Deno.test("checkHandshakeResponse refuses an encoding that was not offered", () => {
  const text = new TextEncoder().encode(
    JSON.stringify({
      protocol_version: 2,
      capabilities: {
        agent_id: "a",
        name: "n",
        version: "1",
        supported_events: [1],
        features: {
          streaming_body: false,
          websocket: false,
          guardrails: false,
          config_push: false,
          metrics_export: false,
          concurrent_requests: 1,
          cancellation: true,
          flow_control: false,
          health_reporting: false,
        },
        limits: { max_body_size: 1, max_concurrency: 1, preferred_chunk_size: 1 },
      },
      success: true,
      encoding: "msgpack",
    }),
  );
  assert.equal(checkHandshakeResponse(text, ["msgpack", "json"]).encoding, "msgpack");
  assert.throws(() => checkHandshakeResponse(text, ["json"]), AnswerError);
  assert.throws(() => checkHandshakeResponse(text, []), AnswerError);
});
