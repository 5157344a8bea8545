/**
 * Renders every sink runner's statistics as the shared `telemetry_sink_*` families, label `sink`
 * (the configured name), plus `reason` for drops and `code` for failures (both bounded lists).
 * For each sink: events_received = events_filtered + events_sent + events_dropped + queue_events.
 * Pipeline worker, at scrape time.
 * @module
 */

import { DROP_REASONS, type SinkRunner, WRITE_SECONDS_BUCKETS } from "../sinks/runner.ts";
import type { SinkStats } from "../sinks/runner.ts";

type NumberField = {
  [K in keyof SinkStats]: SinkStats[K] extends number ? K : never;
}[keyof SinkStats];

const FAMILIES: readonly (readonly [string, "counter" | "gauge", string, NumberField])[] = [
  [
    "telemetry_sink_records_received_total",
    "counter",
    "Records handed to a sink runner.",
    "recordsPushed",
  ],
  [
    "telemetry_sink_events_received_total",
    "counter",
    "Events in records handed to a sink runner.",
    "eventsPushed",
  ],
  [
    "telemetry_sink_records_filtered_total",
    "counter",
    "Records a sink's filter left out (intentional).",
    "recordsFiltered",
  ],
  [
    "telemetry_sink_events_filtered_total",
    "counter",
    "Events in records a sink's filter left out.",
    "eventsFiltered",
  ],
  ["telemetry_sink_batches_sent_total", "counter", "Batches a sink accepted.", "batchesSent"],
  ["telemetry_sink_records_sent_total", "counter", "Records a sink accepted.", "recordsSent"],
  [
    "telemetry_sink_events_sent_total",
    "counter",
    "Events in records a sink accepted.",
    "eventsSent",
  ],
  ["telemetry_sink_sent_bytes_total", "counter", "Bytes a sink accepted.", "bytesSent"],
  ["telemetry_sink_retries_total", "counter", "Write attempts that retried a batch.", "retries"],
  ["telemetry_sink_queue_records", "gauge", "Records held by a sink runner.", "queuedRecords"],
  [
    "telemetry_sink_queue_events",
    "gauge",
    "Events in records held by a sink runner.",
    "queuedEvents",
  ],
  [
    "telemetry_sink_queue_capacity_records",
    "gauge",
    "Records a sink runner may hold.",
    "queueCapacityRecords",
  ],
  [
    "telemetry_sink_in_flight_batches",
    "gauge",
    "Batches being written, retried or held by the breaker.",
    "inFlightBatches",
  ],
  [
    "telemetry_sink_breaker_state",
    "gauge",
    "Circuit breaker: 0 closed, 1 open, 2 half-open.",
    "breakerState",
  ],
  [
    "telemetry_sink_breaker_opens_total",
    "counter",
    "Times a sink's circuit breaker opened.",
    "breakerOpens",
  ],
];

/** Failure codes always exported (zero until seen), so rates exist from the start. */
const KNOWN_CODES = [
  "sink_io",
  "sink_unavailable",
  "sink_backend_rejected",
  "sink_config",
  "unexpected",
];

export function renderSinkStats(runners: SinkRunner[]): string {
  const stats = runners.map((r) => [r.name, r.stats()] as const);
  const out: string[] = [];
  for (const [name, type, help, field] of FAMILIES) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [sink, s] of stats) out.push(`${name}{sink="${sink}"} ${s[field]}`);
  }
  renderFailures(stats, out);
  renderDurations(stats, out);
  const dropped = "telemetry_sink_records_dropped_total";
  out.push(`# HELP ${dropped} Records a sink runner gave up on, by reason.`);
  out.push(`# TYPE ${dropped} counter`);
  for (const [sink, s] of stats) {
    for (const reason of DROP_REASONS) {
      out.push(`${dropped}{reason="${reason}",sink="${sink}"} ${s.droppedRecords[reason]}`);
    }
  }
  const droppedEvents = "telemetry_sink_events_dropped_total";
  out.push(`# HELP ${droppedEvents} Events in records a sink runner gave up on, by reason.`);
  out.push(`# TYPE ${droppedEvents} counter`);
  for (const [sink, s] of stats) {
    for (const reason of DROP_REASONS) {
      out.push(`${droppedEvents}{reason="${reason}",sink="${sink}"} ${s.droppedEvents[reason]}`);
    }
  }
  return out.join("\n") + "\n";
}

function renderFailures(stats: readonly (readonly [string, SinkStats])[], out: string[]): void {
  const name = "telemetry_sink_send_failures_total";
  out.push(`# HELP ${name} Write attempts that failed, by error code.`, `# TYPE ${name} counter`);
  for (const [sink, s] of stats) {
    const codes = new Set([...KNOWN_CODES, ...Object.keys(s.failuresByCode)]);
    for (const code of codes) {
      out.push(`${name}{code="${code}",sink="${sink}"} ${s.failuresByCode[code] ?? 0}`);
    }
  }
}

function renderDurations(stats: readonly (readonly [string, SinkStats])[], out: string[]): void {
  const name = "telemetry_sink_request_duration_seconds";
  out.push(`# HELP ${name} Time spent in sink write attempts.`, `# TYPE ${name} histogram`);
  for (const [sink, s] of stats) {
    let cumulative = 0;
    WRITE_SECONDS_BUCKETS.forEach((le, i) => {
      cumulative += s.writeSecondsBuckets[i];
      out.push(`${name}_bucket{le="${le}",sink="${sink}"} ${cumulative}`);
    });
    cumulative += s.writeSecondsBuckets[WRITE_SECONDS_BUCKETS.length];
    out.push(`${name}_bucket{le="+Inf",sink="${sink}"} ${cumulative}`);
    out.push(`${name}_sum{sink="${sink}"} ${s.writeSecondsSum}`);
    out.push(`${name}_count{sink="${sink}"} ${s.writeCount}`);
  }
}
