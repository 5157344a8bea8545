/**
 * The spool's metric families, declared once, and its `/healthz` summary, both from the sink
 * runners' stats (label `sink`, the configured name; sinks without a spool are left out).
 * Pipeline worker, at scrape time. Pure.
 * Emits: telemetry_spool_*{sink}.
 * @module
 */

import type { SinkStats } from "../sinks/_accounting.ts";
import type { SpoolStats } from "./spool.ts";

type Source = (s: SinkStats, p: SpoolStats) => number;

/** name, type, help, value: every telemetry_spool_* family. */
export const SPOOL_FAMILIES: readonly (readonly [string, "counter" | "gauge", string, Source])[] = [
  ["telemetry_spool_bytes", "gauge", "Bytes of spool segment files.", (_, p) => p.bytes],
  ["telemetry_spool_max_bytes", "gauge", "The spool's cap (max-bytes).", (_, p) => p.maxBytes],
  ["telemetry_spool_segments", "gauge", "Spool segment files.", (_, p) => p.segments],
  ["telemetry_spool_records", "gauge", "Records held in the spool.", (_, p) => p.records],
  ["telemetry_spool_events", "gauge", "Events in records held in the spool.", (_, p) => p.events],
  [
    "telemetry_spool_oldest_age_seconds",
    "gauge",
    "Age of the oldest batch not yet delivered from the spool.",
    (_, p) => Math.round(p.oldestSeconds * 1000) / 1000,
  ],
  [
    "telemetry_spool_records_written_total",
    "counter",
    "Records written to the spool.",
    (s) => s.recordsSpooledTotal,
  ],
  [
    "telemetry_spool_events_written_total",
    "counter",
    "Events in records written to the spool.",
    (s) => s.eventsSpooledTotal,
  ],
  [
    "telemetry_spool_records_recovered_total",
    "counter",
    "Records found intact in the spool at start-up.",
    (s) => s.recordsRecovered,
  ],
  [
    "telemetry_spool_events_recovered_total",
    "counter",
    "Events in records found intact in the spool at start-up.",
    (s) => s.eventsRecovered,
  ],
  ["telemetry_spool_fsyncs_total", "counter", "fdatasync calls on segments.", (_, p) => p.fsyncs],
  [
    "telemetry_spool_write_errors_total",
    "counter",
    "Spool file operations that failed (not disk full).",
    (_, p) => p.writeErrors,
  ],
  [
    "telemetry_spool_full_total",
    "counter",
    "Times the full-policy acted (cap reached or disk full).",
    (_, p) => p.fullEvents,
  ],
  [
    "telemetry_spool_torn_frames_total",
    "counter",
    "Torn or corrupt frames skipped by start-up recovery.",
    (_, p) => p.recovery.damage.frames,
  ],
  [
    "telemetry_spool_torn_bytes_total",
    "counter",
    "Bytes skipped by start-up recovery.",
    (_, p) => p.recovery.damage.bytes,
  ],
  [
    "telemetry_spool_torn_events_total",
    "counter",
    "Events in frames start-up recovery skipped (from headers that survived).",
    (_, p) => p.recovery.damage.events,
  ],
  [
    "telemetry_spool_unclean_stops_total",
    "counter",
    "1 when the previous run stopped without closing the spool (crash, kill -9).",
    (_, p) => p.recovery.uncleanStop ? 1 : 0,
  ],
  [
    "telemetry_spool_crash_held_events",
    "gauge",
    "Events the previous run held in memory at its last checkpoint before an unclean stop.",
    (_, p) => p.recovery.heldEventsAtLastCheckpoint,
  ],
  [
    "telemetry_spool_recovery_seconds",
    "gauge",
    "Time start-up recovery took.",
    (_, p) => Math.round(p.recovery.seconds * 1e6) / 1e6,
  ],
];

/** Render every family for the runners that have a spool (empty string when none has). */
export function renderSpoolStats(runners: readonly { name: string; stats(): SinkStats }[]): string {
  const rows = runners.flatMap((r) => {
    const s = r.stats();
    return s.spool === null ? [] : [[r.name, s, s.spool] as const];
  });
  if (rows.length === 0) return "";
  const out: string[] = [];
  for (const [name, type, help, value] of SPOOL_FAMILIES) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [sink, s, p] of rows) out.push(`${name}{sink="${sink}"} ${value(s, p)}`);
  }
  return out.join("\n") + "\n";
}

/** One sink's spool in `/healthz`. */
export type SpoolHealth = {
  sink: string;
  /** `empty`, `holding` (a backlog waits or replays) or `full` (at 90% of the cap or more). */
  state: "empty" | "holding" | "full";
  bytes: number;
  max_bytes: number;
  segments: number;
  records: number;
  oldest_age_seconds: number;
};

/** The `/healthz` view of every spool. */
export function spoolHealth(
  runners: readonly { name: string; stats(): SinkStats }[],
): SpoolHealth[] {
  return runners.flatMap((r) => {
    const p = r.stats().spool;
    if (p === null) return [];
    const state = p.bytes >= 0.9 * p.maxBytes ? "full" : p.records > 0 ? "holding" : "empty";
    return [{
      sink: r.name,
      state,
      bytes: p.bytes,
      max_bytes: p.maxBytes,
      segments: p.segments,
      records: p.records,
      oldest_age_seconds: Math.round(p.oldestSeconds * 10) / 10,
    }];
  });
}
