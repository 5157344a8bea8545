/**
 * The runner's circuit breaker and bounded in-flight batches, over the scripted in-memory sink.
 */

import assert from "node:assert/strict";
import { SinkRunner, type SinkRunnerOptions, type SinkStats } from "../../src/sinks/runner.ts";
import { CircuitBreaker } from "../../src/sinks/_breaker.ts";
import { SinkError } from "../../src/sinks/contract.ts";
import { captureLog, makeRecord, ScriptedSink, waitFor, withinLimit } from "./_helpers.ts";

function runner(sink: ScriptedSink, opts: Partial<SinkRunnerOptions> = {}) {
  const logs = captureLog();
  const r = new SinkRunner(sink, {
    batchSize: 5,
    flushIntervalMs: 60_000,
    backoff: { baseMs: 1, capMs: 2, maxRetries: 2 },
    breaker: { failureThreshold: 3, cooldownMs: 100, maxCooldownMs: 400 },
    log: logs.log,
    ...opts,
  });
  return { r, logs };
}

function sum(by: Record<string, number>): number {
  return Object.values(by).reduce((a, b) => a + b, 0);
}

function assertBooksBalance(s: SinkStats): void {
  assert.equal(
    s.recordsPushed,
    s.recordsFiltered + s.recordsSent + sum(s.droppedRecords) + s.queuedRecords,
  );
  assert.equal(
    s.eventsPushed,
    s.eventsFiltered + s.eventsSent + sum(s.droppedEvents) + s.queuedEvents,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("SinkRunner breaker opens after consecutive failures and stops writing while open", async () => {
  const sink = new ScriptedSink([], "retryable");
  const { r, logs } = runner(sink, { breaker: { failureThreshold: 3, cooldownMs: 60_000 } });
  await r.open();
  for (let i = 0; i < 5; i++) r.push(makeRecord(i));
  await waitFor(() => r.stats().breakerState === 1, "the breaker to open");
  const attempts = sink.attempts.length;
  assert.equal(attempts, 3, "three failures open it");
  await sleep(150);
  assert.equal(sink.attempts.length, attempts, "no write while open");
  const s = r.stats();
  assert.equal(s.breakerOpens, 1);
  assert.equal(
    s.droppedRecords.retries_exhausted,
    0,
    "waiting behind the breaker spends no retries",
  );
  assert.equal(s.queuedRecords, 5);
  assert.equal(s.inFlightBatches, 1);
  assertBooksBalance(s);
  const open = logs.lines.filter((l) => l.msg.includes("circuit breaker open"));
  assert.equal(open.length, 1);
  assert.equal(open[0].level, "warn");
  assert.equal(open[0].fields.consecutive_failures, 3);
  await withinLimit(r.drain(50), "drain");
});

Deno.test("SinkRunner breaker probes after the cooldown and closes on success, in order", async () => {
  const sink = new ScriptedSink(["retryable", "retryable", "retryable"], "ok");
  const { r, logs } = runner(sink);
  await r.open();
  for (let i = 0; i < 20; i++) r.push(makeRecord(i));
  await waitFor(() => r.stats().breakerOpens === 1, "open");
  await waitFor(() => r.stats().recordsSent === 20, "delivery after the probe");
  const s = r.stats();
  assert.equal(s.breakerState, 0);
  assert.equal(s.retries, 3, "two backoff retries, then the probe");
  assert.equal(
    s.droppedRecords.retries_exhausted,
    0,
    "the breaker opened before the budget ran out",
  );
  const ids = sink.written.flatMap((b) => b.records.map((x) => x.event_id));
  assert.deepEqual(ids, Array.from({ length: 20 }, (_, i) => makeRecord(i).event_id));
  assert.ok(logs.lines.some((l) => l.msg.includes("circuit breaker closed") && l.level === "info"));
  assert.deepEqual(await r.drain(1000), { complete: true });
  assertBooksBalance(r.stats());
});

Deno.test("SinkRunner breaker doubles the cooldown after a failed probe", () => {
  const events: string[] = [];
  const b = new CircuitBreaker(
    { failureThreshold: 2, cooldownMs: 100, maxCooldownMs: 250 },
    (e) => events.push(e.kind === "opened" ? `opened:${e.cooldownMs}` : e.kind),
  );
  b.failure();
  assert.equal(b.state, "closed");
  b.failure();
  assert.equal(b.state, "open");
  assert.equal(b.tryAcquire(), false);
  b.probeNow();
  assert.equal(b.state, "half_open");
  assert.equal(b.tryAcquire(), true, "one probe");
  assert.equal(b.tryAcquire(), false, "only one probe at a time");
  b.failure();
  b.probeNow();
  assert.equal(b.tryAcquire(), true);
  b.failure();
  b.probeNow();
  assert.equal(b.tryAcquire(), true);
  b.success();
  assert.equal(b.state, "closed");
  assert.deepEqual(events, [
    "opened:100",
    "half_open",
    "opened:200",
    "half_open",
    "opened:250",
    "half_open",
    "closed",
  ]);
  assert.equal(b.opens, 3);
  b.dispose();
});

Deno.test("SinkRunner breaker: a fatal error neither opens it nor spends a probe", async () => {
  const sink = new ScriptedSink([], "fatal");
  const { r } = runner(sink, { breaker: { failureThreshold: 1, cooldownMs: 60_000 } });
  await r.open();
  for (let i = 0; i < 15; i++) r.push(makeRecord(i));
  await waitFor(() => r.stats().droppedRecords.fatal === 15, "three fatal drops");
  assert.equal(r.stats().breakerState, 0);
  assert.equal(r.stats().breakerOpens, 0);
  assert.equal(r.stats().failuresByCode.sink_backend_rejected, 3);
  await r.drain(100);
});

Deno.test("SinkRunner breaker: the queue stays bounded while open and drains after recovery", async () => {
  const sink = new ScriptedSink([], "retryable");
  const { r } = runner(sink, {
    maxQueueRecords: 30,
    maxInFlight: 2,
    breaker: { failureThreshold: 2, cooldownMs: 50, maxCooldownMs: 50 },
  });
  await r.open();
  for (let i = 0; i < 50; i++) r.push(makeRecord(i));
  await waitFor(() => r.stats().breakerOpens >= 1, "open");
  let s = r.stats();
  assert.equal(s.queuedRecords, 30);
  assert.equal(s.droppedRecords.queue_full, 20, "newest records beyond the bound are dropped");
  assert.ok(s.inFlightBatches <= 2, `in flight ${s.inFlightBatches}`);
  const attemptsWhileDown = sink.attempts.length;
  await sleep(300);
  // At most one probe per cooldown: ~6 in 300 ms, far fewer than a retry loop would make.
  assert.ok(sink.attempts.length - attemptsWhileDown <= 8, `${sink.attempts.length} attempts`);
  sink.fallback = "ok";
  await waitFor(() => r.stats().recordsSent === 30, "the held records after recovery");
  s = r.stats();
  assert.equal(s.droppedRecords.retries_exhausted, 0);
  assertBooksBalance(s);
  assert.deepEqual(await r.drain(1000), { complete: true });
});

Deno.test("SinkRunner.drain() probes an open breaker at once and drops at the deadline", async () => {
  const sink = new ScriptedSink([], "retryable");
  const { r } = runner(sink, { breaker: { failureThreshold: 1, cooldownMs: 60_000 } });
  await r.open();
  for (let i = 0; i < 10; i++) r.push(makeRecord(i));
  await waitFor(() => r.stats().breakerState === 1, "open");
  const before = sink.attempts.length;
  const res = await withinLimit(r.drain(200), "drain");
  assert.equal(res.complete, false);
  assert.ok(sink.attempts.length > before, "the drain tried once more without waiting 60 s");
  const s = r.stats();
  assert.equal(s.droppedRecords.shutdown_deadline, 10);
  assert.equal(s.queuedRecords, 0);
  assertBooksBalance(s);
});

Deno.test("SinkRunner.drain() delivers what an open breaker held once the sink is back", async () => {
  const sink = new ScriptedSink([], "retryable");
  const { r } = runner(sink, { breaker: { failureThreshold: 1, cooldownMs: 60_000 } });
  await r.open();
  for (let i = 0; i < 10; i++) r.push(makeRecord(i));
  await waitFor(() => r.stats().breakerState === 1, "open");
  sink.fallback = "ok";
  assert.deepEqual(await withinLimit(r.drain(2000), "drain"), { complete: true });
  assert.equal(r.stats().recordsSent, 10);
});

Deno.test("SinkRunner keeps at most maxInFlight batches writing", async () => {
  const sink = new ScriptedSink([], "hang");
  const { r } = runner(sink, { maxInFlight: 3, maxQueueRecords: 100 });
  await r.open();
  for (let i = 0; i < 50; i++) r.push(makeRecord(i));
  await sleep(20);
  assert.equal(sink.attempts.length, 3);
  assert.equal(r.stats().inFlightBatches, 3);
  await r.drain(10);
});

Deno.test("SinkRunner waits at least the retryAfterMs a retryable error asks for", async () => {
  const times: number[] = [];
  const sink = {
    name: "polite",
    open: () => Promise.resolve(),
    close: () => Promise.resolve(),
    write: () => {
      times.push(performance.now());
      if (times.length > 1) return Promise.resolve(0);
      return Promise.reject(
        new SinkError("slow down", {
          code: "sink_unavailable",
          retryable: true,
          retryAfterMs: 150,
        }),
      );
    },
  };
  const r = new SinkRunner(sink, {
    batchSize: 1,
    flushIntervalMs: 10,
    backoff: { baseMs: 1, capMs: 1, maxRetries: 3 },
    log: captureLog().log,
  });
  await r.open();
  r.push(makeRecord(1));
  await waitFor(() => r.stats().recordsSent === 1, "the retry");
  assert.ok(times[1] - times[0] >= 140, `retried after ${times[1] - times[0]} ms`);
  await r.drain(100);
});
