/**
 * The per-sink record filter: which records a sink receives. Three keys, all optional, all
 * ANDed: `only-errors true` (labels.is_error), `only-threats true` (labels.is_threat), and
 * `where` — one field path and the values it may equal (`where "response.status" 500 503`), or a
 * block of such lines (`where { "sentinel.route_id" "api"; "labels.is_bot" false; }`).
 * Pipeline worker. Safe by construction: paths are dotted names (no code, no regex, no
 * prototype lookups), values are plain scalars compared with `===`. Pure; never logs.
 * @module
 */

import type { TelemetryRecord } from "../record/schema.ts";

/** Option keys the filter reads from a sink's block. */
export const FILTER_KEYS: readonly string[] = ["only-errors", "only-threats", "where"];

type Scalar = string | number | boolean | null;

interface Condition {
  path: string[];
  values: Scalar[];
}

/** A compiled filter: `test` says whether a record goes to the sink. */
export interface RecordFilter {
  test(record: TelemetryRecord): boolean;
  /** The conditions as text, for the start-up log (`labels.is_error = true AND …`). */
  readonly text: string;
}

const PATH_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,5}$/;
const FORBIDDEN = new Set(["__proto__", "prototype", "constructor"]);

/**
 * Build the filter from a sink's options, or `undefined` when none of its keys is set. Problems
 * are appended to `problems` (each names the key) and the filter is then `undefined`.
 *
 * @example
 * ```ts
 * const f = parseRecordFilter({ "only-threats": true }, problems);
 * f?.test(record); // true only when record.labels.is_threat === true
 * ```
 */
export function parseRecordFilter(
  options: Record<string, unknown>,
  problems: string[],
): RecordFilter | undefined {
  const before = problems.length;
  const conditions: Condition[] = [];
  for (
    const [key, path] of [["only-errors", "labels.is_error"], [
      "only-threats",
      "labels.is_threat",
    ]]
  ) {
    const v = options[key];
    if (v === undefined || v === false) continue;
    if (v === true) conditions.push({ path: path.split("."), values: [true] });
    else problems.push(`\`${key}\` must be true or false, got ${show(v)}`);
  }
  if (options.where !== undefined) conditions.push(...whereConditions(options.where, problems));
  if (problems.length > before || conditions.length === 0) return undefined;
  return {
    test: (record) => conditions.every((c) => matches(record, c)),
    text: conditions.map((c) => `${c.path.join(".")} in [${c.values.map(show)}]`).join(" AND "),
  };
}

function whereConditions(where: unknown, problems: string[]): Condition[] {
  const usage = 'write where "labels.is_threat" true, or where { "response.status" 500 503; }';
  if (Array.isArray(where)) {
    const [path, ...values] = where;
    const c = condition("where", path, values, problems);
    return c ? [c] : [];
  }
  if (typeof where === "object" && where !== null) {
    const out: Condition[] = [];
    for (const [path, v] of Object.entries(where)) {
      const c = condition(`where.${path}`, path, Array.isArray(v) ? v : [v], problems);
      if (c) out.push(c);
    }
    if (out.length === 0 && problems.length === 0) problems.push(`\`where\` is empty; ${usage}`);
    return out;
  }
  problems.push(`\`where\` needs a field path and at least one value; ${usage}`);
  return [];
}

function condition(
  key: string,
  path: unknown,
  values: unknown[],
  problems: string[],
): Condition | undefined {
  if (typeof path !== "string" || !PATH_RE.test(path)) {
    problems.push(
      `\`${key}\` field path must be dotted names like "labels.is_threat", got ${show(path)}`,
    );
    return undefined;
  }
  const parts = path.split(".");
  if (parts.some((p) => FORBIDDEN.has(p))) {
    problems.push(`\`${key}\` field path may not use ${parts.find((p) => FORBIDDEN.has(p))}`);
    return undefined;
  }
  if (values.length === 0) {
    problems.push(`\`${key}\` needs at least one value to compare "${path}" with`);
    return undefined;
  }
  const bad = values.find((v) => !isScalar(v));
  if (bad !== undefined) {
    problems.push(`\`${key}\` values must be strings, numbers, true, false or null`);
    return undefined;
  }
  return { path: parts, values: values as Scalar[] };
}

function matches(record: TelemetryRecord, c: Condition): boolean {
  let v: unknown = record;
  for (const p of c.path) {
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, p)) {
      v = undefined;
      break;
    }
    v = (v as Record<string, unknown>)[p];
  }
  // An absent field equals only `null`.
  const value = v === undefined ? null : v;
  return c.values.includes(value as Scalar);
}

function isScalar(v: unknown): v is Scalar {
  return v === null || ["string", "number", "boolean"].includes(typeof v);
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
