import assert from "node:assert/strict";
import { type ByteWriter, createStdoutSink } from "../../src/sinks/stdout.ts";
import { SinkError } from "../../src/sinks/contract.ts";
import type { SinkConfig } from "../../src/config/types.ts";
import { newBatchId } from "../../src/sinks/_batch_id.ts";
import { captureLog, makeRecord } from "./_helpers.ts";

const CFG: SinkConfig = {
  name: "stdout",
  type: "stdout",
  batchSize: 10,
  flushIntervalMs: 100,
  options: {},
};

/** Accepts at most `chunk` bytes per call; throws `failWith` on the calls listed in `failOn`. */
class ChoppyWriter implements ByteWriter {
  readonly out: number[] = [];
  calls = 0;
  constructor(readonly chunk: number, readonly failOn: number[] = [], readonly failWith?: Error) {}
  write(p: Uint8Array): Promise<number> {
    this.calls++;
    if (this.failOn.includes(this.calls)) {
      return Promise.reject(this.failWith ?? Object.assign(new Error("EIO"), { code: "EIO" }));
    }
    const n = Math.min(this.chunk, p.length);
    this.out.push(...p.subarray(0, n));
    return Promise.resolve(n);
  }
  lines(): unknown[] {
    const text = new TextDecoder().decode(new Uint8Array(this.out));
    assert.ok(text.endsWith("\n"));
    return text.slice(0, -1).split("\n").map((l) => JSON.parse(l));
  }
}

function batch(from: number, n: number) {
  return { id: newBatchId(), records: Array.from({ length: n }, (_, i) => makeRecord(from + i)) };
}

Deno.test("createStdoutSink() write() completes partial writes", async () => {
  const out = new ChoppyWriter(7);
  const sink = createStdoutSink(CFG, captureLog(), out);
  await sink.open();
  const bytes = await sink.write(batch(0, 3));
  await sink.close();
  assert.equal(bytes, out.out.length);
  assert.ok(out.calls > 3);
  assert.equal(out.lines().length, 3);
});

Deno.test("createStdoutSink() write() resumes a torn batch on retry without duplicates", async () => {
  const out = new ChoppyWriter(50, [4]);
  const sink = createStdoutSink(CFG, captureLog(), out);
  const b = batch(0, 3);
  await assert.rejects(sink.write(b), (err: unknown) => {
    assert.ok(err instanceof SinkError && err.retryable && err.code === "sink_io");
    return true;
  });
  await sink.write(b);
  assert.equal(await sink.write(b), 0, "an id already written is skipped");
  assert.deepEqual(
    out.lines().map((r) => (r as { event_id: string }).event_id),
    b.records.map((r) => r.event_id),
  );
});

Deno.test("createStdoutSink() write() ends a given-up torn line before the next batch", async () => {
  const out = new ChoppyWriter(50, [2]);
  const sink = createStdoutSink(CFG, captureLog(), out);
  await assert.rejects(sink.write(batch(0, 3)));
  await sink.write(batch(10, 2));
  const text = new TextDecoder().decode(new Uint8Array(out.out));
  const lines = text.slice(0, -1).split("\n");
  assert.equal(lines.length, 3, "one torn line, then two whole ones");
  assert.equal(JSON.parse(lines[1]).event_id, makeRecord(10).event_id);
  assert.equal(JSON.parse(lines[2]).event_id, makeRecord(11).event_id);
});

Deno.test("createStdoutSink() write() treats a closed pipe as fatal", async () => {
  const out = new ChoppyWriter(50, [1], new Deno.errors.BrokenPipe("pipe closed"));
  const sink = createStdoutSink(CFG, captureLog(), out);
  await assert.rejects(sink.write(batch(0, 1)), (err: unknown) => {
    assert.ok(err instanceof SinkError && !err.retryable);
    return true;
  });
});

Deno.test("createStdoutSink() refuses options", () => {
  assert.throws(
    () => createStdoutSink({ ...CFG, options: { directory: "/x" } }, captureLog()),
    /unknown option `directory`; the stdout sink takes no options/,
  );
});
