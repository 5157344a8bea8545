/**
 * Builds a sink from its config section. The only place that knows which sink types exist in
 * this build; every other type is refused with a `sink_config` error. The runner's keys
 * (`RUNNER_KEYS`: concurrency, retry, breaker, filter) are taken out of `options` first, so a
 * sink's own parser only sees its own keys.
 * Pipeline worker (at start-up). Never opens the sink; the runner does.
 * @module
 */

import type { SinkConfig, SinkType } from "../config/types.ts";
import { type Sink, type SinkDeps, SinkError } from "./contract.ts";
import { createBigQuerySink } from "./bigquery.ts";
import { createClickHouseSink } from "./clickhouse/mod.ts";
import { createFileSink } from "./file.ts";
import { createHttpSink } from "./http.ts";
import { createKafkaSink } from "./kafka/mod.ts";
import { createS3Sink } from "./s3.ts";
import { createStdoutSink } from "./stdout.ts";
import { sinkOwnOptions } from "./_runner_config.ts";

type Factory = (cfg: SinkConfig, deps: SinkDeps) => Sink;

const FACTORIES: Partial<Record<SinkType, Factory>> = {
  file: createFileSink,
  stdout: createStdoutSink,
  kafka: createKafkaSink,
  clickhouse: createClickHouseSink,
  s3: createS3Sink,
  http: createHttpSink,
  bigquery: createBigQuerySink,
};

/** Sink types that write each record's JSON text (the file sink's Parquet staging included). */
const JSON_TEXT_TYPES: ReadonlySet<SinkType> = new Set(["file", "stdout", "kafka", "http", "s3"]);

/** Whether a sink of `type` writes records as JSON text (`recordJson` in ndjson.ts). */
export function writesJsonText(type: SinkType): boolean {
  return JSON_TEXT_TYPES.has(type);
}

/** Sink types this build can create. */
export const AVAILABLE_SINK_TYPES: readonly SinkType[] = Object.keys(FACTORIES) as SinkType[];

/**
 * Create the sink for `cfg`. Throws `SinkError` (code `sink_config`, not retryable) for a type
 * this build lacks or options the sink refuses.
 *
 * @example
 * ```ts
 * const sink = createSink(config.sinks[0], { log });
 * ```
 */
export function createSink(cfg: SinkConfig, deps: SinkDeps): Sink {
  const factory = Object.hasOwn(FACTORIES, cfg.type) ? FACTORIES[cfg.type] : undefined;
  if (factory === undefined) {
    throw new SinkError(`sink type \`${cfg.type}\` is not available in this build yet`, {
      code: "sink_config",
      retryable: false,
    });
  }
  return factory({ ...cfg, options: sinkOwnOptions(cfg.options) }, deps);
}
