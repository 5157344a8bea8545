/**
 * The typed configuration every component reads. Produced by `load.ts` from KDL (the agent's own
 * file) or from defaults; a component receives only its own section.
 * @module
 */

/** Where a value came from in the config file, for error messages. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** Proxy event names as the proxy-side `events` node spells them (normalised to `_`). */
export type ProxyEventName =
  | "request_headers"
  | "request_body"
  | "response_headers"
  | "response_body"
  | "request_complete"
  | "websocket_frame"
  | "guardrail";

export interface SocketConfig {
  /** Absolute or relative path of the Unix socket the agent listens on. */
  path: string;
  /** File mode applied to the socket after bind, e.g. 0o660. */
  mode: number;
}

export type HandoffPolicy = "drop-newest" | "drop-oldest";

export interface HandoffConfig {
  /** Most events queued between the ack path and the pipeline worker. */
  maxEvents: number;
  /** Policy when full. */
  policy: HandoffPolicy;
  /** Flush a hand-off batch at least this often (ms). */
  flushIntervalMs: number;
  /** Flush a hand-off batch once it holds this many events. */
  batchEvents: number;
}

export interface LifecycleConfig {
  /** A lifecycle without response headers after this long is emitted as a partial record. */
  ttlMs: number;
  /** After response headers, wait this long for response body chunks (only when configured). */
  graceMs: number;
  /** Most open lifecycles; beyond it the oldest is emitted as partial (reason `table_full`). */
  maxOpen: number;
}

export interface SamplingConfig {
  /** Probability 0..1 of keeping a record. */
  rate: number;
  /** Keep every 5xx (and proxy error) record regardless of `rate`. */
  alwaysSampleErrors: boolean;
}

export interface EnrichmentConfig {
  geoip: boolean;
  asn: boolean;
  deviceDetection: boolean;
  threatIntel: boolean;
}

export type SinkType = "file" | "stdout" | "kafka" | "clickhouse" | "s3" | "bigquery" | "http";

/** Settings every sink shares; sink-specific keys stay in `options` (kebab-case names). */
export interface SinkConfig {
  /** Unique name (defaults to the type; required to differ when a type repeats). */
  name: string;
  type: SinkType;
  batchSize: number;
  flushIntervalMs: number;
  /** Sink-specific options, validated by the sink's own parser, values as written in KDL. */
  options: Record<string, unknown>;
  pos?: SourcePos;
}

export interface FileSinkOptions {
  directory: string;
  /** File name prefix. */
  prefix: string;
  /** Rotate when the open file reaches this size. */
  maxBytes: number;
  /** Rotate when the open file is this old. */
  maxAgeMs: number;
}

export interface MetricsConfig {
  /** `host:port` on loopback, or `off`. Port 0 picks a free one (logged). */
  listen: string;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Config {
  /** File the config came from, or `<default>`. */
  source: string;
  socket: SocketConfig;
  /** Events the proxy is set to send (informational; shapes assembly grace). */
  events: ProxyEventName[];
  /** Proxy-side call timeout, for the start-up hint only. */
  timeoutMs?: number;
  failureMode?: "open" | "closed";
  handoff: HandoffConfig;
  lifecycle: LifecycleConfig;
  sampling: SamplingConfig;
  enrichment: EnrichmentConfig;
  sinks: SinkConfig[];
  metrics: MetricsConfig;
  logLevel: LogLevel;
  /** Deadline for draining on SIGTERM/SIGINT. */
  shutdownTimeoutMs: number;
}
