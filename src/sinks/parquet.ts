/**
 * Parquet encoding of records (with `hyparquet-writer`), one schema made from the field
 * description (`record/fields.ts`): groups are optional STRUCTs, `*_list` fields LISTs of
 * strings, header maps MAP<string, LIST<string>>, timestamps INT64 TIMESTAMP(MILLIS, UTC),
 * integers INT32/INT64 with their width and sign, required fields REQUIRED. Row groups hold
 * `rowGroupSize` rows; pages are SNAPPY (default), GZIP or uncompressed.
 * Any thread. Never writes files itself; `ParquetStreamWriter` hands bytes to a sink as each
 * row group is done, so memory holds one row group at a time.
 * @module
 */

import { gzipSync } from "node:zlib";
import { ByteWriter, ParquetWriter, type SchemaElement } from "hyparquet-writer";
import { type FieldNode, type FieldSpec, RECORD_FIELDS } from "../record/fields.ts";
import type { TelemetryRecord } from "../record/schema.ts";
import { VERSION } from "../version.ts";
import {
  fitsInteger,
  isHeaderMap,
  isStringList,
  MISMATCH,
  newShapeReport,
  projectRecord,
  type ShapeReport,
  timestampMs,
} from "./_record_shape.ts";

export type { ShapeReport } from "./_record_shape.ts";

/** Page compression inside the file. */
export type ParquetCodec = "SNAPPY" | "GZIP" | "UNCOMPRESSED";

export interface ParquetOptions {
  /** Rows per row group. */
  rowGroupSize: number;
  /** @default "SNAPPY" */
  codec?: ParquetCodec;
}

const COMPRESSORS = { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)) };
const TOP_LEVEL = Object.keys(RECORD_FIELDS);
let cachedSchema: SchemaElement[] | undefined;

/**
 * The Parquet schema of the record (flattened depth-first, as the Parquet footer stores it).
 *
 * @example
 * ```ts
 * parquetSchema()[0]; // { name: "root", num_children: 21 }
 * ```
 */
export function parquetSchema(): SchemaElement[] {
  if (cachedSchema === undefined) {
    const out: SchemaElement[] = [{ name: "root", num_children: TOP_LEVEL.length }];
    const fields = RECORD_FIELDS as unknown as Readonly<Record<string, FieldNode>>;
    for (const [name, node] of Object.entries(fields)) addNode(name, node, out);
    cachedSchema = out;
  }
  return cachedSchema;
}

/**
 * Records as one Parquet file in memory.
 *
 * @example
 * ```ts
 * const bytes = encodeParquet(batch.records, { rowGroupSize: 10_000 });
 * ```
 */
export function encodeParquet(
  records: readonly TelemetryRecord[],
  opts: ParquetOptions,
  report: ShapeReport = newShapeReport(),
): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new ParquetStreamWriter((b) => chunks.push(b.slice()), opts);
  for (let i = 0; i < records.length; i += opts.rowGroupSize) {
    w.writeRowGroup(records.slice(i, i + opts.rowGroupSize), report);
  }
  w.finish();
  return concat(chunks);
}

/**
 * Writes a Parquet file row group by row group; `emit` gets each finished stretch of bytes in
 * file order (it must copy or consume them before returning).
 *
 * @example
 * ```ts
 * const w = new ParquetStreamWriter((bytes) => chunks.push(bytes.slice()), { rowGroupSize: 1000 });
 * w.writeRowGroup(records);
 * w.finish();
 * ```
 */
export class ParquetStreamWriter {
  readonly #bytes = new ByteWriter();
  readonly #pq: ParquetWriter;
  readonly #emit: (bytes: Uint8Array) => void;
  #rows = 0;

  constructor(emit: (bytes: Uint8Array) => void, opts: Omit<ParquetOptions, "rowGroupSize">) {
    this.#emit = emit;
    this.#pq = new ParquetWriter({
      writer: this.#bytes,
      schema: parquetSchema(),
      codec: opts.codec ?? "SNAPPY",
      compressors: COMPRESSORS,
      kvMetadata: [{ key: "telemetry.schema_version", value: "1" }],
      createdBy: `telemetry ${VERSION} (hyparquet-writer)`,
    });
  }

  /** Rows written so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Encode `records` as one row group and emit its bytes. */
  writeRowGroup(records: readonly TelemetryRecord[], report = newShapeReport()): void {
    if (records.length === 0) return;
    const rows = records.map((r) => projectRecord(r, toParquet, objectOf, report)) as Record<
      string,
      unknown
    >[];
    const columnData = TOP_LEVEL.map((name) => ({ name, data: rows.map((r) => r[name]) }));
    this.#pq.write({ columnData, rowGroupSize: records.length });
    this.#rows += records.length;
    this.#drain();
  }

  /** Write the footer and emit the last bytes. */
  finish(): void {
    this.#pq.finish();
    this.#drain();
  }

  #drain(): void {
    const b = this.#bytes as unknown as { index: number; getBytes(): Uint8Array };
    if (b.index === 0) return;
    this.#emit(b.getBytes());
    b.index = 0;
  }
}

function toParquet(spec: FieldSpec, v: unknown): unknown {
  switch (spec.kind) {
    case "string":
    case "ip":
      return typeof v === "string" ? v : MISMATCH;
    case "integer":
      if (!fitsInteger(spec, v)) return MISMATCH;
      return (spec.bits ?? 64) === 64 ? BigInt(v) : v;
    case "float":
      return typeof v === "number" ? v : MISMATCH;
    case "boolean":
      return typeof v === "boolean" ? v : MISMATCH;
    case "timestamp": {
      const ms = timestampMs(v);
      return ms === undefined ? MISMATCH : new Date(ms);
    }
    case "string_list":
      return isStringList(v) ? v : MISMATCH;
    case "header_map":
      return isHeaderMap(v) ? v : MISMATCH;
  }
}

function objectOf(children: [string, unknown][]): Record<string, unknown> {
  return Object.fromEntries(children);
}

function addNode(name: string, node: FieldNode, out: SchemaElement[]): void {
  if ("group" in node) {
    const entries = Object.entries(node.group);
    out.push({ name, repetition_type: "OPTIONAL", num_children: entries.length });
    for (const [child, n] of entries) addNode(child, n, out);
    return;
  }
  const repetition = node.required ? "REQUIRED" : "OPTIONAL";
  switch (node.kind) {
    case "string_list":
      out.push(listOf(name, repetition));
      out.push({ name: "list", repetition_type: "REPEATED", num_children: 1 });
      out.push(stringLeaf("element", "REQUIRED"));
      return;
    case "header_map":
      out.push({
        name,
        repetition_type: repetition,
        converted_type: "MAP",
        logical_type: { type: "MAP" },
        num_children: 1,
      });
      out.push({ name: "key_value", repetition_type: "REPEATED", num_children: 2 });
      out.push(stringLeaf("key", "REQUIRED"));
      out.push(listOf("value", "OPTIONAL"));
      out.push({ name: "list", repetition_type: "REPEATED", num_children: 1 });
      out.push(stringLeaf("element", "REQUIRED"));
      return;
    default:
      out.push({ name, repetition_type: repetition, ...leafType(node) });
  }
}

type Repetition = "REQUIRED" | "OPTIONAL";

function listOf(name: string, repetition: Repetition): SchemaElement {
  return {
    name,
    repetition_type: repetition,
    converted_type: "LIST",
    logical_type: { type: "LIST" },
    num_children: 1,
  };
}

function stringLeaf(name: string, repetition: Repetition): SchemaElement {
  return { name, repetition_type: repetition, ...leafType({ kind: "string", doc: "" }) };
}

function leafType(spec: FieldSpec): Omit<SchemaElement, "name"> {
  switch (spec.kind) {
    case "integer": {
      const bits = spec.bits ?? 64;
      const signed = spec.signed ?? false;
      // Width and sign go in the converted type only: hyparquet-writer 0.17 writes the
      // INTEGER logical type's i8 bitWidth as a varint, which readers refuse as invalid thrift.
      const converted = `${signed ? "INT" : "UINT"}_${bits}` as SchemaElement["converted_type"];
      return { type: bits === 64 ? "INT64" : "INT32", converted_type: converted };
    }
    case "float":
      return { type: "DOUBLE" };
    case "boolean":
      return { type: "BOOLEAN" };
    case "timestamp":
      return {
        type: "INT64",
        converted_type: "TIMESTAMP_MILLIS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
      };
    default:
      return { type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } };
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
