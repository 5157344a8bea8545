/**
 * Prints the effective config (defaults included) for `--print-config`, as KDL in the native
 * form (loading it back gives the same config) or as JSON with the same kebab-case names.
 * Pure functions; never reads files.
 * @module
 */

import { redactionToJson, redactionToKdl } from "../redact/config.ts";
import { samplingExtrasToJson } from "../sample/settings.ts";
import { enrichmentExtrasToJson } from "./defaults.ts";
import type { Config, SinkConfig } from "./types.ts";

/** A JSON value as printed. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** The effective config as JSON with kebab-case keys (`sinks` is a list; options flattened). */
export function configToJson(config: Config): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {
    socket: { path: config.socket.path, mode: octal(config.socket.mode) },
    events: [...config.events],
  };
  if (config.timeoutMs !== undefined) out["timeout-ms"] = config.timeoutMs;
  if (config.failureMode !== undefined) out["failure-mode"] = config.failureMode;
  const { ingress: i, handoff: h, lifecycle: l, sampling: s, enrichment: e } = config;
  out.ingress = {
    "max-connections": i.maxConnections,
    "frame-timeout-ms": i.frameTimeoutMs,
    "write-timeout-ms": i.writeTimeoutMs,
    "max-buffered-bytes": i.maxBufferedBytes,
  };
  out.handoff = {
    "max-events": h.maxEvents,
    policy: h.policy,
    "flush-interval-ms": h.flushIntervalMs,
    "batch-events": h.batchEvents,
  };
  out.lifecycle = { "ttl-ms": l.ttlMs, "grace-ms": l.graceMs, "max-open": l.maxOpen };
  out.sampling = {
    rate: s.rate,
    "always-sample-errors": s.alwaysSampleErrors,
    ...toJson(samplingExtrasToJson(s)) as Record<string, JsonValue>,
  };
  out.enrichment = {
    geoip: e.geoip,
    asn: e.asn,
    "device-detection": e.deviceDetection,
    "threat-intel": e.threatIntel,
    ...toJson(enrichmentExtrasToJson(e)) as Record<string, JsonValue>,
  };
  // Absent = the safe defaults (docs/redaction.md); printed only when the file set it.
  if (config.redaction) out.redaction = toJson(redactionToJson(config.redaction));
  out.sinks = config.sinks.map(sinkToJson);
  if (config.spool) out.spool = spoolToJson(config.spool);
  out.metrics = { listen: config.metrics.listen };
  out["log-level"] = config.logLevel;
  out["shutdown-timeout-ms"] = config.shutdownTimeoutMs;
  return out;
}

function spoolToJson(s: NonNullable<Config["spool"]>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = { directory: s.directory };
  if (s.maxBytes !== undefined) out["max-bytes"] = s.maxBytes;
  if (s.segmentBytes !== undefined) out["segment-bytes"] = s.segmentBytes;
  if (s.fsyncMs !== undefined) out["fsync-ms"] = s.fsyncMs;
  if (s.fullPolicy !== undefined) out["full-policy"] = s.fullPolicy;
  return out;
}

function sinkToJson(sink: SinkConfig): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {
    type: sink.type,
    name: sink.name,
    "batch-size": sink.batchSize,
    "flush-interval-ms": sink.flushIntervalMs,
  };
  for (const [key, value] of Object.entries(sink.options)) {
    Object.defineProperty(out, key, { value: toJson(value), enumerable: true, writable: true });
  }
  return out;
}

function toJson(value: unknown): JsonValue {
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: toJson(v), enumerable: true, writable: true });
    }
    return out;
  }
  const ok = typeof value === "string" || typeof value === "boolean" || value === null ||
    (typeof value === "number" && Number.isFinite(value));
  return ok ? value as JsonValue : String(value);
}

/** The effective config as a KDL document in the native (top-level nodes) form. */
export function configToKdl(config: Config): string {
  const json = configToJson(config);
  const lines = [`// Effective configuration of the Telemetry agent (source: ${config.source})`];
  for (const [key, value] of Object.entries(json)) {
    if (key === "sinks") {
      for (const sink of value as Record<string, JsonValue>[]) {
        const { type, ...rest } = sink;
        lines.push(...block(`sink ${scalar(type)}`, rest, ""));
      }
    } else if (key === "socket") {
      const s = value as Record<string, JsonValue>;
      lines.push(`socket ${scalar(s.path)} mode=${scalar(s.mode)}`);
    } else if (key === "redaction" && config.redaction) {
      lines.push(...redactionToKdl(config.redaction));
    } else if (key === "events") {
      lines.push(`events ${(value as JsonValue[]).map(scalar).join(" ")}`);
    } else {
      lines.push(...node(key, value, ""));
    }
  }
  return lines.join("\n") + "\n";
}

function node(name: string, value: JsonValue, indent: string): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return block(identifier(name), value, indent);
  }
  return [`${indent}${identifier(name)} ${scalar(value)}`];
}

function block(head: string, fields: Record<string, JsonValue>, indent: string): string[] {
  const inner = Object.entries(fields).flatMap(([k, v]) => node(k, v, indent + "    "));
  return [`${indent}${head} {`, ...inner, `${indent}}`];
}

/** A value in KDL: strings quoted, lists as `[ … ]`; an object inside a list as a JSON string. */
function scalar(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(scalar).join(" ")}]`;
  if (typeof value === "string") return quote(value);
  if (typeof value === "object" && value !== null) return quote(JSON.stringify(value));
  return String(value);
}

/** A KDL quoted string: JSON escapes, except `\uXXXX` becomes KDL's `\u{XXXX}`. */
function quote(text: string): string {
  return JSON.stringify(text).replace(
    /\\(\\|u([0-9a-f]{4}))/g,
    (all, _esc: string, hex?: string) => hex === undefined ? all : `\\u{${hex}}`,
  );
}

function identifier(name: string): string {
  const bare = /^[^\s\\/(){}<>;[\]=,"#0-9][^\s\\/(){}<>;[\]=,"]*$/.test(name) &&
    !/^[+-][0-9]/.test(name) && !/^(true|false|null)$/.test(name);
  return bare ? name : quote(name);
}

function octal(mode: number): string {
  return "0" + mode.toString(8).padStart(3, "0");
}
