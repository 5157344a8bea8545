/**
 * End to end: the agent as a process, a proxy emulator on its socket, records read back from
 * the NDJSON files it writes after a clean shutdown.
 */

import assert from "node:assert/strict";
import { startAgent } from "../helpers/agent.ts";
import { connectV1, connectV2 } from "../helpers/proxy_client.ts";
import {
  type JsonObject,
  requestHeadersEvent,
  responseHeadersEvent,
} from "../helpers/proxy_encode.ts";
import { readRecords } from "../helpers/records.ts";

function requestHeaders(cid: string): JsonObject {
  return requestHeadersEvent(cid, {
    uri: "/api/v1/users/42?expand=true&token=abc",
    headers: {
      host: ["example.com"],
      "user-agent": ["Mozilla/5.0 (X11; Linux x86_64)"],
      authorization: ["Bearer secret-token"],
      cookie: ["session=abc"],
    },
  });
}

Deno.test("lifecycle joins request and response headers across v2 connections", async () => {
  await using agent = await startAgent();
  const a = await connectV2(agent.socketPath, { encodings: ["json"] });
  const b = await connectV2(agent.socketPath, { encodings: ["msgpack", "json"] });
  for (let i = 0; i < 50; i++) {
    const cid = `cid-${i}`;
    await a.send("request_headers", requestHeaders(cid));
    await a.answer(cid);
    await b.send("response_headers", responseHeadersEvent(cid, i % 10 === 0 ? 503 : 200));
    await b.answer(cid);
  }
  a.close();
  b.close();
  const { code } = await agent.stop();
  assert.equal(code, 0);
  const records = await readRecords(agent);
  assert.equal(records.length, 50);
  const r = records.find((x) => x.request.correlation_id === "cid-0")!;
  assert.equal(r.partial, false);
  assert.equal(r.events, 2);
  assert.equal(r.request.method, "GET");
  assert.equal(r.request.host, "example.com");
  assert.equal(r.request.path, "/api/v1/users/42");
  assert.deepEqual(r.request.query_keys, ["expand", "token"]);
  assert.equal(r.response?.status, 503);
  assert.equal(r.response?.status_class, "5xx");
  assert.equal(r.labels?.is_error, true);
  assert.equal(r.client?.ip, "203.0.113.7");
  assert.equal(r.client?.port, 51234);
  assert.equal(r.timestamp, "2026-03-01T12:00:00.123Z");
  assert.equal(r.sentinel?.route_id, "api");
  assert.equal(typeof r.timing?.upstream_ms, "number");
  assert.ok(r.timing!.upstream_ms! >= 0);
  assert.equal(r.request.headers?.authorization, undefined, "credential header left the agent");
  assert.equal(r.request.headers?.cookie, undefined, "cookie left the agent");
  assert.match(r.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

Deno.test("lifecycle without response headers becomes a partial record at TTL", async () => {
  await using agent = await startAgent({
    config: `lifecycle { ttl-ms 300; }\nsink "file" { directory "./data"; flush-interval-ms 50; }`,
  });
  const c = await connectV1(agent.socketPath);
  await c.send("request_headers", requestHeaders("blocked-1"));
  await c.next();
  await c.send("response_headers", responseHeadersEvent("orphan-1", 200));
  await c.next();
  await new Promise((r) => setTimeout(r, 1500));
  const m = await agent.metrics();
  assert.equal(m.get('telemetry_records_assembled_total{kind="partial",reason="no_response"}'), 1);
  assert.equal(m.get('telemetry_records_assembled_total{kind="partial",reason="no_request"}'), 1);
  c.close();
  await agent.stop();
  const records = await readRecords(agent);
  const blocked = records.find((x) => x.request.correlation_id === "blocked-1")!;
  assert.equal(blocked.partial, true);
  assert.equal(blocked.partial_reason, "no_response");
  assert.equal(blocked.protocol_version, 1);
  assert.equal(blocked.response, undefined);
});
