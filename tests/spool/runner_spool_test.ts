/**
 * The sink runner with a spool, over the scripted in-memory sink and a real directory: what it
 * cannot deliver goes to disk instead of being dropped, comes back in order when the sink
 * recovers or in the next runner (a restart), and the books balance with the `spooled` bucket.
 */

import assert from "node:assert/strict";
import { SinkRunner, type SinkRunnerOptions, type SinkStats } from "../../src/sinks/runner.ts";
import { captureLog, makeRecord, ScriptedSink, waitFor } from "../sinks/_helpers.ts";

function sum(by: Record<string, number>): number {
  return Object.values(by).reduce((a, b) => a + b, 0);
}

/** pushed + recovered = filtered + sent + dropped + queued + spooled, records and events. */
function assertBooksBalance(s: SinkStats): void {
  assert.equal(
    s.recordsPushed + s.recordsRecovered,
    s.recordsFiltered + s.recordsSent + sum(s.droppedRecords) + s.queuedRecords + s.spooledRecords,
    JSON.stringify(s),
  );
  assert.equal(
    s.eventsPushed + s.eventsRecovered,
    s.eventsFiltered + s.eventsSent + sum(s.droppedEvents) + s.queuedEvents + s.spooledEvents,
  );
}

function runner(sink: ScriptedSink, dir: string, opts: Partial<SinkRunnerOptions> = {}) {
  const logs = captureLog();
  const r = new SinkRunner(sink, {
    batchSize: 10,
    flushIntervalMs: 20,
    maxQueueRecords: 10_000,
    backoff: { baseMs: 1, capMs: 5, maxRetries: 2 },
    breaker: { failureThreshold: 3, cooldownMs: 50, maxCooldownMs: 100 },
    log: logs.log,
    spool: {
      directory: dir,
      maxBytes: 8 << 20,
      segmentBytes: 256 * 1024,
      fsyncMs: 20,
      fullPolicy: "drop-oldest",
    },
    ...opts,
  });
  return { r, logs };
}

function ids(sink: ScriptedSink): string[] {
  return sink.written.flatMap((b) => b.records.map((r) => r.event_id));
}

function expected(n: number): string[] {
  return Array.from({ length: n }, (_, i) => makeRecord(i).event_id);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "runner-spool-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SinkRunner spools while the sink is down and replays in order when it recovers", async () => {
  await withDir(async (dir) => {
    const sink = new ScriptedSink([], "retryable");
    const { r } = runner(sink, dir);
    await r.open();
    for (let i = 0; i < 500; i++) r.push(makeRecord(i));
    await waitFor(() => r.stats().spooledRecords === 500, "everything spooled");
    const during = r.stats();
    assert.equal(sum(during.droppedRecords), 0, "nothing dropped while down");
    assert.equal(during.spool?.records, 500);
    assertBooksBalance(during);
    sink.fallback = "ok";
    await waitFor(() => r.stats().recordsSent === 500, "replayed", 20_000);
    assert.deepEqual(ids(sink), expected(500), "delivered once each, in order");
    const after = r.stats();
    assertBooksBalance(after);
    assert.equal(after.spooledRecords, 0);
    for (let i = 500; i < 520; i++) r.push(makeRecord(i));
    await waitFor(() => r.stats().recordsSent === 520, "direct again");
    assert.deepEqual(ids(sink), expected(520));
    assert.equal((await r.drain(2000)).complete, true);
    assert.equal(r.stats().spool?.segments, 0, "an empty spool leaves no segment");
  });
});

Deno.test("SinkRunner drain with the sink down spools everything; the next runner delivers it", async () => {
  await withDir(async (dir) => {
    const down = new ScriptedSink([], "retryable");
    const first = runner(down, dir);
    await first.r.open();
    for (let i = 0; i < 300; i++) first.r.push(makeRecord(i));
    await waitFor(() => down.attempts.length > 0, "a failed write");
    const t0 = performance.now();
    const res = await first.r.drain(5000);
    assert.equal(res.complete, true, "spooled is not lost");
    assert.ok(performance.now() - t0 < 2500, "an unhealthy sink does not hold the drain");
    const s1 = first.r.stats();
    assertBooksBalance(s1);
    assert.equal(s1.spooledRecords + s1.recordsSent, 300);
    const up = new ScriptedSink();
    const second = runner(up, dir);
    await second.r.open();
    const s2 = second.r.stats();
    assert.equal(s2.recordsRecovered, 300 - s1.recordsSent);
    await waitFor(() => second.r.stats().recordsSent === s2.recordsRecovered, "replayed", 20_000);
    assert.deepEqual([...ids(down), ...ids(up)], expected(300), "in order, once each");
    assertBooksBalance(second.r.stats());
    assert.equal((await second.r.drain(2000)).complete, true);
  });
});

Deno.test("SinkRunner spools a batch whose retries ran out instead of dropping it (breaker off)", async () => {
  await withDir(async (dir) => {
    const sink = new ScriptedSink(["retryable", "retryable", "retryable"], "ok");
    const { r, logs } = runner(sink, dir, { breaker: { failureThreshold: 0 } });
    await r.open();
    for (let i = 0; i < 10; i++) r.push(makeRecord(i));
    await waitFor(() => r.stats().recordsSent === 10, "delivered after spooling");
    const s = r.stats();
    assert.equal(s.droppedRecords.retries_exhausted, 0);
    assert.equal(s.recordsSpooledTotal, 10);
    assert.ok(logs.lines.some((l) => l.msg === "sink retries exhausted; batch spooled"));
    assertBooksBalance(s);
    await r.drain(1000);
  });
});

Deno.test("SinkRunner still drops a fatal batch, counted, and goes on in order", async () => {
  await withDir(async (dir) => {
    const sink = new ScriptedSink(["ok", "fatal"], "ok");
    const { r } = runner(sink, dir);
    await r.open();
    for (let i = 0; i < 30; i++) r.push(makeRecord(i));
    await waitFor(() => r.stats().recordsSent + r.stats().droppedRecords.fatal === 30, "settled");
    assert.equal(r.stats().droppedRecords.fatal, 10);
    assertBooksBalance(r.stats());
    await r.drain(1000);
  });
});

Deno.test("SinkRunner at the spool's cap drops by policy with a count, and acks never wait", async () => {
  await withDir(async (dir) => {
    const sink = new ScriptedSink([], "retryable");
    const { r } = runner(sink, dir, {
      spool: {
        directory: dir,
        maxBytes: 64 * 1024,
        segmentBytes: 8 * 1024,
        fsyncMs: 20,
        fullPolicy: "drop-oldest",
      },
    });
    await r.open();
    for (let i = 0; i < 3000; i++) r.push(makeRecord(i)); // synchronous: never blocks
    await waitFor(() => {
      const s = r.stats();
      return s.queuedRecords === 0 && s.spooledRecords + sum(s.droppedRecords) === 3000;
    }, "settled into spool and drops");
    const s = r.stats();
    assert.ok(s.droppedRecords.spool_full > 0);
    assert.ok((s.spool?.bytes ?? Infinity) <= 64 * 1024);
    assertBooksBalance(s);
    sink.fallback = "ok";
    await waitFor(() => r.stats().spooledRecords === 0, "replayed", 20_000);
    const delivered = ids(sink);
    assert.equal(delivered.at(-1), makeRecord(2999).event_id, "drop-oldest keeps the newest");
    assert.deepEqual(delivered, [...delivered].sort(), "in order");
    await r.drain(1000);
  });
});
