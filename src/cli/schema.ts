/**
 * `main.ts schema`: prints the DDL generated from the record description
 * (`src/record/fields.ts`). `--clickhouse` prints `CREATE DATABASE` / `CREATE TABLE` for a
 * server version (`--server-version`, default `latest`; `18.16` for Debian's package).
 * `--bigquery` prints the BigQuery table schema (JSON, for `bq mk --table T schema.json`);
 * `--bigquery-ddl P.D.T` prints its `CREATE TABLE` (docs/sinks-bigquery.md).
 * Main thread, no network: the version decides the types (docs/sinks-clickhouse.md).
 * @module
 */

import { parseArgs } from "node:util";
import {
  ClickHouseVersionError,
  createDatabaseSql,
  createTableSql,
  featuresForVersion,
} from "../record/ddl_clickhouse.ts";
import { CLICKHOUSE_SINK_DEFAULTS } from "../sinks/clickhouse/options.ts";
import { bigQueryDdl, bigQuerySchema } from "../sinks/bigquery/schema.ts";

const HELP = `Usage: main.ts schema --clickhouse [options] | --bigquery | --bigquery-ddl P.D.T

Prints the DDL of the telemetry table, generated from the record schema.

Options:
  --clickhouse             ClickHouse CREATE DATABASE / CREATE TABLE statements
  --server-version V       types for this server version, e.g. 18.16.1, 23.8 (default: latest)
  --database D             database name (default: ${CLICKHOUSE_SINK_DEFAULTS.database})
  --table T                table name (default: ${CLICKHOUSE_SINK_DEFAULTS.table})
  --bigquery               BigQuery table schema as JSON (bq mk --table P:D.T schema.json)
  --bigquery-ddl P.D.T     BigQuery CREATE TABLE for project.dataset.table
  -h, --help               this help
`;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Run `schema` with the arguments after the command name; resolves to the exit code.
 *
 * @example
 * ```ts
 * Deno.exit(await runSchema(["--clickhouse", "--server-version", "18.16.1"]));
 * ```
 */
export function runSchema(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      options: {
        clickhouse: { type: "boolean" },
        bigquery: { type: "boolean" },
        "bigquery-ddl": { type: "string" },
        "server-version": { type: "string", default: "latest" },
        database: { type: "string", default: CLICKHOUSE_SINK_DEFAULTS.database },
        table: { type: "string", default: CLICKHOUSE_SINK_DEFAULTS.table },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    return fail(`${e instanceof Error ? e.message : e}`);
  }
  if (values.help) {
    console.log(HELP);
    return Promise.resolve(0);
  }
  if (values.bigquery) {
    console.log(JSON.stringify(bigQuerySchema(), null, 2));
    return Promise.resolve(0);
  }
  if (values["bigquery-ddl"] !== undefined) {
    const t = values["bigquery-ddl"];
    if (!/^[A-Za-z0-9_.:-]+\.[A-Za-z0-9_]+\.[\p{L}\p{N}_-]+$/u.test(t)) {
      return fail(`--bigquery-ddl must be project.dataset.table: got "${t}"`);
    }
    console.log(bigQueryDdl(t));
    return Promise.resolve(0);
  }
  if (!values.clickhouse) {
    return fail("Name the target: --clickhouse, --bigquery or --bigquery-ddl");
  }
  for (const key of ["database", "table"] as const) {
    if (!NAME_RE.test(values[key])) {
      return fail(
        `--${key} must be letters, digits or _ (not a digit first): got "${values[key]}"`,
      );
    }
  }
  try {
    const features = featuresForVersion(values["server-version"]);
    const { database, table } = values;
    const out = [`-- Telemetry record table for ClickHouse ${features.version}`];
    if (database !== "default") out.push(`${createDatabaseSql(database)};`, "");
    out.push(`${createTableSql({ database, table, features })};`);
    console.log(out.join("\n"));
    return Promise.resolve(0);
  } catch (e) {
    if (e instanceof ClickHouseVersionError) return fail(e.message);
    throw e;
  }
}

function fail(message: string): Promise<number> {
  console.error(`${message}\n\n${HELP}`);
  return Promise.resolve(2);
}
