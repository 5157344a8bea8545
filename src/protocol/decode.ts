/**
 * Full decoding of proxy events (v1 JSON, v2 JSON and v2 MessagePack) into named-field payloads
 * in the PROTOCOL.md §3.3 shape.
 * Runs in the pipeline worker. Never on the ack path: the ack needs only the correlation id,
 * which ingress finds by a byte scan. Throws `DecodeError` on anything malformed.
 * @module
 */

import { decode as decodeMsgpack } from "@msgpack/msgpack";
import {
  defaultOf,
  EVENT_FIELDS,
  type FieldSpec,
  METADATA_FIELDS,
  V1_CONFIGURE_FIELDS,
} from "./_msgpack_shapes.ts";
import { EVENT_KINDS, type EventKind, V1_EVENT_TYPES } from "./constants.ts";

export { EVENT_KINDS };
export type { EventKind };

/** The event kind of a v2 type byte, or `undefined` when the byte is not an event (0x10..0x17). */
export function eventKindOfType(type: number): EventKind | undefined {
  return type >= 0x10 && type <= 0x17 ? EVENT_KINDS[type - 0x10] : undefined;
}

/** A fully decoded event. `payload` has the §3.3 named fields, without the injected top-level id. */
export interface DecodedEvent {
  kind: EventKind;
  /** The id the ack echoes: `metadata.correlation_id` for request_headers; `""` for v1 configure. */
  correlationId: string;
  payload: Record<string, unknown>;
}

/** A frame body that is not a valid event of its kind. */
export class DecodeError extends Error {
  readonly code = "protocol_decode" as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DecodeError";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decode a v2 event body (the frame without length and type byte).
 *
 * @example
 * ```ts
 * const ev = decodeEvent("response_headers", "json", body);
 * ev.payload.status; // 200
 * ```
 */
export function decodeEvent(
  kind: EventKind,
  encoding: "json" | "msgpack",
  body: Uint8Array,
): DecodedEvent {
  const fields = EVENT_FIELDS[kind];
  if (!fields) throw new DecodeError(`Cannot decode event: unknown kind ${JSON.stringify(kind)}`);
  const root = encoding === "json" ? parseJson(body, kind) : parseMsgpack(body, kind);
  const top = asRecordOrArray(root, kind);
  const payload = decodeStruct(top, fields, kind);
  const correlationId = kind === "request_headers"
    ? (payload.metadata as Record<string, unknown>).correlation_id as string
    : kind === "configure"
    ? injectedId(top, kind)
    : payload.correlation_id as string;
  return { kind, correlationId, payload };
}

/**
 * Decode a v1 request body: `{"version":1,"event_type":…,"payload":{…}}`.
 * The `version` must be a non-negative integer; its value is not checked (the proxy sends 1).
 */
export function decodeV1(body: Uint8Array): DecodedEvent {
  const root = parseJson(body, "v1 request");
  if (!isPlainRecord(root)) throw new DecodeError("Cannot decode v1 request: not a JSON object");
  checkInteger(root.version, "v1 request", "version", 0xffff_ffff);
  const type = root.event_type;
  if (typeof type !== "string" || !Object.hasOwn(V1_EVENT_TYPES, type)) {
    throw new DecodeError(`Cannot decode v1 request: unknown event_type ${describe(type)}`);
  }
  const kind = V1_EVENT_TYPES[type];
  const fields = kind === "configure" ? V1_CONFIGURE_FIELDS : EVENT_FIELDS[kind];
  const payload = decodeStruct(asRecordOrArray(root.payload, kind, "payload"), fields, kind);
  const correlationId = kind === "request_headers"
    ? (payload.metadata as Record<string, unknown>).correlation_id as string
    : kind === "configure"
    ? ""
    : payload.correlation_id as string;
  return { kind, correlationId, payload };
}

function parseJson(body: Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch (cause) {
    throw new DecodeError(`Cannot decode ${what}: body is not valid UTF-8`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new DecodeError(`Cannot decode ${what}: invalid JSON (${reason})`, { cause });
  }
}

function parseMsgpack(body: Uint8Array, what: string): unknown {
  try {
    // Decode from a copy: msgpack `bin` values come back as views into their input, and the
    // batch buffer goes back to the ack path for reuse once the batch is processed.
    return decodeMsgpack(body.slice());
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new DecodeError(`Cannot decode ${what}: invalid MessagePack (${reason})`, { cause });
  }
}

function injectedId(top: Record<string, unknown> | unknown[], kind: string): string {
  const id = Array.isArray(top) ? undefined : top.correlation_id;
  const text = typeof id === "string" ? id : id instanceof Uint8Array ? utf8Text(id) : undefined;
  if (text === undefined) {
    throw new DecodeError(`Cannot decode ${kind}: top-level correlation_id must be a string`);
  }
  return text;
}

/** A struct as a map (named fields) or, as serde also allows, an array in declaration order. */
function decodeStruct(
  value: Record<string, unknown> | unknown[],
  fields: readonly FieldSpec[],
  path: string,
): Record<string, unknown> {
  if (Array.isArray(value)) return decodeStructArray(value, fields, path);
  const out: Record<string, unknown> = {};
  for (const spec of fields) {
    const present = Object.hasOwn(value, spec.name);
    fillField(out, spec, present, present ? value[spec.name] : undefined, path);
  }
  return out;
}

function decodeStructArray(
  items: unknown[],
  fields: readonly FieldSpec[],
  path: string,
): Record<string, unknown> {
  let min = 0;
  fields.forEach((s, i) => {
    if (s.presence === "required" || s.presence === "nullable") min = i + 1;
  });
  if (items.length < min || items.length > fields.length) {
    const want = min === fields.length ? `${min}` : `${min} to ${fields.length}`;
    throw new DecodeError(
      `Cannot decode ${path}: array form must have ${want} elements, got ${items.length}`,
    );
  }
  const out: Record<string, unknown> = {};
  fields.forEach((spec, i) => fillField(out, spec, i < items.length, items[i], path));
  return out;
}

function fillField(
  out: Record<string, unknown>,
  spec: FieldSpec,
  present: boolean,
  raw: unknown,
  path: string,
): void {
  if (present && raw !== null) {
    out[spec.name] = convert(spec, raw, path);
    return;
  }
  const state = present ? "null" : "missing";
  switch (spec.presence) {
    case "required":
      throw new DecodeError(`Cannot decode ${path}: field ${spec.name} is ${state}`);
    case "default": // serde's `#[serde(default)]` applies to a missing key, not to null
      if (present) throw new DecodeError(`Cannot decode ${path}: field ${spec.name} is null`);
      out[spec.name] = defaultOf(spec.type);
      return;
    case "nullable": // `?`: null whether sent as nil or left out
      out[spec.name] = null;
      return;
    case "omittable": // `‡`: nil stays null, a missing key stays missing
      if (present) out[spec.name] = null;
  }
}

/** `path` is the struct's; the field's own path is only spelled out for an error (hot path). */
function convert(spec: FieldSpec, raw: unknown, path: string): unknown {
  const where = () => `${path}.${spec.name}`;
  switch (spec.type) {
    case "string":
      return typeof raw === "string" ? raw : asString(raw, where());
    case "u16":
      return checkInteger(raw, where, "", 0xffff);
    case "u32":
      return checkInteger(raw, where, "", 0xffff_ffff);
    case "u64":
      return checkInteger(raw, where, "", Number.MAX_VALUE);
    case "bool":
      if (typeof raw !== "boolean") throw badType(where(), "a boolean", raw);
      return raw;
    case "strings":
      if (!Array.isArray(raw)) throw badType(where(), "an array of strings", raw);
      for (let i = 0; i < raw.length; i++) {
        if (typeof raw[i] !== "string") raw[i] = asString(raw[i], `${where()}[${i}]`);
      }
      return raw;
    case "headers":
      return asHeaders(raw, where);
    case "object":
      if (!isPlainRecord(raw)) throw badType(where(), "a map", raw);
      return raw;
    case "metadata":
      return decodeStruct(asRecordOrArray(raw, where()), METADATA_FIELDS, where());
    case "any":
      return raw;
  }
}

function asHeaders(raw: unknown, where: () => string): Record<string, string[]> {
  if (!isPlainRecord(raw)) throw badType(where(), "a map of header name to values", raw);
  for (const name in raw) {
    const values = raw[name];
    if (!Array.isArray(values)) {
      throw badType(`${where()}[${JSON.stringify(name)}]`, "an array", values);
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== "string") {
        values[i] = asString(v, `${where()}[${JSON.stringify(name)}][${i}]`);
      }
    }
  }
  return raw as Record<string, string[]>;
}

function asString(raw: unknown, where: string): string {
  if (typeof raw === "string") return raw;
  // rmp_serde also accepts `bin` where a string is expected, when it is valid UTF-8.
  if (raw instanceof Uint8Array) {
    const text = utf8Text(raw);
    if (text !== undefined) return text;
  }
  throw badType(where, "a string", raw);
}

function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined; // not UTF-8: the caller reports the field as a bad type
  }
}

function checkInteger(
  raw: unknown,
  where: string | (() => string),
  field: string,
  max: number,
): number {
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 0 || raw > max) {
    const at = typeof where === "string" ? where : where();
    const name = field ? `${at}: field ${field}` : at;
    const range = max === Number.MAX_VALUE ? "a non-negative integer" : `an integer 0..${max}`;
    throw new DecodeError(`Cannot decode ${name}: must be ${range}, got ${describe(raw)}`);
  }
  return raw;
}

function asRecordOrArray(
  raw: unknown,
  where: string,
  field?: string,
): Record<string, unknown> | unknown[] {
  if (Array.isArray(raw) || isPlainRecord(raw)) return raw;
  throw badType(field ? `${where}.${field}` : where, "a map", raw);
}

function isPlainRecord(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === "object" && raw !== null && !Array.isArray(raw) &&
    !(raw instanceof Uint8Array);
}

function badType(where: string, expected: string, raw: unknown): DecodeError {
  return new DecodeError(`Cannot decode ${where}: must be ${expected}, got ${describe(raw)}`);
}

function describe(raw: unknown): string {
  if (raw === undefined) return "nothing";
  if (raw === null) return "null";
  if (Array.isArray(raw)) return "an array";
  if (raw instanceof Uint8Array) return "binary data";
  if (typeof raw === "object") return "a map";
  const text = JSON.stringify(raw);
  return text.length > 40 ? `${typeof raw} ${text.slice(0, 40)}…` : text;
}
