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

/** Limits that keep misbehaving clients (slowloris, never-reading) from costing other connections. */
export interface IngressConfig {
  /** Most proxy connections at once; more are closed on accept (counted). */
  maxConnections: number;
  /** A frame started but not finished within this long closes its connection. */
  frameTimeoutMs: number;
  /** Answers not taken by the client within this long close its connection. */
  writeTimeoutMs: number;
  /** Most bytes of incomplete frames held across all connections. */
  maxBufferedBytes: number;
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

/**
 * `sampling { … }`. Only `rate` and `alwaysSampleErrors` are always present; every other key is
 * absent unless the file (or the proxy) sets it, and `src/sample/settings.ts` supplies its
 * default (so the product page's block loads to exactly `{ rate, alwaysSampleErrors }`).
 */
export interface SamplingConfig {
  /** Probability 0..1 of keeping a record (with `keys`: the lowest rate a key may get). */
  rate: number;
  /** Keep every error record (see `errorStatuses`, plus proxy errors) regardless of `rate`. */
  alwaysSampleErrors: boolean;
  /** Statuses that count as errors: codes (`502`), classes (`"5xx"`), ranges (`"500-599"`). */
  errorStatuses?: (number | string)[];
  /** Keep records whose agent-observed time is at least this (ms); 0 turns it off. */
  slowMs?: number;
  /** Keep records the threat stage flags (`threat.is_known_bad`, `labels.is_threat`). */
  keepThreats?: boolean;
  /** Also keep records whose `threat.score` is at least this (unset: the score is not used). */
  threatScore?: number;
  /** Keep blocked requests: partial `no_response`, or a status in `blockedStatuses`. */
  keepBlocked?: boolean;
  /** Statuses that mean "blocked by the proxy" (default 403 and 429). */
  blockedStatuses?: (number | string)[];
  /** Per-key dynamic sampling: the record fields that form a key (off when absent). */
  keys?: string[];
  /** Records per second the per-key sampler aims for (needs `keys`). */
  targetRecordsPerSecond?: number;
  /** How often per-key rates are recomputed (ms). */
  intervalMs?: number;
  /** Most distinct keys tracked per interval; the rest share one `other` key. */
  maxKeys?: number;
  /** Hand-off queue fill (0..1) at which the sampler starts tightening; 1 turns shedding off. */
  shedAt?: number;
  /** Lowest factor shedding may multiply rates (or the key budget) by, 0..1. */
  shedFloor?: number;
}

/** What happens to a value a redaction rule matches. */
export type RedactAction = "mask" | "hash" | "drop";
/** A detector's action; `off` disables it. */
export type DetectorAction = RedactAction | "off";
/** A field's treatment: `scan` (key rules and detectors), `keep` (as is) or an action. */
export type FieldAction = RedactAction | "scan" | "keep";
/** The client IP policy. */
export type ClientIpAction = "keep" | "truncate" | "hash" | "drop";
/** Named bundles of redaction settings (docs/redaction.md lists them field by field). */
export type RedactionPreset = "gdpr" | "pci" | "hipaa";

/** A user-supplied pattern, run by the linear-time engine (`src/redact/linear_regex.ts`). */
export interface RedactionPattern {
  name: string;
  regex: string;
  action: RedactAction;
  /** Case-insensitive matching. */
  ignoreCase: boolean;
  pos?: SourcePos;
}

/**
 * `redaction { … }`: what the file says. Absent keys take the safe defaults, then the presets,
 * then explicit keys (`src/redact/policy.ts` resolves them). With no block at all the defaults
 * apply: credential headers dropped, sensitive query keys, emails, cards, IBANs and secrets masked.
 */
export interface RedactionConfig {
  /** `false` switches redaction off (logged at start-up as a warning). */
  enabled?: boolean;
  presets?: RedactionPreset[];
  /** Request headers kept (replaces the default allowlist). */
  requestHeaders?: string[];
  /** Response headers kept (replaces the default allowlist). */
  responseHeaders?: string[];
  /** Extra credential-bearing header names (added to the built-in list). */
  credentialHeaders?: string[];
  /** What happens to a credential header: `drop` (default), `mask` or `hash`. */
  credentialAction?: RedactAction;
  /** Extra sensitive query/form key names (added to the built-in list). */
  sensitiveKeys?: string[];
  /** What happens to the value of a sensitive key (default `mask`). */
  sensitiveKeyAction?: RedactAction;
  /** Per-detector action, by detector name. */
  detectors?: Record<string, DetectorAction>;
  /** Per-field treatment, by field name (`path`, `query`, `referer`, …). */
  fields?: Record<string, FieldAction>;
  patterns?: RedactionPattern[];
  clientIp?: ClientIpAction;
  ipv4Prefix?: number;
  ipv6Prefix?: number;
  /** File holding the keyed-hash secret (read once at start-up). */
  hashKeyFile?: string;
  /** Environment variable holding the keyed-hash secret (needs `--allow-env=NAME`). */
  hashKeyEnv?: string;
  /** Key id written into every keyed hash (`[HMAC:<key-id>:…]`), for rotation. */
  keyId?: string;
  /** Longest text scanned per field; longer values are cut and marked. */
  maxScanChars?: number;
}

/**
 * The `enrichment { … }` section. The four switches of the product page are always present; the
 * other keys are absent unless the file sets them (their defaults are `ENRICHMENT_DEFAULTS` in
 * defaults.ts, applied by the enricher), so a config that does not use them stays the same shape.
 */
export interface EnrichmentConfig {
  geoip: boolean;
  asn: boolean;
  deviceDetection: boolean;
  threatIntel: boolean;
  /** `sentinel.*`: decisions, risk score and rules from other agents' headers, inferred blocks. */
  sentinel?: boolean;
  /** Derived ML features: path template, size buckets, hour/day, `labels.*`. */
  derived?: boolean;
  /**
   * Directory `deno task geo` fills (its `manifest.json` lists the default data files); default:
   * the agent's own `geo-data/`.
   */
  dataDir?: string;
  /** MaxMind-format databases (or `.bin` ASN tables) by path, recognised from their metadata. */
  databases?: string[];
  /** Threat lists by path (IP/CIDR lines, netsets, `CIDR ; id`, Tor exit lists). */
  threatLists?: string[];
  /** The curated hosting/cloud ASN list; default `<data-dir>/hosting-asns.txt`. */
  hostingAsns?: string;
  /** Most user agents (with their client hints) whose parse result is kept. */
  uaCacheSize?: number;
  /** Most client addresses whose geo/ASN/threat result is kept. */
  ipCacheSize?: number;
  /** `labels.is_slow` when the observed duration reaches this many ms. */
  slowThresholdMs?: number;
  /** `labels.is_threat` when `threat.score` reaches this value. */
  threatThreshold?: number;
  /** Header names other Sentinel agents use for their decision (first found wins). */
  decisionHeaders?: string[];
  /** Header names carrying a risk score. */
  riskScoreHeaders?: string[];
  /** Header names carrying matched rule ids (comma-separated values). */
  matchedRulesHeaders?: string[];
  /** Statuses (codes, `"4xx"` classes, `"500-504"` ranges) read as a block by the proxy. */
  blockStatuses?: (number | string)[];
  /** How often data files are checked for changes (ms); 0 turns the check off. */
  reloadIntervalMs?: number;
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
  /** `ndjson` (default) or `parquet` (docs/sinks-parquet.md). */
  format?: "ndjson" | "parquet";
  /** Parquet rows per row group (default 10000). */
  rowGroupSize?: number;
  /** Parquet page compression: `snappy` (default), `gzip` or `none`. */
  compression?: "snappy" | "gzip" | "none";
}

/** What a full spool drops: its oldest segment, or the batch being added. */
export type SpoolFullPolicy = "drop-oldest" | "drop-newest";

/**
 * `spool { … }`: the durable per-sink spool (docs/reliability.md). Each sink spools into
 * `<directory>/<sink name>`; a sink's `spool-*` keys override these. Absent: no spool.
 */
export interface SpoolConfig {
  directory: string;
  /** Most bytes one sink's spool holds (default 1 GiB). */
  maxBytes?: number;
  /** Segment file size (default min(16 MiB, max-bytes / 8)). */
  segmentBytes?: number;
  /** Writes reach the disk within this many ms; 0 = after every batch (default 500). */
  fsyncMs?: number;
  /** At the cap or on a full disk (default `drop-oldest`). */
  fullPolicy?: SpoolFullPolicy;
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
  ingress: IngressConfig;
  handoff: HandoffConfig;
  lifecycle: LifecycleConfig;
  sampling: SamplingConfig;
  /** Absent when the file has no `redaction` block: the safe defaults apply. */
  redaction?: RedactionConfig;
  enrichment: EnrichmentConfig;
  sinks: SinkConfig[];
  /** Absent when the file has no `spool` block (and no sink has `spool-dir`): no spool. */
  spool?: SpoolConfig;
  metrics: MetricsConfig;
  logLevel: LogLevel;
  /** Deadline for draining on SIGTERM/SIGINT. */
  shutdownTimeoutMs: number;
}
