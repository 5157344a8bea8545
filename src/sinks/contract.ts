/**
 * The sink contract. A sink opens, writes batches, and closes. `write` is idempotent for a given
 * batch id and either resolves, or throws a `SinkError` that says whether a retry may succeed.
 * The runner (`runner.ts`) owns batching, retry, metrics and drop accounting; a sink never
 * sleeps, retries or counts its own drops.
 * @module
 */

import type { TelemetryRecord } from "../record/schema.ts";

export interface SinkBatch {
  /** Time-ordered unique id (UUIDv7); stable across retries of the same batch. */
  id: string;
  records: TelemetryRecord[];
}

export interface Sink {
  readonly name: string;
  open(): Promise<void>;
  /** Deliver one batch; may resolve to the number of bytes written (for metrics). */
  write(batch: SinkBatch): Promise<number | void>;
  /** Flush and release everything; after it resolves nothing written is left in a temp state. */
  close(): Promise<void>;
}

export type SinkErrorCode =
  | "sink_io"
  | "sink_unavailable"
  | "sink_backend_rejected"
  | "sink_config";

/**
 * A failed write: `retryable` tells the runner whether trying the same batch again may work;
 * `retryAfterMs`, when set, is the wait the backend asked for (e.g. HTTP `Retry-After`), which
 * the runner uses instead of its own backoff delay for that retry when it is longer.
 */
export class SinkError extends Error {
  readonly code: SinkErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  constructor(
    message: string,
    options: { code: SinkErrorCode; retryable: boolean; cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, { cause: options.cause });
    this.name = "SinkError";
    this.code = options.code;
    this.retryable = options.retryable;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** What a sink factory gets besides its own config section. */
export interface SinkDeps {
  log: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: object) => void;
}
