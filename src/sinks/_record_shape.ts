/**
 * Projects a record onto the field description (`record/fields.ts`) for the typed sinks
 * (Parquet, BigQuery): every described field is visited in order and converted by the sink's
 * own converter; a value of the wrong type becomes null and fields the description does not
 * know are left out — both are reported (by path, never by value) so the sink can log them.
 * Any thread. Pure.
 * @module
 */

import { type FieldNode, type FieldSpec, RECORD_FIELDS } from "../record/fields.ts";
import type { TelemetryRecord } from "../record/schema.ts";

/** Converts one leaf value; returns `MISMATCH` when the value does not fit the field's kind. */
export type LeafConverter = (spec: FieldSpec, value: unknown) => unknown;

/** Returned by a converter for a value of the wrong type. */
export const MISMATCH: unique symbol = Symbol("mismatch");

/** What a projection had to leave out, by field path. */
export interface ShapeReport {
  /** Paths whose value had the wrong type (written as null). */
  mismatched: Set<string>;
  /** Paths present in records but absent from the description (not written). */
  unknown: Set<string>;
}

/** An empty report. */
export function newShapeReport(): ShapeReport {
  return { mismatched: new Set(), unknown: new Set() };
}

/** How a group (nested object) is built from its converted children. */
export type GroupBuilder = (children: [string, unknown][]) => unknown;

/**
 * The record as the description's shape: groups built by `group` from their converted fields,
 * absent groups and values as `null`.
 *
 * @example
 * ```ts
 * const report = newShapeReport();
 * const row = projectRecord(record, convertLeaf, (kv) => Object.fromEntries(kv), report);
 * ```
 */
export function projectRecord(
  record: TelemetryRecord,
  convert: LeafConverter,
  group: GroupBuilder,
  report: ShapeReport,
): unknown {
  return projectGroup(
    record as unknown as Record<string, unknown>,
    RECORD_FIELDS as unknown as Readonly<Record<string, FieldNode>>,
    "",
    convert,
    group,
    report,
  );
}

function projectGroup(
  value: Record<string, unknown>,
  fields: Readonly<Record<string, FieldNode>>,
  path: string,
  convert: LeafConverter,
  group: GroupBuilder,
  report: ShapeReport,
): unknown {
  const children: [string, unknown][] = [];
  for (const key in fields) {
    const node = fields[key];
    const v = value[key];
    const p = path + key;
    if (v === undefined || v === null) {
      children.push([key, null]);
    } else if ("group" in node) {
      if (typeof v === "object" && !Array.isArray(v)) {
        const inner = v as Record<string, unknown>;
        children.push([key, projectGroup(inner, node.group, `${p}.`, convert, group, report)]);
      } else {
        report.mismatched.add(p);
        children.push([key, null]);
      }
    } else {
      const out = convert(node, v);
      if (out === MISMATCH) report.mismatched.add(p);
      children.push([key, out === MISMATCH ? null : out]);
    }
  }
  for (const key in value) {
    if (!Object.hasOwn(fields, key) && value[key] !== undefined) report.unknown.add(path + key);
  }
  return group(children);
}

/** Whether `v` is an integer that fits the field's width and sign. */
export function fitsInteger(spec: FieldSpec, v: unknown): v is number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) return false;
  const bits = spec.bits ?? 64;
  if (!spec.signed) return v >= 0 && (bits >= 53 || v < 2 ** bits);
  return bits >= 53 || (v >= -(2 ** (bits - 1)) && v < 2 ** (bits - 1));
}

/** Whether `v` is a list of strings. */
export function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** Whether `v` is a header map: name → list of strings. */
export function isHeaderMap(v: unknown): v is Record<string, string[]> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  for (const k in v) if (!isStringList((v as Record<string, unknown>)[k])) return false;
  return true;
}

/** Milliseconds of an RFC 3339 timestamp, or `undefined`. */
export function timestampMs(v: unknown): number | undefined {
  if (typeof v !== "string") return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}
