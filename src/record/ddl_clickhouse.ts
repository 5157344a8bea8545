/**
 * ClickHouse table layout of the record, generated from `fields.ts`: one column per leaf, named
 * by its path joined with `_` (`geo.country_iso_code` → `geo_country_iso_code`); header maps as
 * `Nested(name, value)`, one pair per header value. Types follow what the server has:
 * `LowCardinality`, `DateTime64(3)` and `IPv6` where available, and on ClickHouse 18.16 (Debian)
 * `String`, `DateTime` plus a `timestamp_ms` column. Partitioned by UTC day, ordered for
 * per-host time-range queries (docs/sinks-clickhouse.md says why).
 * Any thread. Pure: builds SQL text, never talks to a server.
 * @module
 */

import { type FieldEntry, type FieldSpec, recordFields } from "./fields.ts";

/** What a server can do that changes the table or the insert. */
export interface ClickHouseFeatures {
  /** Server version as reported (`18.16.1`, `24.8.4.13`), or `latest`. */
  version: string;
  /** `LowCardinality(T)` usable without an experimental setting. */
  lowCardinality: boolean;
  /** `DateTime64(3, 'UTC')`. */
  dateTime64: boolean;
  /** `IPv6` domain type. */
  ipv6: boolean;
  /** `async_insert` setting. */
  asyncInsert: boolean;
  /** `insert_deduplication_token` setting. */
  dedupToken: boolean;
  /** `non_replicated_deduplication_window` MergeTree setting. */
  nonReplicatedDedupWindow: boolean;
}

/**
 * First release (an LTS, to be safe) from which each feature is assumed when only a version is
 * known (`main.ts schema --server-version`). A live server is asked instead (see the sink).
 */
export const FEATURE_SINCE: Readonly<Record<Exclude<keyof ClickHouseFeatures, "version">, string>> =
  {
    lowCardinality: "20.3",
    dateTime64: "20.3",
    ipv6: "20.3",
    nonReplicatedDedupWindow: "21.3",
    asyncInsert: "21.11",
    dedupToken: "22.3",
  };

/** Rows remembered per partition for de-duplication by tables this module creates. */
export const DEDUP_WINDOW = 1000;

/** Partition key: one partition per UTC day. */
export const PARTITION_BY = "toDate(timestamp)";

/** Sorting key: host, hour, status class, then time (per-host time ranges, error drill-down). */
export const ORDER_BY =
  "(request_host, toStartOfHour(timestamp), response_status_class, timestamp)";

/** Error for a version string that is not `X.Y[.Z…]` or `latest`. */
export class ClickHouseVersionError extends Error {
  readonly code = "clickhouse_bad_version";
  constructor(version: string) {
    super(`Cannot read ClickHouse version "${version}": expected e.g. 18.16.1, 24.8 or latest`);
    this.name = "ClickHouseVersionError";
  }
}

/**
 * Features assumed for a server version (`latest` has all of them).
 *
 * @example
 * ```ts
 * featuresForVersion("18.16.1").dateTime64; // false
 * featuresForVersion("24.8").dateTime64;    // true
 * ```
 */
export function featuresForVersion(version: string): ClickHouseFeatures {
  const latest = version === "latest";
  const v = latest ? [] : parseVersion(version);
  const has = (since: string) => latest || compareVersions(v, parseVersion(since)) >= 0;
  return {
    version,
    lowCardinality: has(FEATURE_SINCE.lowCardinality),
    dateTime64: has(FEATURE_SINCE.dateTime64),
    ipv6: has(FEATURE_SINCE.ipv6),
    nonReplicatedDedupWindow: has(FEATURE_SINCE.nonReplicatedDedupWindow),
    asyncInsert: has(FEATURE_SINCE.asyncInsert),
    dedupToken: has(FEATURE_SINCE.dedupToken),
  };
}

/** `18.16.1` → `[18, 16, 1]`; throws `ClickHouseVersionError`. */
export function parseVersion(version: string): number[] {
  if (!/^\d+(\.\d+)+$/.test(version.trim())) throw new ClickHouseVersionError(version);
  return version.trim().split(".").map(Number);
}

/** Negative, zero or positive as `a` is older, equal or newer than `b` (missing parts are 0). */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** What a column carries of its field. */
export type ColumnRole =
  /** The field's value. */
  | "value"
  /** Milliseconds 0–999 of a timestamp stored as `DateTime` (servers without DateTime64). */
  | "millis"
  /** A `Nested` header map (its sub-columns are `<name>.name` and `<name>.value`). */
  | "nested";

/** One column of the generated table. */
export interface ColumnDef {
  name: string;
  /** ClickHouse type as written in DDL. */
  type: string;
  field: FieldEntry;
  role: ColumnRole;
}

/**
 * The columns of the table for a server with `features`, in field order.
 *
 * @example
 * ```ts
 * clickhouseColumns(featuresForVersion("18.16.1")).find((c) => c.name === "timestamp")?.type;
 * // "DateTime('UTC')"
 * ```
 */
export function clickhouseColumns(features: ClickHouseFeatures): ColumnDef[] {
  const out: ColumnDef[] = [];
  for (const field of recordFields()) {
    const name = columnName(field.path);
    out.push({ name, type: columnType(field.spec, features), field, role: roleOf(field.spec) });
    if (field.spec.kind === "timestamp" && !features.dateTime64) {
      out.push({ name: `${name}_ms`, type: "UInt16", field, role: "millis" });
    }
  }
  return out;
}

/** Column name of a field path: `["geo", "location", "lat"]` → `geo_location_lat`. */
export function columnName(path: readonly string[]): string {
  return path.join("_");
}

function roleOf(spec: FieldSpec): ColumnRole {
  return spec.kind === "header_map" ? "nested" : "value";
}

/** The ClickHouse type of one field on a server with `f`. */
export function columnType(spec: FieldSpec, f: ClickHouseFeatures): string {
  const text = spec.lowCardinality && f.lowCardinality ? "LowCardinality(String)" : "String";
  const nullable = (t: string) => spec.required ? t : `Nullable(${t})`;
  switch (spec.kind) {
    case "string":
      return text;
    case "integer":
      return nullable(`${spec.signed ? "Int" : "UInt"}${spec.bits ?? 64}`);
    case "float":
      return nullable("Float64");
    case "boolean":
      return nullable("UInt8");
    case "timestamp":
      return f.dateTime64 ? "DateTime64(3, 'UTC')" : "DateTime('UTC')";
    case "ip":
      return f.ipv6 ? "Nullable(IPv6)" : "String";
    case "string_list":
      return `Array(${text})`;
    case "header_map":
      return `Nested(name ${f.lowCardinality ? "LowCardinality(String)" : "String"}, value String)`;
  }
}

/** Options of `createTableSql`. */
export interface TableDdlOptions {
  database: string;
  table: string;
  features: ClickHouseFeatures;
}

/**
 * `CREATE TABLE IF NOT EXISTS` for the record on a server with `features`.
 *
 * @example
 * ```ts
 * const sql = createTableSql({ database: "telemetry", table: "requests",
 *   features: featuresForVersion("18.16.1") });
 * ```
 */
export function createTableSql({ database, table, features }: TableDdlOptions): string {
  const cols = clickhouseColumns(features).map((c) =>
    `    ${quoteIdent(c.name)} ${c.type} COMMENT ${quoteString(commentOf(c))}`
  );
  const settings = ["index_granularity = 8192"];
  if (features.nonReplicatedDedupWindow) {
    settings.push(`non_replicated_deduplication_window = ${DEDUP_WINDOW}`);
  }
  return [
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(database)}.${quoteIdent(table)}`,
    "(",
    cols.join(",\n"),
    ")",
    "ENGINE = MergeTree",
    `PARTITION BY ${PARTITION_BY}`,
    `ORDER BY ${ORDER_BY}`,
    `SETTINGS ${settings.join(", ")}`,
  ].join("\n");
}

/** `CREATE DATABASE IF NOT EXISTS`. */
export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}`;
}

function commentOf(c: ColumnDef): string {
  const from = c.field.path.join(".");
  if (c.role === "millis") return `${from}: milliseconds part (0-999)`;
  return `${from}: ${c.field.spec.doc}`;
}

/** A back-quoted identifier (any name is safe). */
export function quoteIdent(name: string): string {
  return "`" + name.replace(/\\/g, "\\\\").replace(/`/g, "\\`") + "`";
}

/** A single-quoted string literal (any text is safe). */
export function quoteString(text: string): string {
  return "'" + text.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}
