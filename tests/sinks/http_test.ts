/**
 * The HTTP sink against a real local HTTP server that checks every request and injects
 * failures: formats, gzip, headers, bearer/basic auth, HMAC signatures, error classes,
 * `Retry-After`, timeouts, outages, and the runner delivering every record exactly once.
 */

import assert from "node:assert/strict";
import type { SinkConfig } from "../../src/config/types.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { SinkError } from "../../src/sinks/contract.ts";
import { createHttpSink, httpSinkEnvVars, parseHttpSinkOptions } from "../../src/sinks/http.ts";
import { SinkRunner } from "../../src/sinks/runner.ts";
import { newBatchId } from "../../src/sinks/_batch_id.ts";
import { parseRetryAfter } from "../../src/sinks/_http_fetch.ts";
import { startReceiver } from "../helpers/http_receiver.ts";
import { captureLog, makeRecord } from "./_helpers.ts";

function httpConfig(url: string, options: Record<string, unknown> = {}): SinkConfig {
  return {
    name: "http",
    type: "http",
    batchSize: 100,
    flushIntervalMs: 50,
    options: { url, ...options },
  };
}

function recs(from: number, n: number): TelemetryRecord[] {
  return Array.from({ length: n }, (_, i) => makeRecord(from + i));
}

async function sinkFor(url: string, options: Record<string, unknown> = {}) {
  const sink = createHttpSink(httpConfig(url, options), { log: captureLog().log });
  await sink.open();
  return sink;
}

function rejectsWith(p: Promise<unknown>, check: (e: SinkError) => boolean) {
  return assert.rejects(p, (e: unknown) => e instanceof SinkError && check(e));
}

Deno.test("parseHttpSinkOptions() fills defaults and lists every problem", () => {
  const o = parseHttpSinkOptions({ url: "https://collector.example.com/in", "batch-size": 10 });
  assert.equal(o.format, "ndjson");
  assert.equal(o.compression, "none");
  assert.equal(o.timeoutMs, 10_000);
  assert.equal(o.signatureHeader, "x-telemetry-signature");
  assert.throws(
    () =>
      parseHttpSinkOptions({
        url: "ftp://x",
        format: "xml",
        headers: { "content-type": "text/plain", "bad header": "x" },
        "bearer-token": "t",
        username: "u",
        "timeout-ms": 0,
      }),
    (e: unknown) =>
      e instanceof SinkError && e.code === "sink_config" &&
      /`url` must be an http/.test(e.message) &&
      /`format` must be one of "ndjson", "json-array"/.test(e.message) &&
      /`headers.content-type` is set by the sink itself/.test(e.message) &&
      /`headers.bad header` must be an HTTP header name/.test(e.message) &&
      /not both/.test(e.message) && /`username` needs `password`/.test(e.message) &&
      /`timeout-ms` must be an integer between 1/.test(e.message),
  );
  assert.deepEqual(httpSinkEnvVars({ "bearer-token-env": "TOKEN", "hmac-secret-env": "MAC" }), [
    "TOKEN",
    "MAC",
  ]);
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates, and caps them", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
  assert.equal(parseRetryAfter("999999"), 300_000);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter(null), undefined);
});

Deno.test("http sink posts NDJSON and JSON arrays, gzipped or not, with custom headers", async () => {
  await using rx = await startReceiver();
  const cases = [
    { format: "ndjson", compression: "none" },
    { format: "ndjson", compression: "gzip" },
    { format: "json-array", compression: "none" },
    { format: "json-array", compression: "gzip" },
  ];
  for (const [i, c] of cases.entries()) {
    const sink = await sinkFor(rx.url, { ...c, headers: { "x-team": "edge" } });
    const records = recs(i * 10, 10);
    const bytes = await sink.write({ id: newBatchId(), records });
    const got = rx.batches.at(-1)!;
    assert.deepEqual(got.records, records, JSON.stringify(c));
    assert.equal(bytes, got.wireBytes);
    assert.equal(got.headers.get("x-team"), "edge");
    assert.equal(got.headers.get("content-encoding"), c.compression === "gzip" ? "gzip" : null);
  }
  const plain = rx.batches[0].wireBytes;
  const gz = rx.batches[1].wireBytes;
  assert.ok(gz < plain / 2, `gzip ${gz} vs ${plain}`);
  assert.deepEqual(rx.violations, []);
});

Deno.test("http sink sends bearer and basic auth; secrets can come from the environment", async () => {
  {
    await using rx = await startReceiver({ authorization: "Bearer s3cret" });
    Deno.env.set("TELEMETRY_TEST_TOKEN", "s3cret");
    try {
      await (await sinkFor(rx.url, { "bearer-token-env": "TELEMETRY_TEST_TOKEN" })).write({
        id: newBatchId(),
        records: recs(0, 1),
      });
    } finally {
      Deno.env.delete("TELEMETRY_TEST_TOKEN");
    }
    const wrong = await sinkFor(rx.url, { "bearer-token": "nope" });
    await rejectsWith(
      wrong.write({ id: newBatchId(), records: recs(0, 1) }),
      (e) => !e.retryable && /HTTP 401/.test(e.message),
    );
    assert.equal(rx.batches.length, 1);
  }
  {
    await using rx = await startReceiver({ authorization: `Basic ${btoa("agent:pa:ss")}` });
    await (await sinkFor(rx.url, { username: "agent", password: "pa:ss" })).write({
      id: newBatchId(),
      records: recs(0, 1),
    });
    assert.equal(rx.batches.length, 1);
  }
  const missing = createHttpSink(
    httpConfig("http://127.0.0.1:1/", { "bearer-token-env": "TELEMETRY_NOT_SET" }),
    { log: () => {} },
  );
  await rejectsWith(
    missing.open(),
    (e) => e.code === "sink_config" && /TELEMETRY_NOT_SET/.test(e.message),
  );
});

Deno.test("http sink signs the body so the receiver can verify the sender", async () => {
  await using rx = await startReceiver({ hmacSecret: "shared-secret" });
  const sink = await sinkFor(rx.url, { "hmac-secret": "shared-secret", compression: "gzip" });
  await sink.write({ id: newBatchId(), records: recs(0, 5) });
  assert.equal(rx.batches.length, 1);
  assert.match(rx.batches[0].headers.get("x-telemetry-signature")!, /^v1=[0-9a-f]{64}$/);
  const forged = await sinkFor(rx.url, { "hmac-secret": "other-secret" });
  await rejectsWith(forged.write({ id: newBatchId(), records: recs(5, 5) }), (e) => !e.retryable);
  assert.match(rx.violations[0], /signature does not verify/);
  assert.equal(rx.batches.length, 1);
});

Deno.test("http sink: 5xx, 429 and 408 are retryable with Retry-After; other 4xx are fatal", async () => {
  await using rx = await startReceiver();
  const sink = await sinkFor(rx.url);
  const write = () => sink.write({ id: newBatchId(), records: recs(0, 2) });
  rx.faults.push({ status: 503, retryAfter: "2" });
  await rejectsWith(
    write(),
    (e) => e.retryable && e.code === "sink_unavailable" && e.retryAfterMs === 2000,
  );
  rx.faults.push({ status: 429, retryAfter: new Date(Date.now() + 5000).toUTCString() });
  await rejectsWith(
    write(),
    (e) => e.retryable && e.retryAfterMs! > 3000 && e.retryAfterMs! <= 5000,
  );
  rx.faults.push({ status: 408 }, { status: 500 });
  await rejectsWith(write(), (e) => e.retryable && e.retryAfterMs === undefined);
  await rejectsWith(write(), (e) => e.retryable);
  for (const status of [400, 403, 404, 413, 422]) {
    rx.faults.push({ status, body: "no thanks" });
    await rejectsWith(
      write(),
      (e) => !e.retryable && e.code === "sink_backend_rejected" && /no thanks/.test(e.message),
    );
  }
  rx.faults.push({ status: 302 });
  await rejectsWith(write(), (e) => !e.retryable);
});

Deno.test("http sink: a slow receiver times out and a dead one is retryable", async () => {
  await using rx = await startReceiver();
  const sink = await sinkFor(rx.url, { "timeout-ms": 200 });
  rx.faults.push({ delayMs: 1000 });
  const t0 = performance.now();
  await rejectsWith(
    sink.write({ id: newBatchId(), records: recs(0, 1) }),
    (e) => e.retryable && /no answer within 200 ms/.test(e.message),
  );
  assert.ok(performance.now() - t0 < 900);
  await rx.stop();
  await rejectsWith(
    sink.write({ id: newBatchId(), records: recs(0, 1) }),
    (e) => e.retryable && e.code === "sink_unavailable",
  );
});

Deno.test("SinkRunner over the http sink rides out failures: every record exactly once", async () => {
  await using rx = await startReceiver();
  const sink = await sinkFor(rx.url, { "timeout-ms": 300 });
  const runner = new SinkRunner(sink, {
    batchSize: 25,
    flushIntervalMs: 20,
    maxQueueRecords: 10_000,
    backoff: { baseMs: 20, capMs: 200, maxRetries: 50 },
    breaker: { failureThreshold: 0 },
    log: captureLog().log,
  });
  await runner.open();
  const sent = recs(0, 500);
  rx.faults.push({ status: 503, retryAfter: "1" }, { status: 500 }, { delayMs: 600 }, {
    status: 429,
  });
  for (const r of sent.slice(0, 250)) runner.push(r);
  await new Promise((r) => setTimeout(r, 1500));
  await rx.stop();
  for (const r of sent.slice(250)) runner.push(r);
  await new Promise((r) => setTimeout(r, 500));
  await rx.restart();
  const { complete } = await runner.drain(30_000);
  assert.equal(complete, true);
  const ids = rx.records().map((r) => r.event_id);
  assert.equal(ids.length, 500, "each record delivered once");
  assert.deepEqual(ids.sort(), sent.map((r) => r.event_id).sort());
  assert.ok(runner.stats().retries >= 4);
  // The 503 asked for 1 s: the retry of that batch came no sooner.
  const first = rx.attempts.findIndex((a) => a.status === 503);
  const retry = rx.attempts.slice(first + 1).find((a) => a.batchId === rx.attempts[first].batchId)!;
  assert.ok(retry.at - rx.attempts[first].at >= 990, `${retry.at - rx.attempts[first].at} ms`);
});
