/**
 * Records → JSONEachRow lines for the columns a table really has (read from `system.columns`),
 * so a table made by an older DDL (DateTime + timestamp_ms, String IP) keeps working after a
 * server upgrade, and extra or missing columns are tolerated. Column ↔ field matching and the
 * flattening rules come from `record/ddl_clickhouse.ts` (one schema description).
 * A value that does not fit its column (wrong type, out of range, not an IP for an IPv6 column)
 * is sent as NULL (or left to the column default) and counted in `invalid`, so one bad value
 * never makes the server refuse a whole batch.
 * Pipeline worker. Pure.
 * @module
 */

import {
  clickhouseColumns,
  type ColumnRole,
  featuresForVersion,
} from "../../record/ddl_clickhouse.ts";
import type { FieldEntry, FieldKind } from "../../record/fields.ts";
import type { TelemetryRecord } from "../../record/schema.ts";

/** A column as the server describes it. */
export interface TableColumn {
  name: string;
  type: string;
}

type Value = string | number | boolean | null | string[];
type Put = (row: Record<string, Value>, record: TelemetryRecord, bad: Counter) => void;
interface Counter {
  n: number;
}

/** Result of matching a table's columns against the record description. */
export interface RowPlan {
  /** Encode records as JSONEachRow text (one line each, `\n`-terminated). */
  encode(records: readonly TelemetryRecord[]): { text: string; invalid: number };
  /** Record fields with no column in the table (not stored). */
  missing: string[];
  /** Table columns that cannot hold their field (`name: type`), left to their defaults. */
  incompatible: string[];
}

/** Every column name the record can fill, whatever the server version. */
function knownColumns(): Map<string, { field: FieldEntry; role: ColumnRole }> {
  const all = new Map<string, { field: FieldEntry; role: ColumnRole }>();
  // Without DateTime64 the layout also has `timestamp_ms`: so every name is listed.
  for (const c of clickhouseColumns(featuresForVersion("18.16.1"))) {
    all.set(c.name, { field: c.field, role: c.role });
  }
  return all;
}

/**
 * Plan how records fill `columns` (the table as it is).
 *
 * @example
 * ```ts
 * const plan = planRows([{ name: "event_id", type: "String" }]);
 * plan.encode([record]).text; // '{"event_id":"0190…"}\n'
 * ```
 */
export function planRows(columns: readonly TableColumn[]): RowPlan {
  const known = knownColumns();
  const byName = new Map(columns.map((c) => [c.name, c.type]));
  const puts: Put[] = [];
  const incompatible: string[] = [];
  const used = new Set<string>();
  for (const [name, { field, role }] of known) {
    const put = role === "nested"
      ? nestedPut(name, field, byName)
      : columnPut(name, field, role, byName);
    if (put === "absent") continue;
    used.add(field.path.join("."));
    if (put === "incompatible") incompatible.push(`${name}: ${byName.get(name)}`);
    else puts.push(put);
  }
  const missing = [...known.values()].map((k) => k.field.path.join("."))
    .filter((p, i, a) => !used.has(p) && a.indexOf(p) === i);
  return {
    missing,
    incompatible,
    encode(records) {
      const bad: Counter = { n: 0 };
      let text = "";
      for (const r of records) {
        const row: Record<string, Value> = {};
        for (const put of puts) put(row, r, bad);
        text += JSON.stringify(row) + "\n";
      }
      return { text, invalid: bad.n };
    },
  };
}

function nestedPut(
  name: string,
  field: FieldEntry,
  types: Map<string, string>,
): Put | "absent" | "incompatible" {
  const names = types.get(`${name}.name`), values = types.get(`${name}.value`);
  if (names === undefined && values === undefined) return "absent";
  if (!isStringArray(names) || !isStringArray(values)) return "incompatible";
  return (row, r, bad) => {
    const v = valueAt(r, field.path);
    if (v === undefined) return;
    const ns: string[] = [], vs: string[] = [];
    if (v === null || typeof v !== "object" || Array.isArray(v)) return void bad.n++;
    for (const [k, list] of Object.entries(v)) {
      for (const item of Array.isArray(list) ? list : [list]) {
        if (typeof item !== "string") {
          bad.n++;
          continue;
        }
        ns.push(k);
        vs.push(item);
      }
    }
    row[`${name}.name`] = ns;
    row[`${name}.value`] = vs;
  };
}

function isStringArray(type: string | undefined): boolean {
  return type !== undefined && /^Array\((LowCardinality\()?String\)?\)$/.test(type);
}

function columnPut(
  name: string,
  field: FieldEntry,
  role: ColumnRole,
  types: Map<string, string>,
): Put | "absent" | "incompatible" {
  const type = types.get(name);
  if (type === undefined) return "absent";
  const { base, nullable } = unwrap(type);
  const convert = role === "millis" ? millisOf : converter(field.spec.kind, base);
  if (convert === undefined) return "incompatible";
  const path = field.path;
  return (row, r, bad) => {
    const raw = valueAt(r, path);
    if (raw === undefined || raw === null) {
      if (nullable) row[name] = null;
      return;
    }
    const v = convert(raw, base);
    if (v !== undefined) row[name] = v;
    else {
      bad.n++;
      if (nullable) row[name] = null;
    }
  };
}

/** `LowCardinality(Nullable(UInt16))` → `{ base: "UInt16", nullable: true }`. */
export function unwrap(type: string): { base: string; nullable: boolean } {
  let t = type.trim(), nullable = false;
  for (;;) {
    const m = /^(LowCardinality|Nullable)\((.*)\)$/.exec(t);
    if (!m) return { base: t, nullable };
    if (m[1] === "Nullable") nullable = true;
    t = m[2];
  }
}

type Convert = (v: unknown, base: string) => Value | undefined;

/** How a field of `kind` is written into a column of `base` type; undefined if it cannot be. */
function converter(kind: FieldKind, base: string): Convert | undefined {
  const family = base.replace(/\(.*$/, "");
  if (family === "String") return kind === "string_list" ? undefined : asText;
  switch (kind) {
    case "string":
      return undefined;
    case "integer":
      return /^U?Int(8|16|32|64)$/.test(family)
        ? asInteger
        : /^Float/.test(family)
        ? asFloat
        : undefined;
    case "float":
      return /^Float/.test(family) ? asFloat : undefined;
    case "boolean":
      return family === "Bool" ? asBool : /^U?Int8$/.test(family) ? asBit : undefined;
    case "timestamp":
      return family === "DateTime64"
        ? asDateTime64
        : family === "DateTime"
        ? asDateTime
        : undefined;
    case "ip":
      return family === "IPv6" ? asIpv6 : undefined;
    case "string_list":
      return /^Array\((LowCardinality\()?String\)?\)$/.test(base) ? asTextList : undefined;
    case "header_map":
      return undefined;
  }
}

const INT_RANGE: Record<string, [number, number]> = {
  UInt8: [0, 255],
  UInt16: [0, 65535],
  UInt32: [0, 4294967295],
  UInt64: [0, Number.MAX_SAFE_INTEGER],
  Int8: [-128, 127],
  Int16: [-32768, 32767],
  Int32: [-2147483648, 2147483647],
  Int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

const asText: Convert = (v) =>
  typeof v === "string"
    ? v
    : typeof v === "number" || typeof v === "boolean"
    ? String(v)
    : undefined;
const asInteger: Convert = (v, base) => {
  const [lo, hi] = INT_RANGE[base];
  return typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi ? v : undefined;
};
const asFloat: Convert = (v) => typeof v === "number" && Number.isFinite(v) ? v : undefined;
const asBool: Convert = (v) => typeof v === "boolean" ? v : undefined;
const asBit: Convert = (v) => typeof v === "boolean" ? (v ? 1 : 0) : undefined;
const asTextList: Convert = (v) =>
  Array.isArray(v) && v.every((s) => typeof s === "string") ? v as string[] : undefined;
const asDateTime: Convert = (v) => isoParts(v)?.seconds;
const asDateTime64: Convert = (v) => {
  const p = isoParts(v);
  return p && `${p.seconds}.${p.millis}`;
};
const millisOf: Convert = (v) => {
  const p = isoParts(v);
  return p && Number(p.millis);
};

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** RFC 3339 → `YYYY-MM-DD hh:mm:ss` (UTC) and the 3-digit milliseconds. */
function isoParts(v: unknown): { seconds: string; millis: string } | undefined {
  if (typeof v !== "string") return undefined;
  let iso = v;
  if (!ISO_MS.test(iso)) {
    const ms = Date.parse(v);
    if (Number.isNaN(ms) || ms < 0 || ms >= 4102444800000) return undefined;
    iso = new Date(ms).toISOString();
  }
  return { seconds: `${iso.slice(0, 10)} ${iso.slice(11, 19)}`, millis: iso.slice(20, 23) };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** IPv4 → `::ffff:a.b.c.d`; IPv6 as is; anything else (a redacted token) is not an address. */
const asIpv6: Convert = (v) => {
  if (typeof v !== "string") return undefined;
  if (IPV4.test(v)) return `::ffff:${v}`;
  if (!v.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(v)) return undefined;
  try {
    new URL(`http://[${v}]/`);
    return v;
  } catch {
    return undefined; // not a valid IPv6 literal: stored as NULL and counted by the caller
  }
};

function valueAt(r: TelemetryRecord, path: readonly string[]): unknown {
  let v: unknown = r;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
