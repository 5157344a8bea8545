/**
 * The redaction stage as the pipeline uses it: builds the redactor from the config section
 * (reading the hash key once), registers its counter, logs the policy at start-up (a warning when
 * redaction is off; never the secret), and applies it so that a record whose redaction fails is
 * never emitted (the caller drops and counts it). Pipeline worker.
 * Emits: telemetry_redactions_total{rule}, telemetry_redaction_failures_total.
 * @module
 */

import type { RedactionConfig } from "../config/types.ts";
import { log } from "../obs/log.ts";
import type { Registry } from "../obs/metrics.ts";
import type { TelemetryRecord } from "../record/schema.ts";
import { describePolicy, headerCopyLists, type RedactionPolicy } from "./policy.ts";
import { createRedactor, type Redactor } from "./redactor.ts";

const FAILURE_LOG_INTERVAL_MS = 10_000;

export class RedactionStage {
  readonly policy: RedactionPolicy;
  /** Header names the record builder copies under this policy. */
  readonly headers: ReturnType<typeof headerCopyLists>;
  readonly #redactor: Redactor;
  readonly #failures;
  #lastFailureLog = -Infinity;

  constructor(cfg: RedactionConfig | undefined, registry: Registry) {
    const counter = registry.counter(
      "telemetry_redactions_total",
      "Values redacted, by rule (detector, pattern, sensitive-key, credential-header, client-ip, field-*, truncated).",
    );
    this.#failures = registry.counter(
      "telemetry_redaction_failures_total",
      "Records dropped because redaction failed (never emitted unredacted).",
      true,
    );
    const children = new Map<string, { inc(by?: number): void }>();
    const count = (rule: string) => {
      let c = children.get(rule);
      if (!c) children.set(rule, c = counter.child({ rule }));
      c.inc();
    };
    const r = createRedactor(cfg, count);
    this.policy = r.policy;
    this.#redactor = r.redactor;
    this.headers = headerCopyLists(r.policy);
    if (!r.policy.enabled) {
      log(
        "warn",
        "redaction is OFF (redaction { enabled false }): values leave the agent unscanned; credential headers stay protected",
        describePolicy(r.policy),
      );
    } else log("info", "redaction policy", describePolicy(r.policy));
  }

  /** Redact in place; false (counted, logged once per interval) when it failed. */
  apply(record: TelemetryRecord): boolean {
    try {
      this.#redactor.apply(record);
      return true;
    } catch (e) {
      this.#failures.inc();
      const now = performance.now();
      if (now - this.#lastFailureLog >= FAILURE_LOG_INTERVAL_MS) {
        this.#lastFailureLog = now;
        log("error", "redaction failed; record dropped", {
          error: e instanceof Error ? e.message : String(e),
          failures: this.#failures.total(),
        });
      }
      return false;
    }
  }
}
