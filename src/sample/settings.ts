/**
 * The sampler's effective settings: a `sampling { … }` section with every absent key at its
 * default, status lists turned into fast matchers. Pure; pipeline worker.
 * @module
 */

import type { SamplingConfig } from "../config/types.ts";

/** Defaults of the optional `sampling` keys (docs/sampling.md). */
export const SAMPLING_DEFAULTS = {
  errorStatuses: ["5xx"] as (number | string)[],
  slowMs: 1000,
  keepThreats: true,
  keepBlocked: true,
  blockedStatuses: [403, 429] as (number | string)[],
  targetRecordsPerSecond: 1000,
  intervalMs: 10_000,
  maxKeys: 10_000,
  shedAt: 0.5,
  shedFloor: 0.01,
} as const;

/** Everything the sampler needs, resolved. */
export interface SamplingSettings {
  rate: number;
  keepErrors: boolean;
  isErrorStatus: (status: number) => boolean;
  /** 0: off. */
  slowMs: number;
  keepThreats: boolean;
  threatScore?: number;
  keepBlocked: boolean;
  isBlockedStatus: (status: number) => boolean;
  /** Per-key sampling when non-empty. */
  keys: string[];
  targetRecordsPerSecond: number;
  intervalMs: number;
  maxKeys: number;
  shedAt: number;
  shedFloor: number;
}

/** Resolve a config section: absent keys take `SAMPLING_DEFAULTS`. */
export function resolveSampling(cfg: SamplingConfig): SamplingSettings {
  const d = SAMPLING_DEFAULTS;
  return {
    rate: cfg.rate,
    keepErrors: cfg.alwaysSampleErrors,
    isErrorStatus: statusMatcher(cfg.errorStatuses ?? d.errorStatuses),
    slowMs: cfg.slowMs ?? d.slowMs,
    keepThreats: cfg.keepThreats ?? d.keepThreats,
    threatScore: cfg.threatScore,
    keepBlocked: cfg.keepBlocked ?? d.keepBlocked,
    isBlockedStatus: statusMatcher(cfg.blockedStatuses ?? d.blockedStatuses),
    keys: cfg.keys ?? [],
    targetRecordsPerSecond: cfg.targetRecordsPerSecond ?? d.targetRecordsPerSecond,
    intervalMs: cfg.intervalMs ?? d.intervalMs,
    maxKeys: cfg.maxKeys ?? d.maxKeys,
    shedAt: cfg.shedAt ?? d.shedAt,
    shedFloor: cfg.shedFloor ?? d.shedFloor,
  };
}

/** A matcher for codes (`502`), classes (`"5xx"`) and ranges (`"500-504"`). */
export function statusMatcher(list: readonly (number | string)[]): (status: number) => boolean {
  const hit = new Uint8Array(600);
  for (const item of list) {
    let lo: number, hi: number;
    if (typeof item === "number") lo = hi = item;
    else if (/^[1-5]xx$/i.test(item)) {
      [lo, hi] = [Number(item[0]) * 100, Number(item[0]) * 100 + 99];
    } else {
      const m = /^(\d{3})-(\d{3})$/.exec(item);
      if (m) [lo, hi] = [Number(m[1]), Number(m[2])];
      else lo = hi = Number(item);
    }
    for (let s = Math.max(0, lo); s <= Math.min(599, hi); s++) hit[s] = 1;
  }
  return (status) => status >= 0 && status < 600 && hit[status] === 1;
}

/** The optional `sampling` keys a config sets, kebab-case, for `--print-config`. */
export function samplingExtrasToJson(cfg: SamplingConfig): Record<string, unknown> {
  const names: [keyof SamplingConfig, string][] = [
    ["errorStatuses", "error-statuses"],
    ["slowMs", "slow-ms"],
    ["keepThreats", "keep-threats"],
    ["threatScore", "threat-score"],
    ["keepBlocked", "keep-blocked"],
    ["blockedStatuses", "blocked-statuses"],
    ["keys", "keys"],
    ["targetRecordsPerSecond", "target-records-per-second"],
    ["intervalMs", "interval-ms"],
    ["maxKeys", "max-keys"],
    ["shedAt", "shed-at"],
    ["shedFloor", "shed-floor"],
  ];
  const out: Record<string, unknown> = {};
  for (const [prop, key] of names) {
    const v = cfg[prop];
    if (v !== undefined) out[key] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}
