import assert from "node:assert/strict";
import { SinkRunner, type SinkRunnerOptions, type SinkStats } from "../../src/sinks/runner.ts";
import type { Sink } from "../../src/sinks/contract.ts";
import {
  captureLog,
  makeRecord,
  ScriptedSink,
  type Step,
  waitFor,
  withinLimit,
} from "./_helpers.ts";

const FAST_BACKOFF = { baseMs: 1, capMs: 4, maxRetries: 3 };

function runner(sink: Sink, opts: Partial<SinkRunnerOptions> = {}) {
  const logs = captureLog();
  const r = new SinkRunner(sink, {
    batchSize: 10,
    flushIntervalMs: 60_000,
    backoff: FAST_BACKOFF,
    log: logs.log,
    ...opts,
  });
  return { r, logs };
}

function sum(byReason: Record<string, number>): number {
  return Object.values(byReason).reduce((a, b) => a + b, 0);
}

function assertBooksBalance(s: SinkStats): void {
  assert.equal(s.recordsPushed, s.recordsSent + sum(s.droppedRecords) + s.queuedRecords);
  assert.equal(s.eventsPushed, s.eventsSent + sum(s.droppedEvents) + s.queuedEvents);
}

Deno.test("SinkRunner.push() cuts a batch when batchSize records are queued", async () => {
  const sink = new ScriptedSink();
  const { r } = runner(sink);
  await r.open();
  for (let i = 0; i < 25; i++) r.push(makeRecord(i));
  await waitFor(() => sink.written.length === 2, "two full batches");
  assert.deepEqual(sink.written.map((b) => b.records.length), [10, 10]);
  assert.equal(r.stats().queuedRecords, 5);
  const res = await r.drain(5_000);
  assert.deepEqual(res, { complete: true });
  assert.deepEqual(sink.written.map((b) => b.records.length), [10, 10, 5]);
  const ids = sink.written.flatMap((b) => b.records.map((rec) => rec.event_id));
  assert.deepEqual(ids, Array.from({ length: 25 }, (_, i) => makeRecord(i).event_id));
  assert.equal(sink.closed, 1);
});

Deno.test("SinkRunner.push() writes a partial batch when flushIntervalMs passes", async () => {
  const sink = new ScriptedSink();
  const { r } = runner(sink, { batchSize: 100, flushIntervalMs: 20 });
  await r.open();
  for (let i = 0; i < 3; i++) r.push(makeRecord(i));
  await Promise.resolve();
  assert.equal(sink.attempts.length, 0, "nothing is written before the interval");
  await waitFor(() => sink.written.length === 1, "the interval flush");
  assert.equal(sink.written[0].records.length, 3);
  r.push(makeRecord(3));
  await waitFor(() => sink.written.length === 2, "a second interval flush");
  await r.drain(5_000);
});

Deno.test("SinkRunner.flush() writes what is batched now", async () => {
  const sink = new ScriptedSink();
  const { r } = runner(sink, { batchSize: 100 });
  await r.open();
  r.push(makeRecord(1));
  r.push(makeRecord(2));
  r.flush();
  await waitFor(() => sink.written.length === 1, "the flushed batch");
  assert.equal(sink.written[0].records.length, 2);
  await r.drain(5_000);
});

Deno.test("SinkRunner retries a retryable failure with the same batch id", async () => {
  const sink = new ScriptedSink(["retryable", "retryable", "ok"]);
  const { r, logs } = runner(sink);
  await r.open();
  for (let i = 0; i < 10; i++) r.push(makeRecord(i, 2));
  await waitFor(() => sink.written.length === 1, "delivery after retries");
  assert.equal(sink.attempts.length, 3);
  assert.equal(new Set(sink.attempts).size, 1, "every attempt carries the same batch id");
  const s = r.stats();
  assert.equal(s.retries, 2);
  assert.equal(s.failures, 2);
  assert.equal(s.writeCount, 3);
  assert.equal(s.batchesSent, 1);
  assert.equal(s.recordsSent, 10);
  assert.equal(s.eventsSent, 20);
  assert.equal(s.bytesSent, 100);
  assert.equal(sum(s.droppedRecords), 0);
  assert.ok(logs.lines.some((l) => l.fields.reason === "retry"));
  await r.drain(5_000);
});

Deno.test("SinkRunner drops a batch as retries_exhausted after maxRetries", async () => {
  const sink = new ScriptedSink([], "retryable");
  const { r, logs } = runner(sink);
  await r.open();
  for (let i = 0; i < 10; i++) r.push(makeRecord(i, 4));
  await waitFor(() => r.stats().droppedRecords.retries_exhausted === 10, "the drop");
  const s = r.stats();
  assert.equal(sink.attempts.length, 1 + FAST_BACKOFF.maxRetries);
  assert.equal(s.retries, FAST_BACKOFF.maxRetries);
  assert.equal(s.droppedEvents.retries_exhausted, 40);
  assert.equal(s.queuedRecords, 0);
  assertBooksBalance(s);
  const drop = logs.lines.find((l) => l.fields.reason === "retries_exhausted");
  assert.equal(drop?.level, "error");
  assert.equal(drop?.fields.sink, "scripted");
  await r.drain(5_000);
});

for (const step of ["fatal", "plain_error"] as Step[]) {
  Deno.test(`SinkRunner drops a batch as fatal without retry (${step})`, async () => {
    const sink = new ScriptedSink([step]);
    const { r } = runner(sink);
    await r.open();
    for (let i = 0; i < 12; i++) r.push(makeRecord(i, 1));
    await waitFor(() => r.stats().droppedRecords.fatal === 10, "the fatal drop");
    assert.equal(r.stats().retries, 0);
    await r.drain(5_000);
    const s = r.stats();
    assert.equal(s.recordsSent, 2, "the next batch still goes out");
    assert.equal(sink.attempts.length, 2);
    assertBooksBalance(s);
  });
}

Deno.test("SinkRunner logs a drop reason at most once per interval and reports the rest", async () => {
  const sink = new ScriptedSink([], "fatal");
  const { r, logs } = runner(sink, { batchSize: 1 });
  await r.open();
  for (let i = 0; i < 5; i++) r.push(makeRecord(i));
  await waitFor(() => r.stats().droppedRecords.fatal === 5, "five fatal drops");
  const fatalLines = () => logs.lines.filter((l) => l.fields.reason === "fatal");
  assert.equal(fatalLines().length, 1);
  await r.drain(5_000);
  assert.equal(fatalLines().length, 2, "drain writes the suppressed summary");
  assert.equal(fatalLines()[1].fields.suppressed, 4);
});

Deno.test("SinkRunner.push() drops the newest record as queue_full when the queue is full", async () => {
  const sink = new ScriptedSink([], "hang");
  const { r } = runner(sink, { batchSize: 2, maxQueueRecords: 4 });
  await r.open();
  for (let i = 0; i < 10; i++) r.push(makeRecord(i, 2));
  let s = r.stats();
  assert.equal(s.queuedRecords, 4);
  assert.equal(s.droppedRecords.queue_full, 6);
  assert.equal(s.droppedEvents.queue_full, 12);
  assertBooksBalance(s);
  await Promise.resolve();
  assert.equal(sink.attempts.length, 1, "maxInFlight 1: one batch in flight");
  const res = await withinLimit(r.drain(30), "drain");
  assert.equal(res.complete, false);
  s = r.stats();
  assert.equal(s.droppedRecords.shutdown_deadline, 4);
  assert.equal(s.queuedRecords, 0);
  assertBooksBalance(s);
});

Deno.test("SinkRunner.drain() honours its deadline when the sink never answers", async () => {
  const sink = new ScriptedSink([], "hang");
  const { r, logs } = runner(sink, { batchSize: 3, maxInFlight: 2 });
  await r.open();
  for (let i = 0; i < 8; i++) r.push(makeRecord(i, 5));
  const res = await withinLimit(r.drain(50), "drain with a hung sink");
  assert.deepEqual(res, { complete: false });
  const s = r.stats();
  assert.equal(s.droppedRecords.shutdown_deadline, 8);
  assert.equal(s.droppedEvents.shutdown_deadline, 40);
  assert.equal(s.queuedRecords, 0);
  assert.equal(s.queuedEvents, 0);
  assert.equal(sink.closed, 1, "the sink is closed after the deadline");
  assert.ok(logs.lines.some((l) => l.fields.reason === "shutdown_deadline"));
  r.push(makeRecord(99, 1));
  assert.equal(r.stats().droppedRecords.closed, 1, "pushes after drain are counted");
  assertBooksBalance(r.stats());
});

Deno.test("SinkRunner.drain() does not sleep for a retry past its deadline", async () => {
  const sink = new ScriptedSink([], "retryable");
  const backoff = { baseMs: 60_000, capMs: 60_000, maxRetries: 5 };
  const { r } = runner(sink, { backoff, random: () => 0.99 });
  await r.open();
  for (let i = 0; i < 4; i++) r.push(makeRecord(i));
  const res = await withinLimit(r.drain(50), "drain with a long backoff", 5_000);
  assert.equal(res.complete, false);
  assert.equal(r.stats().droppedRecords.shutdown_deadline, 4);
  assertBooksBalance(r.stats());
});

Deno.test("SinkRunner.drain() delivers everything queued when the sink is healthy", async () => {
  const sink = new ScriptedSink(["retryable"]);
  const { r } = runner(sink, { batchSize: 7, maxInFlight: 3 });
  await r.open();
  for (let i = 0; i < 50; i++) r.push(makeRecord(i));
  const res = await r.drain(5_000);
  assert.deepEqual(res, { complete: true });
  assert.equal(sink.recordsWritten(), 50);
  assert.equal(r.stats().recordsSent, 50);
  assert.equal(r.stats().queuedRecords, 0);
});

Deno.test("SinkRunner keeps pushed = sent + dropped + queued for records and events", async () => {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const steps: Step[] = ["ok", "ok", "ok", "retryable", "fatal", "plain_error"];
  const sink = new ScriptedSink();
  sink.script = Array.from({ length: 400 }, () => steps[Math.floor(rand() * steps.length)]);
  const { r } = runner(sink, { batchSize: 5, maxQueueRecords: 40, maxInFlight: 2 });
  await r.open();
  for (let i = 0; i < 2000; i++) {
    r.push(makeRecord(i, 1 + Math.floor(rand() * 4)));
    assertBooksBalance(r.stats());
    if (i % 50 === 0) await new Promise((res) => setTimeout(res, 1));
  }
  await r.drain(10_000);
  const s = r.stats();
  assertBooksBalance(s);
  assert.equal(s.queuedRecords, 0);
  assert.equal(s.recordsPushed, 2000);
  assert.equal(s.recordsSent, sink.recordsWritten());
  assert.ok(
    s.droppedRecords.queue_full > 0 && s.droppedRecords.fatal > 0,
    "the mix exercised drops",
  );
});

Deno.test("SinkRunner records write latency per attempt", async () => {
  const sink = new ScriptedSink(["retryable"]);
  const { r } = runner(sink);
  await r.open();
  for (let i = 0; i < 10; i++) r.push(makeRecord(i));
  await r.drain(5_000);
  const s = r.stats();
  assert.equal(s.writeCount, 2);
  assert.ok(s.writeSecondsSum >= s.lastWriteSeconds && s.lastWriteSeconds >= 0);
});

Deno.test("SinkRunner() refuses options out of range", () => {
  const sink = new ScriptedSink();
  assert.throws(
    () => new SinkRunner(sink, { batchSize: 0, flushIntervalMs: 10 }),
    /'batchSize' must be an integer >= 1: current value is 0/,
  );
  assert.throws(
    () => new SinkRunner(sink, { batchSize: 10, flushIntervalMs: 10, maxQueueRecords: 5 }),
    /'maxQueueRecords' must be an integer >= 10/,
  );
});
