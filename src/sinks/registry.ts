/**
 * Builds a sink from its config section. The only place that knows which sink types exist in
 * this build: `file` and `stdout`; every other type is refused with a `sink_config` error.
 * Pipeline worker (at start-up). Never opens the sink; the runner does.
 * @module
 */

import type { SinkConfig, SinkType } from "../config/types.ts";
import { type Sink, type SinkDeps, SinkError } from "./contract.ts";
import { createFileSink } from "./file.ts";
import { createStdoutSink } from "./stdout.ts";

/** Sink types this build can create. */
export const AVAILABLE_SINK_TYPES: readonly SinkType[] = ["file", "stdout"];

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
  switch (cfg.type) {
    case "file":
      return createFileSink(cfg, deps);
    case "stdout":
      return createStdoutSink(cfg, deps);
    default:
      throw new SinkError(`sink type \`${cfg.type}\` is not available in this build yet`, {
        code: "sink_config",
        retryable: false,
      });
  }
}
