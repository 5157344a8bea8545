/**
 * The stdout sink: NDJSON to the process's standard output, one record per line.
 * Pipeline worker. Handles partial writes; a retried batch resumes where the failed attempt
 * stopped, so no line is written twice or torn. Never closes stdout.
 * @module
 */

import type { SinkConfig } from "../config/types.ts";
import { type Sink, type SinkBatch, type SinkDeps, SinkError } from "./contract.ts";
import { encodeNdjson } from "./ndjson.ts";
import { ioError } from "./_io_error.ts";
import { RecentIds } from "./_recent_ids.ts";

/** Where the sink writes; `Deno.stdout` unless a test passes another. */
export interface ByteWriter {
  /** Write some of `p`; resolves to the number of bytes written. */
  write(p: Uint8Array): Promise<number>;
}

/** Shared sink keys a loader may leave in `options`; the runner reads them from `SinkConfig`. */
const SHARED_KEYS = new Set(["batch-size", "flush-interval-ms"]);
const NEWLINE = new Uint8Array([0x0a]);

/**
 * Create a stdout sink. It takes no options of its own.
 *
 * @example
 * ```ts
 * const sink = createStdoutSink({ name: "stdout", type: "stdout", batchSize: 100,
 *   flushIntervalMs: 1000, options: {} }, { log });
 * ```
 */
export function createStdoutSink(
  cfg: SinkConfig,
  _deps: SinkDeps,
  out: ByteWriter = Deno.stdout,
): Sink {
  const unknown = Object.keys(cfg.options).filter((k) => !SHARED_KEYS.has(k));
  if (unknown.length > 0) {
    throw new SinkError(
      `stdout sink: unknown option \`${unknown[0]}\`; the stdout sink takes no options`,
      { code: "sink_config", retryable: false },
    );
  }
  return new StdoutSink(cfg.name, out);
}

class StdoutSink implements Sink {
  readonly name: string;
  #out: ByteWriter;
  #recent = new RecentIds();
  /** A batch whose write failed part way: where to resume. */
  #torn: { id: string; offset: number } | null = null;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(name: string, out: ByteWriter) {
    this.name = name;
    this.#out = out;
  }

  open(): Promise<void> {
    return Promise.resolve();
  }

  write(batch: SinkBatch): Promise<number> {
    const run = this.#chain.then(() => this.#write(batch));
    // The chain only orders writes; each caller gets its own outcome through `run`.
    this.#chain = run.then(() => undefined, () => undefined);
    return run;
  }

  close(): Promise<void> {
    return this.#chain.then(() => undefined);
  }

  async #write(batch: SinkBatch): Promise<number> {
    if (this.#recent.has(batch.id)) return 0;
    const bytes = encodeNdjson(batch);
    if (this.#torn !== null && this.#torn.id !== batch.id) {
      // The torn batch was given up: end its partial line so the next lines stay whole.
      const progress = { off: 0 };
      await this.#writeFrom(NEWLINE, progress);
      this.#torn = null;
    }
    const start = this.#torn?.offset ?? 0;
    const progress = { off: start };
    try {
      await this.#writeFrom(bytes, progress);
    } catch (err) {
      this.#torn = progress.off > 0 ? { id: batch.id, offset: progress.off } : null;
      throw err;
    }
    this.#torn = null;
    this.#recent.add(batch.id);
    return bytes.length - start;
  }

  /** Write `bytes` from `progress.off` on, advancing it as bytes go out. */
  async #writeFrom(bytes: Uint8Array, progress: { off: number }): Promise<void> {
    try {
      while (progress.off < bytes.length) {
        const n = await this.#out.write(bytes.subarray(progress.off));
        if (n <= 0) throw new Deno.errors.WriteZero("stdout write returned 0 bytes");
        progress.off += n;
      }
    } catch (err) {
      throw ioError(err, "cannot write to stdout");
    }
  }
}
