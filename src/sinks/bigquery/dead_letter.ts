/**
 * The BigQuery sink's dead-letter file: rows BigQuery refused for good are appended, one JSON
 * object per line (`rejected_at`, `sink`, `batch_id`, `reasons`, `record`), and fsynced before
 * the sink counts them as handled, so a refused row is kept, never silently dropped.
 * Pipeline worker. One file per sink: `<directory>/<sink name>.dead-letter.ndjson`.
 * @module
 */

import type { TelemetryRecord } from "../../record/schema.ts";
import { ioError } from "../_io_error.ts";

/** One refused row. */
export interface DeadRow {
  record: TelemetryRecord;
  reasons: string[];
}

/**
 * Append `rows` to the sink's dead-letter file and fsync it.
 *
 * @example
 * ```ts
 * await appendDeadLetters("/var/lib/telemetry/dead", "bigquery", batch.id, rows);
 * ```
 */
export async function appendDeadLetters(
  directory: string,
  sink: string,
  batchId: string,
  rows: readonly DeadRow[],
): Promise<string> {
  const path = `${directory}/${sink}.dead-letter.ndjson`;
  const at = new Date().toISOString();
  let text = "";
  for (const r of rows) {
    text += JSON.stringify({
      rejected_at: at,
      sink,
      batch_id: batchId,
      reasons: r.reasons,
      record: r.record,
    }) +
      "\n";
  }
  try {
    await Deno.mkdir(directory, { recursive: true });
    using file = await Deno.open(path, { append: true, create: true });
    const bytes = new TextEncoder().encode(text);
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    await file.sync();
  } catch (err) {
    throw ioError(err, `cannot append to dead-letter file ${path}`);
  }
  return path;
}
