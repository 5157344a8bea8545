/**
 * Retry delays: exponential backoff with full jitter (delay = random × min(cap, base × 2^retry)).
 * Pure functions, any thread. Never sleeps itself; the runner owns the timers.
 * @module
 */

/** How the runner spaces retries of one batch. */
export interface BackoffOptions {
  /** First retry's upper bound in ms. @default 100 */
  baseMs: number;
  /** Largest upper bound in ms. @default 10000 */
  capMs: number;
  /** Retries after the first attempt before the batch is dropped. @default 5 */
  maxRetries: number;
}

/** The defaults: base 100 ms, cap 10 s, 5 retries. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  baseMs: 100,
  capMs: 10_000,
  maxRetries: 5,
});

/** Error thrown when backoff options are out of range. */
export class BackoffOptionsError extends Error {
  readonly code = "backoff_invalid_option";
  constructor(message: string) {
    super(message);
    this.name = "BackoffOptionsError";
  }
}

/**
 * Fill in defaults and check ranges.
 *
 * @example
 * ```ts
 * const opts = resolveBackoff({ baseMs: 10 }); // { baseMs: 10, capMs: 10000, maxRetries: 5 }
 * ```
 */
export function resolveBackoff(partial: Partial<BackoffOptions> = {}): BackoffOptions {
  const {
    baseMs = DEFAULT_BACKOFF.baseMs,
    capMs = DEFAULT_BACKOFF.capMs,
    maxRetries = DEFAULT_BACKOFF.maxRetries,
  } = partial;
  check("baseMs", baseMs, Number.isFinite(baseMs) && baseMs >= 0, "a finite number >= 0");
  check("capMs", capMs, Number.isFinite(capMs) && capMs >= baseMs, "a finite number >= baseMs");
  check(
    "maxRetries",
    maxRetries,
    Number.isInteger(maxRetries) && maxRetries >= 0,
    "an integer >= 0",
  );
  return { baseMs, capMs, maxRetries };
}

/**
 * Delay in ms before retry number `retry` (0 for the first retry), with full jitter.
 *
 * @example
 * ```ts
 * const ms = backoffDelayMs(2, resolveBackoff()); // uniformly in [0, 400)
 * ```
 */
export function backoffDelayMs(
  retry: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, retry));
  return Math.floor(random() * exp);
}

function check(name: string, value: number, ok: boolean, rule: string): void {
  if (!ok) {
    throw new BackoffOptionsError(
      `Cannot create backoff as '${name}' must be ${rule}: current value is ${value}`,
    );
  }
}
