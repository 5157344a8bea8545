/**
 * Judges the agent's answers as the proxy would (PROTOCOL.md §3.1, §3.6, §4), then against the
 * agent's own conformance rules (§9): an answer is either accepted, rejected by the proxy
 * (`reject`: serde would fail), or acceptable to serde but not what Telemetry must send
 * (`policy`: a non-allow decision, header ops, mutations, wrong version). Test-only helper.
 * @module
 */

import { type Node, parseStrictJson, readMsgpack } from "./wire_values.ts";

export class AnswerError extends Error {
  override name = "AnswerError";
  constructor(readonly kind: "reject" | "policy", message: string) {
    super(`${kind}: ${message}`);
  }
}

const reject = (m: string): never => {
  throw new AnswerError("reject", m);
};
const policy = (m: string): never => {
  throw new AnswerError("policy", m);
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A struct field name from a map key: a string, `bin` UTF-8, or (MessagePack) a field index. */
function keyName(k: Node, fields: readonly string[]): string | undefined {
  if (k.t === "str") return k.v;
  if (k.t === "bin") return utf8.decode(k.v);
  if (k.t === "int") return fields[k.v];
  return reject(`map key of type ${k.t}`);
}

/**
 * The named fields of a serde struct given as a map or (serde allows it) an array in field
 * order. Duplicate fields are rejected; unknown ones ignored; `minArray` elements are required.
 */
function structFields(
  n: Node,
  what: string,
  fields: readonly string[],
  minArray: number,
): Map<string, Node> {
  const out = new Map<string, Node>();
  if (n.t === "arr") {
    if (n.v.length < minArray || n.v.length > fields.length) {
      reject(`${what}: array of ${n.v.length}, want ${minArray}..${fields.length}`);
    }
    n.v.forEach((x, i) => out.set(fields[i], x));
    return out;
  }
  if (n.t !== "map") return reject(`${what}: expected a struct, got ${n.t}`);
  for (const [k, v] of n.v) {
    const name = keyName(k, fields);
    if (name === undefined || !fields.includes(name)) continue;
    if (out.has(name)) reject(`${what}: duplicate field \`${name}\``);
    out.set(name, v);
  }
  return out;
}

function uint(n: Node | undefined, what: string, max: number): number {
  if (n?.t !== "int") return reject(`${what}: expected an integer, got ${n?.t ?? "nothing"}`);
  if (n.v < 0 || n.v > max) reject(`${what}: integer ${n.v} out of range`);
  return n.v;
}

function str(n: Node | undefined, what: string): string {
  if (n?.t === "str") return n.v;
  if (n?.t === "bin") return utf8.decode(n.v);
  return reject(`${what}: expected a string, got ${n?.t ?? "nothing"}`);
}

function bool(n: Node | undefined, what: string): boolean {
  if (n?.t !== "bool") return reject(`${what}: expected a boolean, got ${n?.t ?? "nothing"}`);
  return n.v;
}

function strings(n: Node, what: string): string[] {
  if (n.t !== "arr") return reject(`${what}: expected a sequence, got ${n.t}`);
  return n.v.map((x, i) => str(x, `${what}[${i}]`));
}

/** A serde_json `Value`: no `bin`, no ext, string map keys. */
function jsonValue(n: Node, what: string): unknown {
  switch (n.t) {
    case "nil":
      return null;
    case "bool":
    case "int":
    case "float":
    case "str":
      return n.v;
    case "arr":
      return n.v.map((x, i) => jsonValue(x, `${what}[${i}]`));
    case "map":
      return Object.fromEntries(n.v.map(([k, v]) => {
        if (k.t !== "str") reject(`${what}: map key must be a string, got ${k.t}`);
        return [(k as { v: string }).v, jsonValue(v, what)];
      }));
    default:
      return reject(`${what}: ${n.t} is not a JSON value`);
  }
}

const RESPONSE_FIELDS = [
  "version",
  "decision",
  "request_headers",
  "response_headers",
  "routing_metadata",
  "audit",
  "needs_more",
  "request_body_mutation",
  "response_body_mutation",
  "websocket_decision",
] as const;

const AUDIT_FIELDS = ["tags", "rule_ids", "confidence", "reason_codes", "custom"] as const;

function isAllow(n: Node): boolean {
  if (n.t === "str" || n.t === "bin") return str(n, "decision") === "allow";
  if (n.t === "int") return n.v === 0;
  if (n.t === "map" && n.v.length === 1) {
    const [k, v] = n.v[0];
    return (k.t === "str" || k.t === "bin") && str(k, "decision") === "allow" && v.t === "nil";
  }
  return false;
}

/** Returns the routing key (`audit.custom.correlation_id`, `""` when missing or not a string). */
function auditCid(n: Node | undefined): string {
  if (n === undefined) return "";
  const a = structFields(n, "audit", AUDIT_FIELDS, 0);
  for (const f of ["tags", "rule_ids", "reason_codes"]) {
    const x = a.get(f);
    if (x) strings(x, `audit.${f}`);
  }
  const conf = a.get("confidence");
  if (conf && !["nil", "int", "float"].includes(conf.t)) reject("audit.confidence: expected f32");
  const custom = a.get("custom");
  if (!custom) return "";
  if (custom.t !== "map") return reject(`audit.custom: expected a map, got ${custom.t}`);
  const value = jsonValue(custom, "audit.custom") as Record<string, unknown>;
  const cid = value.correlation_id;
  return typeof cid === "string" ? cid : "";
}

/**
 * Check an AgentResponse payload (the frame without length and type byte).
 * `version`: the version the agent must send (1 for v1, 2 for v2). Returns the routing key.
 */
export function checkAgentResponse(
  payload: Uint8Array,
  encoding: "json" | "msgpack",
  version: 1 | 2,
): { cid: string } {
  let root: Node;
  try {
    root = encoding === "json" ? parseStrictJson(payload) : readMsgpack(payload).node;
  } catch (e) {
    return reject(`unparsable ${encoding}: ${(e as Error).message}`);
  }
  const f = structFields(root, "AgentResponse", RESPONSE_FIELDS, 2);
  if (!f.has("version")) reject("missing field `version`");
  if (!f.has("decision")) reject("missing field `decision`");
  const v = uint(f.get("version"), "version", 0xffff_ffff);
  if (version === 1 && v !== 1) reject(`Protocol version mismatch: expected 1, got ${v}`);
  for (const h of ["request_headers", "response_headers"]) {
    const ops = f.get(h);
    if (ops && ops.t !== "arr") reject(`${h}: expected a sequence`);
    if (ops?.t === "arr" && ops.v.length) policy(`${h}: header ops are never sent`);
  }
  const rm = f.get("routing_metadata");
  if (rm) {
    if (rm.t !== "map") reject("routing_metadata: expected a map");
    (rm as { v: [Node, Node][] }).v.forEach((
      [k, x],
    ) => (str(k, "key"), str(x, "routing_metadata")));
  }
  const nm = f.get("needs_more");
  if (nm && bool(nm, "needs_more")) policy("needs_more must not be set");
  const cid = auditCid(f.get("audit"));
  for (const m of ["request_body_mutation", "response_body_mutation", "websocket_decision"]) {
    const x = f.get(m);
    if (x && x.t !== "nil") policy(`${m} must be absent or null`);
  }
  const decision = f.get("decision")!;
  if (encoding === "json" && decision.t === "int") reject("decision: integer in JSON");
  if (!isAllow(decision)) policy('decision must be "allow" or {"allow":null}');
  if (version === 2 && v !== 2) policy(`version must be 2, got ${v}`);
  return { cid };
}

/** The parts of a HandshakeResponse a test looks at. */
export interface HandshakeInfo {
  protocolVersion: number;
  encoding: "json" | "msgpack";
  agentId: string;
  supportedEvents: number[];
}

const HS_FIELDS = ["protocol_version", "capabilities", "success", "error", "encoding"];
const CAP_FIELDS = ["agent_id", "name", "version", "supported_events", "features", "limits"];
const FEATURE_FIELDS = [
  "streaming_body",
  "websocket",
  "guardrails",
  "config_push",
  "metrics_export",
  "concurrent_requests",
  "cancellation",
  "flow_control",
  "health_reporting",
];
const LIMIT_FIELDS = ["max_body_size", "max_concurrency", "preferred_chunk_size"];

function required(m: Map<string, Node>, name: string, what: string): Node {
  return m.get(name) ?? reject(`${what}: missing field \`${name}\``);
}

function checkCapabilities(n: Node): Omit<HandshakeInfo, "protocolVersion" | "encoding"> {
  const c = structFields(n, "capabilities", CAP_FIELDS, CAP_FIELDS.length);
  const agentId = str(required(c, "agent_id", "capabilities"), "agent_id");
  str(required(c, "name", "capabilities"), "name");
  str(required(c, "version", "capabilities"), "version");
  const ev = required(c, "supported_events", "capabilities");
  if (ev.t !== "arr") reject("supported_events: expected a sequence");
  const supportedEvents = (ev as { v: Node[] }).v.map((x) => {
    if (x.t !== "int" || x.v < -(2 ** 31) || x.v >= 2 ** 31) reject("supported_events: want i32");
    return (x as { v: number }).v;
  });
  const feat = structFields(required(c, "features", "capabilities"), "features", FEATURE_FIELDS, 9);
  for (const name of FEATURE_FIELDS) {
    const x = required(feat, name, "features");
    if (name === "concurrent_requests") uint(x, name, 0xffff_ffff);
    else bool(x, `features.${name}`);
  }
  const lim = structFields(required(c, "limits", "capabilities"), "limits", LIMIT_FIELDS, 3);
  for (const name of LIMIT_FIELDS) uint(required(lim, name, "limits"), name, Number.MAX_VALUE);
  return { agentId, supportedEvents };
}

/** Check a HandshakeResponse (always JSON) against what the proxy offered. */
export function checkHandshakeResponse(
  payload: Uint8Array,
  offered: readonly string[],
): HandshakeInfo {
  let root: Node;
  try {
    root = parseStrictJson(payload);
  } catch (e) {
    return reject(`unparsable handshake response: ${(e as Error).message}`);
  }
  if (root.t !== "map") reject("handshake response must be a JSON object");
  const h = structFields(root, "HandshakeResponse", HS_FIELDS, 3);
  const protocolVersion = uint(
    required(h, "protocol_version", "handshake"),
    "protocol_version",
    0xffff_ffff,
  );
  const caps = checkCapabilities(required(h, "capabilities", "handshake"));
  const success = bool(required(h, "success", "handshake"), "success");
  const err = h.get("error");
  if (err && err.t !== "nil") str(err, "error");
  const e = h.get("encoding");
  const name = e === undefined ? "json" : str(e, "encoding");
  if (name !== "json" && name !== "msgpack") reject(`unknown encoding ${JSON.stringify(name)}`);
  if (!success) policy("success must be true");
  if (protocolVersion !== 2) policy(`protocol_version must be 2, got ${protocolVersion}`);
  const allowed = offered.length ? offered : ["json"];
  if (!allowed.includes(name)) policy(`encoding ${name} was not offered (${offered.join(",")})`);
  return { protocolVersion, encoding: name as "json" | "msgpack", ...caps };
}
