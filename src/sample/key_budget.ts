/**
 * Per-key dynamic sampling against a records-per-second budget. Records are grouped by a key
 * (route, status, country, …); every interval the sampler finds the fair share T such that
 * Σ_k max(floor·c_k, min(c_k, T)) = budget over last interval's counts c_k ("water filling"):
 * a key seen fewer than T times keeps everything (p = 1), a frequent key keeps about T records
 * per interval (p = T / c_k), never below the `rate` floor. Within an interval a key's count so
 * far also counts, so a key that bursts is tightened before the interval ends. Bounded: at most
 * `max-keys` keys per interval, the rest share the key `other`. Pipeline worker.
 * @module
 */

import type { TelemetryRecord } from "../record/schema.ts";

/** The key shared by keys past `max-keys`. */
export const OTHER_KEY = "other";

/** A record field a key can be made of (`sampling { keys … }` names). */
export type KeyPart = (r: TelemetryRecord) => unknown;

const PARTS: Readonly<Record<string, KeyPart>> = {
  route: (r) => r.sentinel?.route_id,
  upstream: (r) => r.sentinel?.upstream_id,
  host: (r) => r.request.host,
  method: (r) => r.request.method,
  path: (r) => r.request.path,
  "path-template": (r) => r.request.path_template ?? r.request.path,
  status: (r) => r.response?.status,
  "status-class": (r) => r.response?.status_class,
  country: (r) => r.geo?.country_iso_code,
  asn: (r) => r.asn?.number,
  "device-type": (r) => r.device?.type,
  "is-bot": (r) => r.labels?.is_bot ?? r.device?.is_bot,
};

/** The key function for a list of part names (unknown names are skipped). */
export function keyOf(parts: readonly string[]): (r: TelemetryRecord) => string {
  const fns = parts.map((p) => PARTS[p]).filter((f): f is KeyPart => f !== undefined);
  return (r) => {
    let k = "";
    for (let i = 0; i < fns.length; i++) {
      const v = fns[i](r);
      k += (i > 0 ? "|" : "") + (v === undefined || v === null ? "-" : String(v));
    }
    return k;
  };
}

/** Options of a key budget. */
export interface KeyBudgetOptions {
  targetPerSecond: number;
  intervalMs: number;
  maxKeys: number;
  /** Lowest probability a key gets (the `rate` setting). */
  floor: number;
}

/** Per-key probabilities, recomputed every interval. */
export class KeyBudget {
  readonly #o: KeyBudgetOptions;
  #cur = new Map<string, number>();
  #prev = new Map<string, number>();
  #start: number;
  /** Fair share in records per interval; Infinity keeps everything. */
  #share: number;
  #lastBase = 1;

  constructor(o: KeyBudgetOptions, nowMs: number) {
    this.#o = o;
    this.#start = nowMs;
    this.#share = this.#budget();
  }

  /** Keys tracked in the current interval. */
  get keys(): number {
    return this.#cur.size;
  }

  /** Current fair share (records per key per interval). */
  get share(): number {
    return this.#share;
  }

  /**
   * Count one record of `key` and return its keep probability. `factor` (0..1] scales the
   * budget and the floor down under overload; a key under the (scaled) share still gets 1.
   */
  probability(key: string, nowMs: number, factor = 1): number {
    if (nowMs - this.#start >= this.#o.intervalMs) this.#roll(nowMs);
    let k = key;
    let n = this.#cur.get(k);
    if (n === undefined && this.#cur.size >= this.#o.maxKeys) {
      k = OTHER_KEY;
      n = this.#cur.get(k);
    }
    n = (n ?? 0) + 1;
    this.#cur.set(k, n);
    const c = Math.max(n, this.#prev.get(k) ?? 0);
    this.#lastBase = this.#p(c, 1);
    return factor === 1 ? this.#lastBase : this.#p(c, factor);
  }

  /** The probability the last record would have had without overload scaling. */
  get lastBase(): number {
    return this.#lastBase;
  }

  #p(count: number, factor: number): number {
    const share = this.#share * factor;
    const p = count <= share ? 1 : share / count;
    return Math.min(1, Math.max(this.#o.floor * factor, p));
  }

  #roll(nowMs: number): void {
    const elapsed = nowMs - this.#start;
    // After an idle gap longer than an interval, last interval's counts say nothing.
    this.#prev = elapsed < 2 * this.#o.intervalMs ? this.#cur : new Map();
    this.#cur = new Map();
    this.#start = nowMs;
    const counts = [...this.#prev.values()];
    this.#share = counts.length > 0
      ? fairShare(counts, this.#budget(), this.#o.floor)
      : this.#budget();
  }

  #budget(): number {
    return this.#o.targetPerSecond * this.#o.intervalMs / 1000;
  }
}

/**
 * The share T with Σ max(floor·c, min(c, T)) = budget (Infinity when everything fits, 0 when
 * the floor alone exceeds the budget). Bisection: 50 steps over [0, max c].
 */
export function fairShare(counts: readonly number[], budget: number, floor: number): number {
  const used = (t: number) => {
    let s = 0;
    for (const c of counts) s += Math.max(floor * c, Math.min(c, t));
    return s;
  };
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  if (used(max) <= budget) return Infinity;
  if (used(0) >= budget) return 0;
  let lo = 0, hi = max;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (used(mid) > budget) hi = mid;
    else lo = mid;
  }
  return lo;
}
