import assert from "node:assert/strict";
import {
  chooseEncoding,
  handshakeResponse,
  parseHandshake,
  type WireEncoding,
} from "../../src/protocol/handshake.ts";
import { checkHandshakeResponse } from "../helpers/answer_check.ts";
import { casesOf } from "../helpers/vector_cases.ts";

const te = new TextEncoder();
const td = new TextDecoder("utf-8", { fatal: true });
const ID = { agentId: "telemetry", name: "Telemetry", version: "0.1.0" };

function fromHex(h: string): Uint8Array {
  return new Uint8Array((h.match(/../g) ?? []).map((x) => parseInt(x, 16)));
}

function request(encodings: unknown): Uint8Array {
  const list = encodings === undefined ? "" : `,"supported_encodings":${JSON.stringify(encodings)}`;
  return te.encode(
    `{"supported_versions":[2],"proxy_id":"zentinel-proxy","proxy_version":"0.6.20",` +
      `"config":null${list}}`,
  );
}

/** Negotiate as ingress does and return the response frame and its JSON payload. */
function negotiate(payload: Uint8Array): { frame: Uint8Array; body: Record<string, unknown> } {
  const req = parseHandshake(payload);
  assert.ok(req, "handshake parsed");
  const frame = handshakeResponse(ID, req, chooseEncoding(req.encodings));
  assert.equal(new DataView(frame.buffer).getUint32(0), frame.length - 4);
  assert.equal(frame[4], 0x02, "HandshakeResponse type byte");
  return { frame, body: JSON.parse(td.decode(frame.subarray(5))) };
}

Deno.test("parseHandshake() reads every recorded v2_handshake_request", () => {
  const cases = casesOf("v2_handshake_request");
  assert.equal(cases.length, 4);
  for (const c of cases) {
    const req = parseHandshake(fromHex(c.result.hex!));
    assert.ok(req);
    assert.deepEqual(req.supportedVersions, [2]);
    assert.equal(req.proxyId, "zentinel-proxy");
    assert.equal(req.proxyVersion, "0.6.20");
    assert.deepEqual(req.encodings, c.input.supported_encodings);
  }
});

Deno.test("parseHandshake() refuses what is not a handshake object", () => {
  for (
    const t of [
      "",
      "not json",
      "[]",
      "null",
      "2",
      `"x"`,
      `{}`,
      `{"supported_versions":2}`,
      `{"supported_versions":[2]} x`,
    ]
  ) {
    assert.equal(parseHandshake(te.encode(t)), null, t);
  }
  assert.equal(parseHandshake(new Uint8Array([0x7b, 0xff, 0x7d])), null, "invalid UTF-8");
});

Deno.test("chooseEncoding() takes the first offered encoding the agent speaks", () => {
  const cases: [string[], WireEncoding][] = [
    [["json"], "json"],
    [["msgpack", "json"], "msgpack"],
    [["json", "msgpack"], "json"],
    [["msgpack"], "msgpack"],
    [[], "json"],
    [["cbor", "msgpack"], "msgpack"],
    [["cbor", "json"], "json"],
  ];
  for (const [offered, want] of cases) assert.equal(chooseEncoding(offered), want, `${offered}`);
});

Deno.test("handshakeResponse() passes the proxy's check for every recorded request", () => {
  for (const c of casesOf("v2_handshake_request")) {
    const offered = c.input.supported_encodings as string[];
    const { frame } = negotiate(fromHex(c.result.hex!));
    const info = checkHandshakeResponse(frame.subarray(5), offered);
    assert.equal(info.protocolVersion, 2);
    assert.equal(info.agentId, "telemetry");
  }
});

Deno.test("handshakeResponse() names json for [json]", () => {
  const { body } = negotiate(request(["json"]));
  assert.equal(body.encoding, "json");
});

Deno.test("handshakeResponse() names msgpack for [msgpack, json]", () => {
  const { body } = negotiate(request(["msgpack", "json"]));
  assert.equal(body.encoding, "msgpack");
});

Deno.test("handshakeResponse() omits encoding for an empty or missing list", () => {
  for (const list of [[], undefined]) {
    const { body, frame } = negotiate(request(list));
    assert.equal(Object.hasOwn(body, "encoding"), false, JSON.stringify(list));
    assert.equal(checkHandshakeResponse(frame.subarray(5), []).encoding, "json");
  }
});

Deno.test("handshakeResponse() never names an encoding the proxy did not offer", () => {
  // §3.1: "Never name one not offered". With only unknown encodings offered no answer is safe
  // (absent = JSON, which was not offered either): the agent refuses with a reason.
  for (const offered of [["cbor"], ["JSON"], ["Json", "MessagePack"]]) {
    const { body } = negotiate(request(offered));
    assert.equal(body.encoding, undefined, JSON.stringify(offered));
    assert.equal(body.success, false, JSON.stringify(offered));
    assert.match(String(body.error), /json and msgpack/);
  }
  for (const offered of [["cbor", "json"], ["msgpack"], ["json"]]) {
    const { body, frame } = negotiate(request(offered));
    assert.ok(offered.includes(body.encoding as string), JSON.stringify(offered));
    checkHandshakeResponse(frame.subarray(5), offered);
  }
});

Deno.test("handshakeResponse() never sends encoding null", () => {
  for (const offered of [["json"], ["msgpack"], [], ["cbor"], [null, "json"]]) {
    const { body } = negotiate(request(offered));
    assert.notEqual(body.encoding, null, JSON.stringify(offered));
  }
});

Deno.test("handshakeResponse() ignores non-string entries in supported_encodings", () => {
  const { body } = negotiate(request([null, 5, "msgpack"]));
  assert.equal(body.encoding, "msgpack");
});

Deno.test("handshakeResponse() has every §3.1 required field with its type", () => {
  const { body } = negotiate(request(["json"]));
  assert.equal(body.protocol_version, 2);
  assert.ok(Number.isInteger(body.protocol_version));
  assert.equal(body.success, true);
  assert.equal(body.error ?? null, null);
  const caps = body.capabilities as Record<string, unknown>;
  assert.equal(caps.agent_id, "telemetry");
  assert.equal(caps.name, "Telemetry");
  assert.equal(caps.version, "0.1.0");
  const events = caps.supported_events as unknown[];
  assert.ok(Array.isArray(events));
  for (const e of events) {
    assert.ok(Number.isInteger(e) && (e as number) >= 0 && (e as number) <= 7, `event ${e}`);
  }
  const features = caps.features as Record<string, unknown>;
  const bools = [
    "streaming_body",
    "websocket",
    "guardrails",
    "config_push",
    "metrics_export",
    "cancellation",
    "flow_control",
    "health_reporting",
  ];
  for (const f of bools) assert.equal(typeof features[f], "boolean", f);
  assert.ok(Number.isInteger(features.concurrent_requests));
  assert.ok((features.concurrent_requests as number) >= 0);
  assert.equal(Object.keys(features).length, 9);
  const limits = caps.limits as Record<string, unknown>;
  for (const l of ["max_body_size", "max_concurrency", "preferred_chunk_size"]) {
    assert.ok(Number.isInteger(limits[l]) && (limits[l] as number) >= 0, l);
  }
});

Deno.test("handshakeResponse() escapes identity strings", () => {
  const req = parseHandshake(request(["json"]))!;
  const id = { agentId: 'tele"metry\\', name: "Télé\nmetry", version: "0.1.0-é" };
  const f = handshakeResponse(id, req, "json");
  const info = checkHandshakeResponse(f.subarray(5), ["json"]);
  assert.equal(info.agentId, id.agentId);
  const body = JSON.parse(td.decode(f.subarray(5)));
  assert.equal(body.capabilities.name, id.name);
});

Deno.test("handshakeResponse() matches the field set of the ok:true recorded responses", () => {
  const ok = casesOf("v2_decode_handshake_response").filter((c) => c.result.ok);
  assert.ok(ok.length > 0);
  const { body } = negotiate(request(["json"]));
  const keysOf = (o: Record<string, unknown>) => Object.keys(o).sort();
  for (const c of ok) {
    const rec = JSON.parse(c.input.text as string);
    const caps = body.capabilities as Record<string, Record<string, unknown>>;
    assert.deepEqual(keysOf(caps), keysOf(rec.capabilities));
    assert.deepEqual(keysOf(caps.features), keysOf(rec.capabilities.features));
    assert.deepEqual(keysOf(caps.limits), keysOf(rec.capabilities.limits));
  }
});

Deno.test("handshakeResponse() refuses a proxy that does not offer version 2", () => {
  const req = parseHandshake(te.encode(`{"supported_versions":[1,3]}`))!;
  const f = handshakeResponse(ID, req, chooseEncoding(req.encodings));
  const body = JSON.parse(td.decode(f.subarray(5)));
  assert.equal(body.success, false);
  assert.equal(typeof body.error, "string");
  assert.equal(body.protocol_version, 2);
});
