/**
 * Classifies I/O errors for the local sinks: a retry may help (disk full, I/O error, file
 * vanished) or it cannot (permission, not a directory, read-only file system, closed pipe).
 * Any thread. Pure; never logs.
 * @module
 */

import { SinkError } from "./contract.ts";

const FATAL_CODES = new Set([
  "EACCES",
  "EPERM",
  "ENOTDIR",
  "EISDIR",
  "EROFS",
  "ENAMETOOLONG",
  "EPIPE",
]);

/** Wrap an I/O failure as a `SinkError` with code `sink_io`; `what` names the operation. */
export function ioError(err: unknown, what: string): SinkError {
  const message = err instanceof Error ? err.message : String(err);
  return new SinkError(`${what}: ${message}`, {
    code: "sink_io",
    retryable: !isFatalIo(err),
    cause: err,
  });
}

/** True when retrying the same operation cannot succeed without an operator's change. */
export function isFatalIo(err: unknown): boolean {
  if (
    err instanceof Deno.errors.PermissionDenied ||
    err instanceof Deno.errors.NotCapable ||
    err instanceof Deno.errors.NotADirectory ||
    err instanceof Deno.errors.IsADirectory ||
    err instanceof Deno.errors.BrokenPipe
  ) {
    return true;
  }
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && FATAL_CODES.has(code);
}
