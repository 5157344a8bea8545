/**
 * The file sink's options: kebab-case keys as written in KDL, their defaults and checks.
 * Pipeline worker (at start-up) and the config validator. Pure; throws `SinkError` with code
 * `sink_config` listing every problem at once.
 * @module
 */

import { FILE_SINK_DEFAULTS } from "../config/defaults.ts";
import type { FileSinkOptions } from "../config/types.ts";
import { SinkError } from "./contract.ts";

/** Defaults for options left out of the config: one source, the config's own defaults. */
export { FILE_SINK_DEFAULTS };

const OPTION_KEYS = [
  "directory",
  "prefix",
  "max-bytes",
  "max-age-ms",
  "format",
  "row-group-size",
  "compression",
];
const FORMATS = ["ndjson", "parquet"] as const;
const CODECS = ["snappy", "gzip", "none"] as const;
/** Shared sink keys a loader may leave in `options`; the runner reads them from `SinkConfig`. */
const SHARED_KEYS = new Set(["batch-size", "flush-interval-ms"]);
const PREFIX_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Parse the file sink's options (kebab-case keys, as written in KDL). Throws a `SinkError`
 * with code `sink_config` listing every problem.
 *
 * @example
 * ```ts
 * parseFileSinkOptions({ directory: "/var/lib/telemetry", "max-bytes": 1048576 });
 * ```
 */
export function parseFileSinkOptions(options: Record<string, unknown>): FileSinkOptions {
  const problems: string[] = [];
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key) && !SHARED_KEYS.has(key)) {
      problems.push(`unknown option \`${key}\`; known options: ${OPTION_KEYS.join(", ")}`);
    }
  }
  const text = (key: string, fallback: string, ok: (v: string) => boolean, rule: string) => {
    const v = options[key] ?? fallback;
    if (typeof v === "string" && ok(v)) return v;
    problems.push(`\`${key}\` must be ${rule}, got ${show(v)}`);
    return fallback;
  };
  const int = (key: string, fallback: number) => {
    const v = options[key] ?? fallback;
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 1) return v;
    problems.push(`\`${key}\` must be an integer >= 1, got ${show(v)}`);
    return fallback;
  };
  function oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = options[key] ?? values[0];
    if (typeof v === "string" && (values as readonly string[]).includes(v)) return v as T;
    problems.push(
      `\`${key}\` must be one of ${values.map((x) => `"${x}"`).join(", ")}, got ${show(v)}`,
    );
    return values[0];
  }
  const parsed: FileSinkOptions = {
    directory: text("directory", FILE_SINK_DEFAULTS.directory, (v) => v.length > 0, "a path"),
    prefix: text(
      "prefix",
      FILE_SINK_DEFAULTS.prefix,
      (v) => PREFIX_RE.test(v),
      "letters, digits, `_`, `-` or `.` (not first)",
    ),
    maxBytes: int("max-bytes", FILE_SINK_DEFAULTS.maxBytes),
    maxAgeMs: int("max-age-ms", FILE_SINK_DEFAULTS.maxAgeMs),
  };
  const format = oneOf("format", FORMATS);
  const rowGroupSize = int("row-group-size", 10_000);
  const compression = oneOf("compression", CODECS);
  if (format === "parquet") Object.assign(parsed, { format, rowGroupSize, compression });
  else {
    for (const key of ["row-group-size", "compression"]) {
      if (options[key] !== undefined) problems.push(`\`${key}\` applies to format "parquet" only`);
    }
  }
  if (problems.length > 0) {
    throw new SinkError(`file sink: ${problems.join("; ")}`, {
      code: "sink_config",
      retryable: false,
    });
  }
  return parsed;
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
