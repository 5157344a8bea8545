/**
 * Record → Kafka message: the topic (static, or a template filled from record fields), the key
 * (a configured record field), headers (`schema-version`, `event-id`, `content-type`) and the
 * value (the record as JSON). A batch is encoded once; retries reuse the same messages.
 * Pipeline worker. Pure; never talks to Kafka.
 * @module
 */

import type { SinkBatch } from "../contract.ts";
import { recordJson } from "../ndjson.ts";
import type { TelemetryRecord } from "../../record/schema.ts";

/** A topic name, or a template like `telemetry-{sentinel.route_id}`. */
export interface TopicTemplate {
  /** The text as configured. */
  readonly source: string;
  /** Literal text and field paths, alternating (literal first); static when length is 1. */
  readonly parts: readonly (string | readonly string[])[];
}

/** One message, as kafkajs takes it. */
export interface KafkaMessage {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/** Messages of one batch, grouped by topic, and their payload size. */
export interface EncodedBatch {
  topicMessages: { topic: string; messages: KafkaMessage[] }[];
  /** Key and value bytes (UTF-8) of every message. */
  bytes: number;
}

/** What a template field renders as when the record lacks it. */
export const MISSING_TOPIC_VALUE = "unknown";

const LEGAL = /^[A-Za-z0-9._-]+$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,5}$/;
const MAX_TOPIC = 249;
const encoder = new TextEncoder();
const cache = new WeakMap<SinkBatch, EncodedBatch>();

/**
 * Parse a topic or topic template; throws `Error` with the problem (without the key name).
 *
 * @example
 * ```ts
 * parseTopicTemplate("telemetry-{labels.is_threat}"); // two parts: literal and a field path
 * ```
 */
export function parseTopicTemplate(source: string): TopicTemplate {
  const parts: (string | string[])[] = [];
  let literal = "";
  const re = /\{([^{}]*)\}/g;
  let at = 0;
  for (let m = re.exec(source); m !== null; m = re.exec(source)) {
    literal += source.slice(at, m.index);
    if (!FIELD.test(m[1])) {
      throw new Error(`placeholder {${m[1]}} must name a record field like {sentinel.route_id}`);
    }
    parts.push(literal, m[1].split("."));
    literal = "";
    at = m.index + m[0].length;
  }
  literal += source.slice(at);
  parts.push(literal);
  const text = parts.filter((p) => typeof p === "string").join("");
  if (text.includes("{") || text.includes("}")) throw new Error("has an unmatched { or }");
  if (text !== "" && !LEGAL.test(text)) {
    throw new Error(`"${source}" may only use letters, digits, ".", "_" and "-" outside {…}`);
  }
  if (parts.length === 1 && (text === "" || text === "." || text === "..")) {
    throw new Error(`"${source}" is not a valid topic name`);
  }
  if (text.length > MAX_TOPIC) throw new Error(`is longer than ${MAX_TOPIC} characters`);
  return { source, parts };
}

/** The topic for one record: field values with illegal characters replaced by `_`. */
export function renderTopic(t: TopicTemplate, record: TelemetryRecord): string {
  if (t.parts.length === 1) return t.parts[0] as string;
  let out = "";
  for (const p of t.parts) {
    if (typeof p === "string") out += p;
    else out += sanitize(fieldValue(record, p));
  }
  return out.slice(0, MAX_TOPIC);
}

/** The batch as kafkajs messages grouped by topic (cached per batch object). */
export function encodeBatch(
  batch: SinkBatch,
  topic: TopicTemplate,
  keyField: readonly string[] | null,
): EncodedBatch {
  const hit = cache.get(batch);
  if (hit !== undefined) return hit;
  const byTopic = new Map<string, KafkaMessage[]>();
  let bytes = 0;
  for (const record of batch.records) {
    const value = recordJson(record);
    const k = keyField === null ? undefined : fieldValue(record, keyField);
    const key = k === undefined || k === null ? null : String(k);
    const name = renderTopic(topic, record);
    let list = byTopic.get(name);
    if (list === undefined) byTopic.set(name, list = []);
    list.push({ key, value, headers: headersOf(record) });
    bytes += utf8Length(value) + (key === null ? 0 : utf8Length(key));
  }
  const encoded = {
    topicMessages: [...byTopic].map(([t, messages]) => ({ topic: t, messages })),
    bytes,
  };
  cache.set(batch, encoded);
  return encoded;
}

/** Headers on every message; consumers can route or dedupe without parsing the value. */
export function headersOf(record: TelemetryRecord): Record<string, string> {
  return {
    "schema-version": String(record.schema_version),
    "event-id": record.event_id,
    "content-type": "application/json",
  };
}

/** The value at a dotted path (own properties only), or undefined. */
export function fieldValue(record: TelemetryRecord, path: readonly string[]): unknown {
  let v: unknown = record;
  for (const p of path) {
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function sanitize(v: unknown): string {
  if (v === undefined || v === null || typeof v === "object") return MISSING_TOPIC_VALUE;
  const s = String(v).replace(/[^A-Za-z0-9._-]/g, "_");
  return s === "" ? MISSING_TOPIC_VALUE : s;
}

function utf8Length(s: string): number {
  // ASCII fast path: most records are ASCII JSON.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).length;
  return s.length;
}
