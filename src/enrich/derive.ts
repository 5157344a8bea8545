/**
 * Derived, ML-ready fields: `request.path_template`, body size buckets, UTC hour of day and ISO
 * day of week, and the labels `is_slow`, `is_bot`, `is_threat`, `is_blocked` (with `is_error`
 * from the record builder). Runs last in enrichment, after device, threat and sentinel.
 * Pure functions (the path-template cache is the caller's).
 * @module
 */

import type { SizeBucket, TelemetryRecord } from "../record/schema.ts";

/** Thresholds for the labels. */
export interface LabelRules {
  slowThresholdMs: number;
  threatThreshold: number;
}

/** Body size → bucket; `undefined` for an unknown size. */
export function sizeBucket(bytes: number | undefined): SizeBucket | undefined {
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return undefined;
  if (bytes === 0) return "0";
  if (bytes < 1024) return "1B-1KiB";
  if (bytes < 10 * 1024) return "1-10KiB";
  if (bytes < 100 * 1024) return "10-100KiB";
  if (bytes < 1024 * 1024) return "100KiB-1MiB";
  if (bytes < 10 * 1024 * 1024) return "1-10MiB";
  return "10MiB+";
}

/**
 * Size buckets, time features and labels on `record` (path_template is set by the caller);
 * `blocked` is undefined when the sentinel enrichment is off.
 */
export function applyDerived(
  record: TelemetryRecord,
  rules: LabelRules,
  blocked: boolean | undefined,
): void {
  const req = record.request;
  const reqBucket = sizeBucket(req.body_bytes ?? contentLength(req.headers));
  if (reqBucket) req.body_size_bucket = reqBucket;
  const res = record.response;
  if (res) {
    const b = sizeBucket(res.body_bytes ?? contentLength(res.headers));
    if (b) res.body_size_bucket = b;
  }
  timeFeatures(record);
  const labels = record.labels ??= {};
  const ms = record.timing?.total_ms ?? record.timing?.upstream_ms;
  if (ms !== undefined) labels.is_slow = ms >= rules.slowThresholdMs;
  if (record.device?.is_bot !== undefined) labels.is_bot = record.device.is_bot;
  if (record.threat?.score !== undefined) {
    labels.is_threat = record.threat.score >= rules.threatThreshold;
  }
  if (blocked !== undefined) labels.is_blocked = blocked;
}

/** `request.hour_of_day` (0–23) and `day_of_week` (1 = Monday … 7 = Sunday), both UTC. */
function timeFeatures(record: TelemetryRecord): void {
  // The record builder writes RFC 3339 UTC (`2026-03-01T12:00:00.123Z`): read the fields directly.
  const ts = record.timestamp;
  const hour = Number(ts.slice(11, 13));
  if (ts.length < 20 || ts[10] !== "T" || !(hour >= 0 && hour <= 23)) return;
  const day = ts.slice(0, 10);
  let dow = weekdays.get(day);
  if (dow === undefined) {
    const ms = Date.parse(`${day}T00:00:00Z`);
    if (Number.isNaN(ms)) return;
    const d = new Date(ms).getUTCDay();
    dow = d === 0 ? 7 : d;
    if (weekdays.size > 1000) weekdays.clear();
    weekdays.set(day, dow);
  }
  record.request.hour_of_day = hour;
  record.request.day_of_week = dow;
}

/** ISO weekday by `YYYY-MM-DD` (a handful of days are live at a time; bounded at 1000). */
const weekdays = new Map<string, number>();

function contentLength(h: Record<string, string[]> | undefined): number | undefined {
  const v = h?.["content-length"]?.[0];
  if (v === undefined || !/^\d{1,15}$/.test(v)) return undefined;
  return Number(v);
}
