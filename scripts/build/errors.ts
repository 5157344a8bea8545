/**
 * The build's errors: one class with a stable `code` and a message that says what to provide.
 * Build time only (`deno task build`).
 * @module
 */

/** Stable codes of `BuildError`. */
export type BuildErrorCode =
  | "build_bad_argument"
  | "build_unknown_target"
  | "build_config_invalid"
  | "build_runtime_unavailable"
  | "build_runtime_missing"
  | "build_runtime_wrong_arch"
  | "build_compile_failed"
  | "build_smoke_failed";

/** A build step failed; `message` says what is wrong and how to fix it. */
export class BuildError extends Error {
  override name = "BuildError";
  constructor(readonly code: BuildErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
