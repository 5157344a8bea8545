/**
 * What every config key is when absent (defaults) and what a valid value looks like (rules:
 * types, ranges, allowed words), shared by the KDL loader and the proxy-sent config merge.
 * Pure data and pure functions; never reads files.
 * @module
 */

import type {
  Config,
  EnrichmentConfig,
  FileSinkOptions,
  HandoffConfig,
  IngressConfig,
  LifecycleConfig,
  ProxyEventName,
  RedactionConfig,
  SamplingConfig,
  SinkConfig,
  SinkType,
  SpoolConfig,
} from "./types.ts";
import { closest, type ConfigIssueCode } from "./errors.ts";

/** The rule a scalar value must follow. `max` absent: no upper bound beyond safe integers. */
export type ValueSpec =
  | { kind: "int"; min: number; max?: number }
  | { kind: "number"; min: number; max: number }
  | { kind: "bool" }
  | { kind: "string" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "status" }
  | { kind: "list"; item: ValueSpec };

/** Result of checking a value against a rule. */
export type Check<T> =
  | { ok: true; value: T }
  | { ok: false; code: ConfigIssueCode; problem: string; hint?: string };

/** A key of a section: its rule and the `Config` property it sets. */
export interface FieldRule<S> {
  spec: ValueSpec;
  prop: keyof S;
}

export const SINK_TYPES: readonly SinkType[] = [
  "file",
  "stdout",
  "kafka",
  "clickhouse",
  "s3",
  "bigquery",
  "http",
];

export const EVENT_NAMES: readonly ProxyEventName[] = [
  "request_headers",
  "request_body",
  "response_headers",
  "response_body",
  "request_complete",
  "websocket_frame",
  "guardrail",
];

/** Other spellings of event names (after `-` → `_`). */
export const EVENT_ALIASES: Readonly<Record<string, ProxyEventName>> = {
  log: "request_complete",
  web_socket_frame: "websocket_frame",
};

export const DEFAULT_SOCKET_PATH = "./run/telemetry.sock";
export const DEFAULT_SOCKET_MODE = 0o660;
export const DEFAULT_METRICS_LISTEN = "127.0.0.1:9464";

export const FILE_SINK_DEFAULTS: Readonly<FileSinkOptions> = {
  directory: "./data",
  prefix: "telemetry",
  maxBytes: 67_108_864,
  maxAgeMs: 3_600_000,
};

const int = (min: number, max?: number): ValueSpec => ({ kind: "int", min, max });
const bool: ValueSpec = { kind: "bool" };
const str: ValueSpec = { kind: "string" };

const statusList: ValueSpec = { kind: "list", item: { kind: "status" } };
const strList: ValueSpec = { kind: "list", item: str };
const action = (...values: string[]): ValueSpec => ({ kind: "enum", values });

/** Record fields a per-key sampler can build its key from (`sampling { keys … }`). */
export const SAMPLING_KEYS: readonly string[] = [
  "route",
  "upstream",
  "host",
  "method",
  "path",
  "path-template",
  "status",
  "status-class",
  "country",
  "asn",
  "device-type",
  "is-bot",
];

/** Built-in detector names (`redaction { detectors { NAME ACTION } }`). */
export const DETECTOR_NAMES: readonly string[] = [
  "email",
  "card",
  "iban",
  "ssn",
  "phone",
  "jwt",
  "bearer",
  "aws-key",
  "gcp-key",
  "github-token",
  "slack-token",
  "stripe-key",
  "private-key",
  "url-credentials",
  "ipv4",
  "ipv6",
];

/** Fields redaction treats (`redaction { fields { NAME ACTION } }`). */
export const REDACTION_FIELD_NAMES: readonly string[] = [
  "path",
  "query",
  "referer",
  "user-agent",
  "host",
  "request-headers",
  "response-headers",
  "correlation-id",
  "error",
];

export const REDACT_ACTIONS: readonly string[] = ["mask", "hash", "drop"];
export const DETECTOR_ACTIONS: readonly string[] = ["mask", "hash", "drop", "off"];
export const FIELD_ACTIONS: readonly string[] = ["scan", "keep", "mask", "hash", "drop"];

/** Scalar and list keys of `redaction { … }` (blocks `detectors`, `fields`, `pattern` aside). */
export const REDACTION_FIELDS: Readonly<Record<string, FieldRule<RedactionConfig>>> = {
  enabled: { spec: bool, prop: "enabled" },
  preset: { spec: { kind: "list", item: action("gdpr", "pci", "hipaa") }, prop: "presets" },
  "request-headers": { spec: strList, prop: "requestHeaders" },
  "response-headers": { spec: strList, prop: "responseHeaders" },
  "credential-headers": { spec: strList, prop: "credentialHeaders" },
  "credential-action": { spec: action(...REDACT_ACTIONS), prop: "credentialAction" },
  "sensitive-keys": { spec: strList, prop: "sensitiveKeys" },
  "sensitive-key-action": { spec: action(...REDACT_ACTIONS), prop: "sensitiveKeyAction" },
  "client-ip": { spec: action("keep", "truncate", "hash", "drop"), prop: "clientIp" },
  "ipv4-prefix": { spec: int(0, 32), prop: "ipv4Prefix" },
  "ipv6-prefix": { spec: int(0, 128), prop: "ipv6Prefix" },
  "hash-key-file": { spec: str, prop: "hashKeyFile" },
  "hash-key-env": { spec: str, prop: "hashKeyEnv" },
  "key-id": { spec: str, prop: "keyId" },
  "max-scan-chars": { spec: int(64, 1_048_576), prop: "maxScanChars" },
};

/** Scalar top-level keys. */
export const TOP_FIELDS: Readonly<Record<string, FieldRule<Config>>> = {
  "timeout-ms": { spec: int(1, 600_000), prop: "timeoutMs" },
  "failure-mode": { spec: { kind: "enum", values: ["open", "closed"] }, prop: "failureMode" },
  "log-level": {
    spec: { kind: "enum", values: ["debug", "info", "warn", "error"] },
    prop: "logLevel",
  },
  "shutdown-timeout-ms": { spec: int(100, 600_000), prop: "shutdownTimeoutMs" },
};

/** Keys of the block sections `sampling`, `enrichment`, `ingress`, `handoff`, `lifecycle`. */
export const SECTION_FIELDS = {
  sampling: {
    rate: { spec: { kind: "number", min: 0, max: 1 }, prop: "rate" },
    "always-sample-errors": { spec: bool, prop: "alwaysSampleErrors" },
    "error-statuses": { spec: statusList, prop: "errorStatuses" },
    "slow-ms": { spec: int(0, 3_600_000), prop: "slowMs" },
    "keep-threats": { spec: bool, prop: "keepThreats" },
    "threat-score": { spec: { kind: "number", min: 0, max: 1_000_000 }, prop: "threatScore" },
    "keep-blocked": { spec: bool, prop: "keepBlocked" },
    "blocked-statuses": { spec: statusList, prop: "blockedStatuses" },
    keys: { spec: { kind: "list", item: { kind: "enum", values: SAMPLING_KEYS } }, prop: "keys" },
    "target-records-per-second": {
      spec: { kind: "number", min: 0.001, max: 10_000_000 },
      prop: "targetRecordsPerSecond",
    },
    "interval-ms": { spec: int(100, 3_600_000), prop: "intervalMs" },
    "max-keys": { spec: int(1, 1_000_000), prop: "maxKeys" },
    "shed-at": { spec: { kind: "number", min: 0, max: 1 }, prop: "shedAt" },
    "shed-floor": { spec: { kind: "number", min: 0, max: 1 }, prop: "shedFloor" },
  } as Record<string, FieldRule<SamplingConfig>>,
  enrichment: {
    geoip: { spec: bool, prop: "geoip" },
    asn: { spec: bool, prop: "asn" },
    "device-detection": { spec: bool, prop: "deviceDetection" },
    "threat-intel": { spec: bool, prop: "threatIntel" },
    sentinel: { spec: bool, prop: "sentinel" },
    derived: { spec: bool, prop: "derived" },
    "slow-threshold-ms": { spec: int(1, 3_600_000), prop: "slowThresholdMs" },
    "threat-threshold": { spec: int(1, 100), prop: "threatThreshold" },
  } as Record<string, FieldRule<EnrichmentConfig>>,
  ingress: {
    "max-connections": { spec: int(1, 1_000_000), prop: "maxConnections" },
    "frame-timeout-ms": { spec: int(100, 3_600_000), prop: "frameTimeoutMs" },
    "write-timeout-ms": { spec: int(100, 3_600_000), prop: "writeTimeoutMs" },
    "max-buffered-bytes": { spec: int(16_777_221, 68_719_476_736), prop: "maxBufferedBytes" },
  } as Record<string, FieldRule<IngressConfig>>,
  handoff: {
    "max-events": { spec: int(1, 10_000_000), prop: "maxEvents" },
    policy: { spec: { kind: "enum", values: ["drop-newest", "drop-oldest"] }, prop: "policy" },
    "flush-interval-ms": { spec: int(1, 1000), prop: "flushIntervalMs" },
    "batch-events": { spec: int(1, 65_536), prop: "batchEvents" },
  } as Record<string, FieldRule<HandoffConfig>>,
  lifecycle: {
    "ttl-ms": { spec: int(100, 3_600_000), prop: "ttlMs" },
    "grace-ms": { spec: int(0, 60_000), prop: "graceMs" },
    "max-open": { spec: int(1, 10_000_000), prop: "maxOpen" },
  } as Record<string, FieldRule<LifecycleConfig>>,
};

export type SectionName = keyof typeof SECTION_FIELDS;

/**
 * `enrichment` keys taken from the agent's own file only: they open files or size caches, so a
 * proxy-sent config cannot set them (it reports them as unknown keys).
 */
export const ENRICHMENT_FILE_FIELDS: Readonly<Record<string, FieldRule<EnrichmentConfig>>> = {
  "data-dir": { spec: str, prop: "dataDir" },
  databases: { spec: strList, prop: "databases" },
  "threat-lists": { spec: strList, prop: "threatLists" },
  "hosting-asns": { spec: str, prop: "hostingAsns" },
  "ua-cache-size": { spec: int(0, 10_000_000), prop: "uaCacheSize" },
  "ip-cache-size": { spec: int(0, 10_000_000), prop: "ipCacheSize" },
  "decision-headers": { spec: strList, prop: "decisionHeaders" },
  "risk-score-headers": { spec: strList, prop: "riskScoreHeaders" },
  "matched-rules-headers": { spec: strList, prop: "matchedRulesHeaders" },
  "block-statuses": { spec: statusList, prop: "blockStatuses" },
  "reload-interval-ms": { spec: int(0, 86_400_000), prop: "reloadIntervalMs" },
};

/** The values the optional `enrichment` keys take when the file leaves them out. */
export const ENRICHMENT_DEFAULTS: Readonly<Required<EnrichmentConfig>> = {
  geoip: true,
  asn: true,
  deviceDetection: true,
  threatIntel: true,
  sentinel: true,
  derived: true,
  /** Empty: the agent's own `geo-data/` (beside its code, or embedded in a compiled binary). */
  dataDir: "",
  databases: [],
  threatLists: [],
  hostingAsns: "",
  uaCacheSize: 10_000,
  ipCacheSize: 65_536,
  slowThresholdMs: 1000,
  threatThreshold: 50,
  decisionHeaders: ["x-sentinel-decision", "x-zentinel-decision", "x-waf-decision"],
  riskScoreHeaders: ["x-sentinel-risk-score", "x-zentinel-risk-score", "x-risk-score"],
  matchedRulesHeaders: ["x-sentinel-matched-rules", "x-zentinel-matched-rules", "x-waf-rules"],
  blockStatuses: [403, 429],
  reloadIntervalMs: 5000,
};

/**
 * The optional `enrichment` keys a config sets, in kebab-case, for `--print-config`
 * (the four switches are printed by print.ts already).
 */
export function enrichmentExtrasToJson(e: EnrichmentConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const tables = [SECTION_FIELDS.enrichment, ENRICHMENT_FILE_FIELDS];
  for (const table of tables) {
    for (const [key, r] of Object.entries(table)) {
      const v = e[r.prop];
      const base = ["geoip", "asn", "deviceDetection", "threatIntel"].includes(String(r.prop));
      if (v !== undefined && !base) out[key] = Array.isArray(v) ? [...v] : v;
    }
  }
  return out;
}

/** Keys every sink takes. */
export const SINK_FIELDS: Readonly<Record<string, FieldRule<SinkConfig>>> = {
  "batch-size": { spec: int(1, 100_000), prop: "batchSize" },
  "flush-interval-ms": { spec: int(1, 3_600_000), prop: "flushIntervalMs" },
};

/** Keys of the top-level `spool { … }` block (`directory` is required). */
export const SPOOL_FIELDS: Readonly<Record<string, FieldRule<SpoolConfig>>> = {
  directory: { spec: str, prop: "directory" },
  "max-bytes": { spec: int(65_536, 2 ** 50), prop: "maxBytes" },
  "segment-bytes": { spec: int(4096, 1_073_741_824), prop: "segmentBytes" },
  "fsync-ms": { spec: int(0, 60_000), prop: "fsyncMs" },
  "full-policy": { spec: action("drop-oldest", "drop-newest"), prop: "fullPolicy" },
};

/** Keys of a `file` sink (stored in `options` under these kebab-case names). */
export const FILE_SINK_FIELDS: Readonly<Record<string, FieldRule<FileSinkOptions>>> = {
  directory: { spec: str, prop: "directory" },
  prefix: { spec: str, prop: "prefix" },
  "max-bytes": { spec: int(1024), prop: "maxBytes" },
  "max-age-ms": { spec: int(1000), prop: "maxAgeMs" },
  format: { spec: { kind: "enum", values: ["ndjson", "parquet"] }, prop: "format" },
  "row-group-size": { spec: int(1, 1_000_000), prop: "rowGroupSize" },
  compression: { spec: { kind: "enum", values: ["snappy", "gzip", "none"] }, prop: "compression" },
};

/** The rule for `key` in `table`, ignoring inherited names like `constructor`. */
export function rule<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The default file sink, options in kebab-case as a sink parser reads them. */
export function defaultFileSink(name = "file"): SinkConfig {
  return {
    name,
    type: "file",
    batchSize: 1000,
    flushIntervalMs: 1000,
    options: fileSinkOptions(FILE_SINK_DEFAULTS),
  };
}

/** File sink options as stored in `SinkConfig.options`. */
export function fileSinkOptions(o: Readonly<FileSinkOptions>): Record<string, unknown> {
  return {
    directory: o.directory,
    prefix: o.prefix,
    "max-bytes": o.maxBytes,
    "max-age-ms": o.maxAgeMs,
  };
}

/** Partial config for `defaultConfig`: sections merge key by key, arrays replace. */
export type ConfigOverrides = {
  [K in keyof Config]?: Config[K] extends unknown[] ? Config[K]
    : Config[K] extends object ? Partial<Config[K]>
    : Config[K];
};

/** The effective config of an empty file, with `overrides` applied on top. */
export function defaultConfig(overrides: ConfigOverrides = {}): Config {
  const base: Config = {
    source: "<default>",
    socket: { path: DEFAULT_SOCKET_PATH, mode: DEFAULT_SOCKET_MODE },
    events: ["request_headers", "response_headers"],
    ingress: {
      maxConnections: 4096,
      frameTimeoutMs: 30_000,
      writeTimeoutMs: 30_000,
      maxBufferedBytes: 256 * 1024 * 1024,
    },
    handoff: { maxEvents: 100_000, policy: "drop-newest", flushIntervalMs: 5, batchEvents: 512 },
    lifecycle: { ttlMs: 30_000, graceMs: 100, maxOpen: 100_000 },
    sampling: { rate: 1, alwaysSampleErrors: true },
    enrichment: { geoip: true, asn: true, deviceDetection: true, threatIntel: true },
    sinks: [defaultFileSink()],
    metrics: { listen: DEFAULT_METRICS_LISTEN },
    logLevel: "info",
    shutdownTimeoutMs: 10_000,
  };
  const out = base as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    const merge = isRecord(current) && isRecord(value) && !Array.isArray(value);
    out[key] = merge ? { ...current, ...value } : value;
  }
  return base;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/** A checked config value: a scalar, or a list of strings/numbers. */
export type ConfigValue = string | number | boolean | (string | number)[];

/** Check a plain value (from KDL or JSON) against a rule. */
export function checkValue(spec: ValueSpec, value: unknown): Check<ConfigValue> {
  switch (spec.kind) {
    case "bool":
      return typeof value === "boolean" ? { ok: true, value } : wrongType("true or false", value);
    case "string":
      if (typeof value !== "string") return wrongType("a string", value);
      if (value === "") return invalid("must not be empty");
      return { ok: true, value };
    case "enum":
      return checkEnum(spec.values, value);
    case "status":
      return checkStatus(value);
    case "list":
      return checkValueList(spec.item, value);
    default:
      return checkNumber(spec, value);
  }
}

/**
 * A list: every item checked against `item` (a single value counts as a list of one); the first
 * bad item is reported with its index. The checked list is the value.
 */
export function checkValueList(item: ValueSpec, value: unknown): Check<(string | number)[]> {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return invalid(`expects at least one ${expected(item)}`);
  const out: (string | number)[] = [];
  for (let i = 0; i < items.length; i++) {
    const c = item.kind === "list"
      ? wrongType<never>(expected(item), items[i])
      : checkValue(item, items[i]);
    if (!c.ok) {
      const at = items.length > 1 ? `item ${i + 1} ` : "";
      return { ...c, problem: `${at}${c.problem}` };
    }
    if (typeof c.value === "boolean" || Array.isArray(c.value)) {
      return wrongType(expected(item), items[i]);
    }
    out.push(c.value);
  }
  return { ok: true, value: out };
}

/** An HTTP status: a code 100..599, a class `"5xx"`, or a range `"500-504"`. */
export function checkStatus(value: unknown): Check<number | string> {
  const want = 'a status code 100..599, a class like "5xx" or a range like "500-504"';
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 100 && value <= 599) return { ok: true, value };
    return { ok: false, code: "config_out_of_range", problem: `expects ${want}, got ${value}` };
  }
  if (typeof value !== "string") return wrongType(want, value);
  if (/^[1-5]xx$/i.test(value)) return { ok: true, value: value.toLowerCase() };
  const m = /^([1-5][0-9][0-9])-([1-5][0-9][0-9])$/.exec(value);
  if (m && Number(m[1]) <= Number(m[2])) return { ok: true, value };
  if (/^[1-5][0-9][0-9]$/.test(value)) return { ok: true, value: Number(value) };
  return invalid(`expects ${want}, got "${value}"`);
}

type NumberSpec = Extract<ValueSpec, { kind: "int" | "number" }>;

function checkNumber(spec: NumberSpec, value: unknown): Check<number> {
  const integer = spec.kind === "int";
  if (typeof value !== "number" || Number.isNaN(value)) {
    return wrongType(integer ? "an integer" : "a number", value);
  }
  if (integer && !Number.isInteger(value)) return wrongType("an integer", value);
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  if (value < spec.min || value > max) {
    const range = spec.max === undefined
      ? `at least ${spec.min}`
      : `between ${spec.min} and ${spec.max}`;
    return { ok: false, code: "config_out_of_range", problem: `must be ${range}, got ${value}` };
  }
  return { ok: true, value };
}

function checkEnum(values: readonly string[], value: unknown): Check<string> {
  const list = values.map((v) => `"${v}"`).join(", ");
  if (typeof value !== "string") return wrongType(`one of ${list}`, value);
  if (values.includes(value)) return { ok: true, value };
  const near = closest(value, values);
  return invalid(`must be one of ${list}, got "${value}"`, near && `did you mean "${near}"?`);
}

/** What a rule expects, for messages: `an integer`, `true or false`, `one of "a", "b"`. */
export function expected(spec: ValueSpec): string {
  if (spec.kind === "enum") return `one of ${spec.values.map((v) => `"${v}"`).join(", ")}`;
  if (spec.kind === "list") return `one or more of: ${expected(spec.item)}`;
  if (spec.kind === "status") return 'status codes, classes ("5xx") or ranges ("500-504")';
  const words = {
    int: "an integer",
    number: "a number",
    bool: "true or false",
    string: "a string",
  };
  return words[spec.kind];
}

/** A proxy event name from any accepted spelling (`-` or `_`, aliases), or undefined. */
export function eventName(raw: string): ProxyEventName | undefined {
  const name = raw.replaceAll("-", "_");
  const known = EVENT_NAMES.find((e) => e === name);
  return known ?? (Object.hasOwn(EVENT_ALIASES, name) ? EVENT_ALIASES[name] : undefined);
}

export const MODE_EXPECTED = 'an octal mode like "0660"';

/** A socket file mode: an octal string (`"0660"`, `"660"`, `"0o660"`) or an integer. */
export function checkMode(value: unknown): Check<number> {
  if (typeof value === "number" && Number.isInteger(value)) {
    if (value >= 0 && value <= 0o777) return { ok: true, value };
    return {
      ok: false,
      code: "config_out_of_range",
      problem: `must be between 0 and 0o777, got ${value}`,
      hint: 'an integer mode is read as decimal; write the octal mode as a string, e.g. "0660"',
    };
  }
  if (typeof value !== "string") return wrongType(MODE_EXPECTED, value);
  const m = /^(?:0o|0)?([0-7]{1,3})$/.exec(value);
  if (m) return { ok: true, value: parseInt(m[1], 8) };
  return invalid(`must be an octal mode like "0660", got "${value}"`);
}

export const LISTEN_EXPECTED = 'a loopback "host:port" or "off"';

/** The metrics listen address: `off`, or `host:port` on loopback (port 0 picks a free one). */
export function checkListen(value: unknown): Check<string> {
  if (typeof value !== "string") return wrongType(LISTEN_EXPECTED, value);
  if (value === "off") return { ok: true, value };
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]+)$/.exec(value);
  if (!m) return invalid(`must be "host:port" or "off", got "${value}"`, 'e.g. "127.0.0.1:9464"');
  const port = Number(m[3]);
  if (port > 65535) {
    return {
      ok: false,
      code: "config_out_of_range",
      problem: `port must be 0..65535, got ${port}`,
    };
  }
  if (!isLoopback(m[1] ?? m[2])) {
    return invalid(
      `must listen on loopback (127.0.0.1, [::1] or localhost), got "${value}"`,
      "the metrics endpoint has no authentication; to expose it, put a proxy in front of it",
    );
  }
  return { ok: true, value };
}

function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  const octets = /^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(host);
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255);
}

/** A broker address `host:port` (IPv6 hosts in brackets), port 1..65535. */
export function checkHostPort(value: unknown): Check<string> {
  if (typeof value !== "string") return wrongType('"host:port" strings', value);
  const m = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):([0-9]{1,5})$/.exec(value);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) return { ok: true, value };
  return invalid(`must be "host:port" with a port 1..65535, got "${value}"`);
}

/** A sink name: used in key paths, metric labels and spool directories. */
export function checkSinkName(value: unknown): Check<string> {
  if (typeof value !== "string") return wrongType("a string", value);
  if (/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(value)) return { ok: true, value };
  return invalid(
    `must be 1 to 64 letters, digits, "-" or "_", starting with a letter or digit, got "${value}"`,
  );
}

/** A `config_wrong_type` result naming what was expected and what was found. */
export function wrongType<T>(expected: string, value: unknown): Check<T> {
  return {
    ok: false,
    code: "config_wrong_type",
    problem: `expects ${expected}, got ${show(value)}`,
  };
}

/** A `config_invalid_value` result. */
export function invalid<T>(problem: string, hint?: string): Check<T> {
  return hint === undefined
    ? { ok: false, code: "config_invalid_value", problem }
    : { ok: false, code: "config_invalid_value", problem, hint };
}

/** Describe a value for a message: `the string "10"`, `the number 1.5`, `a list`, … */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "boolean") return `${value}`;
  return "a block";
}
