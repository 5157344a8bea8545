/**
 * Renders every sink runner's statistics as the shared `telemetry_sink_*` families, one label
 * `sink` (the configured name). Pipeline worker, at scrape time.
 * @module
 */

import { DROP_REASONS, type SinkRunner } from "../sinks/runner.ts";

const FAMILIES = [
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
  ["telemetry_sink_send_failures_total", "counter", "Write attempts that failed.", "failures"],
  ["telemetry_sink_queue_records", "gauge", "Records held by a sink runner.", "queuedRecords"],
] as const;

export function renderSinkStats(runners: SinkRunner[]): string {
  const stats = runners.map((r) => [r.name, r.stats()] as const);
  const out: string[] = [];
  for (const [name, type, help, field] of FAMILIES) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [sink, s] of stats) out.push(`${name}{sink="${sink}"} ${s[field]}`);
  }
  const duration = "telemetry_sink_request_duration_seconds";
  out.push(`# HELP ${duration} Time spent in sink writes.`, `# TYPE ${duration} summary`);
  for (const [sink, s] of stats) {
    out.push(`${duration}_sum{sink="${sink}"} ${s.writeSecondsSum}`);
    out.push(`${duration}_count{sink="${sink}"} ${s.writeCount}`);
  }
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
