/**
 * What the sink asks ClickHouse: the server's features (from `system.*`, not guessed from the
 * version), the table as it is (columns, engine, de-duplication window), and which event ids of
 * a batch are already stored (the check before re-sending a batch whose insert may have landed).
 * Every query here works on 18.16 and on current releases: no query parameters, quoted literals.
 * Pipeline worker.
 * @module
 */

import { type ClickHouseFeatures, quoteIdent, quoteString } from "../../record/ddl_clickhouse.ts";
import type { TelemetryRecord } from "../../record/schema.ts";
import type { ClickHouseConnection } from "./connection.ts";
import { ClickHouseSinkError } from "./errors.ts";
import type { TableColumn } from "./rows.ts";

/** A table as the server describes it. */
export interface TableInfo {
  columns: TableColumn[];
  engine: string;
  /** `non_replicated_deduplication_window` in force for the table (0: none). */
  dedupWindow: number;
}

/** How a retried batch is kept from being stored twice. */
export type DedupMode =
  /** `insert_deduplication_token` = batch id; the server drops a repeated insert. */
  | "token"
  /** Before re-sending a batch that may have landed, ask which of its event ids are stored. */
  | "verify";

interface NameValue {
  name: string;
  value: string;
}

/**
 * Ask the server what it can do.
 *
 * @example
 * ```ts
 * const f = await probeFeatures(conn); // { version: "18.16.1", dateTime64: false, … }
 * ```
 */
export async function probeFeatures(conn: ClickHouseConnection): Promise<ClickHouseFeatures> {
  const [version] = await conn.select<{ v: string }>("SELECT version() AS v", "version check");
  const settings = await conn.select<NameValue>(
    "SELECT name, value FROM system.settings WHERE name IN " +
      inList([
        "allow_experimental_low_cardinality_type",
        "async_insert",
        "insert_deduplication_token",
      ]),
    "feature check",
  );
  const types = await conn.select<{ name: string }>(
    "SELECT name FROM system.data_type_families WHERE name IN " +
      inList(["LowCardinality", "DateTime64", "IPv6"]),
    "feature check",
  );
  const mergeTree = await mergeTreeSettings(conn);
  const setting = (n: string) => settings.find((s) => s.name === n);
  const type = (n: string) => types.some((t) => t.name === n);
  const lcExperimental = setting("allow_experimental_low_cardinality_type")?.value === "0";
  return {
    version: version?.v ?? "unknown",
    lowCardinality: type("LowCardinality") && !lcExperimental,
    dateTime64: type("DateTime64"),
    ipv6: type("IPv6"),
    asyncInsert: setting("async_insert") !== undefined,
    dedupToken: setting("insert_deduplication_token") !== undefined,
    nonReplicatedDedupWindow: mergeTree.has("non_replicated_deduplication_window"),
  };
}

async function mergeTreeSettings(conn: ClickHouseConnection): Promise<Map<string, string>> {
  const rows = await conn.select<NameValue>(
    "SELECT name, value FROM system.merge_tree_settings WHERE name = " +
      quoteString("non_replicated_deduplication_window"),
    "feature check",
  );
  return new Map(rows.map((r) => [r.name, r.value]));
}

/** The table's columns, engine and dedup window; `null` when the table does not exist. */
export async function describeTable(
  conn: ClickHouseConnection,
  database: string,
  table: string,
): Promise<TableInfo | null> {
  const where = `database = ${quoteString(database)} AND `;
  const tables = await conn.select<{ engine: string; create_table_query: string }>(
    `SELECT engine, create_table_query FROM system.tables WHERE ${where}name = ${
      quoteString(table)
    }`,
    "table check",
  );
  if (tables.length === 0) return null;
  const columns = await conn.select<TableColumn>(
    `SELECT name, type FROM system.columns WHERE ${where}table = ${quoteString(table)}`,
    "table check",
  );
  const own = /non_replicated_deduplication_window\s*=\s*(\d+)/.exec(tables[0].create_table_query);
  const serverDefault = own ? undefined : (await mergeTreeSettings(conn))
    .get("non_replicated_deduplication_window");
  return {
    columns,
    engine: tables[0].engine,
    dedupWindow: Number(own?.[1] ?? serverDefault ?? 0),
  };
}

/**
 * `token` when the server has `insert_deduplication_token` and the table de-duplicates inserts
 * (Replicated*, or a non-replicated window > 0) and inserts are synchronous; else `verify`.
 */
export function dedupModeOf(f: ClickHouseFeatures, t: TableInfo, asyncInsert: boolean): DedupMode {
  const dedups = t.engine.startsWith("Replicated") || t.dedupWindow > 0;
  return f.dedupToken && dedups && !(asyncInsert && f.asyncInsert) ? "token" : "verify";
}

/**
 * Throws a retryable error while a query with `queryId` still runs on the server (an earlier
 * attempt of the same batch: checking its rows before it ends could miss them).
 */
export async function ensureNotRunning(conn: ClickHouseConnection, queryId: string): Promise<void> {
  const rows = await conn.select<{ n: string }>(
    `SELECT count() AS n FROM system.processes WHERE query_id = ${quoteString(queryId)}`,
    "check of a retried batch",
  );
  if (Number(rows[0]?.n ?? 0) > 0) {
    throw new ClickHouseSinkError(
      `ClickHouse still runs an earlier insert of batch ${queryId}; waiting for it to end`,
      { code: "sink_unavailable", retryable: true, maybeWritten: true },
    );
  }
}

const ID_CHUNK = 1000;

/**
 * Which `records` are already in the table (by `event_id`), bounded by their time range so
 * only the partitions they belong to are read.
 */
export async function storedEventIds(
  conn: ClickHouseConnection,
  target: string,
  records: readonly TelemetryRecord[],
): Promise<Set<string>> {
  const found = new Set<string>();
  const range = timeRange(records);
  for (let i = 0; i < records.length; i += ID_CHUNK) {
    const ids = records.slice(i, i + ID_CHUNK).map((r) => r.event_id);
    const rows = await conn.select<{ event_id: string }>(
      `SELECT event_id FROM ${target} WHERE ${range}event_id IN ${inList(ids)}`,
      "check of a retried batch",
    );
    for (const r of rows) found.add(r.event_id);
  }
  return found;
}

/** `timestamp BETWEEN … AND ` covering every record, or "" when a timestamp is unreadable. */
function timeRange(records: readonly TelemetryRecord[]): string {
  let lo = Infinity, hi = -Infinity;
  for (const r of records) {
    const ms = Date.parse(r.timestamp);
    if (Number.isNaN(ms)) return "";
    lo = Math.min(lo, ms);
    hi = Math.max(hi, ms);
  }
  if (lo === Infinity) return "";
  const at = (ms: number) => `toDateTime(${quoteString(utcSeconds(ms))}, 'UTC')`;
  return `timestamp >= ${at(lo)} AND timestamp < ${at(hi + 1000)} AND `;
}

function utcSeconds(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** `('a', 'b')`. */
function inList(values: readonly string[]): string {
  return `(${values.map(quoteString).join(", ")})`;
}

/** `` `db`.`table` ``. */
export function targetOf(database: string, table: string): string {
  return `${quoteIdent(database)}.${quoteIdent(table)}`;
}
