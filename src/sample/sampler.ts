/**
 * The head-rate sampler: keeps a record with probability `rate`, decided deterministically from
 * the W3C trace id when the request has one (OpenTelemetry's consistent rule: the trace id's
 * low 56 bits against the threshold (1 − p)·2^56, so every agent and proxy keeping by trace id
 * keeps or drops a trace as a whole), else from a hash of the correlation id. Errors are kept
 * whatever the rate when `always-sample-errors` is on. A kept record's `sample_rate` is its
 * weight 1/p. Pipeline worker.
 * @module
 */

import type { SamplingConfig } from "../config/types.ts";
import type { TelemetryRecord } from "../record/schema.ts";

const TWO_56 = 2 ** 56;

/** Why a record was kept or dropped (bounded; used as a metrics label). */
export type SampleDecision = "kept_rate" | "kept_error" | "sampled_out";

export class Sampler {
  #rate = 1;
  #threshold = 0;
  #keepErrors = true;

  constructor(cfg: SamplingConfig) {
    this.configure(cfg);
  }

  /** Apply new settings (config reload); takes effect for the next record. */
  configure(cfg: SamplingConfig): void {
    this.#rate = cfg.rate;
    this.#threshold = Math.round((1 - cfg.rate) * TWO_56);
    this.#keepErrors = cfg.alwaysSampleErrors;
  }

  /** Decide, and on keep set `record.sample_rate`. */
  decide(record: TelemetryRecord): SampleDecision {
    if (this.#rate >= 1) {
      record.sample_rate = 1;
      return "kept_rate";
    }
    if (this.#keepErrors && record.labels?.is_error) {
      record.sample_rate = 1;
      return "kept_error";
    }
    if (this.#rate > 0 && randomness(record) >= this.#threshold) {
      record.sample_rate = 1 / this.#rate;
      return "kept_rate";
    }
    return "sampled_out";
  }
}

/** 56 bits of randomness: the trace id's low 56 bits, else a hash of the correlation id. */
export function randomness(record: TelemetryRecord): number {
  const t = record.request.trace_id;
  if (t && t.length === 32) {
    return parseInt(t.slice(18, 25), 16) * 2 ** 28 + parseInt(t.slice(25), 16);
  }
  return hash56(record.request.correlation_id);
}

/** FNV-1a over UTF-16 code units, two independent 32-bit lanes folded into 56 bits. */
function hash56(s: string): number {
  let a = 0x811c9dc5, b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 2 ** 24 + ((b >>> 8) & 0xffffff);
}
