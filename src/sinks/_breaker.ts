/**
 * A circuit breaker for one sink: closed (writes flow), open (writes wait), half-open (one
 * probe write decides). It opens after `failureThreshold` consecutive retryable failures, and
 * after a cooldown lets one write through as a probe; a failed probe opens it again with the
 * cooldown doubled (up to `maxCooldownMs`), a successful one closes it.
 * Pipeline worker. Never writes or sleeps itself; it only answers "may a write start now" and
 * wakes the waiters when the answer may have changed.
 * @module
 */

/** The breaker's state; `telemetry_sink_breaker_state` exports it as 0, 1, 2. */
export type BreakerState = "closed" | "open" | "half_open";

/** The numeric value of each state for the gauge. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = {
  closed: 0,
  open: 1,
  half_open: 2,
};

/** When the breaker opens and how long it stays open. */
export interface BreakerOptions {
  /** Consecutive retryable failures that open the breaker; 0 turns the breaker off. @default 5 */
  failureThreshold: number;
  /** First wait before a probe (ms). @default 1000 */
  cooldownMs: number;
  /** Largest wait before a probe; the wait doubles after each failed probe (ms). @default 30000 */
  maxCooldownMs: number;
}

/** The defaults: open after 5 failures, probe after 1 s, then 2 s, 4 s … up to 30 s. */
export const DEFAULT_BREAKER: Readonly<BreakerOptions> = Object.freeze({
  failureThreshold: 5,
  cooldownMs: 1000,
  maxCooldownMs: 30_000,
});

/** What a state change means, for the runner's logs. */
export type BreakerEvent =
  | { kind: "opened"; failures: number; cooldownMs: number }
  | { kind: "half_open" }
  | { kind: "closed"; openMs: number };

/** One sink's breaker. `onEvent` runs synchronously on every state change. */
export class CircuitBreaker {
  readonly #o: BreakerOptions;
  readonly #onEvent: (e: BreakerEvent) => void;
  #state: BreakerState = "closed";
  #failures = 0;
  #cooldownMs: number;
  #openedAt = 0;
  #probing = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waiters: (() => void)[] = [];
  #opens = 0;

  constructor(options: BreakerOptions, onEvent: (e: BreakerEvent) => void = () => {}) {
    this.#o = options;
    this.#cooldownMs = options.cooldownMs;
    this.#onEvent = onEvent;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Times the breaker went from closed (or half-open) to open. */
  get opens(): number {
    return this.#opens;
  }

  /**
   * May a write start now? Closed: yes. Half-open: yes for exactly one caller (the probe) until
   * it reports back. Open: no.
   */
  tryAcquire(): boolean {
    if (this.#state === "closed") return true;
    if (this.#state === "half_open" && !this.#probing) {
      this.#probing = true;
      return true;
    }
    return false;
  }

  /** Resolves when `tryAcquire` may give a different answer (or `signal` aborts). */
  changed(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        signal.removeEventListener("abort", wake);
        resolve();
      };
      this.#waiters.push(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  /** A write succeeded: close the breaker. */
  success(): void {
    this.#failures = 0;
    this.#probing = false;
    if (this.#state === "closed") return;
    const openMs = performance.now() - this.#openedAt;
    this.#state = "closed";
    this.#cooldownMs = this.#o.cooldownMs;
    clearTimeout(this.#timer);
    this.#onEvent({ kind: "closed", openMs });
    this.#wake();
  }

  /** A write failed with a retryable error: count it; maybe open. */
  failure(): void {
    this.#failures++;
    const probeFailed = this.#state === "half_open" && this.#probing;
    this.#probing = false;
    if (this.#o.failureThreshold === 0) return;
    if (probeFailed) {
      this.#cooldownMs = Math.min(this.#o.maxCooldownMs, this.#cooldownMs * 2);
      this.#open();
    } else if (this.#state === "closed" && this.#failures >= this.#o.failureThreshold) {
      this.#openedAt = performance.now();
      this.#open();
    }
  }

  /** A write ended without saying anything about the sink's health (e.g. a fatal error). */
  release(): void {
    if (!this.#probing) return;
    this.#probing = false;
    this.#wake();
  }

  /** Skip the rest of the cooldown (used when draining: try once more now). */
  probeNow(): void {
    if (this.#state === "open") this.#halfOpen();
  }

  /** Clear the timer and wake every waiter (at shutdown). */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake();
  }

  #open(): void {
    this.#state = "open";
    this.#opens++;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#halfOpen(), this.#cooldownMs);
    this.#onEvent({ kind: "opened", failures: this.#failures, cooldownMs: this.#cooldownMs });
  }

  #halfOpen(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#state = "half_open";
    this.#probing = false;
    this.#onEvent({ kind: "half_open" });
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}
