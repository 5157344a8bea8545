/**
 * The ClickHouse sink against a real server: Debian's clickhouse-server (18.16), installed by
 * the setup when missing and started on free ports in a temp dir; rows are read back with
 * clickhouse-client. Plus the pure parts (options, error classification, row mapping onto the
 * column types of current servers).
 */

import assert from "node:assert/strict";
import { startClickHouse, WRITER_PASSWORD } from "../../scripts/services/clickhouse.ts";
import { recordFields } from "../../src/record/fields.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import {
  classifyError,
  ClickHouseSinkError,
  createClickHouseSink,
  parseClickHouseOptions,
} from "../../src/sinks/clickhouse/mod.ts";
import { planRows } from "../../src/sinks/clickhouse/rows.ts";
import { SinkError } from "../../src/sinks/contract.ts";
import { createSinkRunner } from "../../src/sinks/runner.ts";
import {
  clickhouseSinkConfig,
  cuttingProxy,
  eventId,
  fullRecord,
  minimalRecord,
} from "./_clickhouse_fixtures.ts";
import { captureLog } from "./_helpers.ts";

type Row = Record<string, unknown>;

/** What clickhouse-client prints (JSONEachRow) for a field value on an 18.16 table. */
function expected(kind: string, v: unknown, bits?: number): unknown {
  if (kind === "boolean") return v ? 1 : 0;
  if (kind === "timestamp") return String(v).slice(0, 19).replace("T", " ");
  if (kind === "integer" && bits === 64) return String(v); // 64-bit integers are quoted
  return v;
}

function headerPairs(h: Record<string, string[]>): [string[], string[]] {
  const pairs = Object.entries(h).flatMap(([k, vs]) => vs.map((v) => [k, v]));
  return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
}

function valueAt(r: TelemetryRecord, path: readonly string[]): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], r);
}

Deno.test("ClickHouse sink against a real 18.16 server", async (t) => {
  await using ch = await startClickHouse();
  const sinkFor = (options: Record<string, unknown>, log = captureLog()) => ({
    sink: createClickHouseSink(clickhouseSinkConfig(ch.url, options), { log: log.log }),
    log,
  });
  const count = async (table: string) =>
    Number((await ch.query(`SELECT count() FROM ${table}`)).trim());

  await t.step(
    "open() creates the table and write() stores every field in its column",
    async () => {
      const { sink, log } = sinkFor({ database: "t1", table: "req", "create-table": true });
      await sink.open();
      const full = fullRecord(1), minimal = minimalRecord(2);
      const bytes = await sink.write({ id: "batch-1", records: [full, minimal] });
      assert.ok(typeof bytes === "number" && bytes > 0);
      await sink.close();
      assert.ok(log.lines.some((l) => l.msg === "clickhouse sink created its table"));
      const ready = log.lines.find((l) => l.msg === "clickhouse sink ready");
      assert.equal(ready?.fields.server_version, ch.version);
      assert.equal(ready?.fields.dedup, "verify");
      const [row, empty] = await ch.rows<Row>("SELECT * FROM t1.req ORDER BY event_id");
      for (const { path, spec } of recordFields()) {
        const col = path.join("_"), v = valueAt(full, path);
        if (spec.kind === "header_map") {
          const [names, values] = headerPairs(v as Record<string, string[]>);
          assert.deepEqual([row[`${col}.name`], row[`${col}.value`]], [names, values], col);
          assert.deepEqual(empty[`${col}.name`], [], col);
          continue;
        }
        assert.deepEqual(row[col], expected(spec.kind, v, spec.bits), col);
        const absent = valueAt(minimal, path);
        if (absent === undefined) {
          const none = spec.kind === "string" || spec.kind === "ip"
            ? ""
            : spec.kind === "string_list"
            ? []
            : null;
          assert.deepEqual(empty[col], none, `${col} of a record without it`);
        }
      }
      assert.equal(row.timestamp_ms, 123);
    },
  );

  await t.step("write() of a batch id already written stores nothing more", async () => {
    const { sink } = sinkFor({ database: "t1", table: "req" });
    await sink.open();
    const batch = { id: "batch-2", records: [fullRecord(10), fullRecord(11)] };
    await sink.write(batch);
    assert.equal(await sink.write(batch), 0);
    await sink.close();
    assert.equal(await count("t1.req"), 4);
  });

  await t.step("an insert that landed but lost its answer is not stored twice", async () => {
    const proxy = cuttingProxy(ch.httpPort);
    const log = captureLog();
    const sink = createClickHouseSink(
      clickhouseSinkConfig(proxy.url, { database: "t2", table: "req", "create-table": true }),
      { log: log.log },
    );
    await sink.open();
    const batch = {
      id: "batch-3",
      records: Array.from({ length: 500 }, (_, i) => fullRecord(100 + i)),
    };
    proxy.cut = true;
    await assert.rejects(sink.write(batch), (e: unknown) => {
      assert.ok(e instanceof ClickHouseSinkError && e.retryable && e.maybeWritten, String(e));
      return true;
    });
    assert.equal(await count("t2.req"), 500, "the insert reached the table");
    proxy.cut = false;
    await sink.write(batch);
    await sink.close();
    await proxy.close();
    assert.equal(proxy.cuts, 1);
    assert.equal(await count("t2.req"), 500);
    const check = log.lines.find((l) => l.msg.includes("checked a retried batch"));
    assert.equal(check?.fields.already_stored, 500);
  });

  await t.step(
    "a wrong password fails open() with a sink_config error naming the fix",
    async () => {
      const { sink } = sinkFor({ database: "t1", table: "req", password: "not-it" });
      await assert.rejects(sink.open(), (e: unknown) => {
        assert.ok(e instanceof ClickHouseSinkError, String(e));
        assert.equal(e.code, "sink_config");
        assert.equal(e.retryable, false);
        assert.equal(e.serverCode, 193);
        assert.match(e.message, /Wrong password for user writer.*check username and password/);
        return true;
      });
      await sink.close();
    },
  );

  await t.step("a missing table fails open() unless create-table is set", async () => {
    const { sink } = sinkFor({ database: "t1", table: "nope" });
    await assert.rejects(sink.open(), (e: unknown) => {
      assert.ok(e instanceof SinkError && e.code === "sink_config" && !e.retryable, String(e));
      assert.match(e.message, /t1\.nope does not exist.*main\.ts schema --clickhouse/);
      return true;
    });
    await sink.close();
  });

  await t.step("a table dropped while running is re-created with create-table", async () => {
    const { sink, log } = sinkFor({ database: "t3", table: "req", "create-table": true });
    await sink.open();
    await sink.write({ id: "b-4", records: [minimalRecord(1)] });
    await ch.query("DROP TABLE t3.req");
    await assert.rejects(sink.write({ id: "b-5", records: [minimalRecord(2)] }), (e: unknown) => {
      assert.ok(e instanceof ClickHouseSinkError && e.retryable && e.serverCode === 60, String(e));
      return true;
    });
    await sink.write({ id: "b-5", records: [minimalRecord(2)] });
    await sink.close();
    assert.equal(await count("t3.req"), 1);
    assert.equal(log.lines.filter((l) => l.msg === "clickhouse sink created its table").length, 2);
  });

  await t.step("values that do not fit their column are stored as NULL and counted", async () => {
    const { sink, log } = sinkFor({ database: "t1", table: "req" });
    await sink.open();
    const r = fullRecord(900);
    r.response!.status = 70000;
    r.client!.port = -1;
    await sink.write({ id: "b-6", records: [r] });
    await sink.close();
    const [row] = await ch.rows<Row>(
      `SELECT response_status, client_port, request_method FROM t1.req WHERE event_id = '${r.event_id}'`,
    );
    assert.deepEqual(row, { response_status: null, client_port: null, request_method: "POST" });
    const warn = log.lines.find((l) => l.msg.includes("did not fit their column"));
    assert.equal(warn?.fields.values, 2);
  });

  await t.step(
    "unreachable at open: open() warns, writes retry until the server is back",
    async () => {
      await ch.stopServer();
      const { sink, log } = sinkFor({ database: "t4", table: "req", "create-table": true });
      try {
        await sink.open();
        assert.ok(log.lines.some((l) => l.level === "warn" && l.msg.includes("cannot reach")));
        await assert.rejects(
          sink.write({ id: "b-7", records: [minimalRecord(1)] }),
          (e: unknown) => {
            assert.ok(
              e instanceof ClickHouseSinkError && e.retryable && !e.maybeWritten,
              String(e),
            );
            assert.match(e.message, /ECONNREFUSED/);
            return true;
          },
        );
      } finally {
        await ch.startServer();
      }
      await sink.write({ id: "b-7", records: [minimalRecord(1)] });
      await sink.close();
      assert.equal(await count("t4.req"), 1);
    },
  );

  await t.step(
    "runner + sink: a restart mid-run loses nothing and duplicates nothing",
    async () => {
      const log = captureLog();
      const sink = createClickHouseSink(
        clickhouseSinkConfig(ch.url, { database: "t5", table: "req", "create-table": true }),
        { log: log.log },
      );
      const runner = createSinkRunner(sink, { batchSize: 50, flushIntervalMs: 50 }, {
        log: log.log,
        maxQueueRecords: 10_000,
        backoff: { baseMs: 50, capMs: 500, maxRetries: 1000 },
        breaker: { cooldownMs: 200, maxCooldownMs: 500 },
      });
      await runner.open();
      const n = 3000;
      const push = async (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          runner.push(
            minimalRecord(i, new Date(Date.UTC(2026, 2, 1, 23, 59, 50) + i * 10).toISOString()),
          );
          if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
        }
      };
      await push(0, 1000);
      const restart = (async () => {
        await ch.stopServer();
        await new Promise((r) => setTimeout(r, 500));
        await ch.startServer();
      })();
      await push(1000, 2000);
      await restart;
      await push(2000, n);
      const { complete } = await runner.drain(30_000);
      const s = runner.stats();
      assert.ok(complete, JSON.stringify(s));
      assert.equal(s.recordsSent, n, JSON.stringify(s));
      const [stats] = await ch.rows<{ n: string; u: string; days: string }>(
        "SELECT count() AS n, uniqExact(event_id) AS u, uniqExact(toDate(timestamp)) AS days FROM t5.req",
      );
      assert.deepEqual(stats, { n: String(n), u: String(n), days: "2" });
      assert.ok(runner.stats().failures > 0, "the restart was seen by the sink");
    },
  );
});

Deno.test("parseClickHouseOptions() applies defaults and lists every problem at once", () => {
  const o = parseClickHouseOptions("ch", { url: "http://127.0.0.1:8123" });
  assert.deepEqual(o, {
    url: "http://127.0.0.1:8123",
    database: "default",
    table: "telemetry",
    username: "default",
    password: "",
    asyncInsert: false,
    createTable: false,
    requestTimeoutMs: 30_000,
    compress: false,
  });
  assert.throws(
    () =>
      parseClickHouseOptions("ch", {
        url: "ftp://x",
        table: "1bad",
        "async-insert": "yes",
        colour: "blue",
        password: "a",
        "password-env": "B",
      }),
    (e: unknown) => {
      assert.ok(e instanceof SinkError && e.code === "sink_config");
      for (
        const part of [
          "unknown option `colour`",
          "`url` must be an http",
          "`table` must be",
          "`async-insert` must be true or false",
          "give only one of `password`, `password-env`",
        ]
      ) {
        assert.ok(e.message.includes(part), `${part} in ${e.message}`);
      }
      return true;
    },
  );
  assert.throws(() => parseClickHouseOptions("ch", {}), /`url` is required/);
});

Deno.test("parseClickHouseOptions() reads the password from a file or a variable", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, `${WRITER_PASSWORD}\n`);
  assert.equal(
    parseClickHouseOptions("ch", { url: "http://h:1", "password-file": file }).password,
    WRITER_PASSWORD,
  );
  Deno.env.set("CH_TEST_PASSWORD", "from-env");
  assert.equal(
    parseClickHouseOptions("ch", { url: "http://h:1", "password-env": "CH_TEST_PASSWORD" })
      .password,
    "from-env",
  );
  await Deno.remove(file);
});

Deno.test("classifyError() reads 18.16 and current messages and network errors", () => {
  const old = classifyError(
    new Error(
      "Code: 60, e.displayText() = DB::Exception: Table t.x doesn't exist., e.what() = DB::Exception\n",
    ),
    "insert",
  );
  assert.deepEqual([old.serverCode, old.code, old.retryable, old.maybeWritten], [
    60,
    "sink_config",
    false,
    false,
  ]);
  const now = classifyError(
    new Error(
      "Code: 516. DB::Exception: writer: Authentication failed: password is incorrect. (AUTHENTICATION_FAILED) (version 24.8.1)",
    ),
    "insert",
  );
  assert.deepEqual([now.serverCode, now.code, now.retryable], [516, "sink_config", false]);
  const parts = classifyError(
    new Error("Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS)"),
    "insert",
  );
  assert.deepEqual([parts.code, parts.retryable, parts.maybeWritten], [
    "sink_backend_rejected",
    true,
    false,
  ]);
  const bad = classifyError(
    new Error("Code: 27, e.displayText() = DB::Exception: Cannot parse input"),
    "insert",
  );
  assert.deepEqual([bad.code, bad.retryable], ["sink_backend_rejected", false]);
  const refused = classifyError(
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
    "insert",
  );
  assert.deepEqual([refused.code, refused.retryable, refused.maybeWritten], [
    "sink_unavailable",
    true,
    false,
  ]);
  const reset = classifyError(
    Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
    "insert",
  );
  assert.deepEqual([reset.retryable, reset.maybeWritten], [true, true]);
  const timeout = classifyError(new Error("Timeout error."), "insert");
  assert.deepEqual([timeout.retryable, timeout.maybeWritten], [true, true]);
});

Deno.test("planRows() maps onto current column types: DateTime64, IPv6, Bool, LowCardinality", () => {
  const plan = planRows([
    { name: "event_id", type: "String" },
    { name: "timestamp", type: "DateTime64(3, 'UTC')" },
    { name: "partial", type: "Bool" },
    { name: "request_method", type: "LowCardinality(String)" },
    { name: "client_ip", type: "Nullable(IPv6)" },
    { name: "response_status", type: "Nullable(UInt16)" },
    { name: "threat_lists", type: "Array(LowCardinality(String))" },
    { name: "request_headers.name", type: "Array(LowCardinality(String))" },
    { name: "request_headers.value", type: "Array(String)" },
    { name: "geo_country_iso_code", type: "UInt8" },
    { name: "not_ours", type: "String" },
  ]);
  assert.ok(plan.missing.includes("geo.city_name"));
  assert.deepEqual(plan.incompatible, ["geo_country_iso_code: UInt8"]);
  const v4 = fullRecord(1), token = fullRecord(2);
  v4.client!.ip = "203.0.113.7";
  token.client!.ip = "h:1a2b3c";
  const lines = plan.encode([fullRecord(0), v4, token]).text.trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.deepEqual(lines[0], {
    event_id: eventId(0),
    timestamp: "2026-03-01 12:00:00.123",
    partial: false,
    request_method: "POST",
    client_ip: "2001:db8::7",
    response_status: 503,
    threat_lists: ["spamhaus-drop", "local"],
    "request_headers.name": ["accept", "accept", "user-agent"],
    "request_headers.value": ["text/html", "application/json", "curl/8.5.0"],
  });
  assert.equal(lines[1].client_ip, "::ffff:203.0.113.7");
  assert.equal(lines[2].client_ip, null);
  assert.equal(plan.encode([token]).invalid, 1);
});
