/**
 * The sink runner's options: their types, defaults and range checks.
 * Pipeline worker (at start-up). Pure; throws `SinkRunnerOptionsError` on a bad value.
 * @module
 */

import { type BackoffOptions, resolveBackoff } from "./backoff.ts";
import type { SinkDeps } from "./contract.ts";
import { type BreakerOptions, DEFAULT_BREAKER } from "./_breaker.ts";
import type { RecordFilter } from "./_filter.ts";
import type { SpoolOptions } from "../spool/options.ts";

/** How a runner batches, queues and retries. */
export interface SinkRunnerOptions {
  /** Cut a batch once it holds this many records. */
  batchSize: number;
  /** Cut a non-empty batch at the latest this long after its first record (ms). */
  flushIntervalMs: number;
  /** Batches written at once. @default 1 */
  maxInFlight?: number;
  /** Records held (batching, waiting, in flight); beyond it the newest is dropped. @default 10 × batchSize */
  maxQueueRecords?: number;
  /** Retry spacing. @default { baseMs: 100, capMs: 10000, maxRetries: 5 } */
  backoff?: Partial<BackoffOptions>;
  /** Circuit breaker. @default { failureThreshold: 5, cooldownMs: 1000, maxCooldownMs: 30000 } */
  breaker?: Partial<BreakerOptions>;
  /** Which records the sink gets; others are counted as filtered. @default every record */
  filter?: RecordFilter;
  /** Where log lines go. @default obs/log.ts `log` */
  log?: SinkDeps["log"];
  /** At most one log line per reason per this many ms. @default 10000 */
  logIntervalMs?: number;
  /** Extra time `sink.close()` gets beyond the drain deadline (ms). @default 1000 */
  closeGraceMs?: number;
  /** Source of jitter in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * A durable spool for batches the sink cannot take (breaker open, retries exhausted, queue
   * over half full, shutdown deadline), replayed in order. @default none: those batches drop
   */
  spool?: SpoolOptions;
}

/** Options with every default filled in and checked. */
export type ResolvedRunnerOptions =
  & Required<Omit<SinkRunnerOptions, "backoff" | "breaker" | "log" | "filter" | "spool">>
  & {
    backoff: BackoffOptions;
    breaker: BreakerOptions;
    log?: SinkDeps["log"];
    filter?: RecordFilter;
    spool?: SpoolOptions;
  };

/** Error for runner options out of range. */
export class SinkRunnerOptionsError extends Error {
  readonly code = "runner_invalid_option";
  constructor(message: string) {
    super(message);
    this.name = "SinkRunnerOptionsError";
  }
}

/** Fill in defaults and check every range. */
export function resolveRunnerOptions(options: SinkRunnerOptions): ResolvedRunnerOptions {
  const {
    batchSize,
    flushIntervalMs,
    maxInFlight = 1,
    maxQueueRecords = 10 * batchSize,
    logIntervalMs = 10_000,
    closeGraceMs = 1000,
    random = Math.random,
  } = options;
  checkInt("batchSize", batchSize, 1);
  checkInt("flushIntervalMs", flushIntervalMs, 1);
  checkInt("maxInFlight", maxInFlight, 1);
  checkInt("maxQueueRecords", maxQueueRecords, batchSize);
  checkInt("logIntervalMs", logIntervalMs, 0);
  checkInt("closeGraceMs", closeGraceMs, 0);
  return {
    batchSize,
    flushIntervalMs,
    maxInFlight,
    maxQueueRecords,
    logIntervalMs,
    closeGraceMs,
    random,
    backoff: resolveBackoff(options.backoff),
    breaker: resolveBreaker(options.breaker),
    log: options.log,
    filter: options.filter,
    spool: options.spool,
  };
}

function resolveBreaker(partial: Partial<BreakerOptions> = {}): BreakerOptions {
  const {
    failureThreshold = DEFAULT_BREAKER.failureThreshold,
    cooldownMs = DEFAULT_BREAKER.cooldownMs,
    maxCooldownMs = Math.max(DEFAULT_BREAKER.maxCooldownMs, cooldownMs),
  } = partial;
  checkInt("breaker.failureThreshold", failureThreshold, 0);
  checkInt("breaker.cooldownMs", cooldownMs, 1);
  checkInt("breaker.maxCooldownMs", maxCooldownMs, cooldownMs);
  return { failureThreshold, cooldownMs, maxCooldownMs };
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new SinkRunnerOptionsError(
      `Cannot create sink runner as '${name}' must be an integer >= ${min}: current value is ${value}`,
    );
  }
}
