import assert from "node:assert/strict";
import { createFileSink, FILE_SINK_DEFAULTS, parseFileSinkOptions } from "../../src/sinks/file.ts";
import { type SinkBatch, SinkError } from "../../src/sinks/contract.ts";
import { ioError } from "../../src/sinks/_io_error.ts";
import { newBatchId } from "../../src/sinks/_batch_id.ts";
import {
  captureLog,
  fileSinkConfig,
  listNames,
  makeRecord,
  readAllRecords,
  waitFor,
} from "./_helpers.ts";

const FINAL_RE = /^telemetry-\d{8}T\d{9}Z-\d{6}\.ndjson$/;

function batch(from: number, n: number): SinkBatch {
  return { id: newBatchId(), records: Array.from({ length: n }, (_, i) => makeRecord(from + i)) };
}

Deno.test("parseFileSinkOptions() reads kebab-case keys and fills defaults", () => {
  const opts = parseFileSinkOptions({ directory: "/tmp/x", "max-bytes": 2048, "batch-size": 5 });
  assert.deepEqual(opts, {
    directory: "/tmp/x",
    prefix: FILE_SINK_DEFAULTS.prefix,
    maxBytes: 2048,
    maxAgeMs: FILE_SINK_DEFAULTS.maxAgeMs,
  });
});

Deno.test("parseFileSinkOptions() lists every wrong option in one sink_config error", () => {
  try {
    parseFileSinkOptions({ "max-byte": 5, "max-age-ms": -1, prefix: ".hidden" });
    assert.fail("expected an error");
  } catch (err) {
    assert.ok(err instanceof SinkError);
    assert.equal(err.code, "sink_config");
    assert.equal(err.retryable, false);
    assert.match(err.message, /unknown option `max-byte`; known options: directory, prefix/);
    assert.match(err.message, /`max-age-ms` must be an integer >= 1, got -1/);
    assert.match(err.message, /`prefix` must be letters/);
  }
});

Deno.test("createFileSink() rotates when a file reaches max-bytes", async () => {
  const dir = await Deno.makeTempDir();
  const sink = createFileSink(fileSinkConfig(dir, { "max-bytes": 1000 }), captureLog());
  await sink.open();
  let bytes = 0;
  for (let i = 0; i < 20; i++) bytes += (await sink.write(batch(i * 3, 3))) ?? 0;
  const midway = await listNames(dir);
  assert.ok(midway.length >= 2, "files are published while the sink is open");
  await sink.close();
  const names = await listNames(dir);
  assert.ok(names.every((n) => FINAL_RE.test(n)), names.join(","));
  assert.deepEqual(await listNames(dir, ".part"), [], "no part file after close");
  let total = 0;
  for (const [i, name] of names.entries()) {
    const size = (await Deno.stat(`${dir}/${name}`)).size;
    total += size;
    if (i < names.length - 1) assert.ok(size >= 1000, `${name} rotated early at ${size}`);
  }
  assert.equal(total, bytes);
  const records = await readAllRecords(dir);
  assert.deepEqual(
    records.map((r) => r.event_id),
    Array.from({ length: 60 }, (_, i) => makeRecord(i).event_id),
    "name order is write order",
  );
});

Deno.test("createFileSink() rotates a file older than max-age-ms on a timer", async () => {
  const dir = await Deno.makeTempDir();
  const sink = createFileSink(fileSinkConfig(dir, { "max-age-ms": 30 }), captureLog());
  await sink.open();
  await sink.write(batch(0, 2));
  await waitFor(() => Deno.readDirSync(dir).some((e) => FINAL_RE.test(e.name)), "age rotation");
  await sink.write(batch(2, 2));
  await sink.close();
  assert.equal((await listNames(dir)).length, 2);
  assert.equal((await readAllRecords(dir)).length, 4);
});

Deno.test("createFileSink() rotates an old file before the next write", async () => {
  const dir = await Deno.makeTempDir();
  const sink = createFileSink(fileSinkConfig(dir, { "max-age-ms": 1 }), captureLog());
  await sink.open();
  await sink.write(batch(0, 1));
  await new Promise((r) => setTimeout(r, 5));
  await sink.write(batch(1, 1));
  await sink.close();
  const names = await listNames(dir);
  assert.equal(names.length, 2);
  assert.equal((await readAllRecords(dir)).length, 2);
});

Deno.test("createFileSink() close() fsyncs and renames the open file", async () => {
  const dir = `${await Deno.makeTempDir()}/nested/out`;
  const sink = createFileSink(fileSinkConfig(dir, { prefix: "edge" }), captureLog());
  await sink.open();
  await sink.write(batch(0, 5));
  assert.deepEqual(await listNames(dir), [], "nothing is visible before close");
  const parts = await listNames(dir, ".part");
  assert.equal(parts.length, 1);
  assert.match(parts[0], /^\.edge-\d{8}T\d{9}Z-\d{6}\.ndjson\.part$/);
  await sink.close();
  const names = await listNames(dir);
  assert.equal(names.length, 1);
  assert.equal(names[0], parts[0].slice(1, -".part".length));
  assert.deepEqual(await listNames(dir, ".part"), []);
  assert.equal((await readAllRecords(dir)).length, 5);
});

Deno.test("createFileSink() close() deletes an empty open file", async () => {
  const dir = await Deno.makeTempDir();
  const sink = createFileSink(fileSinkConfig(dir), captureLog());
  await sink.open();
  await sink.close();
  assert.deepEqual([...Deno.readDirSync(dir)], []);
});

Deno.test("createFileSink() write() skips a batch id it already wrote", async () => {
  const dir = await Deno.makeTempDir();
  const sink = createFileSink(fileSinkConfig(dir), captureLog());
  await sink.open();
  const b = batch(0, 4);
  const first = await sink.write(b);
  const again = await sink.write({ id: b.id, records: b.records });
  await sink.write(batch(4, 1));
  await sink.close();
  assert.ok(typeof first === "number" && first > 0);
  assert.equal(again, 0);
  assert.equal((await readAllRecords(dir)).length, 5);
});

Deno.test("createFileSink() open() recovers crash leftovers to whole lines", async () => {
  const dir = await Deno.makeTempDir();
  const good = '{"n":1}\n{"n":2}\n';
  await Deno.writeTextFile(
    `${dir}/.telemetry-20240101T000000000Z-000001.ndjson.part`,
    good + '{"n":',
  );
  await Deno.writeTextFile(`${dir}/.telemetry-20240101T000000001Z-000002.ndjson.part`, "");
  await Deno.writeTextFile(`${dir}/.telemetry-20240101T000000002Z-000003.ndjson.part`, '{"torn');
  await Deno.writeTextFile(`${dir}/.other-20240101T000000000Z-000001.ndjson.part`, '{"x');
  const logs = captureLog();
  const sink = createFileSink(fileSinkConfig(dir), logs);
  await sink.open();
  assert.deepEqual(await listNames(dir), ["telemetry-20240101T000000000Z-000001.ndjson"]);
  assert.equal(
    await Deno.readTextFile(`${dir}/telemetry-20240101T000000000Z-000001.ndjson`),
    good,
  );
  const parts = await listNames(dir, ".part");
  assert.ok(parts.includes(".other-20240101T000000000Z-000001.ndjson.part"), "other prefix kept");
  assert.equal(parts.length, 2, "the other prefix's leftover and the new open file");
  const line = logs.lines.find((l) => l.msg.includes("recovered"));
  assert.deepEqual(
    [line?.fields.published, line?.fields.deleted, line?.fields.cutBytes],
    [1, 2, 5 + 6],
  );
  await sink.close();
});

Deno.test("createFileSink() open() publishes a recovered file without overwriting", async () => {
  const dir = await Deno.makeTempDir();
  const base = "telemetry-20240101T000000000Z-000001";
  await Deno.writeTextFile(`${dir}/${base}.ndjson`, '{"old":1}\n');
  await Deno.writeTextFile(`${dir}/.${base}.ndjson.part`, '{"new":1}\n');
  const sink = createFileSink(fileSinkConfig(dir), captureLog());
  await sink.open();
  await sink.close();
  assert.deepEqual(await listNames(dir), [`${base}-1.ndjson`, `${base}.ndjson`]);
  assert.equal(await Deno.readTextFile(`${dir}/${base}.ndjson`), '{"old":1}\n');
});

Deno.test("createFileSink() open() fails fatally when the directory is a file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/plain`, "x");
  for (const target of [`${dir}/plain`, `${dir}/plain/sub`]) {
    const sink = createFileSink(fileSinkConfig(target), captureLog());
    await assert.rejects(sink.open(), (err: unknown) => {
      assert.ok(err instanceof SinkError);
      assert.equal(err.code, "sink_io");
      assert.equal(err.retryable, false, target);
      return true;
    });
  }
});

Deno.test("ioError() marks full disks and I/O errors retryable, permissions fatal", () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  assert.equal(ioError(withCode("ENOSPC"), "write").retryable, true);
  assert.equal(ioError(withCode("EIO"), "write").retryable, true);
  assert.equal(ioError(withCode("EACCES"), "write").retryable, false);
  assert.equal(ioError(new Deno.errors.PermissionDenied("no"), "open").retryable, false);
  assert.equal(ioError(new Deno.errors.NotADirectory("no"), "open").retryable, false);
  const e = ioError(withCode("ENOSPC"), "cannot write f");
  assert.equal(e.code, "sink_io");
  assert.equal(e.message, "cannot write f: ENOSPC");
});

Deno.test("createFileSink() write() after close() is a fatal error", async () => {
  const dir = await Deno.makeTempDir();
  const sink = createFileSink(fileSinkConfig(dir), captureLog());
  await sink.open();
  await sink.close();
  await assert.rejects(sink.write(batch(0, 1)), (err: unknown) => {
    assert.ok(err instanceof SinkError && !err.retryable);
    return true;
  });
});
