/**
 * The BigQuery sink's options: kebab-case keys as written in KDL, their defaults and limits.
 * Pipeline worker (at start-up). Pure: reads nothing.
 * @module
 */

import { httpUrl, OptionReader } from "../_options.ts";

/** `tabledata.insertAll` accepts at most this many rows per request. */
export const MAX_ROWS_PER_REQUEST = 50_000;
/** BigQuery's HTTP request size limit for streaming inserts. */
export const MAX_REQUEST_BYTES = 10_000_000;

const ID_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.:-]*$/;
const TABLE_RE = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd} ]{1,1024}$/u;

export interface BigQuerySinkOptions {
  project: string;
  dataset: string;
  table: string;
  /** Service-account JSON key file. */
  credentialsFile: string;
  /** API base, e.g. `https://bigquery.googleapis.com`. */
  endpoint: string;
  /** OAuth 2.0 token endpoint the signed JWT is exchanged at. */
  tokenUrl: string;
  maxRowsPerRequest: number;
  maxRequestBytes: number;
  timeoutMs: number;
  /** Where rows BigQuery refuses for good are appended (NDJSON); none: such a batch fails. */
  deadLetterDirectory?: string;
}

/**
 * Parse the BigQuery sink's options. Throws `SinkError` (`sink_config`) listing every problem.
 *
 * @example
 * ```ts
 * parseBigQuerySinkOptions({ project: "p", dataset: "edge", table: "requests",
 *   "credentials-file": "/etc/telemetry/bq-key.json" });
 * ```
 */
export function parseBigQuerySinkOptions(options: Record<string, unknown>): BigQuerySinkOptions {
  const r = new OptionReader("bigquery sink", options);
  const id = (what: string) => (v: string) => ID_RE.test(v) ? undefined : `must be a ${what}`;
  const o: BigQuerySinkOptions = {
    project: r.string("project", { required: true, rule: id("project id") }),
    dataset: r.string("dataset", { required: true, rule: id("dataset id") }),
    table: r.string("table", {
      required: true,
      rule: (v) => TABLE_RE.test(v) ? undefined : "must be a table name",
    }),
    credentialsFile: r.string("credentials-file", { required: true }),
    endpoint: (r.string("endpoint", { rule: httpUrl }) ?? "https://bigquery.googleapis.com")
      .replace(/\/+$/, ""),
    tokenUrl: r.string("token-url", { rule: httpUrl }) ?? "https://oauth2.googleapis.com/token",
    maxRowsPerRequest: r.int("max-rows-per-request", 500, { min: 1, max: MAX_ROWS_PER_REQUEST }),
    maxRequestBytes: r.int("max-request-bytes", 9_000_000, {
      min: 10_000,
      max: MAX_REQUEST_BYTES,
    }),
    timeoutMs: r.int("timeout-ms", 30_000, { min: 1, max: 600_000 }),
    deadLetterDirectory: r.string("dead-letter-directory"),
  };
  r.finish();
  return o;
}

/** `host:port` names the sink connects to, for `--allow-net`. */
export function bigQueryHosts(options: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (
    const [key, fallback] of [
      ["endpoint", "https://bigquery.googleapis.com"],
      ["token-url", "https://oauth2.googleapis.com/token"],
    ]
  ) {
    const v = typeof options[key] === "string" ? options[key] as string : fallback;
    try {
      const u = new URL(v);
      out.push(`${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`);
    } catch {
      // Not a URL: the sink's parser refuses it with a clear message.
    }
  }
  return out;
}
