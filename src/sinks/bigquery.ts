/**
 * The BigQuery sink: streams each batch into one table with `tabledata.insertAll`, every row's
 * `insertId` being its `event_id` so BigQuery drops a row sent twice. Rows are projected onto
 * the table schema (`main.ts schema --bigquery`), cut into requests within the row and size
 * limits, and judged row by row: rows BigQuery inserted are remembered, so a retried batch only
 * sends the rest; rows it may take later (`stopped`, `backendError`, quota) make the write
 * retryable; rows it refuses for good go to the dead-letter file — or, without one, fail the
 * batch (fatal) once everything else is in. Auth: service-account JWT → OAuth token (`auth.ts`).
 * Pipeline worker. Never retries or sleeps; never drops a row without an error or a dead letter.
 * @module
 */

import type { SinkConfig } from "../config/types.ts";
import type { TelemetryRecord } from "../record/schema.ts";
import { type Sink, type SinkBatch, type SinkDeps, SinkError } from "./contract.ts";
import { newShapeReport, type ShapeReport } from "./_record_shape.ts";
import { loadServiceAccountKey, TokenSource } from "./bigquery/auth.ts";
import { appendDeadLetters, type DeadRow } from "./bigquery/dead_letter.ts";
import { type EncodedRow, insertAll, splitRequests } from "./bigquery/insert.ts";
import { type BigQuerySinkOptions, parseBigQuerySinkOptions } from "./bigquery/options.ts";
import { toBigQueryRow } from "./bigquery/schema.ts";

export { bigQueryHosts, parseBigQuerySinkOptions } from "./bigquery/options.ts";
export type { BigQuerySinkOptions } from "./bigquery/options.ts";
export { bigQueryDdl, bigQuerySchema } from "./bigquery/schema.ts";

/** Batches whose per-row progress is remembered for their retries. */
const MAX_TRACKED_BATCHES = 256;

/** What is known about one batch's rows across attempts. */
interface BatchState {
  rows: EncodedRow[];
  /** Indexes inserted or dead-lettered. */
  done: Set<number>;
  /** Rows refused for good with no dead-letter file to take them. */
  refused: Map<number, string[]>;
  bytes: number;
}

/**
 * Create a BigQuery sink from its config section. The key file is read when it opens; the
 * first token is fetched by the first write.
 *
 * @example
 * ```ts
 * const sink = createBigQuerySink(cfg, { log });
 * await sink.open();
 * await sink.write({ id: batchId, records });
 * ```
 */
export function createBigQuerySink(cfg: SinkConfig, deps: SinkDeps): Sink {
  return new BigQuerySink(cfg.name, parseBigQuerySinkOptions(cfg.options), deps);
}

class BigQuerySink implements Sink {
  readonly name: string;
  readonly #o: BigQuerySinkOptions;
  readonly #deps: SinkDeps;
  readonly #url: string;
  #tokens: TokenSource | undefined;
  readonly #states = new Map<string, BatchState>();
  readonly #reported = new Set<string>();

  constructor(name: string, opts: BigQuerySinkOptions, deps: SinkDeps) {
    this.name = name;
    this.#o = opts;
    this.#deps = deps;
    const path = [opts.project, opts.dataset, opts.table].map(encodeURIComponent);
    this.#url = `${opts.endpoint}/bigquery/v2/projects/${path[0]}/datasets/${path[1]}/tables/${
      path[2]
    }/insertAll`;
  }

  async open(): Promise<void> {
    const key = await loadServiceAccountKey(this.#o.credentialsFile);
    this.#tokens = await TokenSource.create(key, this.#o.tokenUrl, this.#o.timeoutMs);
  }

  /** Tokens fetched so far (tests). */
  get tokensFetched(): number {
    return this.#tokens?.fetched ?? 0;
  }

  async write(batch: SinkBatch): Promise<number> {
    const tokens = this.#tokens;
    if (tokens === undefined) {
      throw new SinkError(`bigquery sink ${this.name} is not open`, {
        code: "sink_unavailable",
        retryable: false,
      });
    }
    const state = this.#state(batch);
    const pending = state.rows.filter((r) =>
      !state.done.has(r.index) && !state.refused.has(r.index)
    );
    const { requests, oversized } = splitRequests(
      pending,
      this.#o.maxRowsPerRequest,
      this.#o.maxRequestBytes,
    );
    await this.#refuse(
      batch,
      state,
      oversized.map((r) => ({ index: r.index, reasons: ["row_too_large"] })),
    );
    let retry = 0;
    for (const rows of requests) {
      const outcome = await insertAll(this.#url, tokens, rows, this.#o.timeoutMs);
      for (const i of outcome.inserted) state.done.add(i);
      retry += outcome.retry.length;
      await this.#refuse(batch, state, outcome.rejected);
    }
    if (retry > 0) {
      throw new SinkError(
        `bigquery sink: ${retry} rows of batch ${batch.id} were not taken yet; will resend them`,
        {
          code: "sink_unavailable",
          retryable: true,
        },
      );
    }
    this.#states.delete(batch.id);
    if (state.refused.size > 0) throw refusedError(batch, state);
    return state.bytes;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Rows refused for good: to the dead-letter file when there is one, else held for the error. */
  async #refuse(batch: SinkBatch, state: BatchState, rows: { index: number; reasons: string[] }[]) {
    if (rows.length === 0) return;
    const dir = this.#o.deadLetterDirectory;
    if (dir === undefined) {
      for (const r of rows) state.refused.set(r.index, r.reasons);
      return;
    }
    const dead: DeadRow[] = rows.map((r) => ({
      record: batch.records[r.index],
      reasons: r.reasons,
    }));
    const path = await appendDeadLetters(dir, this.name, batch.id, dead);
    for (const r of rows) state.done.add(r.index);
    this.#deps.log("warn", "bigquery sink dead-lettered rows BigQuery refused", {
      sink: this.name,
      batch_id: batch.id,
      rows: rows.length,
      reasons: [...new Set(rows.flatMap((r) => r.reasons))],
      file: path,
    });
  }

  #state(batch: SinkBatch): BatchState {
    let state = this.#states.get(batch.id);
    if (state !== undefined) return state;
    const report = newShapeReport();
    state = {
      rows: encodeRows(batch.records, report),
      done: new Set(),
      refused: new Map(),
      bytes: 0,
    };
    state.bytes = state.rows.reduce((n, r) => n + r.text.length, 0);
    this.#logShape(report);
    this.#states.set(batch.id, state);
    if (this.#states.size > MAX_TRACKED_BATCHES) {
      this.#states.delete(this.#states.keys().next().value!);
    }
    return state;
  }

  /** Log each field the schema could not take, once per field for the sink's life. */
  #logShape(report: ShapeReport): void {
    const fresh = [...report.unknown, ...report.mismatched].filter((p) => !this.#reported.has(p));
    if (fresh.length === 0) return;
    for (const p of fresh) this.#reported.add(p);
    this.#deps.log("warn", "bigquery sink left out fields the table schema does not take", {
      sink: this.name,
      unknown: [...report.unknown].filter((p) => fresh.includes(p)),
      mismatched: [...report.mismatched].filter((p) => fresh.includes(p)),
    });
  }
}

function encodeRows(records: readonly TelemetryRecord[], report: ShapeReport): EncodedRow[] {
  return records.map((r, index) => ({
    index,
    text: JSON.stringify({ insertId: r.event_id, json: toBigQueryRow(r, report) }),
  }));
}

function refusedError(batch: SinkBatch, state: BatchState): SinkError {
  const reasons = [...new Set([...state.refused.values()].flat())].join(", ");
  const ids = [...state.refused.keys()].slice(0, 5).map((i) => batch.records[i].event_id).join(
    ", ",
  );
  return new SinkError(
    `bigquery sink: BigQuery refused ${state.refused.size} of ${batch.records.length} rows of batch ` +
      `${batch.id} (${reasons}; e.g. event_id ${ids}); the others were inserted. Set ` +
      "`dead-letter-directory` to keep refused rows",
    { code: "sink_backend_rejected", retryable: false },
  );
}
