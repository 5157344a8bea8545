/**
 * `tabledata.insertAll` for the BigQuery sink: rows are cut into requests that respect the row
 * and byte limits, each request is sent with a bearer token, and the reply is judged row by
 * row: inserted, worth retrying (`stopped`, `backendError`, quota …), or refused for good.
 * Pipeline worker. Never retries; a request-level failure is a `SinkError` (retryable for
 * network errors, 5xx, 429 and quota 403s; fatal for other 4xx).
 * @module
 */

import { SinkError } from "../contract.ts";
import {
  exchange,
  type HttpReply,
  isRetryableStatus,
  parseRetryAfter,
  quote,
} from "../_http_fetch.ts";

/** Row error reasons after which sending the same row again may work. */
const RETRYABLE_ROW_REASONS = new Set([
  "stopped",
  "backendError",
  "internalError",
  "timeout",
  "rateLimitExceeded",
  "quotaExceeded",
]);
/** Request-level reasons that are retryable whatever the status (BigQuery sends quota as 403). */
const RETRYABLE_REASONS = new Set([
  "rateLimitExceeded",
  "quotaExceeded",
  "backendError",
  "internalError",
]);
const REQUEST_HEAD = '{"kind":"bigquery#tableDataInsertAllRequest","skipInvalidRows":true,' +
  '"ignoreUnknownValues":false,"rows":[';
const REQUEST_TAIL = "]}";

/** Where access tokens come from (`auth.ts` `TokenSource`). */
export interface Tokens {
  token(): Promise<string>;
  invalidate(): void;
}

/** One row ready to send: its index in the batch and its serialized `{insertId, json}`. */
export interface EncodedRow {
  index: number;
  text: string;
}

/** What BigQuery did with the rows of one request. */
export interface InsertOutcome {
  /** Batch indexes inserted. */
  inserted: number[];
  /** Batch indexes worth sending again. */
  retry: number[];
  /** Batch indexes refused for good, with the reasons given. */
  rejected: { index: number; reasons: string[] }[];
}

/**
 * Cut rows into requests of at most `maxRows` rows and `maxBytes` bytes of body. A row that
 * cannot fit any request is returned in `oversized`.
 */
export function splitRequests(
  rows: readonly EncodedRow[],
  maxRows: number,
  maxBytes: number,
): { requests: EncodedRow[][]; oversized: EncodedRow[] } {
  const fixed = REQUEST_HEAD.length + REQUEST_TAIL.length;
  const requests: EncodedRow[][] = [];
  const oversized: EncodedRow[] = [];
  let current: EncodedRow[] = [];
  let bytes = fixed;
  for (const row of rows) {
    const size = byteLength(row.text) + 1;
    if (fixed + size > maxBytes) {
      oversized.push(row);
      continue;
    }
    if (current.length >= maxRows || bytes + size > maxBytes) {
      requests.push(current);
      current = [];
      bytes = fixed;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return { requests, oversized };
}

/**
 * Send one insertAll request and sort its rows by outcome.
 *
 * @example
 * ```ts
 * const outcome = await insertAll(url, tokenSource, rows, 30_000);
 * ```
 */
export async function insertAll(
  url: string,
  tokens: Tokens,
  rows: readonly EncodedRow[],
  timeoutMs: number,
): Promise<InsertOutcome> {
  const body = REQUEST_HEAD + rows.map((r) => r.text).join(",") + REQUEST_TAIL;
  const request = new Request(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await tokens.token()}`,
      "content-type": "application/json; charset=utf-8",
    },
    body,
  });
  const reply = await exchange(request, timeoutMs, "bigquery sink insertAll");
  // A refused token (revoked, or expired early): drop it; the retry fetches a new one.
  if (reply.status === 401) tokens.invalidate();
  if (reply.status !== 200) throw apiError(reply);
  let parsed: { insertErrors?: { index: number; errors?: { reason?: string }[] }[] };
  try {
    parsed = JSON.parse(reply.body);
  } catch (err) {
    throw new SinkError(`bigquery sink: unreadable insertAll reply: ${quote(reply.body)}`, {
      code: "sink_unavailable",
      retryable: true,
      cause: err,
    });
  }
  return sortRows(rows, parsed.insertErrors ?? []);
}

function sortRows(
  rows: readonly EncodedRow[],
  insertErrors: { index: number; errors?: { reason?: string }[] }[],
): InsertOutcome {
  const byPosition = new Map<number, string[]>();
  for (const e of insertErrors) {
    byPosition.set(e.index, (e.errors ?? []).map((x) => x.reason ?? "unknown"));
  }
  const out: InsertOutcome = { inserted: [], retry: [], rejected: [] };
  rows.forEach((row, position) => {
    const reasons = byPosition.get(position);
    if (reasons === undefined) out.inserted.push(row.index);
    else if (reasons.length > 0 && reasons.every((r) => RETRYABLE_ROW_REASONS.has(r))) {
      out.retry.push(row.index);
    } else {out.rejected.push({
        index: row.index,
        reasons: reasons.length > 0 ? reasons : ["unknown"],
      });}
  });
  return out;
}

/** A failed request as a `SinkError`, from its status and Google's error reason. */
export function apiError(reply: HttpReply): SinkError {
  let reason = "";
  let message = quote(reply.body);
  try {
    const e = JSON.parse(reply.body).error as { message?: string; errors?: { reason?: string }[] };
    reason = e?.errors?.[0]?.reason ?? "";
    message = e?.message ?? message;
  } catch {
    // Not Google's JSON error shape (a proxy's page, say): the quoted body is the message.
  }
  // 401: the token was refused; a retry with a new token may work.
  const retryable = isRetryableStatus(reply.status) || reply.status === 401 ||
    RETRYABLE_REASONS.has(reason);
  const hint = reply.status === 404
    ? " (create the table with `main.ts schema --bigquery`, or fix project/dataset/table)"
    : reply.status === 403 && !retryable
    ? " (grant the service account roles/bigquery.dataEditor on the table)"
    : "";
  return new SinkError(
    `bigquery sink: insertAll HTTP ${reply.status} ${reason}: ${message}${hint}`,
    {
      code: retryable ? "sink_unavailable" : "sink_backend_rejected",
      retryable,
      retryAfterMs: retryable ? parseRetryAfter(reply.headers.get("retry-after")) : undefined,
    },
  );
}

function byteLength(text: string): number {
  // ASCII fast path: most rows are; otherwise count UTF-8 bytes exactly.
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : new TextEncoder().encode(text).length;
}
