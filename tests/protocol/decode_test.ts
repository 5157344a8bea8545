/**
 * decodeEvent / decodeV1 against every event the real proxy writes (PROTOCOL.md §8 "Decode"),
 * and against malformed input.
 * @module
 */

import assert from "node:assert/strict";
import {
  DecodeError,
  decodeEvent,
  decodeV1,
  EVENT_KINDS,
  type EventKind,
  eventKindOfType,
} from "../../src/protocol/decode.ts";
import { FrameDecoder, frameV1, frameV2, hexToBytes } from "../helpers/frames.ts";
import {
  eventJson,
  eventMsgpack,
  type JsonObject,
  MsgpackWriter,
  serdeShape,
} from "../helpers/proxy_encode.ts";
import { casesOf } from "../helpers/vector_cases.ts";

const enc = new TextEncoder();

/** Frame the payload as the proxy would and read it back, as ingress hands it over. */
function throughV2Framing(kind: EventKind, payload: Uint8Array): Uint8Array {
  const [frame] = new FrameDecoder(2).push(frameV2(0x10 + EVENT_KINDS.indexOf(kind), payload));
  assert.equal(eventKindOfType(frame.type!), kind);
  return frame.payload;
}

Deno.test("decodeEvent returns every v2_encode_event vector's event", () => {
  const cases = casesOf("v2_encode_event");
  assert.equal(cases.length, 36);
  for (const c of cases) {
    const kind = c.input.msg as EventKind;
    const encoding = c.input.encoding as "json" | "msgpack";
    const body = throughV2Framing(kind, hexToBytes(c.result.hex!));
    const got = decodeEvent(kind, encoding, body);
    const label = `${encoding} ${kind}`;
    assert.equal(got.kind, kind, label);
    assert.equal(got.correlationId, c.input.correlation_id, label);
    // A missing ‡ key equals null: compare both in the serde shape, where such keys are dropped.
    const want = serdeShape(kind, c.input.event as JsonObject);
    assert.deepStrictEqual(serdeShape(kind, got.payload as JsonObject), want, label);
    assert.equal(
      Object.hasOwn(got.payload, "correlation_id"),
      Object.hasOwn(want, "correlation_id"),
    );
  }
});

Deno.test("decodeV1 returns every v1_encode_request vector's payload", () => {
  const cases = casesOf("v1_encode_request");
  assert.equal(cases.length, 16);
  for (const c of cases) {
    const [frame] = new FrameDecoder(1).push(frameV1(hexToBytes(c.result.hex!)));
    const got = decodeV1(frame.payload);
    const kind = c.input.event_type as EventKind;
    assert.equal(got.kind, kind);
    const want = serdeShape(kind, c.input.payload as JsonObject);
    assert.deepStrictEqual(serdeShape(kind, got.payload as JsonObject), want, kind);
    const meta = want.metadata as JsonObject | undefined;
    const cid = kind === "configure" ? "" : (meta?.correlation_id ?? want.correlation_id);
    assert.equal(got.correlationId, cid, kind);
  }
});

Deno.test("decodeEvent keeps nil as null and leaves absent ‡ keys absent", () => {
  const event = {
    correlation_id: "g",
    inspection_type: "pii_detection",
    content: "x",
    categories: [],
    metadata: {},
  };
  const got = decodeEvent(
    "guardrail_inspect",
    "msgpack",
    eventMsgpack("guardrail_inspect", event, "g"),
  );
  assert.equal(Object.hasOwn(got.payload, "model"), false);
  assert.equal(Object.hasOwn(got.payload, "route_id"), false);
  const json = enc.encode('{"correlation_id":"g","model":null,"inspection_type":"x","content":""}');
  const viaJson = decodeEvent("guardrail_inspect", "json", json);
  assert.equal(viaJson.payload.model, null);
  assert.deepStrictEqual(viaJson.payload.categories, []);
  assert.deepStrictEqual(viaJson.payload.metadata, {});
});

Deno.test("decodeEvent fills serde defaults and nulls for fields the proxy may leave out", () => {
  const body = enc.encode('{"correlation_id":"c","data":"","is_last":true}');
  const got = decodeEvent("request_body_chunk", "json", body);
  assert.deepStrictEqual(got.payload, {
    correlation_id: "c",
    data: "",
    is_last: true,
    total_size: null,
    chunk_index: 0,
    bytes_received: 0,
  });
});

Deno.test("decodeEvent accepts bin where rmp_serde accepts it as a string", () => {
  const w = new MsgpackWriter();
  w.mapHeader(3);
  w.str("correlation_id");
  w.str("b");
  w.str("status");
  w.num(204);
  w.str("headers");
  w.mapHeader(0);
  const bytes = w.bytes();
  // Replace the `a1 "b"` value of correlation_id by `c4 01 "b"` (bin 8).
  const at = bytes.indexOf(0xa1);
  const withBin = new Uint8Array([...bytes.subarray(0, at), 0xc4, 0x01, ...bytes.subarray(at + 1)]);
  assert.equal(decodeEvent("response_headers", "msgpack", withBin).correlationId, "b");
});

const META = {
  correlation_id: "m",
  request_id: "r",
  client_ip: "192.0.2.1:1",
  client_port: 0,
  server_name: null,
  protocol: "HTTP/1.1",
  tls_version: null,
  tls_cipher: null,
  route_id: null,
  upstream_id: null,
  timestamp: "2026-03-01T12:00:00+00:00",
};

function requestHeadersWithMetadata(meta: unknown[]): Uint8Array {
  const w = new MsgpackWriter();
  w.mapHeader(5);
  for (
    const [k, v] of [["correlation_id", "m"], ["metadata", meta], ["method", "GET"], ["uri", "/"]]
  ) {
    w.str(k as string);
    w.value(v as never, false);
  }
  w.str("headers");
  w.mapHeader(0);
  return w.bytes();
}

Deno.test("decodeEvent maps 11- and 12-element metadata arrays and refuses other lengths", () => {
  const eleven = Object.values(META);
  const ok = decodeEvent("request_headers", "msgpack", requestHeadersWithMetadata(eleven));
  assert.deepStrictEqual(ok.payload.metadata, META);
  assert.equal(ok.correlationId, "m");
  const twelve = decodeEvent(
    "request_headers",
    "msgpack",
    requestHeadersWithMetadata([...eleven, "tp"]),
  );
  assert.equal((twelve.payload.metadata as JsonObject).traceparent, "tp");
  for (const bad of [eleven.slice(0, 10), [...eleven, "tp", "x"]]) {
    assert.throws(
      () => decodeEvent("request_headers", "msgpack", requestHeadersWithMetadata(bad)),
      (e: unknown) => e instanceof DecodeError && /metadata.*elements/.test(e.message),
    );
  }
});

function assertDecodeError(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof DecodeError, `expected DecodeError, got ${e}`);
    assert.equal(e.code, "protocol_decode");
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("decodeEvent throws DecodeError on malformed bodies", () => {
  const rh = (o: JsonObject) => enc.encode(JSON.stringify(o));
  assertDecodeError(() => decodeEvent("response_headers", "json", enc.encode("{")), /invalid JSON/);
  assertDecodeError(
    () => decodeEvent("response_headers", "json", new Uint8Array()),
    /invalid JSON/,
  );
  assertDecodeError(
    () => decodeEvent("response_headers", "json", new Uint8Array([0x7b, 0xff, 0x7d])),
    /UTF-8/,
  );
  const bom = enc.encode('\ufeff{"correlation_id":"c","status":200,"headers":{}}');
  assertDecodeError(() => decodeEvent("response_headers", "json", bom), /invalid JSON/);
  assertDecodeError(() => decodeEvent("response_headers", "json", enc.encode("[1]")), /elements/);
  assertDecodeError(
    () => decodeEvent("response_headers", "json", enc.encode('"x"')),
    /must be a map/,
  );
  assertDecodeError(
    () => decodeEvent("response_headers", "json", rh({ correlation_id: "c", headers: {} })),
    /status is missing/,
  );
  assertDecodeError(
    () =>
      decodeEvent(
        "response_headers",
        "json",
        rh({ correlation_id: "c", status: 70000, headers: {} }),
      ),
    /status: must be an integer 0\.\.65535/,
  );
  assertDecodeError(
    () =>
      decodeEvent("response_headers", "json", rh({ correlation_id: 5, status: 200, headers: {} })),
    /correlation_id: must be a string/,
  );
  assertDecodeError(
    () =>
      decodeEvent(
        "response_headers",
        "json",
        rh({ correlation_id: "c", status: 200, headers: { a: "b" } }),
      ),
    /headers\["a"\]: must be an array/,
  );
  assertDecodeError(
    () =>
      decodeEvent("request_body_chunk", "json", rh({ correlation_id: "c", data: "", is_last: 1 })),
    /is_last: must be a boolean/,
  );
  assertDecodeError(
    () =>
      decodeEvent(
        "request_body_chunk",
        "json",
        rh({ correlation_id: "c", data: "", is_last: true, chunk_index: null }),
      ),
    /chunk_index is null/,
  );
  assertDecodeError(
    () => decodeEvent("configure", "json", rh({ config: null })),
    /top-level correlation_id/,
  );
});

Deno.test("decodeEvent throws DecodeError on malformed MessagePack", () => {
  const good = eventMsgpack(
    "response_headers",
    { correlation_id: "c", status: 200, headers: {} },
    "c",
  );
  assertDecodeError(
    () => decodeEvent("response_headers", "msgpack", good.subarray(0, 10)),
    /MessagePack/,
  );
  assertDecodeError(
    () => decodeEvent("response_headers", "msgpack", new Uint8Array([0xc1])),
    /MessagePack/,
  );
  assertDecodeError(
    () => decodeEvent("response_headers", "msgpack", new Uint8Array([0xc0])),
    /must be a map/,
  );
  assertDecodeError(() =>
    decodeEvent(
      "response_headers",
      "msgpack",
      eventJson("response_headers", {
        correlation_id: "c",
        status: 200,
        headers: {},
      }, "c"),
    ), /MessagePack|must be a map/);
});

Deno.test("decodeV1 throws DecodeError on a bad envelope", () => {
  const v1 = (s: string) => enc.encode(s);
  assertDecodeError(() => decodeV1(v1("")), /invalid JSON/);
  assertDecodeError(() => decodeV1(v1("[]")), /not a JSON object/);
  assertDecodeError(
    () => decodeV1(v1('{"version":1,"event_type":"WebSocketFrame","payload":{}}')),
    /unknown event_type "WebSocketFrame"/,
  );
  assertDecodeError(
    () => decodeV1(v1('{"event_type":"configure","payload":{"agent_id":"a","config":null}}')),
    /version/,
  );
  assertDecodeError(() => decodeV1(v1('{"version":1,"event_type":"configure"}')), /payload/);
  const ok = decodeV1(v1('{"version":1,"event_type":"configure","payload":{"agent_id":"a"}}'));
  assert.deepStrictEqual(ok, {
    kind: "configure",
    correlationId: "",
    payload: { agent_id: "a", config: null },
  });
});

Deno.test("eventKindOfType maps 0x10..0x17 and nothing else", () => {
  assert.deepStrictEqual([0x10, 0x15, 0x17].map(eventKindOfType), [
    "request_headers",
    "websocket_frame",
    "configure",
  ]);
  for (const t of [0x01, 0x0f, 0x18, 0x20, 0x41]) assert.equal(eventKindOfType(t), undefined);
});
