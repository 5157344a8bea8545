/**
 * The sampler: a tail decision per record, made after assembly and enrichment and before
 * redaction. In order: errors (configured statuses and proxy errors), blocked requests
 * (`no_response` partials, 403/429, a blocking proxy decision), threat hits and slow requests
 * are kept with weight 1; everything else is kept with probability p (the `rate`, or the key's
 * rate under per-key budgets), decided from the record's 56 bits of randomness (trace id, else
 * correlation id) so a trace is kept or dropped as a whole (`randomness.ts`). Under overload
 * (hand-off queue past `shed-at`) p is scaled down first; priority keeps are untouched, and a key
 * under its fair share keeps p = 1. A kept record's `sample_rate` is 1/p. Decisions are returned
 * as bounded reasons that label the emitted and dropped counters. Pipeline worker.
 * @module
 */

import type { SamplingConfig } from "../config/types.ts";
import type { TelemetryRecord } from "../record/schema.ts";
import { KeyBudget, keyOf } from "./key_budget.ts";
import { OverloadGauge } from "./overload.ts";
import { keeps, randomness } from "./randomness.ts";
import { resolveSampling, type SamplingSettings } from "./settings.ts";

/** Why a record was kept or dropped (bounded; a metrics label). */
export type SampleDecision =
  | "kept_rate"
  | "kept_key"
  | "kept_error"
  | "kept_blocked"
  | "kept_threat"
  | "kept_slow"
  | "sampled_out"
  | "shed";

/** Every decision, for metrics and docs. */
export const SAMPLE_DECISIONS: readonly SampleDecision[] = [
  "kept_rate",
  "kept_key",
  "kept_error",
  "kept_blocked",
  "kept_threat",
  "kept_slow",
  "sampled_out",
  "shed",
];

/** Whether a decision keeps the record. */
export function isKept(d: SampleDecision): boolean {
  return d !== "sampled_out" && d !== "shed";
}

const BLOCK_DECISIONS = new Set(["block", "blocked", "deny", "denied", "reject", "rejected"]);

/** Options for tests and benchmarks. */
export interface SamplerOptions {
  /** Wall or monotonic clock in ms (default `performance.now()`). */
  now?: () => number;
}

export class Sampler {
  #s!: SamplingSettings;
  #budget: KeyBudget | null = null;
  #key: ((r: TelemetryRecord) => string) | null = null;
  readonly #load: OverloadGauge;
  readonly #now: () => number;

  constructor(cfg: SamplingConfig, opts: SamplerOptions = {}) {
    this.#now = opts.now ?? (() => performance.now());
    this.#load = new OverloadGauge(0.5, 0.01);
    this.configure(cfg);
  }

  /** Apply new settings (config reload); takes effect for the next record. */
  configure(cfg: SamplingConfig): void {
    const s = resolveSampling(cfg);
    const keysChanged = this.#s === undefined || s.keys.join() !== this.#s.keys.join() ||
      s.intervalMs !== this.#s.intervalMs ||
      s.targetRecordsPerSecond !== this.#s.targetRecordsPerSecond ||
      s.maxKeys !== this.#s.maxKeys || s.rate !== this.#s.rate;
    this.#s = s;
    this.#load.configure(s.shedAt, s.shedFloor);
    if (!keysChanged) return;
    this.#key = s.keys.length > 0 ? keyOf(s.keys) : null;
    this.#budget = s.keys.length > 0
      ? new KeyBudget({
        targetPerSecond: s.targetRecordsPerSecond,
        intervalMs: s.intervalMs,
        maxKeys: s.maxKeys,
        floor: s.rate,
      }, this.#now())
      : null;
  }

  /** The hand-off queue depth a batch reported when it left the ack path. */
  observeLoad(queued: number, capacity: number): void {
    this.#load.observe(queued, capacity, this.#now());
  }

  /** Current shedding factor (1: not shedding) and key count, for gauges. */
  stats(): { shedFactor: number; load: number; keys: number } {
    const now = this.#now();
    return {
      shedFactor: this.#load.factor(now),
      load: this.#load.level(now),
      keys: this.#budget?.keys ?? 0,
    };
  }

  /** Decide, and on keep set `record.sample_rate` to 1/p. */
  decide(record: TelemetryRecord): SampleDecision {
    const priority = this.#priority(record);
    if (priority !== null) {
      record.sample_rate = 1;
      return priority;
    }
    const now = this.#now();
    const factor = this.#load.factor(now);
    let p: number, base: number;
    if (this.#budget && this.#key) {
      p = this.#budget.probability(this.#key(record), now, factor);
      base = this.#budget.lastBase;
    } else {
      base = this.#s.rate;
      p = base * factor;
    }
    if (p >= 1) {
      record.sample_rate = 1;
      return this.#budget ? "kept_key" : "kept_rate";
    }
    const r = randomness(record);
    if (keeps(r, p)) {
      record.sample_rate = 1 / p;
      return this.#budget ? "kept_key" : "kept_rate";
    }
    return factor < 1 && keeps(r, base) ? "shed" : "sampled_out";
  }

  #priority(r: TelemetryRecord): SampleDecision | null {
    const s = this.#s;
    const status = r.response?.status;
    if (
      s.keepErrors &&
      (r.sentinel?.error !== undefined || (status !== undefined && s.isErrorStatus(status)))
    ) {
      return "kept_error";
    }
    if (s.keepBlocked && isBlocked(r, s)) return "kept_blocked";
    if (s.keepThreats && isThreat(r, s)) return "kept_threat";
    if (s.slowMs > 0) {
      const t = r.timing?.total_ms ?? r.timing?.upstream_ms;
      if (t !== undefined && t >= s.slowMs) return "kept_slow";
    }
    return null;
  }
}

function isBlocked(r: TelemetryRecord, s: SamplingSettings): boolean {
  if (r.partial_reason === "no_response") return true;
  const status = r.response?.status;
  if (status !== undefined && s.isBlockedStatus(status)) return true;
  const d = r.sentinel?.decision;
  return typeof d === "string" && BLOCK_DECISIONS.has(d.toLowerCase());
}

function isThreat(r: TelemetryRecord, s: SamplingSettings): boolean {
  const t = r.threat;
  if (r.labels?.is_threat === true || t?.is_known_bad === true) return true;
  return s.threatScore !== undefined && typeof t?.score === "number" && t.score >= s.threatScore;
}
