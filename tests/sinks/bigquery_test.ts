/**
 * The BigQuery sink against a local server that enforces the documented contract of Google's
 * token endpoint and `tabledata.insertAll` (tests/helpers/bigquery_contract_server.ts): no
 * BigQuery can run here. Schema generation, JWT auth and token caching/refresh, request
 * splitting within limits, per-row partial failures (retried or dead-lettered), request-level
 * errors, and the runner delivering every row exactly once through injected failures.
 */

import assert from "node:assert/strict";
import type { SinkConfig } from "../../src/config/types.ts";
import { recordFields } from "../../src/record/fields.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { type Sink, SinkError } from "../../src/sinks/contract.ts";
import {
  bigQueryDdl,
  bigQueryHosts,
  bigQuerySchema,
  createBigQuerySink,
  parseBigQuerySinkOptions,
} from "../../src/sinks/bigquery.ts";
import { splitRequests } from "../../src/sinks/bigquery/insert.ts";
import { SinkRunner } from "../../src/sinks/runner.ts";
import { newBatchId } from "../../src/sinks/_batch_id.ts";
import {
  type BigQueryContractServer,
  checkRow,
  makeServiceAccountKey,
  startBigQueryContractServer,
} from "../helpers/bigquery_contract_server.ts";
import { captureLog, makeRecord } from "./_helpers.ts";

const TABLE = { project: "test-project", dataset: "edge", table: "requests" };

interface Harness {
  server: BigQueryContractServer;
  keyFile: string;
  dir: string;
  config(options?: Record<string, unknown>): SinkConfig;
  [Symbol.asyncDispose](): Promise<void>;
}

async function harness(tokenLifetimeS?: number): Promise<Harness> {
  const server = await startBigQueryContractServer({
    ...TABLE,
    schema: bigQuerySchema(),
    tokenLifetimeS,
  });
  const key = await makeServiceAccountKey(server.tokenUrl);
  server.trust(key);
  const dir = await Deno.makeTempDir();
  const keyFile = `${dir}/key.json`;
  await Deno.writeTextFile(keyFile, JSON.stringify(key.json));
  return {
    server,
    keyFile,
    dir,
    config: (options = {}) => ({
      name: "bigquery",
      type: "bigquery",
      batchSize: 100,
      flushIntervalMs: 50,
      options: {
        ...TABLE,
        "credentials-file": keyFile,
        endpoint: server.url,
        "token-url": server.tokenUrl,
        ...options,
      },
    }),
    async [Symbol.asyncDispose]() {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function openSink(
  cfg: SinkConfig,
  log = captureLog().log,
): Promise<Sink & { tokensFetched: number }> {
  const sink = createBigQuerySink(cfg, { log }) as Sink & { tokensFetched: number };
  await sink.open();
  return sink;
}

function recs(from: number, n: number): TelemetryRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    ...makeRecord(from + i),
    request: {
      correlation_id: `c-${from + i}`,
      method: "GET",
      path: "/x",
      headers: { accept: ["*/*"] },
      query_keys: ["a"],
    },
    geo: { country_iso_code: "DE", location: { lat: 1.5, lon: 2.5 } },
  }));
}

function rejectsWith(p: Promise<unknown>, check: (e: SinkError) => boolean) {
  return assert.rejects(p, (e: unknown) => e instanceof SinkError && check(e));
}

Deno.test("bigQuerySchema() describes every record field with its BigQuery type and mode", () => {
  const schema = bigQuerySchema();
  const flat = new Map<string, { type: string; mode: string }>();
  const walk = (fields: typeof schema, prefix: string) => {
    for (const f of fields) {
      flat.set(prefix + f.name, { type: f.type, mode: f.mode });
      if (f.fields && f.mode !== "REPEATED") walk(f.fields, `${prefix}${f.name}.`);
    }
  };
  walk(schema, "");
  const want: Record<string, string> = {
    string: "STRING",
    ip: "STRING",
    integer: "INTEGER",
    float: "FLOAT",
    boolean: "BOOLEAN",
    timestamp: "TIMESTAMP",
    string_list: "STRING",
    header_map: "RECORD",
  };
  for (const { path, spec } of recordFields()) {
    const got = flat.get(path.join("."));
    assert.ok(got, `${path.join(".")} missing`);
    assert.equal(got.type, want[spec.kind], path.join("."));
    const mode = spec.kind === "string_list" || spec.kind === "header_map"
      ? "REPEATED"
      : spec.required
      ? "REQUIRED"
      : "NULLABLE";
    assert.equal(got.mode, mode, path.join("."));
  }
  assert.equal(flat.get("geo.location")?.type, "RECORD");
  const ddl = bigQueryDdl("p.d.t");
  assert.match(ddl, /event_id STRING NOT NULL/);
  assert.match(ddl, /headers ARRAY<STRUCT<name STRING, values ARRAY<STRING>>>/);
  assert.match(ddl, /PARTITION BY DATE\(timestamp\)/);
});

Deno.test("parseBigQuerySinkOptions() checks limits; bigQueryHosts() names both hosts", () => {
  const o = parseBigQuerySinkOptions({ ...TABLE, "credentials-file": "/k.json" });
  assert.equal(o.maxRowsPerRequest, 500);
  assert.equal(o.maxRequestBytes, 9_000_000);
  assert.throws(
    () =>
      parseBigQuerySinkOptions({
        project: "p",
        "max-rows-per-request": 60_000,
        "max-request-bytes": 20_000_000,
      }),
    (e: unknown) =>
      e instanceof SinkError && /`dataset` is required/.test(e.message) &&
      /`credentials-file` is required/.test(e.message) &&
      /`max-rows-per-request` must be an integer between 1 and 50000/.test(e.message) &&
      /`max-request-bytes` must be an integer between 10000 and 10000000/.test(e.message),
  );
  assert.deepEqual(bigQueryHosts({}), ["bigquery.googleapis.com:443", "oauth2.googleapis.com:443"]);
});

Deno.test("splitRequests() keeps every request within the row and byte limits", () => {
  const rows = Array.from({ length: 30 }, (_, i) => ({ index: i, text: "x".repeat(100 + i) }));
  const { requests, oversized } = splitRequests(rows, 7, 600);
  assert.deepEqual(oversized, []);
  assert.deepEqual(requests.flat().map((r) => r.index), rows.map((r) => r.index));
  for (const req of requests) {
    assert.ok(req.length <= 7);
    assert.ok(req.reduce((n, r) => n + r.text.length + 1, 110) <= 600);
  }
  assert.deepEqual(
    splitRequests([{ index: 0, text: "y".repeat(1000) }], 7, 600).oversized.map((r) => r.index),
    [0],
  );
});

Deno.test("bigquery sink inserts rows that pass the table's schema, insertId = event_id", async () => {
  await using h = await harness();
  const sink = await openSink(h.config());
  const records = recs(0, 40);
  await sink.write({ id: newBatchId(), records });
  assert.deepEqual(h.server.violations, []);
  assert.deepEqual(h.server.rows.map((r) => r.insertId), records.map((r) => r.event_id));
  const row = h.server.rows[0].json;
  assert.deepEqual((row.request as Record<string, unknown>).headers, [{
    name: "accept",
    values: ["*/*"],
  }]);
  assert.deepEqual(row.geo, { country_iso_code: "DE", location: { lat: 1.5, lon: 2.5 } });
  assert.equal(row.timestamp, records[0].timestamp);
  for (const r of h.server.rows) assert.deepEqual(checkRow(r.json, bigQuerySchema(), ""), []);
});

Deno.test("bigquery sink caches its token, refreshes it before expiry, and replaces a revoked one", async () => {
  await using h = await harness(2);
  const sink = await openSink(h.config());
  await sink.write({ id: newBatchId(), records: recs(0, 1) });
  await sink.write({ id: newBatchId(), records: recs(1, 1) });
  assert.equal(h.server.tokensIssued, 1, "the token is reused");
  await new Promise((r) => setTimeout(r, 1900)); // 2 s lifetime: refreshed within its last 0.2 s
  await sink.write({ id: newBatchId(), records: recs(2, 1) });
  assert.equal(h.server.tokensIssued, 2);
  h.server.revokeTokens();
  const id = newBatchId();
  await rejectsWith(
    sink.write({ id, records: recs(3, 1) }),
    (e) => e.retryable && /401/.test(e.message),
  );
  await sink.write({ id, records: recs(3, 1) });
  assert.equal(h.server.tokensIssued, 3);
  assert.equal(h.server.rows.length, 4);
  assert.deepEqual(h.server.violations, []);
});

Deno.test("bigquery sink: a key the token endpoint refuses is fatal; a broken key file fails open()", async () => {
  await using h = await harness();
  const other = await makeServiceAccountKey(h.server.tokenUrl);
  await Deno.writeTextFile(`${h.dir}/other.json`, JSON.stringify(other.json));
  const sink = await openSink(h.config({ "credentials-file": `${h.dir}/other.json` }));
  await rejectsWith(
    sink.write({ id: newBatchId(), records: recs(0, 1) }),
    (e) => !e.retryable && /refused the service account/.test(e.message),
  );
  await Deno.writeTextFile(`${h.dir}/bad.json`, JSON.stringify({ type: "authorized_user" }));
  const bad = createBigQuerySink(h.config({ "credentials-file": `${h.dir}/bad.json` }), {
    log: () => {},
  });
  await rejectsWith(
    bad.open(),
    (e) => e.code === "sink_config" && /not a service-account key/.test(e.message),
  );
});

Deno.test("bigquery sink splits a batch into requests within the row and byte limits", async () => {
  await using h = await harness();
  const sink = await openSink(h.config({ "max-rows-per-request": 7, "max-request-bytes": 20_000 }));
  const records = recs(0, 100);
  await sink.write({ id: newBatchId(), records });
  assert.ok(h.server.requests.length >= 15, `${h.server.requests.length} requests`);
  for (const r of h.server.requests) {
    assert.ok(r.rows <= 7);
    assert.ok(r.bytes <= 20_000);
  }
  assert.equal(h.server.rows.length, 100);
  assert.deepEqual(h.server.violations, []);
});

Deno.test("bigquery sink resends only the rows a partial failure did not take", async () => {
  await using h = await harness();
  const sink = await openSink(h.config());
  const batch = { id: newBatchId(), records: recs(0, 10) };
  h.server.faults.push({ rowErrors: { positions: [1, 3], reason: "backendError" } });
  await rejectsWith(sink.write(batch), (e) => e.retryable && /2 rows/.test(e.message));
  assert.equal(h.server.rows.length, 8);
  await sink.write(batch);
  assert.equal(h.server.requests.at(-1)!.rows, 2, "the retry sends the two rows only");
  assert.deepEqual(
    h.server.rows.map((r) => r.insertId).sort(),
    batch.records.map((r) => r.event_id).sort(),
  );
  assert.equal(h.server.duplicates, 0);
});

Deno.test("bigquery sink dead-letters rows BigQuery refuses, or fails the batch without a dead-letter file", async () => {
  await using h = await harness();
  const log = captureLog();
  const dlq = `${h.dir}/dead`;
  const sink = await openSink(h.config({ "dead-letter-directory": dlq }), log.log);
  const batch = { id: newBatchId(), records: recs(0, 5) };
  h.server.faults.push({ rowErrors: { positions: [2], reason: "invalid" } });
  await sink.write(batch);
  assert.equal(h.server.rows.length, 4);
  const dead = (await Deno.readTextFile(`${dlq}/bigquery.dead-letter.ndjson`)).trim().split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(dead.length, 1);
  assert.equal(dead[0].record.event_id, batch.records[2].event_id);
  assert.deepEqual(dead[0].reasons, ["invalid"]);
  assert.ok(log.lines.some((l) => /dead-lettered/.test(l.msg)));

  const strict = await openSink(h.config());
  const batch2 = { id: newBatchId(), records: recs(10, 5) };
  h.server.faults.push({ rowErrors: { positions: [0], reason: "invalid" } });
  await rejectsWith(
    strict.write(batch2),
    (e) =>
      !e.retryable && /refused 1 of 5 rows/.test(e.message) &&
      e.message.includes(batch2.records[0].event_id),
  );
  assert.equal(h.server.rows.length, 8, "the other four were inserted");
});

Deno.test("bigquery sink: 5xx, 429 and quota 403 are retryable with Retry-After; 404 and 403 denied are fatal", async () => {
  await using h = await harness();
  const sink = await openSink(h.config());
  const write = () => sink.write({ id: newBatchId(), records: recs(0, 1) });
  h.server.faults.push({ status: 503, reason: "backendError", retryAfter: "3" });
  await rejectsWith(write(), (e) => e.retryable && e.retryAfterMs === 3000);
  h.server.faults.push({ status: 429, reason: "rateLimitExceeded" }, {
    status: 403,
    reason: "quotaExceeded",
  });
  await rejectsWith(write(), (e) => e.retryable);
  await rejectsWith(write(), (e) => e.retryable && /quotaExceeded/.test(e.message));
  h.server.faults.push({ status: 403, reason: "accessDenied" });
  await rejectsWith(write(), (e) => !e.retryable && /dataEditor/.test(e.message));
  const missing = await openSink(h.config({ table: "nope" }));
  await rejectsWith(
    missing.write({ id: newBatchId(), records: recs(0, 1) }),
    (e) => !e.retryable && /schema --bigquery/.test(e.message),
  );
});

Deno.test("SinkRunner over the bigquery sink: every row exactly once through failures and an outage", async () => {
  await using h = await harness();
  const sink = await openSink(h.config({ "timeout-ms": 500, "max-rows-per-request": 20 }));
  const runner = new SinkRunner(sink, {
    batchSize: 50,
    flushIntervalMs: 20,
    maxQueueRecords: 10_000,
    backoff: { baseMs: 20, capMs: 200, maxRetries: 50 },
    breaker: { failureThreshold: 0 },
    log: captureLog().log,
  });
  await runner.open();
  const sent = recs(0, 600);
  h.server.faults.push(
    { status: 500, reason: "backendError" },
    { rowErrors: { positions: [0, 5, 19], reason: "stopped" } },
    { delayMs: 800 },
    { status: 429, reason: "rateLimitExceeded", retryAfter: "1" },
  );
  for (const r of sent.slice(0, 300)) runner.push(r);
  await new Promise((r) => setTimeout(r, 1500));
  await h.server.stop();
  for (const r of sent.slice(300)) runner.push(r);
  await new Promise((r) => setTimeout(r, 500));
  await h.server.restart();
  const { complete } = await runner.drain(30_000);
  assert.equal(complete, true);
  const ids = h.server.rows.map((r) => r.insertId);
  assert.equal(ids.length, 600);
  assert.deepEqual(ids.sort(), sent.map((r) => r.event_id).sort());
  assert.ok(runner.stats().retries >= 4);
  assert.deepEqual(h.server.violations, []);
});
