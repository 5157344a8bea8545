/**
 * The runner's keys in a sink's config block (every sink type takes them): concurrency, queue
 * bound, retry, circuit breaker and the record filter. Kebab-case, as written in KDL; they reach
 * the sink in `SinkConfig.options` and are taken out before the sink's own parser sees them.
 * Pipeline worker (at start-up). Pure; throws `SinkError` (`sink_config`) naming the sink and
 * every bad key at once.
 * @module
 */

import type { SinkConfig } from "../config/types.ts";
import { SinkError } from "./contract.ts";
import { FILTER_KEYS, parseRecordFilter } from "./_filter.ts";
import type { SinkRunnerOptions } from "./_runner_options.ts";
import { resolveSpoolOptions, SPOOL_SINK_KEYS, type SpoolSettings } from "../spool/options.ts";

interface IntKey {
  min: number;
  max: number;
  set: (o: Partial<SinkRunnerOptions>, v: number) => void;
}

const INT_KEYS: Readonly<Record<string, IntKey>> = {
  "max-in-flight": { min: 1, max: 64, set: (o, v) => (o.maxInFlight = v) },
  "max-queue-records": { min: 1, max: 10_000_000, set: (o, v) => (o.maxQueueRecords = v) },
  "retry-max": { min: 0, max: 1000, set: (o, v) => (o.backoff = { ...o.backoff, maxRetries: v }) },
  "retry-base-ms": {
    min: 0,
    max: 600_000,
    set: (o, v) => (o.backoff = { ...o.backoff, baseMs: v }),
  },
  "retry-cap-ms": {
    min: 0,
    max: 3_600_000,
    set: (o, v) => (o.backoff = { ...o.backoff, capMs: v }),
  },
  "breaker-failures": {
    min: 0,
    max: 1_000_000,
    set: (o, v) => (o.breaker = { ...o.breaker, failureThreshold: v }),
  },
  "breaker-cooldown-ms": {
    min: 1,
    max: 3_600_000,
    set: (o, v) => (o.breaker = { ...o.breaker, cooldownMs: v }),
  },
  "breaker-max-cooldown-ms": {
    min: 1,
    max: 3_600_000,
    set: (o, v) => (o.breaker = { ...o.breaker, maxCooldownMs: v }),
  },
};

/** Keys the runner reads from any sink's block (besides `batch-size`, `flush-interval-ms`). */
export const RUNNER_KEYS: readonly string[] = [
  ...Object.keys(INT_KEYS),
  ...FILTER_KEYS,
  ...SPOOL_SINK_KEYS,
];

/**
 * Runner options from a sink's config block (and the top-level `spool { … }` settings, which the
 * sink's `spool-*` keys refine). Throws `SinkError` (`sink_config`) listing every bad key,
 * prefixed with the sink's name.
 *
 * @example
 * ```ts
 * runnerSettings({ ...cfg, options: { "max-in-flight": 4, "only-threats": true } });
 * ```
 */
export function runnerSettings(
  cfg: Pick<SinkConfig, "name" | "options">,
  spool?: SpoolSettings,
): Partial<SinkRunnerOptions> {
  const problems: string[] = [];
  const out: Partial<SinkRunnerOptions> = {};
  for (const [key, spec] of Object.entries(INT_KEYS)) {
    const v = cfg.options[key];
    if (v === undefined) continue;
    if (typeof v === "number" && Number.isInteger(v) && v >= spec.min && v <= spec.max) {
      spec.set(out, v);
    } else {
      problems.push(
        `\`${key}\` must be an integer from ${spec.min} to ${spec.max}, got ${show(v)}`,
      );
    }
  }
  const filter = parseRecordFilter(cfg.options, problems);
  if (filter !== undefined) out.filter = filter;
  const spoolOptions = resolveSpoolOptions(cfg.name, spool, cfg.options, problems);
  if (spoolOptions !== undefined) out.spool = spoolOptions;
  if (problems.length > 0) {
    throw new SinkError(`sink ${cfg.name}: ${problems.join("; ")}`, {
      code: "sink_config",
      retryable: false,
    });
  }
  return out;
}

/** The options without the runner's keys: what the sink's own parser gets. */
export function sinkOwnOptions(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (!RUNNER_KEYS.includes(k)) out[k] = v;
  return out;
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
