/**
 * Errors of the enrichment stage. Only data loading throws; enriching a record never does (what it
 * cannot read is counted and left absent). Each error has a stable `code` for logs and metrics.
 * @module
 */

/** Stable codes of data-loading failures (metric label `reason` of the reload counter). */
export type EnrichErrorCode =
  | "enrich_data_missing"
  | "enrich_data_unreadable"
  | "enrich_data_invalid"
  | "enrich_data_unknown_kind"
  | "enrich_fetch_failed";

/** A data file (database, ASN table, list, manifest) could not be used. */
export class DataFileError extends Error {
  override name = "DataFileError";
  constructor(
    readonly code: EnrichErrorCode,
    readonly file: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${problem}`, options);
  }
}

/** The error text of anything thrown, for logs. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Map a file-system error to a `DataFileError` for `file`. */
export function fileError(e: unknown, file: string): DataFileError {
  if (e instanceof DataFileError) return e;
  if (e instanceof Deno.errors.NotFound) {
    return new DataFileError("enrich_data_missing", file, "file not found", { cause: e });
  }
  return new DataFileError("enrich_data_unreadable", file, errorText(e), { cause: e });
}
