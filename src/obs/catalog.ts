/**
 * Every metric family the agent exposes, declared once. The ack path (main thread) and the
 * pipeline worker each build their own set; the two families both sides add to
 * (`telemetry_events_dropped_total`, `telemetry_events_in_flight`) are owned by the main thread,
 * which folds in the worker's totals from each snapshot. docs/operations.md lists them.
 * @module
 */

import { type Counter, type Gauge, type Histogram, type Labels, Registry } from "./metrics.ts";

/** Ack latency buckets (seconds): 10 µs … 100 ms. */
export const ACK_BUCKETS = [
  0.00001,
  0.000025,
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.1,
];

/** One series of a family both threads add to, as the worker reports it. */
export interface SharedSeries {
  labels: Labels;
  value: number;
}

/** What the worker sends the main thread on each scrape. */
export interface WorkerSnapshot {
  text: string;
  dropped: SharedSeries[];
  inFlight: SharedSeries[];
  /** Each spooling sink's state, for `/healthz` (src/spool/metrics.ts `SpoolHealth`). */
  spool?: Record<string, unknown>[];
  /** The worker's own JavaScript memory (`threadMemory("pipeline")`). */
  memory?: SharedSeries[];
}

/** `telemetry_js_memory_bytes` kinds and the `Deno.memoryUsage()` field each reads. */
const MEMORY_KINDS = [
  ["heap_used", "heapUsed"],
  ["heap_total", "heapTotal"],
  ["external", "external"],
] as const;

/** This thread's JavaScript memory as `telemetry_js_memory_bytes` series. */
export function threadMemory(thread: string): SharedSeries[] {
  const m = Deno.memoryUsage();
  return MEMORY_KINDS.map(([kind, key]) => ({ labels: { thread, kind }, value: m[key] }));
}

/** A family whose series come partly from this thread, partly from the worker's last snapshot. */
class SharedFamily<T extends Counter | Gauge> {
  readonly local: T;
  #remote: SharedSeries[] = [];
  constructor(readonly name: string, local: T) {
    this.local = local;
    // Remote series are rendered right after the local ones, under the same HELP/TYPE.
    const original = this.local.render.bind(this.local);
    this.local.render = (out: string[]) => {
      original(out);
      for (const s of this.#remote) {
        const keys = Object.keys(s.labels).sort();
        const l = keys.map((k) => `${k}="${s.labels[k]}"`).join(",");
        out.push(`${name}{${l}} ${s.value}`);
      }
    };
  }
  setRemote(series: SharedSeries[]): void {
    this.#remote = series;
  }
}

export function ingressMetrics() {
  const reg = new Registry();
  const droppedName = "telemetry_events_dropped_total";
  const dropped = new SharedFamily(
    droppedName,
    reg.counter(
      droppedName,
      "Events dropped, by pipeline stage and reason; intentional=true for sampling and policy.",
    ),
  );
  const inFlightName = "telemetry_events_in_flight";
  const inFlight = new SharedFamily(
    inFlightName,
    reg.gauge(inFlightName, "Events accepted but not yet emitted or dropped, by stage."),
  );
  const memoryName = "telemetry_js_memory_bytes";
  const memory = new SharedFamily(
    memoryName,
    reg.gauge(
      memoryName,
      "JavaScript memory by thread (main, pipeline): heap_used, heap_total (committed) and " +
        "external (buffers outside the heap, such as the loaded enrichment data).",
    ),
  );
  for (const [kind, key] of MEMORY_KINDS) {
    memory.local.probe(() => Deno.memoryUsage()[key], { thread: "main", kind });
  }
  reg.gauge("process_resident_memory_bytes", "Resident memory of the agent process.")
    .probe(() => Deno.memoryUsage().rss);
  return {
    registry: reg,
    dropped,
    inFlight,
    memory,
    received: reg.counter(
      "telemetry_ingress_events_received_total",
      "Proxy events received and acked, by event type.",
    ),
    control: reg.counter(
      "telemetry_ingress_control_frames_total",
      "Handshake, ping, cancel and configure frames, by type.",
    ),
    rejected: reg.counter(
      "telemetry_ingress_frames_rejected_total",
      "Frames refused or ignored, by reason.",
    ),
    acks: reg.counter("telemetry_ingress_acks_total", "Answers written to the proxy.", true),
    connections: reg.counter(
      "telemetry_ingress_connections_total",
      "Proxy connections accepted, by detected protocol.",
    ),
    closed: reg.counter(
      "telemetry_ingress_connections_closed_total",
      "Proxy connections closed, by reason.",
    ),
    open: reg.gauge("telemetry_ingress_connections_open", "Proxy connections open now."),
    ackDuration: reg.histogram(
      "telemetry_ack_duration_seconds",
      "Time from reading a frame to its answer being written to the socket.",
      ACK_BUCKETS,
    ) as Histogram,
    handoffQueue: reg.gauge(
      "telemetry_handoff_queue_events",
      "Events waiting between the ack path and the pipeline worker.",
    ),
    handoffCapacity: reg.gauge(
      "telemetry_handoff_queue_capacity",
      "Hand-off queue limit (events).",
    ),
    handoffBatches: reg.counter(
      "telemetry_handoff_batches_total",
      "Batches handed to the pipeline worker.",
    ),
  };
}

export type IngressMetrics = ReturnType<typeof ingressMetrics>;

/** Per-event-kind received counters, indexed by kind (v2 type byte − 0x10). */
export function receivedByKind(m: IngressMetrics, kinds: readonly string[]) {
  return kinds.map((type) =>
    type === "configure" ? m.control.child({ type }) : m.received.child({ type })
  );
}

/** Labels of a drop series (bounded values only). */
export function dropLabels(stage: string, reason: string, intentional: boolean): Labels {
  return { stage, reason, intentional: String(intentional) };
}
