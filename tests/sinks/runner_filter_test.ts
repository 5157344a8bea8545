/**
 * Per-sink filters, runner keys read from a sink's config block, and the telemetry_sink_*
 * metrics rendered from runner stats.
 */

import assert from "node:assert/strict";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { createSinkRunner, RUNNER_KEYS, sinkOwnOptions } from "../../src/sinks/runner.ts";
import { parseRecordFilter } from "../../src/sinks/_filter.ts";
import { renderSinkStats } from "../../src/pipeline/sink_metrics.ts";
import { SinkError } from "../../src/sinks/contract.ts";
import { makeRecord, ScriptedSink, waitFor } from "./_helpers.ts";

function rec(i: number, extra: Partial<TelemetryRecord> = {}): TelemetryRecord {
  return { ...makeRecord(i), ...extra };
}

function filterOf(options: Record<string, unknown>) {
  const problems: string[] = [];
  const f = parseRecordFilter(options, problems);
  return { f, problems };
}

Deno.test("parseRecordFilter() only-threats and only-errors test the labels", () => {
  const { f } = filterOf({ "only-threats": true });
  assert.ok(f);
  assert.equal(f.test(rec(1, { labels: { is_threat: true } })), true);
  assert.equal(f.test(rec(2, { labels: { is_threat: false } })), false);
  assert.equal(f.test(rec(3)), false, "absent label is not a match");
  const both = filterOf({ "only-threats": true, "only-errors": true }).f!;
  assert.equal(both.test(rec(4, { labels: { is_threat: true, is_error: false } })), false);
  assert.equal(both.test(rec(5, { labels: { is_threat: true, is_error: true } })), true);
  assert.equal(filterOf({ "only-errors": false }).f, undefined, "false means no filter");
});

Deno.test("parseRecordFilter() where compares a field with one of several values", () => {
  const f = filterOf({ where: ["response.status", 500, 503] }).f!;
  assert.equal(f.test(rec(1, { response: { status: 503 } })), true);
  assert.equal(f.test(rec(2, { response: { status: 200 } })), false);
  const block = filterOf({
    where: { "sentinel.route_id": "api", "labels.is_bot": [false, null] },
  }).f!;
  assert.equal(block.test(rec(3, { sentinel: { route_id: "api" } })), true, "absent = null");
  assert.equal(
    block.test(rec(4, { sentinel: { route_id: "api" }, labels: { is_bot: true } })),
    false,
  );
  assert.equal(block.test(rec(5, { sentinel: { route_id: "web" } })), false);
  assert.match(block.text, /sentinel.route_id in \["api"\] AND labels.is_bot in \[false,null\]/);
});

Deno.test("parseRecordFilter() refuses unsafe paths and non-scalar values, naming the key", () => {
  for (
    const [options, pattern] of [
      [{ where: ["__proto__.polluted", true] }, /may not use __proto__/],
      [{ where: ["a[0]", 1] }, /field path must be dotted names/],
      [{ where: ["labels.is_error"] }, /needs at least one value/],
      [{ where: { "labels.is_error": { nested: true } } }, /values must be strings/],
      [{ "only-threats": "yes" }, /`only-threats` must be true or false/],
      [{ where: 5 }, /`where` needs a field path/],
    ] as const
  ) {
    const { f, problems } = filterOf(options as Record<string, unknown>);
    assert.equal(f, undefined);
    assert.match(problems.join("; "), pattern);
  }
  // Lookups never climb the prototype chain.
  const f = filterOf({ where: ["request.constructorx", null] }).f!;
  assert.equal(f.test(rec(1)), true);
});

Deno.test("createSinkRunner() reads runner keys from the sink block and counts filtered records", async () => {
  const sink = new ScriptedSink();
  const r = createSinkRunner(sink, {
    name: "threats",
    batchSize: 2,
    flushIntervalMs: 10,
    options: { "only-threats": true, "max-in-flight": 2, "breaker-failures": 0 },
  });
  await r.open();
  for (let i = 0; i < 10; i++) {
    r.push(rec(i, { events: 2, labels: { is_threat: i % 3 === 0 } }));
  }
  await waitFor(() => r.stats().recordsSent === 4, "the four threats");
  const s = r.stats();
  assert.equal(s.recordsPushed, 10);
  assert.equal(s.recordsFiltered, 6);
  assert.equal(s.eventsFiltered, 12);
  assert.deepEqual(
    sink.written.flatMap((b) => b.records.map((x) => x.event_id)),
    [0, 3, 6, 9].map((i) => makeRecord(i).event_id),
  );
  assert.deepEqual(await r.drain(1000), { complete: true });
});

Deno.test("createSinkRunner() names the sink and key of a bad runner option", () => {
  assert.throws(
    () =>
      createSinkRunner(new ScriptedSink(), {
        name: "audit",
        batchSize: 10,
        flushIntervalMs: 10,
        options: { "max-in-flight": 0, "breaker-cooldown-ms": "soon", where: ["x..y", 1] },
      }),
    (e: unknown) => {
      assert.ok(e instanceof SinkError && e.code === "sink_config");
      assert.match(e.message, /^sink audit: /);
      assert.match(e.message, /`max-in-flight` must be an integer from 1 to 64, got 0/);
      assert.match(e.message, /`breaker-cooldown-ms` must be an integer/);
      assert.match(e.message, /`where` field path/);
      return true;
    },
  );
});

Deno.test("sinkOwnOptions() strips exactly the runner keys", () => {
  const options = Object.fromEntries(RUNNER_KEYS.map((k) => [k, 1]));
  assert.deepEqual(sinkOwnOptions({ ...options, topic: "t" }), { topic: "t" });
});

Deno.test("renderSinkStats() exports every telemetry_sink_* family with bounded labels", async () => {
  const sink = new ScriptedSink(["retryable"], "ok", "k1");
  const r = createSinkRunner(sink, {
    name: "k1",
    batchSize: 1,
    flushIntervalMs: 10,
    options: { "only-errors": true },
  });
  await r.open();
  r.push(rec(1, { labels: { is_error: true } }));
  r.push(rec(2));
  await waitFor(() => r.stats().recordsSent === 1, "one sent");
  const text = renderSinkStats([r]);
  for (
    const line of [
      'telemetry_sink_records_received_total{sink="k1"} 2',
      'telemetry_sink_records_filtered_total{sink="k1"} 1',
      'telemetry_sink_batches_sent_total{sink="k1"} 1',
      'telemetry_sink_retries_total{sink="k1"} 1',
      'telemetry_sink_send_failures_total{code="sink_unavailable",sink="k1"} 1',
      'telemetry_sink_send_failures_total{code="sink_io",sink="k1"} 0',
      'telemetry_sink_breaker_state{sink="k1"} 0',
      'telemetry_sink_in_flight_batches{sink="k1"} 0',
      'telemetry_sink_queue_capacity_records{sink="k1"} 10',
      'telemetry_sink_request_duration_seconds_bucket{le="+Inf",sink="k1"} 2',
      'telemetry_sink_request_duration_seconds_count{sink="k1"} 2',
      'telemetry_sink_records_dropped_total{reason="queue_full",sink="k1"} 0',
    ]
  ) assert.ok(text.includes(line + "\n"), `missing: ${line}`);
  assert.match(text, /# TYPE telemetry_sink_request_duration_seconds histogram/);
  await r.drain(1000);
});
