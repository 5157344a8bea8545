/**
 * The record description (fields.ts) and the ClickHouse DDL generated from it: complete
 * against a record with every field set, types by server version, and the 18.16 DDL executed
 * on a real server (Debian's clickhouse-server, started by the test).
 */

import assert from "node:assert/strict";
import { startClickHouse } from "../../scripts/services/clickhouse.ts";
import {
  clickhouseColumns,
  compareVersions,
  createTableSql,
  featuresForVersion,
  parseVersion,
} from "../../src/record/ddl_clickhouse.ts";
import { recordFields } from "../../src/record/fields.ts";
import { runSchema } from "../../src/cli/schema.ts";
import { fullRecord } from "../sinks/_clickhouse_fixtures.ts";

/** Leaf paths of a record (arrays and header maps are leaves). */
function leafPaths(v: unknown, path: string[] = []): string[] {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return [path.join(".")];
  if (path.at(-1) === "headers") return [path.join(".")];
  return Object.entries(v).flatMap(([k, child]) => leafPaths(child, [...path, k]));
}

Deno.test("recordFields() describes exactly the fields of a fully populated record", () => {
  const described = recordFields().map((f) => f.path.join(".")).sort();
  assert.deepEqual(described, leafPaths(fullRecord(1)).sort());
  assert.equal(new Set(described).size, described.length);
});

Deno.test("clickhouseColumns() names columns uniquely with valid identifiers", () => {
  for (const v of ["18.16.1", "latest"]) {
    const names = clickhouseColumns(featuresForVersion(v)).map((c) => c.name);
    assert.equal(new Set(names).size, names.length, v);
    for (const n of names) assert.match(n, /^[a-z][a-z0-9_]*$/, n);
  }
});

Deno.test("featuresForVersion() picks types by version", () => {
  const old = featuresForVersion("18.16.1"), now = featuresForVersion("latest");
  assert.deepEqual(
    [old.lowCardinality, old.dateTime64, old.ipv6, old.dedupToken, old.asyncInsert],
    [false, false, false, false, false],
  );
  assert.ok(now.lowCardinality && now.dateTime64 && now.ipv6 && now.dedupToken && now.asyncInsert);
  assert.deepEqual(featuresForVersion("21.8").nonReplicatedDedupWindow, true);
  assert.deepEqual(featuresForVersion("21.8").dedupToken, false);
  const type = (v: string, name: string) =>
    clickhouseColumns(featuresForVersion(v)).find((c) => c.name === name)?.type;
  assert.equal(type("18.16.1", "timestamp"), "DateTime('UTC')");
  assert.equal(type("18.16.1", "timestamp_ms"), "UInt16");
  assert.equal(type("24.8", "timestamp"), "DateTime64(3, 'UTC')");
  assert.equal(type("24.8", "timestamp_ms"), undefined);
  assert.equal(type("18.16.1", "client_ip"), "String");
  assert.equal(type("24.8", "client_ip"), "Nullable(IPv6)");
  assert.equal(type("24.8", "request_method"), "LowCardinality(String)");
  assert.equal(type("18.16.1", "request_method"), "String");
  assert.equal(type("24.8", "response_status"), "Nullable(UInt16)");
  assert.equal(type("24.8", "event_id"), "String");
  const ddl = createTableSql({ database: "d", table: "t", features: featuresForVersion("24.8") });
  assert.match(ddl, /non_replicated_deduplication_window = 1000/);
  assert.match(ddl, /PARTITION BY toDate\(timestamp\)\nORDER BY \(request_host, /);
  const oldDdl = createTableSql({ database: "d", table: "t", features: old });
  assert.doesNotMatch(oldDdl, /LowCardinality|DateTime64|IPv6|non_replicated/);
});

Deno.test("parseVersion() and compareVersions() order versions; bad ones are refused", () => {
  assert.deepEqual(parseVersion("18.16.1"), [18, 16, 1]);
  assert.ok(compareVersions(parseVersion("21.11"), parseVersion("21.3")) > 0);
  assert.equal(compareVersions(parseVersion("22.3"), parseVersion("22.3.0")), 0);
  assert.ok(compareVersions(parseVersion("22.3"), parseVersion("22.3.0.1")) < 0);
  assert.throws(() => featuresForVersion("v22"), /Cannot read ClickHouse version "v22"/);
});

Deno.test("runSchema() prints the DDL and refuses bad arguments", async () => {
  const out: string[] = [];
  const log = console.log, error = console.error;
  console.log = (s: string) => out.push(s);
  console.error = (s: string) => out.push(s);
  try {
    assert.equal(
      await runSchema(["--clickhouse", "--server-version", "18.16.1", "--table", "req"]),
      0,
    );
    assert.match(out.join("\n"), /CREATE TABLE IF NOT EXISTS `default`\.`req`/);
    assert.equal(await runSchema(["--clickhouse", "--server-version", "x"]), 2);
    assert.equal(await runSchema(["--clickhouse", "--table", "a-b"]), 2);
    assert.equal(await runSchema([]), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
});

Deno.test("the 18.16 DDL runs on Debian's clickhouse-server and gives the generated columns", async () => {
  await using ch = await startClickHouse();
  const features = featuresForVersion(ch.version);
  await ch.query("CREATE DATABASE tel");
  await ch.query(createTableSql({ database: "tel", table: "req", features }));
  await ch.query(createTableSql({ database: "tel", table: "req", features })); // IF NOT EXISTS
  const got = await ch.rows<{ name: string; type: string }>(
    "SELECT name, type FROM system.columns WHERE database = 'tel' AND table = 'req'",
  );
  const want = clickhouseColumns(features).flatMap((c) =>
    c.role === "nested"
      ? [`${c.name}.name\tArray(String)`, `${c.name}.value\tArray(String)`]
      : [`${c.name}\t${c.type}`]
  );
  assert.deepEqual(got.map((c) => `${c.name}\t${c.type}`).sort(), want.sort());
  const [t] = await ch.rows<{ partition_key: string; sorting_key: string }>(
    "SELECT partition_key, sorting_key FROM system.tables WHERE database = 'tel' AND name = 'req'",
  );
  assert.deepEqual(t, {
    partition_key: "toDate(timestamp)",
    sorting_key: "request_host, toStartOfHour(timestamp), response_status_class, timestamp",
  });
});
