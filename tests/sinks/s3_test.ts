/**
 * The S3 sink against a real S3-compatible server (SeaweedFS, built and started by the test
 * setup), every object checked with an independent client (boto3; pyarrow for Parquet): keys,
 * Hive partitions, gzip, Parquet, multipart, idempotent retries, credentials, error classes,
 * and an outage the runner rides out with nothing lost or duplicated.
 */

import assert from "node:assert/strict";
import type { SinkConfig } from "../../src/config/types.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { type Sink, SinkError } from "../../src/sinks/contract.ts";
import { SinkRunner } from "../../src/sinks/runner.ts";
import { createS3Sink, parseS3SinkOptions, s3EnvVars, s3Hosts } from "../../src/sinks/s3.ts";
import { groupObjects, partitionOf, uuidV7Time } from "../../src/sinks/s3/keys.ts";
import { newBatchId } from "../../src/sinks/_batch_id.ts";
import {
  S3_ACCESS_KEY,
  S3_SECRET_KEY,
  type SeaweedServer,
  startSeaweed,
} from "../../scripts/services/seaweedfs.ts";
import { createS3Bucket, readS3Objects } from "../helpers/python_tools.ts";
import { startFaultProxy } from "../helpers/fault_proxy.ts";
import { captureLog, makeRecord } from "./_helpers.ts";

const KEYS = { accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET_KEY };
const BUCKET = "telemetry-test";

function s3Config(endpoint: string, options: Record<string, unknown> = {}): SinkConfig {
  return {
    name: "s3",
    type: "s3",
    batchSize: 100,
    flushIntervalMs: 100,
    options: {
      bucket: BUCKET,
      endpoint,
      "path-style": true,
      "access-key-id": S3_ACCESS_KEY,
      "secret-access-key": S3_SECRET_KEY,
      ...options,
    },
  };
}

/** Records `from..from+n-1`, spread over two hours so batches span two partitions. */
function records(from: number, n: number): TelemetryRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const r = makeRecord(from + i);
    const hour = (from + i) % 2;
    return { ...r, timestamp: `2026-03-01T1${hour}:59:59.${String(i % 1000).padStart(3, "0")}Z` };
  });
}

async function openSink(cfg: SinkConfig): Promise<Sink> {
  const sink = createS3Sink(cfg, { log: captureLog().log });
  await sink.open();
  return sink;
}

Deno.test("parseS3SinkOptions() fills defaults and lists every problem", () => {
  const o = parseS3SinkOptions({ bucket: "logs" });
  assert.equal(o.endpoint, "https://s3.us-east-1.amazonaws.com");
  assert.equal(o.prefix, "telemetry/");
  assert.equal(o.format, "ndjson");
  assert.equal(o.compression, "gzip");
  assert.deepEqual(o.credentials, { kind: "env" });
  assert.equal(parseS3SinkOptions({ bucket: "logs", format: "parquet" }).compression, "snappy");
  assert.throws(
    () =>
      parseS3SinkOptions({
        bucket: "Bad_Bucket",
        "part-size-bytes": 1024,
        "access-key-id": "x",
        colour: 1,
      }),
    (e: unknown) =>
      e instanceof SinkError && e.code === "sink_config" &&
      /`bucket` must be a bucket name/.test(e.message) &&
      /`part-size-bytes` must be an integer between 5242880/.test(e.message) &&
      /both `access-key-id` and `secret-access-key`/.test(e.message) &&
      /unknown option `colour`/.test(e.message),
  );
});

Deno.test("s3Hosts() and s3EnvVars() name what the agent must be allowed to reach", () => {
  assert.deepEqual(s3Hosts({ bucket: "logs", region: "eu-west-1" }), [
    "logs.s3.eu-west-1.amazonaws.com:443",
  ]);
  assert.deepEqual(
    s3Hosts({ bucket: "logs", endpoint: "http://127.0.0.1:8333", "path-style": true }),
    [
      "127.0.0.1:8333",
    ],
  );
  assert.deepEqual(s3EnvVars({ bucket: "logs" }), [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
  ]);
  assert.deepEqual(
    s3EnvVars({ bucket: "logs", "access-key-id": "a", "secret-access-key": "b" }),
    [],
  );
});

Deno.test("groupObjects() partitions by each record's hour and splits by size, deterministically", () => {
  const id = newBatchId();
  const recs = records(0, 10);
  const groups = groupObjects("p/", id, recs, 300, () => 100);
  assert.deepEqual(groups.map((g) => g.stem), [
    `p/dt=2026-03-01/hour=10/${id}`,
    `p/dt=2026-03-01/hour=10/${id}-1`,
    `p/dt=2026-03-01/hour=11/${id}`,
    `p/dt=2026-03-01/hour=11/${id}-1`,
  ]);
  assert.deepEqual(groups.map((g) => g.records.length), [3, 2, 3, 2]);
  assert.deepEqual(groupObjects("p/", id, recs, 300, () => 100), groups);
  assert.equal(partitionOf(Date.UTC(2026, 0, 2, 3, 4)), "dt=2026-01-02/hour=03/");
  const bad = { ...makeRecord(1), timestamp: "not a time" };
  assert.equal(
    groupObjects("", id, [bad], 1e9, () => 1)[0].stem.slice(0, 22),
    partitionOf(uuidV7Time(id)!),
  );
});

Deno.test("s3 sink against SeaweedFS, checked with boto3", async (t) => {
  await using server = await startSeaweed();
  await createS3Bucket(server.endpoint, BUCKET, KEYS);

  await t.step("NDJSON+gzip objects land in Hive partitions named by the batch id", async () => {
    const sink = await openSink(s3Config(server.endpoint, { prefix: "gz" }));
    const id = newBatchId();
    const recs = records(0, 20);
    const bytes = await sink.write({ id, records: recs });
    assert.ok(typeof bytes === "number" && bytes > 0);
    const objects = await readS3Objects(server.endpoint, BUCKET, "gz/", KEYS);
    assert.deepEqual(objects.map((o) => o.key).sort(), [
      `gz/dt=2026-03-01/hour=10/${id}.ndjson.gz`,
      `gz/dt=2026-03-01/hour=11/${id}.ndjson.gz`,
    ]);
    for (const o of objects) {
      assert.equal(o.contentEncoding, "gzip");
      assert.equal(o.contentType, "application/x-ndjson");
      assert.equal(o.metadata["telemetry-batch-id"], id);
      assert.equal(Number(o.metadata["telemetry-records"]), o.records.length);
    }
    const got = objects.flatMap((o) => o.records).sort((a, b) =>
      String(a.event_id).localeCompare(String(b.event_id))
    );
    assert.deepEqual(got, recs);
  });

  await t.step("a retried batch rewrites the same keys: nothing is duplicated", async () => {
    const id = newBatchId();
    const recs = records(100, 10);
    for (let i = 0; i < 3; i++) {
      const sink = await openSink(s3Config(server.endpoint, { prefix: "retry" }));
      await sink.write({ id, records: recs });
    }
    const objects = await readS3Objects(server.endpoint, BUCKET, "retry/", KEYS);
    assert.equal(objects.length, 2);
    assert.equal(objects.flatMap((o) => o.records).length, 10);
  });

  await t.step("Parquet objects are read back by pyarrow with the same values", async () => {
    const sink = await openSink(
      s3Config(server.endpoint, { prefix: "pq", format: "parquet", "row-group-size": 7 }),
    );
    const id = newBatchId();
    const recs = records(200, 30);
    await sink.write({ id, records: recs });
    const objects = await readS3Objects(server.endpoint, BUCKET, "pq/", KEYS);
    assert.deepEqual(objects.map((o) => o.key.split("/").pop()), [
      `${id}.parquet`,
      `${id}.parquet`,
    ]);
    const rows = objects.flatMap((o) => o.records);
    assert.deepEqual(rows.map((r) => r.event_id).sort(), recs.map((r) => r.event_id).sort());
    const first = rows.find((r) => r.event_id === recs[0].event_id)!;
    assert.equal(first.timestamp, recs[0].timestamp);
    assert.deepEqual((first.request as Record<string, unknown>).path, recs[0].request.path);
  });

  await t.step("a large object goes up by multipart upload, in parts", async () => {
    const mib = 1024 * 1024;
    const cfg = s3Config(server.endpoint, {
      prefix: "big",
      compression: "none",
      "multipart-threshold-bytes": 5 * mib,
      "part-size-bytes": 5 * mib,
    });
    const sink = await openSink(cfg);
    const recs = Array.from({ length: 4000 }, (_, i) => ({
      ...makeRecord(i),
      timestamp: "2026-03-01T10:00:00.000Z",
      request: { correlation_id: `c-${i}`, path: `/${"x".repeat(3000)}/${i}` },
    }));
    const id = newBatchId();
    const bytes = await sink.write({ id, records: recs }) as number;
    assert.ok(bytes > 10 * mib, `${bytes}`);
    const [obj] = await readS3Objects(server.endpoint, BUCKET, "big/", KEYS);
    assert.equal(obj.size, bytes);
    assert.match(obj.etag, /-3"$/, "a multipart ETag ends in -<parts>");
    assert.equal(obj.records.length, 4000);
    assert.deepEqual(obj.records[3999], recs[3999]);
  });

  await t.step(
    "credentials come from AWS_* environment variables or a credentials file",
    async () => {
      const env = { ...s3Config(server.endpoint, { prefix: "env" }) };
      delete env.options["access-key-id"];
      delete env.options["secret-access-key"];
      Deno.env.set("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY);
      Deno.env.set("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY);
      try {
        await (await openSink(env)).write({ id: newBatchId(), records: records(300, 2) });
      } finally {
        Deno.env.delete("AWS_ACCESS_KEY_ID");
        Deno.env.delete("AWS_SECRET_ACCESS_KEY");
      }
      const file = await Deno.makeTempFile();
      await Deno.writeTextFile(
        file,
        `[default]\naws_access_key_id=x\n[profile ci]\naws_access_key_id = ${S3_ACCESS_KEY}\naws_secret_access_key = ${S3_SECRET_KEY}\n`,
      );
      const fromFile = {
        ...env,
        options: { ...env.options, "credentials-file": file, profile: "ci" },
      };
      await (await openSink(fromFile)).write({ id: newBatchId(), records: records(302, 2) });
      await Deno.remove(file);
      assert.equal(
        (await readS3Objects(server.endpoint, BUCKET, "env/", KEYS)).flatMap((o) => o.records)
          .length,
        4,
      );
    },
  );

  await t.step("a wrong key or a missing bucket is fatal; an outage is retryable", async () => {
    const wrong = await openSink(s3Config(server.endpoint, { "secret-access-key": "nope" }));
    await assert.rejects(
      wrong.write({ id: newBatchId(), records: records(0, 1) }),
      (e: unknown) => e instanceof SinkError && !e.retryable && e.code === "sink_backend_rejected",
    );
    const noBucket = await openSink(s3Config(server.endpoint, { bucket: "no-such-bucket-here" }));
    await assert.rejects(
      noBucket.write({ id: newBatchId(), records: records(0, 1) }),
      (e: unknown) => e instanceof SinkError && !e.retryable && /NoSuchBucket/.test(e.message),
    );
    using proxy = startFaultProxy(target(server));
    proxy.down();
    const sink = await openSink(s3Config(proxy.url, { "timeout-ms": 2000 }));
    await assert.rejects(
      sink.write({ id: newBatchId(), records: records(0, 1) }),
      (e: unknown) => e instanceof SinkError && e.retryable && e.code === "sink_unavailable",
    );
    proxy.up();
    proxy.resetNext(1);
    await assert.rejects(
      sink.write({ id: newBatchId(), records: records(0, 1) }),
      (e: unknown) => e instanceof SinkError && e.retryable && e.code === "sink_unavailable",
    );
    await sink.write({ id: newBatchId(), records: records(0, 1) });
  });

  await t.step("the runner rides out an outage: every record exactly once", async () => {
    await outageRun(server);
  });
});

/**
 * The server stays up; a TCP proxy in front of it refuses connections for 1.5 s and cuts two
 * uploads mid-request. (A real SeaweedFS restart takes ~30 s before it stores files again.)
 */
async function outageRun(server: SeaweedServer): Promise<void> {
  using proxy = startFaultProxy(target(server));
  const sink = await openSink(s3Config(proxy.url, { prefix: "outage", "timeout-ms": 2000 }));
  const runner = new SinkRunner(sink, {
    batchSize: 50,
    flushIntervalMs: 50,
    maxQueueRecords: 10_000,
    backoff: { baseMs: 200, capMs: 1000, maxRetries: 50 },
    log: captureLog().log,
  });
  await runner.open();
  const sent = records(1000, 600);
  for (const r of sent.slice(0, 200)) runner.push(r);
  await new Promise((r) => setTimeout(r, 500));
  proxy.down();
  for (const r of sent.slice(200, 400)) runner.push(r);
  await new Promise((r) => setTimeout(r, 1500));
  proxy.up();
  proxy.resetNext(2);
  for (const r of sent.slice(400)) runner.push(r);
  const { complete } = await runner.drain(60_000);
  assert.equal(complete, true);
  const stats = runner.stats();
  assert.equal(stats.recordsSent, 600);
  assert.ok(stats.retries > 0, "the outage caused retries");
  const objects = await readS3Objects(server.endpoint, BUCKET, "outage/", KEYS);
  const ids = objects.flatMap((o) => o.records.map((r) => r.event_id as string));
  assert.equal(ids.length, 600, "no record lost or written twice");
  assert.deepEqual(ids.sort(), sent.map((r) => r.event_id).sort());
}

function target(server: SeaweedServer): { hostname: string; port: number } {
  return { hostname: "127.0.0.1", port: Number(new URL(server.endpoint).port) };
}
