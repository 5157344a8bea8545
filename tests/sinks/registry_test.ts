import assert from "node:assert/strict";
import { AVAILABLE_SINK_TYPES, createSink } from "../../src/sinks/registry.ts";
import { SinkError } from "../../src/sinks/contract.ts";
import type { SinkConfig, SinkType } from "../../src/config/types.ts";
import { captureLog } from "./_helpers.ts";

function cfg(type: SinkType, options: Record<string, unknown> = {}): SinkConfig {
  return { name: `my-${type}`, type, batchSize: 10, flushIntervalMs: 100, options };
}

Deno.test("createSink() builds the file and stdout sinks", async () => {
  const dir = await Deno.makeTempDir();
  const file = createSink(cfg("file", { directory: dir }), captureLog());
  assert.equal(file.name, "my-file");
  await file.open();
  await file.close();
  assert.equal(createSink(cfg("stdout"), captureLog()).name, "my-stdout");
});

Deno.test("createSink() refuses a sink type missing from this build", () => {
  const all: SinkType[] = ["kafka", "clickhouse", "s3", "bigquery", "http"];
  const missing = all.filter((t) => !AVAILABLE_SINK_TYPES.includes(t));
  assert.ok(AVAILABLE_SINK_TYPES.includes("kafka"), "this build has the kafka sink");
  for (const type of missing) {
    assert.throws(() => createSink(cfg(type), captureLog()), (err: unknown) => {
      assert.ok(err instanceof SinkError);
      assert.equal(err.code, "sink_config");
      assert.equal(err.retryable, false);
      assert.equal(err.message, `sink type \`${type}\` is not available in this build yet`);
      return true;
    });
  }
});

Deno.test("createSink() passes option errors through as sink_config", () => {
  assert.throws(
    () => createSink(cfg("file", { "max-bytes": "lots" }), captureLog()),
    /`max-bytes` must be an integer >= 1, got "lots"/,
  );
});
