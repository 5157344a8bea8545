/**
 * `sentinel.*` beyond what the events carry (route, upstream and request id are set by the record
 * builder): the decision, risk score and matched rules that other Sentinel agents put in headers
 * (names configurable, request headers first, then response headers), and blocks the agent
 * infers — from a response status the proxy uses for blocks, or from a request that never got
 * response headers. Inferred decisions say so in `decision_source`. Pure functions.
 * @module
 */

import type { SentinelGroup, TelemetryRecord } from "../record/schema.ts";

/** The header names and block statuses to use (from the enrichment config). */
export interface SentinelRules {
  decisionHeaders: readonly string[];
  riskScoreHeaders: readonly string[];
  matchedRulesHeaders: readonly string[];
  /** Codes, `"4xx"` classes or `"500-504"` ranges. */
  blockStatuses: readonly (number | string)[];
}

type Headers = Record<string, unknown>;

/** Most matched rules kept per record (ids beyond are dropped; a header is client-visible). */
const MAX_RULES = 32;

/** Fill decision, risk score, matched rules in `record.sentinel`; return whether it was a block. */
export function applySentinel(
  record: TelemetryRecord,
  req: Headers,
  res: Headers,
  rules: SentinelRules,
): boolean {
  const g: SentinelGroup = record.sentinel ??= {};
  const decision = firstHeader(rules.decisionHeaders, req, res);
  if (decision !== undefined) {
    g.decision = decision.trim().toLowerCase().slice(0, 64);
    g.decision_source = "header";
  }
  const risk = firstHeader(rules.riskScoreHeaders, req, res);
  const score = risk === undefined ? NaN : Number(risk.trim());
  if (Number.isFinite(score)) g.risk_score = score;
  const matched = allValues(rules.matchedRulesHeaders, req, res);
  if (matched.length > 0) g.matched_rules = matched;
  if (g.decision === undefined) inferBlock(record, g, rules.blockStatuses);
  return g.decision === "block" || g.decision === "deny" || g.decision === "blocked";
}

function inferBlock(r: TelemetryRecord, g: SentinelGroup, statuses: readonly (number | string)[]) {
  const status = r.response?.status;
  if (status !== undefined && statusMatches(status, statuses)) {
    g.decision = "block";
    g.decision_source = "inferred_status";
  } else if (r.partial_reason === "no_response") {
    g.decision = "block";
    g.decision_source = "inferred_no_response";
  }
}

/** Whether `status` is one of the configured codes, classes (`4xx`) or ranges (`500-504`). */
export function statusMatches(status: number, list: readonly (number | string)[]): boolean {
  for (const s of list) {
    if (typeof s === "number") {
      if (s === status) return true;
    } else if (/^[1-5]xx$/.test(s)) {
      if (Math.floor(status / 100) === Number(s[0])) return true;
    } else {
      const [a, b] = s.split("-").map(Number);
      if (status >= a && status <= b) return true;
    }
  }
  return false;
}

function firstHeader(names: readonly string[], ...sets: Headers[]): string | undefined {
  for (const h of sets) {
    for (const n of names) {
      const v = h[n];
      if (Array.isArray(v) && typeof v[0] === "string" && v[0].trim() !== "") return v[0];
    }
  }
  return undefined;
}

function allValues(names: readonly string[], ...sets: Headers[]): string[] {
  const out = new Set<string>();
  for (const h of sets) {
    for (const n of names) {
      const v = h[n];
      if (!Array.isArray(v)) continue;
      for (const item of v) {
        if (typeof item !== "string") continue;
        for (const id of item.split(",")) {
          const t = id.trim();
          if (t !== "" && out.size < MAX_RULES) out.add(t.slice(0, 128));
        }
      }
    }
  }
  return [...out];
}
