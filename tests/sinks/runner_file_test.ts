import assert from "node:assert/strict";
import { createFileSink } from "../../src/sinks/file.ts";
import { createSinkRunner } from "../../src/sinks/runner.ts";
import {
  captureLog,
  fileSinkConfig,
  listNames,
  makeRecord,
  readAllRecords,
  waitFor,
} from "./_helpers.ts";

Deno.test("SinkRunner over the file sink delivers every record exactly once", async () => {
  const dir = await Deno.makeTempDir();
  const logs = captureLog();
  const cfg = { ...fileSinkConfig(dir, { "max-bytes": 30_000 }), batchSize: 50 };
  const runner = createSinkRunner(createFileSink(cfg, logs), cfg, {
    log: logs.log,
    maxInFlight: 3,
    maxQueueRecords: 1000,
  });
  await runner.open();
  for (let i = 0; i < 1000; i++) {
    runner.push(makeRecord(i, 1 + (i % 3)));
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  const res = await runner.drain(10_000);
  assert.deepEqual(res, { complete: true });
  const records = await readAllRecords(dir);
  assert.equal(records.length, 1000);
  assert.equal(new Set(records.map((r) => r.event_id)).size, 1000);
  assert.deepEqual(await listNames(dir, ".part"), []);
  const s = runner.stats();
  assert.equal(s.recordsSent, 1000);
  assert.equal(s.droppedRecords.queue_full, 0);
  assert.equal(s.eventsSent, records.reduce((n, r) => n + r.events, 0));
  assert.equal(s.batchesSent, 20);
  let bytes = 0;
  for (const name of await listNames(dir)) bytes += (await Deno.stat(`${dir}/${name}`)).size;
  assert.equal(s.bytesSent, bytes);
  assert.ok((await listNames(dir)).length > 1, "rotation by size happened");
});

Deno.test("SinkRunner over the file sink counts a fatal directory error as a drop", async () => {
  const dir = await Deno.makeTempDir();
  const logs = captureLog();
  const cfg = { ...fileSinkConfig(dir, { "max-age-ms": 1 }), batchSize: 5 };
  const runner = createSinkRunner(createFileSink(cfg, logs), cfg, { log: logs.log });
  await runner.open();
  await waitFor(() => [...Deno.readDirSync(dir)].length === 0, "the empty file's age rotation");
  await Deno.remove(dir);
  await Deno.writeTextFile(dir, "now a file");
  for (let i = 0; i < 5; i++) runner.push(makeRecord(i, 2));
  await runner.drain(5_000);
  const s = runner.stats();
  assert.equal(s.droppedRecords.fatal, 5);
  assert.equal(s.droppedEvents.fatal, 10);
  assert.equal(s.retries, 0, "not a directory is not retried");
  const drop = logs.lines.find((l) => l.fields.reason === "fatal");
  assert.equal(drop?.fields.code, "sink_io");
  await Deno.remove(dir);
});
