/**
 * The BigQuery table for the record, made from the field description (`record/fields.ts`):
 * groups are RECORD (STRUCT) columns, `*_list` fields REPEATED STRING, header maps REPEATED
 * RECORD<name STRING, values REPEATED STRING>, timestamps TIMESTAMP, integers INTEGER (INT64),
 * floats FLOAT (FLOAT64); required fields are REQUIRED. Also the row each record becomes for
 * `tabledata.insertAll` (same shape; absent fields left out) and the table's DDL.
 * Any thread. Pure.
 * @module
 */

import { type FieldNode, type FieldSpec, RECORD_FIELDS } from "../../record/fields.ts";
import type { TelemetryRecord } from "../../record/schema.ts";
import {
  fitsInteger,
  isHeaderMap,
  isStringList,
  MISMATCH,
  projectRecord,
  type ShapeReport,
  timestampMs,
} from "../_record_shape.ts";

/** One column of a BigQuery table schema (the `TableFieldSchema` of the REST API). */
export interface BigQueryField {
  name: string;
  type: "STRING" | "INTEGER" | "FLOAT" | "BOOLEAN" | "TIMESTAMP" | "RECORD";
  mode: "NULLABLE" | "REQUIRED" | "REPEATED";
  description?: string;
  fields?: BigQueryField[];
}

/**
 * The table schema, as `bq mk --table … schema.json` and `tables.insert` take it.
 *
 * @example
 * ```ts
 * console.log(JSON.stringify(bigQuerySchema(), null, 2));
 * ```
 */
export function bigQuerySchema(): BigQueryField[] {
  return fieldsOf(RECORD_FIELDS as unknown as Readonly<Record<string, FieldNode>>);
}

/** `CREATE TABLE` for `table` (`project.dataset.table`), day-partitioned on `timestamp`. */
export function bigQueryDdl(table: string): string {
  const cols = bigQuerySchema().map((f) =>
    `  ${f.name} ${sqlType(f)}${f.mode === "REQUIRED" ? " NOT NULL" : ""}`
  );
  return `CREATE TABLE IF NOT EXISTS \`${table}\` (\n${cols.join(",\n")}\n)\n` +
    `PARTITION BY DATE(timestamp)\nCLUSTER BY event_id;\n`;
}

/**
 * The `json` of one insertAll row: the record projected onto the schema. Wrong-typed values
 * and fields the schema lacks are left out and noted in `report`.
 */
export function toBigQueryRow(
  record: TelemetryRecord,
  report: ShapeReport,
): Record<string, unknown> {
  return projectRecord(record, toBigQuery, objectOf, report) as Record<string, unknown>;
}

function fieldsOf(group: Readonly<Record<string, FieldNode>>): BigQueryField[] {
  return Object.entries(group).map(([name, node]) => fieldOf(name, node));
}

function fieldOf(name: string, node: FieldNode): BigQueryField {
  const description = node.doc;
  if ("group" in node) {
    return { name, type: "RECORD", mode: "NULLABLE", description, fields: fieldsOf(node.group) };
  }
  const mode = node.required ? "REQUIRED" : "NULLABLE";
  switch (node.kind) {
    case "string_list":
      return { name, type: "STRING", mode: "REPEATED", description };
    case "header_map":
      return {
        name,
        type: "RECORD",
        mode: "REPEATED",
        description: `${description} (one entry per header name)`,
        fields: [
          { name: "name", type: "STRING", mode: "REQUIRED" },
          { name: "values", type: "STRING", mode: "REPEATED" },
        ],
      };
    case "integer":
      return { name, type: "INTEGER", mode, description };
    case "float":
      return { name, type: "FLOAT", mode, description };
    case "boolean":
      return { name, type: "BOOLEAN", mode, description };
    case "timestamp":
      return { name, type: "TIMESTAMP", mode, description };
    default:
      return { name, type: "STRING", mode, description };
  }
}

function sqlType(f: BigQueryField): string {
  const base: Record<BigQueryField["type"], string> = {
    STRING: "STRING",
    INTEGER: "INT64",
    FLOAT: "FLOAT64",
    BOOLEAN: "BOOL",
    TIMESTAMP: "TIMESTAMP",
    RECORD: "",
  };
  const t = f.type === "RECORD"
    ? `STRUCT<${f.fields!.map((c) => `${c.name} ${sqlType(c)}`).join(", ")}>`
    : base[f.type];
  return f.mode === "REPEATED" ? `ARRAY<${t}>` : t;
}

function toBigQuery(spec: FieldSpec, v: unknown): unknown {
  switch (spec.kind) {
    case "string":
    case "ip":
      return typeof v === "string" ? v : MISMATCH;
    case "integer":
      return fitsInteger(spec, v) ? v : MISMATCH;
    case "float":
      return typeof v === "number" && Number.isFinite(v) ? v : MISMATCH;
    case "boolean":
      return typeof v === "boolean" ? v : MISMATCH;
    case "timestamp":
      return timestampMs(v) === undefined ? MISMATCH : v;
    case "string_list":
      return isStringList(v) ? v : MISMATCH;
    case "header_map":
      return isHeaderMap(v)
        ? Object.entries(v).map(([name, values]) => ({ name, values }))
        : MISMATCH;
  }
}

/** A RECORD's value: its non-null fields only (BigQuery reads an absent field as NULL). */
function objectOf(children: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of children) if (v !== null) out[k] = v;
  return out;
}
