import assert from "node:assert/strict";
import {
  buildRecord,
  parseTraceparent,
  REQUEST_HEADER_ALLOWLIST,
  RESPONSE_HEADER_ALLOWLIST,
  timestampOf,
} from "../../src/pipeline/record_builder.ts";
import { type Lifecycle, newLifecycle } from "../../src/pipeline/lifecycle.ts";
import { Assembler } from "../../src/pipeline/assembler.ts";
import type { DecodedEvent } from "../../src/protocol/decode.ts";
import type { PartialReason, TelemetryRecord } from "../../src/record/schema.ts";

const AGENT = { id: "telemetry", version: "0.1.0", host: "test-host" };
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function metadata(cid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    correlation_id: cid,
    request_id: "7d1c5e0a-4a5e-4d0e-9a55-3b1f0c3e2a11",
    client_ip: "203.0.113.7:51234",
    client_port: 0,
    server_name: null,
    protocol: "HTTP/1.1",
    tls_version: null,
    tls_cipher: null,
    route_id: "api",
    upstream_id: "backend-1",
    timestamp: "2026-03-01T12:00:00.123456789+00:00",
    ...extra,
  };
}

function request(
  cid: string,
  o: { meta?: Record<string, unknown>; uri?: string; headers?: Record<string, string[]> } = {},
): Record<string, unknown> {
  return {
    metadata: metadata(cid, o.meta),
    method: "POST",
    uri: o.uri ?? "/api/items?id=7&sort=asc",
    headers: o.headers ?? {
      host: ["shop.example.com"],
      "user-agent": ["curl/8.5.0"],
      accept: ["*/*"],
      "content-type": ["application/json"],
      referer: ["https://shop.example.com/cart"],
    },
  };
}

function lifecycle(cid: string, fill: (lc: Lifecycle) => void): Lifecycle {
  const lc = newLifecycle(cid, 2, 1_000_000);
  fill(lc);
  return lc;
}

function full(cid = "c-1"): Lifecycle {
  return lifecycle(cid, (lc) => {
    lc.events = 2;
    lc.request = request(cid);
    lc.requestArrival = 1_000_000;
    lc.response = {
      correlation_id: cid,
      status: 201,
      headers: { "content-type": ["application/json"], server: ["nginx"] },
    };
    lc.responseArrival = 1_000_012.3456;
    lc.lastArrival = 1_000_012.3456;
  });
}

function build(lc: Lifecycle, partial: PartialReason | null = null, now = 1_000_100) {
  return buildRecord(lc, partial, AGENT, now);
}

Deno.test("buildRecord() fills the record of a complete lifecycle", () => {
  const r = build(full());
  assert.equal(r.schema_version, 1);
  assert.match(r.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(r.timestamp, "2026-03-01T12:00:00.123Z");
  assert.equal(r.sample_rate, 1);
  assert.equal(r.partial, false);
  assert.equal(r.partial_reason, undefined);
  assert.equal(r.events, 2);
  assert.equal(r.protocol_version, 2);
  assert.deepEqual(r.agent, AGENT);
  assert.equal(r.request.correlation_id, "c-1");
  assert.equal(r.request.request_id, "7d1c5e0a-4a5e-4d0e-9a55-3b1f0c3e2a11");
  assert.equal(r.request.method, "POST");
  assert.equal(r.request.host, "shop.example.com");
  assert.equal(r.request.path, "/api/items");
  assert.equal(r.request.query, "id=7&sort=asc");
  assert.deepEqual(r.request.query_keys, ["id", "sort"]);
  assert.equal(r.request.protocol, "HTTP/1.1");
  assert.equal(r.request.user_agent, "curl/8.5.0");
  assert.equal(r.request.referer, "https://shop.example.com/cart");
  assert.equal(r.request.content_type, "application/json");
  assert.equal(r.response?.status, 201);
  assert.equal(r.response?.status_class, "2xx");
  assert.equal(r.response?.content_type, "application/json");
  assert.deepEqual(r.response?.headers, {
    "content-type": ["application/json"],
    server: ["nginx"],
  });
  assert.deepEqual(r.client, { ip: "203.0.113.7", port: 51234, ip_version: 4, address_kind: "ip" });
  assert.equal(r.timing?.upstream_ms, 12.346);
  assert.equal(r.timing?.source, "agent");
  assert.deepEqual(r.sentinel, { route_id: "api", upstream_id: "backend-1" });
  assert.equal(r.labels?.is_error, false);
  assert.equal(r.tls, undefined);
});

Deno.test("buildRecord() gives each record a distinct event_id", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => build(full()).event_id));
  assert.equal(ids.size, 1000);
});

Deno.test("buildRecord() output survives a JSON round trip unchanged", () => {
  const r = build(full());
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  const hasUndefined = (v: unknown): boolean =>
    v === undefined ||
    (v !== null && typeof v === "object" && Object.values(v).some(hasUndefined));
  assert.equal(hasUndefined(r), false, "no key holds undefined");
});

const CREDENTIALS: Record<string, string[]> = {
  authorization: ["Bearer SECRET-authorization"],
  "proxy-authorization": ["Basic SECRET-proxy"],
  cookie: ["session=SECRET-cookie"],
  "x-api-key": ["SECRET-api-key"],
  "x-auth-token": ["SECRET-auth-token"],
  "x-amz-security-token": ["SECRET-amz"],
  "x-csrf-token": ["SECRET-csrf"],
};

Deno.test("buildRecord() never copies credential headers anywhere in the record", () => {
  const lc = full();
  lc.request = request("c-1", {
    headers: { host: ["h"], accept: ["*/*"], ...CREDENTIALS },
  });
  lc.response = {
    correlation_id: "c-1",
    status: 401,
    headers: {
      "set-cookie": ["sid=SECRET-set-cookie"],
      "www-authenticate": ["Bearer realm=SECRET-realm"],
      "content-type": ["text/plain"],
    },
  };
  const r = build(lc);
  const text = JSON.stringify(r);
  assert.equal(/SECRET/.test(text), false, text);
  assert.deepEqual(Object.keys(r.request.headers ?? {}).sort(), ["accept", "host"]);
  assert.deepEqual(Object.keys(r.response?.headers ?? {}), ["content-type"]);
});

Deno.test("buildRecord() allowlists are free of credential-bearing names", () => {
  const bad = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "www-authenticate",
  ];
  for (const n of bad) {
    assert.equal(REQUEST_HEADER_ALLOWLIST.has(n), false, n);
    assert.equal(RESPONSE_HEADER_ALLOWLIST.has(n), false, n);
  }
});

Deno.test("buildRecord() keeps every line of an allowlisted repeated header", () => {
  const lc = full();
  lc.request = request("c-1", { headers: { accept: ["text/html", "application/json"] } });
  assert.deepEqual(build(lc).request.headers, { accept: ["text/html", "application/json"] });
});

Deno.test("buildRecord() takes host from the header, else from server_name", () => {
  const lc = full();
  lc.request = request("c-1", { headers: {}, meta: { server_name: "sni.example" } });
  const r = build(lc);
  assert.equal(r.request.host, "sni.example");
  assert.equal(r.tls?.server_name, "sni.example");
  lc.request = request("c-1", { headers: { host: [""] } });
  assert.equal(build(lc).request.host, undefined);
});

Deno.test("buildRecord() reads trace ids from metadata.traceparent, else the header", () => {
  const lc = full();
  lc.request = request("c-1", { meta: { traceparent: TRACEPARENT } });
  let r = build(lc);
  assert.equal(r.request.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.equal(r.request.span_id, "00f067aa0ba902b7");
  lc.request = request("c-1", { headers: { traceparent: [TRACEPARENT] } });
  r = build(lc);
  assert.equal(r.request.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  lc.request = request("c-1", { headers: {} });
  r = build(lc);
  assert.equal(r.request.trace_id, undefined);
  assert.equal(r.request.span_id, undefined);
});

Deno.test("parseTraceparent() accepts valid W3C values", () => {
  assert.deepEqual(parseTraceparent(TRACEPARENT), {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
  });
  assert.deepEqual(
    parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"),
    { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" },
  );
  // A future version may append fields after a dash.
  assert.ok(parseTraceparent(`cc${TRACEPARENT.slice(2)}-what-the-future-holds`));
});

Deno.test("parseTraceparent() refuses malformed values", () => {
  const bad = [
    undefined,
    "",
    "garbage",
    TRACEPARENT.toUpperCase(),
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
    "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
  ];
  for (const v of bad) assert.equal(parseTraceparent(v), null, String(v));
});

Deno.test("parseTraceparent() refuses version 00 with anything after the flags", () => {
  // W3C Trace Context §3.2.4: version 00 is exactly 55 characters; a longer value is invalid.
  for (const tail of ["-extra", "x", "1", "-"]) {
    assert.equal(parseTraceparent(TRACEPARENT + tail), null, TRACEPARENT + tail);
  }
  // A later version must be followed by a dash if longer than 55 characters.
  assert.equal(parseTraceparent(`01${TRACEPARENT.slice(2)}x`), null);
});

Deno.test("timestampOf() converts 0, 3, 6 and 9 fraction digits with +00:00", () => {
  assert.equal(timestampOf("2026-03-01T12:00:00+00:00", 0), "2026-03-01T12:00:00.000Z");
  assert.equal(timestampOf("2026-03-01T12:00:00.123+00:00", 0), "2026-03-01T12:00:00.123Z");
  assert.equal(timestampOf("2026-03-01T12:00:00.123456+00:00", 0), "2026-03-01T12:00:00.123Z");
  assert.equal(
    timestampOf("2026-03-01T12:00:00.123456789+00:00", 0),
    "2026-03-01T12:00:00.123Z",
  );
  assert.equal(timestampOf("2026-03-01T12:00:00.5+00:00", 0), "2026-03-01T12:00:00.500Z");
  assert.equal(timestampOf("2026-03-01T12:00:00.05+00:00", 0), "2026-03-01T12:00:00.050Z");
  // Truncated to the millisecond, never rounded into the next second.
  assert.equal(
    timestampOf("2026-12-31T23:59:59.999999999+00:00", 0),
    "2026-12-31T23:59:59.999Z",
  );
});

Deno.test("timestampOf() applies other offsets and Z", () => {
  assert.equal(timestampOf("2026-03-01T12:00:00Z", 0), "2026-03-01T12:00:00.000Z");
  assert.equal(timestampOf("2026-03-01T14:30:00.250+02:30", 0), "2026-03-01T12:00:00.250Z");
  assert.equal(timestampOf("2026-03-01T00:00:00-05:00", 0), "2026-03-01T05:00:00.000Z");
  assert.equal(timestampOf("2024-02-29T23:30:00-01:00", 0), "2024-03-01T00:30:00.000Z");
  assert.equal(timestampOf("2000-02-29T00:00:00Z", 0), "2000-02-29T00:00:00.000Z");
});

Deno.test("timestampOf() falls back to the arrival time for unreadable values", () => {
  const arrival = Date.UTC(2026, 2, 1, 12, 0, 0, 7);
  const want = "2026-03-01T12:00:00.007Z";
  for (
    const v of [
      undefined,
      null,
      42,
      "",
      "yesterday",
      "2026-03-01 12:00:00+00:00",
      "2026-03-01T12:00:00",
      "2026-03-01T12:00:00.+00:00",
      "2026-13-01T00:00:00+00:00",
      "2026-03-01T12:00:00+0000",
      "2026-02-29T12:00:00Z", // not a leap year
      "0000-02-29T00:00:00Z", // Date.UTC reads year 0 as 1900: not a leap year
      "2026-04-31T12:00:00Z",
      "2026-03-01T24:00:00Z",
      "2026-03-01T12:00:00Zjunk",
      "2026-03-01T12:00:00+01:3x",
    ]
  ) {
    assert.equal(timestampOf(v, arrival), want, String(v));
  }
});

Deno.test("timestampOf() does not roll an impossible date over into another day", () => {
  const arrival = Date.UTC(2026, 2, 1, 12, 0, 0, 7);
  // Feb 30 does not exist: the value is unreadable, so the arrival time is used, not 2 March.
  assert.equal(timestampOf("2026-02-30T00:00:00+00:00", arrival), "2026-03-01T12:00:00.007Z");
});

Deno.test("buildRecord() uses the request arrival when the proxy timestamp is unusable", () => {
  const lc = full();
  lc.request = request("c-1", { meta: { timestamp: "not a time" } });
  lc.requestArrival = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
  assert.equal(build(lc).timestamp, "2026-01-02T03:04:05.006Z");
});

Deno.test("buildRecord() splits query keys, decoding and de-duplicating them", () => {
  const cases: [string, string, string | undefined, string[] | undefined][] = [
    ["/p", "/p", undefined, undefined],
    ["/p?", "/p", "", []],
    ["/p?a=1&b=2&a=3", "/p", "a=1&b=2&a=3", ["a", "b"]],
    ["/p?flag&x=", "/p", "flag&x=", ["flag", "x"]],
    ["/p?name%20x=1&plus+key=2", "/p", "name%20x=1&plus+key=2", ["name x", "plus key"]],
    ["/p?%zz=1", "/p", "%zz=1", ["%zz"]],
    ["/p?a=1&&b", "/p", "a=1&&b", ["a", "b"]],
    ["/p?q=a?b", "/p", "q=a?b", ["q"]],
    ["/%E2%9C%93?%E2%9C%93=1", "/%E2%9C%93", "%E2%9C%93=1", ["✓"]],
  ];
  for (const [uri, path, query, keys] of cases) {
    const lc = full();
    lc.request = request("c-1", { uri });
    const r = build(lc).request;
    assert.equal(r.path, path, uri);
    assert.equal(r.query, query, uri);
    assert.deepEqual(r.query_keys, keys, uri);
  }
});

Deno.test("buildRecord() takes the path of an absolute-form request target", () => {
  // RFC 9112 §3.2.2: absolute-form ("http://host/p?x") is valid; the path is "/p".
  const lc = full();
  lc.request = request("c-1", { uri: "https://shop.example.com/api/items?id=7" });
  const r = build(lc).request;
  assert.equal(r.path, "/api/items");
  assert.equal(r.query, "id=7");
});

Deno.test("buildRecord() counts body bytes from base64 chunks via the assembler", () => {
  const out: Lifecycle[] = [];
  const asm = new Assembler(
    { ttlMs: 1000, graceMs: 100, maxOpen: 10, responseBody: true },
    (lc) => out.push(lc),
    () => assert.fail("no drop"),
  );
  const ev = (kind: DecodedEvent["kind"], payload: Record<string, unknown>): DecodedEvent => ({
    kind,
    correlationId: "b",
    payload,
  });
  asm.add(ev("request_headers", request("b")), 0, 2);
  asm.add(ev("request_body_chunk", { correlation_id: "b", data: btoa("x".repeat(10)) }), 1, 2);
  asm.add(ev("request_body_chunk", { correlation_id: "b", data: btoa("y") }), 3, 2);
  asm.add(ev("response_headers", { correlation_id: "b", status: 200, headers: {} }), 10, 2);
  asm.add(ev("response_body_chunk", { correlation_id: "b", data: btoa("z".repeat(1000)) }), 20, 2);
  asm.add(
    ev("response_body_chunk", { correlation_id: "b", data: btoa("w".repeat(2)), is_last: true }),
    25,
    2,
  );
  assert.equal(out.length, 1);
  const r = buildRecord(out[0], null, AGENT, 30);
  assert.equal(r.request.body_bytes, 11);
  assert.equal(r.request.body_chunks, 2);
  assert.equal(r.response?.body_bytes, 1002);
  assert.equal(r.response?.body_chunks, 2);
  assert.equal(r.timing?.request_body_ms, 3);
  assert.equal(r.timing?.response_body_ms, 15);
  assert.equal(r.timing?.upstream_ms, 10);
  assert.equal(r.events, 6);
});

Deno.test("buildRecord() takes sizes, status and duration from request_complete", () => {
  const lc = lifecycle("rc", (lc) => {
    lc.events = 2;
    lc.request = request("rc");
    lc.requestArrival = 1_000_000;
    lc.complete = {
      correlation_id: "rc",
      status: 502,
      duration_ms: 87,
      request_body_size: 10,
      response_body_size: 20,
      upstream_attempts: 3,
      error: "upstream connect failed",
    };
  });
  const r = build(lc);
  assert.equal(r.response?.status, 502);
  assert.equal(r.response?.status_class, "5xx");
  assert.equal(r.request.body_bytes, 10);
  assert.equal(r.response?.body_bytes, 20);
  assert.equal(r.timing?.total_ms, 87);
  assert.equal(r.timing?.source, "proxy");
  assert.equal(r.sentinel?.upstream_attempts, 3);
  assert.equal(r.sentinel?.error, "upstream connect failed");
  assert.equal(r.labels?.is_error, true);
});

Deno.test("buildRecord() labels 5xx as errors and 4xx as not", () => {
  for (const [status, err] of [[500, true], [599, true], [499, false], [200, false]] as const) {
    const lc = full();
    (lc.response as { status: number }).status = status;
    const r = build(lc);
    assert.equal(r.labels?.is_error, err, String(status));
    assert.equal(r.response?.status_class, `${String(status)[0]}xx`);
  }
});

Deno.test("buildRecord() marks a partial without request and invents nothing", () => {
  const lc = lifecycle("p", (lc) => {
    lc.events = 1;
    lc.response = { correlation_id: "p", status: 200, headers: {} };
    lc.responseArrival = Date.UTC(2026, 0, 1);
    lc.firstArrival = Date.UTC(2026, 0, 1);
    lc.lastArrival = Date.UTC(2026, 0, 1);
  });
  const r = build(lc, "no_request", Date.UTC(2026, 0, 1) + 30_000);
  assert.equal(r.partial, true);
  assert.equal(r.partial_reason, "no_request");
  assert.deepEqual(r.request, { correlation_id: "p" });
  assert.equal(r.client, undefined);
  assert.equal(r.timestamp, "2026-01-01T00:00:00.000Z");
  assert.equal(r.timing?.upstream_ms, undefined);
});

Deno.test("buildRecord() marks a request without response as partial with no response", () => {
  const lc = lifecycle("n", (lc) => {
    lc.events = 1;
    lc.request = request("n");
    lc.requestArrival = 1_000_000;
  });
  const r = build(lc, "no_response");
  assert.equal(r.partial, true);
  assert.equal(r.partial_reason, "no_response");
  assert.equal(r.response, undefined);
  assert.equal(r.labels?.is_error, false);
});

Deno.test("buildRecord() measures agent_lag_ms from the last event arrival", () => {
  // schema.ts: agent_lag_ms is "Last event's arrival (ack path) → record built by the pipeline":
  // the agent's own delay, not the upstream's time between the first and last event.
  const lc = full();
  lc.firstArrival = 1_000_000;
  lc.lastArrival = 1_000_040;
  const r = buildRecord(lc, null, AGENT, 1_000_100);
  assert.equal(r.timing?.agent_lag_ms, 60);
});

Deno.test("buildRecord() reads the client address of every documented form", () => {
  const cases: [string, TelemetryRecord["client"]][] = [
    ["[2001:db8::1]:443", { ip: "2001:db8::1", port: 443, ip_version: 6, address_kind: "ip" }],
    ["unknown", { address_kind: "unknown" }],
    ["/var/run/sentinel/proxy.sock", { address_kind: "unix" }],
  ];
  for (const [ip, want] of cases) {
    const lc = full();
    lc.request = request("c-1", { meta: { client_ip: ip } });
    assert.deepEqual(build(lc).client, want, ip);
  }
});

Deno.test("buildRecord() never reports a negative duration", () => {
  // The proxy moves on after timeout-ms without an ack, so under load a response_headers frame
  // can reach the agent (on another connection) before its request_headers frame.
  const lc = full();
  lc.requestArrival = 1_000_210;
  lc.responseArrival = 1_000_200;
  lc.requestLastChunkArrival = 1_000_205;
  lc.firstArrival = 1_000_200;
  lc.lastArrival = 1_000_210;
  const t = build(lc).timing!;
  for (const k of ["upstream_ms", "request_body_ms", "response_body_ms", "agent_lag_ms"] as const) {
    const v = t[k];
    assert.ok(v === undefined || v >= 0, `${k} = ${v}`);
  }
});
