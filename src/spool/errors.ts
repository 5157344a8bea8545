/**
 * The spool's errors, each with a stable `code`: a bad setting (`spool_config`), an I/O failure
 * that is not disk-full (`spool_io`), and a segment whose header is not a spool's
 * (`spool_corrupt`). Disk full and a reached cap are not errors: they are the full-policy's
 * business and only counted.
 * Any thread. Pure.
 * @module
 */

/** Stable codes of `SpoolError`. */
export type SpoolErrorCode = "spool_config" | "spool_io" | "spool_corrupt";

/** A spool failure; `cause` holds the underlying error when there is one. */
export class SpoolError extends Error {
  readonly code: SpoolErrorCode;
  constructor(message: string, options: { code: SpoolErrorCode; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "SpoolError";
    this.code = options.code;
  }
}

/** True for "no space left on device" (and a quota that is exhausted). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  const message = err instanceof Error ? err.message : "";
  return /No space left on device|os error 28\b|Disk quota exceeded|os error 122\b/.test(message);
}
