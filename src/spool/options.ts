/**
 * The spool's settings for one sink: the top-level `spool { … }` block (a directory with one
 * subdirectory per sink, named after the sink) merged with the sink's own `spool-*` keys, which
 * win. Defaults and range checks live here, once.
 * Pipeline worker (at start-up). Pure; reports problems as strings for the runner's config error.
 * @module
 */

import type { SpoolConfig, SpoolFullPolicy } from "../config/types.ts";

export type { SpoolFullPolicy } from "../config/types.ts";

/** The policies, for validation and docs. */
export const SPOOL_FULL_POLICIES: readonly SpoolFullPolicy[] = ["drop-oldest", "drop-newest"];

/** `spool { … }` as the config loader produces it (top level, shared by every sink). */
export type SpoolSettings = SpoolConfig;

/** One sink's resolved spool settings. */
export interface SpoolOptions {
  directory: string;
  maxBytes: number;
  segmentBytes: number;
  fsyncMs: number;
  fullPolicy: SpoolFullPolicy;
}

/** Defaults of the optional keys. */
export const SPOOL_DEFAULTS = Object.freeze({
  maxBytes: 1024 * 1024 * 1024,
  fsyncMs: 500,
  fullPolicy: "drop-oldest" as SpoolFullPolicy,
});

/** Ranges, shared by the loader (top level) and the runner (per-sink keys). */
export const SPOOL_LIMITS = Object.freeze({
  maxBytes: { min: 64 * 1024, max: 2 ** 50 },
  segmentBytes: { min: 4096, max: 1024 * 1024 * 1024 },
  fsyncMs: { min: 0, max: 60_000 },
});

/** The sink's `spool-*` keys in its block, and the top-level setting they refine. */
export const SPOOL_SINK_KEYS: readonly string[] = [
  "spool",
  "spool-dir",
  "spool-max-bytes",
  "spool-segment-bytes",
  "spool-fsync-ms",
  "spool-full-policy",
];

/**
 * One sink's spool options, or undefined when it has none: no top-level block and no
 * `spool-dir`, or `spool false`. Problems are pushed to `problems` (`key` and the rule).
 *
 * @example
 * ```ts
 * resolveSpoolOptions("kafka", { directory: "/var/lib/telemetry/spool" }, {}, problems);
 * // { directory: "/var/lib/telemetry/spool/kafka", maxBytes: 1073741824, … }
 * ```
 */
export function resolveSpoolOptions(
  sink: string,
  top: SpoolSettings | undefined,
  keys: Record<string, unknown>,
  problems: string[],
): SpoolOptions | undefined {
  const enabled = keys["spool"];
  if (enabled !== undefined && typeof enabled !== "boolean") {
    problems.push(`\`spool\` must be true or false, got ${show(enabled)}`);
  }
  const dir = keys["spool-dir"];
  if (dir !== undefined && (typeof dir !== "string" || dir === "")) {
    problems.push(`\`spool-dir\` must be a directory path, got ${show(dir)}`);
  }
  if (enabled === false) return undefined;
  const directory = typeof dir === "string" && dir !== ""
    ? dir
    : top === undefined
    ? undefined
    : `${top.directory.replace(/\/+$/, "")}/${sink}`;
  if (directory === undefined) {
    if (enabled === true) {
      problems.push("`spool true` needs `spool-dir` or a top-level spool { directory … } block");
    }
    return undefined;
  }
  const maxBytes = int(keys, "spool-max-bytes", top?.maxBytes ?? SPOOL_DEFAULTS.maxBytes, problems);
  const fallbackSegment = Math.max(
    SPOOL_LIMITS.segmentBytes.min,
    Math.min(16 * 1024 * 1024, Math.floor(maxBytes / 8)),
  );
  const segmentBytes = int(
    keys,
    "spool-segment-bytes",
    top?.segmentBytes ?? fallbackSegment,
    problems,
  );
  const fsyncMs = int(keys, "spool-fsync-ms", top?.fsyncMs ?? SPOOL_DEFAULTS.fsyncMs, problems);
  const policy = keys["spool-full-policy"] ?? top?.fullPolicy ?? SPOOL_DEFAULTS.fullPolicy;
  if (!SPOOL_FULL_POLICIES.includes(policy as SpoolFullPolicy)) {
    problems.push(
      `\`spool-full-policy\` must be one of "drop-oldest", "drop-newest", got ${show(policy)}`,
    );
  }
  if (segmentBytes > maxBytes) {
    problems.push(
      `\`spool-segment-bytes\` (${segmentBytes}) must not exceed \`spool-max-bytes\` (${maxBytes})`,
    );
  }
  return { directory, maxBytes, segmentBytes, fsyncMs, fullPolicy: policy as SpoolFullPolicy };
}

function int(
  keys: Record<string, unknown>,
  key: "spool-max-bytes" | "spool-segment-bytes" | "spool-fsync-ms",
  fallback: number,
  problems: string[],
): number {
  const v = keys[key];
  if (v === undefined) return fallback;
  const limit = key === "spool-max-bytes"
    ? SPOOL_LIMITS.maxBytes
    : key === "spool-segment-bytes"
    ? SPOOL_LIMITS.segmentBytes
    : SPOOL_LIMITS.fsyncMs;
  if (typeof v === "number" && Number.isInteger(v) && v >= limit.min && v <= limit.max) return v;
  problems.push(`\`${key}\` must be an integer from ${limit.min} to ${limit.max}, got ${show(v)}`);
  return fallback;
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
