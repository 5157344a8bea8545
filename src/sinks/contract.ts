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

/** A failed write: `retryable` tells the runner whether trying the same batch again may work. */
export class SinkError extends Error {
  readonly code: SinkErrorCode;
  readonly retryable: boolean;
  constructor(
    message: string,
    options: { code: SinkErrorCode; retryable: boolean; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "SinkError";
    this.code = options.code;
    this.retryable = options.retryable;
  }
}

/** What a sink factory gets besides its own config section. */
export interface SinkDeps {
  log: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: object) => void;
}
