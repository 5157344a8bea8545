/**
 * Loads the agent's own KDL config file into a typed `Config`: settings as top-level nodes, or
 * wrapped in the product page's `agent "telemetry" { … }` block. Reports every problem at once
 * (a `ConfigError` with issues in file order), each with key path, `file:line:col` and a fix.
 * Runs at start-up and for `validate`. Never resolves paths or touches the network.
 * @module
 */

import { RUNNER_KEYS } from "../sinks/_runner_config.ts";
import {
  checkHostPort,
  checkListen,
  checkMode,
  checkSinkName,
  checkValue,
  defaultConfig,
  ENRICHMENT_FILE_FIELDS,
  EVENT_ALIASES,
  EVENT_NAMES,
  eventName,
  expected,
  FILE_SINK_DEFAULTS,
  FILE_SINK_FIELDS,
  fileSinkOptions,
  LISTEN_EXPECTED,
  MODE_EXPECTED,
  rule,
  SECTION_FIELDS,
  type SectionName,
  show,
  SINK_FIELDS,
  SINK_TYPES,
  SPOOL_FIELDS,
  TOP_FIELDS,
  type ValueSpec,
} from "./defaults.ts";
import { ConfigError, KdlSyntaxError, sortIssues, suggest } from "./errors.ts";
import { redactionSection } from "../redact/config.ts";
import type { Check } from "./defaults.ts";
import type { ConfigIssue, ConfigIssueCode } from "./errors.ts";
import {
  entriesOf,
  type KdlNode,
  type KdlValue,
  parseKdl,
  type PlainValue,
  plainValue,
  setOwn,
} from "./kdl.ts";
import type { Config, ProxyEventName, SinkConfig, SinkType, SourcePos } from "./types.ts";

/** A loaded config and the dotted kebab-case keys the file set explicitly (`sampling.rate`). */
export interface LoadedConfig {
  config: Config;
  setKeys: Set<string>;
}

/** Load config text; `file` names it in positions. Throws `ConfigError` listing every issue. */
export function loadConfigText(text: string, file: string): LoadedConfig {
  let nodes: KdlNode[];
  try {
    nodes = parseKdl(text, file);
  } catch (err) {
    if (err instanceof KdlSyntaxError) throw new ConfigError([err.toIssue()]);
    throw err;
  }
  const ctx = new Ctx(file);
  applySettings(settingNodes(nodes, ctx), ctx);
  if (ctx.sinks.length > 0) ctx.config.sinks = ctx.sinks;
  if (ctx.issues.length > 0) throw new ConfigError(sortIssues(ctx.issues));
  return { config: ctx.config, setKeys: ctx.setKeys };
}

/** Read and load a config file. Throws `ConfigError` (code `config_unreadable` if unreadable). */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError([{
      code: "config_unreadable",
      path: "",
      pos: { file: path, line: 0, col: 0 },
      problem: `cannot read the config file: ${reason}`,
      hint: "check the path given with --config and that the agent may read it",
    }]);
  }
  return loadConfigText(text, path);
}

class Ctx {
  readonly issues: ConfigIssue[] = [];
  readonly setKeys = new Set<string>();
  readonly config: Config;
  readonly sinks: SinkConfig[] = [];

  constructor(file: string) {
    this.config = defaultConfig({ source: file });
  }

  add(code: ConfigIssueCode, path: string, pos: SourcePos, problem: string, hint?: string): void {
    const issue: ConfigIssue = { code, path, pos, problem };
    if (hint !== undefined) issue.hint = hint;
    this.issues.push(issue);
  }

  /** Keep a checked value (marking `path` as set), or report why it was refused. */
  take<T>(check: Check<T>, path: string, pos: SourcePos): T | undefined {
    if (check.ok) {
      this.setKeys.add(path);
      return check.value;
    }
    this.add(check.code, path, pos, check.problem, check.hint);
    return undefined;
  }

  /** A key set twice; `as` names the first spelling when it differs (`socket` vs `unix-socket`). */
  duplicate(path: string, pos: SourcePos, first: SourcePos, as = ""): void {
    const by = as === "" ? "" : ` as \`${as}\``;
    const problem = `is set more than once (first at line ${first.line}${by})`;
    this.add("config_duplicate", path, pos, problem, "remove one of them");
  }

  unknown(path: string, pos: SourcePos, name: string, valid: readonly string[]): void {
    this.add("config_unknown_key", path, pos, "unknown key", suggest(name, valid));
  }
}

type Handler = (node: KdlNode, ctx: Ctx) => void;

const HANDLERS: Record<string, Handler> = {
  socket: (node, ctx) => socketSetting(node, ctx, node.args),
  "unix-socket": (node, ctx) => socketSetting(node, ctx, node.args),
  transport: transportSetting,
  events: eventsSetting,
  enrichment: enrichmentSetting,
  sampling: (node, ctx) => sectionSetting(node, ctx, "sampling"),
  redaction: (node, ctx) => void (ctx.config.redaction = redactionSection(node, ctx)),
  ingress: (node, ctx) => sectionSetting(node, ctx, "ingress"),
  handoff: (node, ctx) => sectionSetting(node, ctx, "handoff"),
  lifecycle: (node, ctx) => sectionSetting(node, ctx, "lifecycle"),
  sink: sinkSetting,
  spool: spoolSetting,
  metrics: metricsSetting,
  ...Object.fromEntries(Object.keys(TOP_FIELDS).map((key) => [key, topSetting])),
};

/** Several spellings of one setting, for duplicate detection. */
const SAME_AS: Record<string, string> = { "unix-socket": "socket", transport: "socket" };

function applySettings(nodes: KdlNode[], ctx: Ctx): void {
  const seen = new Map<string, KdlNode>();
  for (const node of nodes) {
    const handler = rule(HANDLERS, node.name);
    if (handler === undefined) {
      ctx.unknown(node.name, node.pos, node.name, Object.keys(HANDLERS));
      continue;
    }
    const key = rule(SAME_AS, node.name) ?? node.name;
    const first = seen.get(key);
    if (first !== undefined) {
      ctx.duplicate(node.name, node.pos, first.pos, first.name === node.name ? "" : first.name);
      continue;
    }
    if (node.name !== "sink") seen.set(key, node);
    handler(node, ctx);
  }
}

/** The nodes holding settings: the document, or the body of its `agent "…" { … }` wrapper. */
function settingNodes(nodes: KdlNode[], ctx: Ctx): KdlNode[] {
  const agent = nodes.find((n) => n.name === "agent");
  if (agent === undefined) return nodes;
  for (const other of nodes.filter((n) => n !== agent)) {
    if (other.name === "agent") {
      ctx.add("config_duplicate", "agent", other.pos, "only one agent block is allowed per file");
    } else {
      const hint = 'move it inside agent "telemetry" { … }, or drop the wrapper';
      ctx.add("config_invalid_value", other.name, other.pos, "is outside the agent block", hint);
    }
  }
  if (agent.args.length > 1 || agent.args.some((a) => typeof a.value !== "string")) {
    ctx.add("config_wrong_type", "agent", agent.pos, 'expects one name, e.g. agent "telemetry"');
  }
  for (const [key, value] of Object.entries(agent.props)) {
    if (key === "type") agentType(plainValue(value), value.pos, ctx);
    else ctx.unknown(`agent.${key}`, value.pos, key, ["type"]);
  }
  const types = agent.children.filter((child) => child.name === "type");
  for (const node of types) {
    const value = scalarArg(node, "type", ctx, '"telemetry"');
    if (value !== undefined) agentType(value, node.pos, ctx);
  }
  return agent.children.filter((child) => child.name !== "type");
}

function agentType(value: PlainValue, pos: SourcePos, ctx: Ctx): void {
  if (value === "telemetry") return;
  const got = typeof value === "string" ? `"${value}"` : show(value);
  const hint = "this file configures the Telemetry agent only";
  ctx.add("config_invalid_value", "type", pos, `must be "telemetry", got ${got}`, hint);
}

/** Visit each entry of a block once; a repeated key is `config_duplicate`. */
function forEntries(node: KdlNode, prefix: string, ctx: Ctx, visit: Handler): void {
  const seen = new Map<string, SourcePos>();
  for (const entry of entriesOf(node)) {
    const path = `${prefix}.${entry.name}`;
    const first = seen.get(entry.name);
    if (first !== undefined) {
      ctx.duplicate(path, entry.pos, first);
      continue;
    }
    seen.set(entry.name, entry.pos);
    visit(entry, ctx);
  }
}

/** The one value of `key value`; a bare `key` is true when `bareIsTrue`. Undefined: reported. */
function scalarArg(
  node: KdlNode,
  path: string,
  ctx: Ctx,
  want: string,
  bareIsTrue = false,
): PlainValue | undefined {
  const block = node.children.length > 0 || Object.keys(node.props).length > 0;
  if (!block && node.args.length === 0 && bareIsTrue) return true;
  if (!block && node.args.length === 1) return plainValue(node.args[0]);
  const got = block ? "a block or properties" : `${node.args.length || "no"} values`;
  ctx.add("config_wrong_type", path, node.pos, `expects ${want}, got ${got}`);
  return undefined;
}

/** Check `key value` (or `key v1 v2` / `key [v1 v2]` for a list rule); undefined when reported. */
function field(node: KdlNode, path: string, ctx: Ctx, spec: ValueSpec) {
  if (spec.kind === "list") {
    const items = node.args.flatMap((a) => Array.isArray(a.value) ? a.value : [a]);
    const block = node.children.length > 0 || Object.keys(node.props).length > 0;
    if (!block && items.length > 0) {
      return ctx.take(checkValue(spec, items.map(plainValue)), path, node.pos);
    }
    const got = block ? "a block or properties" : "no values";
    ctx.add("config_wrong_type", path, node.pos, `expects ${expected(spec)}, got ${got}`);
    return undefined;
  }
  const raw = scalarArg(node, path, ctx, expected(spec), spec.kind === "bool");
  return raw === undefined ? undefined : ctx.take(checkValue(spec, raw), path, node.pos);
}

function topSetting(node: KdlNode, ctx: Ctx): void {
  const r = TOP_FIELDS[node.name];
  const value = field(node, node.name, ctx, r.spec);
  if (value !== undefined) setOwn(ctx.config as unknown as Record<string, unknown>, r.prop, value);
}

function sectionSetting(node: KdlNode, ctx: Ctx, section: SectionName): void {
  if (node.args.length > 0) {
    const problem = `expects a block like ${section} { … }, got ${show(plainValue(node.args[0]))}`;
    ctx.add("config_wrong_type", section, node.pos, problem);
  }
  const rules: Record<string, { spec: ValueSpec; prop: PropertyKey }> = SECTION_FIELDS[section];
  const target = ctx.config[section] as unknown as Record<string, unknown>;
  forEntries(node, section, ctx, (entry) => {
    const path = `${section}.${entry.name}`;
    const r = rule(rules, entry.name);
    if (r === undefined) return ctx.unknown(path, entry.pos, entry.name, Object.keys(rules));
    const value = field(entry, path, ctx, r.spec);
    if (value !== undefined) target[String(r.prop)] = value;
  });
}

/** `enrichment { … }`: the runtime switches (SECTION_FIELDS) and the file-only data keys. */
function enrichmentSetting(node: KdlNode, ctx: Ctx): void {
  if (node.args.length > 0) {
    const problem = `expects a block like enrichment { … }, got ${show(plainValue(node.args[0]))}`;
    ctx.add("config_wrong_type", "enrichment", node.pos, problem);
  }
  const switches: Record<string, { spec: ValueSpec; prop: PropertyKey }> =
    SECTION_FIELDS.enrichment;
  const target = ctx.config.enrichment as unknown as Record<string, unknown>;
  const valid = [...Object.keys(switches), ...Object.keys(ENRICHMENT_FILE_FIELDS)];
  forEntries(node, "enrichment", ctx, (entry) => {
    const path = `enrichment.${entry.name}`;
    const r = rule(switches, entry.name) ?? rule(ENRICHMENT_FILE_FIELDS, entry.name);
    if (r === undefined) return ctx.unknown(path, entry.pos, entry.name, valid);
    const value = r.spec.kind === "list"
      ? enrichmentList(entry, path, ctx, r.spec)
      : field(entry, path, ctx, r.spec);
    if (value !== undefined) target[String(r.prop)] = value;
  });
}

/** An enrichment list key: `key "a" "b"` or `key ["a" "b"]`, checked item by item. */
function enrichmentList(node: KdlNode, path: string, ctx: Ctx, spec: ValueSpec) {
  const items = node.args.flatMap((a) => Array.isArray(a.value) ? a.value : [a]);
  if (node.children.length > 0 || Object.keys(node.props).length > 0 || items.length === 0) {
    const got = items.length === 0 ? "none" : "a block";
    ctx.add("config_wrong_type", path, node.pos, `expects ${expected(spec)}, got ${got}`);
    return undefined;
  }
  return ctx.take(checkValue(spec, items.map(plainValue)), path, node.pos);
}

/** `socket "/p" mode="0660"`, `socket { path …; mode … }`, `unix-socket "/p"`. */
function socketSetting(node: KdlNode, ctx: Ctx, pathArgs: readonly KdlValue[]): boolean {
  let hasPath = pathArgs.length > 0;
  if (pathArgs.length > 1) {
    ctx.add("config_wrong_type", "socket.path", pathArgs[1].pos, "expects one path");
  } else if (hasPath) {
    const path = ctx.take(
      checkValue({ kind: "string" }, plainValue(pathArgs[0])),
      "socket.path",
      node.pos,
    );
    if (path !== undefined) ctx.config.socket.path = path as string;
  }
  forEntries(node, "socket", ctx, (entry) => {
    const path = `socket.${entry.name}`;
    if (entry.name === "path" && hasPath) {
      ctx.duplicate(path, entry.pos, node.pos, node.name);
    } else if (entry.name === "path") {
      hasPath = true;
      const value = field(entry, path, ctx, { kind: "string" });
      if (value !== undefined) ctx.config.socket.path = value as string;
    } else if (entry.name === "mode") {
      const raw = scalarArg(entry, path, ctx, MODE_EXPECTED);
      const mode = raw === undefined ? undefined : ctx.take(checkMode(raw), path, entry.pos);
      if (mode !== undefined) ctx.config.socket.mode = mode;
    } else {
      ctx.unknown(path, entry.pos, entry.name, ["path", "mode"]);
    }
  });
  return hasPath;
}

/** The product page's `transport "unix_socket" { path "/p" }`. */
function transportSetting(node: KdlNode, ctx: Ctx): void {
  const kind = node.args.length === 1 ? node.args[0].value : undefined;
  const known = kind === "unix_socket" || kind === "unix-socket";
  if (!known) {
    const got = node.args.length === 1
      ? show(plainValue(node.args[0]))
      : `${node.args.length} values`;
    const problem = `only the "unix_socket" transport is supported, got ${got}`;
    ctx.add("config_invalid_value", "transport", node.pos, problem);
  }
  if (!socketSetting(node, ctx, []) && known) {
    const hint = 'add path "/var/run/sentinel/telemetry.sock" inside the transport block';
    ctx.add("config_missing", "socket.path", node.pos, "transport needs a socket path", hint);
  }
}

/** `events "a" "b"` or `events ["a" "b"]`. */
function eventsSetting(node: KdlNode, ctx: Ctx): void {
  const want = 'event names, e.g. events "request_headers" "response_headers"';
  const items = node.args.flatMap((a) => Array.isArray(a.value) ? a.value : [a]);
  if (node.children.length > 0 || Object.keys(node.props).length > 0 || items.length === 0) {
    ctx.add(
      "config_wrong_type",
      "events",
      node.pos,
      `expects ${want}, got ${items.length === 0 ? "none" : "a block"}`,
    );
    return;
  }
  const events: ProxyEventName[] = [];
  let ok = true;
  for (const item of items) {
    const name = typeof item.value === "string" ? eventName(item.value) : undefined;
    if (name === undefined) {
      ok = false;
      if (typeof item.value !== "string") {
        ctx.add(
          "config_wrong_type",
          "events",
          item.pos,
          `expects ${want}, got ${show(plainValue(item))}`,
        );
      } else {
        const hint = suggest(item.value, [...EVENT_NAMES, ...Object.keys(EVENT_ALIASES)], "events");
        ctx.add("config_invalid_value", "events", item.pos, `unknown event "${item.value}"`, hint);
      }
    } else if (!events.includes(name)) events.push(name);
  }
  if (ok) {
    ctx.config.events = events;
    ctx.setKeys.add("events");
  }
}

/** `metrics "127.0.0.1:9464"`, `metrics "off"` or `metrics { listen "…" }`. */
function metricsSetting(node: KdlNode, ctx: Ctx): void {
  const set = (raw: PlainValue, pos: SourcePos) => {
    const listen = ctx.take(checkListen(raw), "metrics.listen", pos);
    if (listen !== undefined) ctx.config.metrics.listen = listen;
  };
  if (node.args.length > 1) {
    ctx.add("config_wrong_type", "metrics.listen", node.pos, `expects ${LISTEN_EXPECTED}`);
  } else if (node.args.length === 1) set(plainValue(node.args[0]), node.pos);
  let hasListen = node.args.length > 0;
  forEntries(node, "metrics", ctx, (entry) => {
    const path = `metrics.${entry.name}`;
    if (entry.name !== "listen") return ctx.unknown(path, entry.pos, entry.name, ["listen"]);
    if (hasListen) return ctx.duplicate(path, entry.pos, node.pos, "metrics");
    hasListen = true;
    const raw = scalarArg(entry, path, ctx, LISTEN_EXPECTED);
    if (raw !== undefined) set(raw, entry.pos);
  });
  if (!hasListen) {
    const hint = 'write metrics "127.0.0.1:9464" or metrics "off"';
    ctx.add("config_missing", "metrics.listen", node.pos, "no listen address", hint);
  }
}

/** `spool { directory "…"; max-bytes …; segment-bytes …; fsync-ms …; full-policy "…" }`. */
function spoolSetting(node: KdlNode, ctx: Ctx): void {
  if (node.args.length > 0) {
    const problem = `expects a block like spool { directory "…" }, got ${
      show(plainValue(node.args[0]))
    }`;
    ctx.add("config_wrong_type", "spool", node.pos, problem);
  }
  const spool: Record<string, unknown> = {};
  forEntries(node, "spool", ctx, (entry) => {
    const path = `spool.${entry.name}`;
    const r = rule(SPOOL_FIELDS, entry.name);
    if (r === undefined) return ctx.unknown(path, entry.pos, entry.name, Object.keys(SPOOL_FIELDS));
    const value = field(entry, path, ctx, r.spec);
    if (value !== undefined) spool[String(r.prop)] = value;
  });
  if (typeof spool.directory !== "string" || spool.directory === "") {
    const hint = 'add directory "/var/lib/telemetry/spool" inside the spool block';
    ctx.add("config_missing", "spool.directory", node.pos, "a spool needs a directory", hint);
    return;
  }
  const { maxBytes, segmentBytes } = spool as { maxBytes?: number; segmentBytes?: number };
  if (maxBytes !== undefined && segmentBytes !== undefined && segmentBytes > maxBytes) {
    const problem = `must not exceed max-bytes (${maxBytes}), got ${segmentBytes}`;
    ctx.add("config_out_of_range", "spool.segment-bytes", node.pos, problem);
  }
  ctx.config.spool = spool as unknown as Config["spool"];
}

/** `sink "TYPE" { name …; batch-size …; flush-interval-ms …; <sink options> }`. */
function sinkSetting(node: KdlNode, ctx: Ctx): void {
  ctx.setKeys.add("sinks");
  const type = sinkType(node, ctx);
  if (type === undefined) return;
  const entries = entriesOf(node);
  const name = sinkName(entries.find((e) => e.name === "name"), type, ctx);
  const prefix = `sinks.${name}`;
  const options = type === "file" ? fileSinkOptions(FILE_SINK_DEFAULTS) : {};
  const sink: SinkConfig = {
    name,
    type,
    batchSize: 1000,
    flushIntervalMs: 1000,
    options,
    pos: node.pos,
  };
  forEntries(node, prefix, ctx, (entry) => {
    const path = `${prefix}.${entry.name}`;
    const common = rule(SINK_FIELDS, entry.name);
    if (entry.name === "name") return;
    if (entry.name === "type") {
      const hint = `write the type as the sink's argument: sink "${type}" { … }`;
      return ctx.add("config_invalid_value", path, entry.pos, "is not a sink key", hint);
    }
    if (common === undefined) return sinkOption(type, entry, path, options, ctx);
    const value = field(entry, path, ctx, common.spec);
    if (value !== undefined) setOwn(sink as unknown as Record<string, unknown>, common.prop, value);
  });
  if (type === "kafka") requireKeys(node, entries, prefix, ["brokers", "topic"], ctx);
  const same = ctx.sinks.find((s) => s.name === name);
  if (same !== undefined) {
    const problem = `name "${name}" is already used by the sink at line ${same.pos?.line}`;
    const hint = `give each sink its own name, e.g. name "${name}-2"`;
    return ctx.add("config_duplicate", prefix, node.pos, problem, hint);
  }
  ctx.sinks.push(sink);
}

/** The sink's `name`, or its type when absent or invalid (the issue is reported). */
function sinkName(entry: KdlNode | undefined, type: SinkType, ctx: Ctx): string {
  if (entry === undefined) return type;
  const path = `sinks.${type}.name`;
  const raw = scalarArg(entry, path, ctx, "a sink name");
  const name = raw === undefined ? undefined : ctx.take(checkSinkName(raw), path, entry.pos);
  return name ?? type;
}

function sinkType(node: KdlNode, ctx: Ctx): SinkType | undefined {
  const raw = node.args.length === 1 ? node.args[0].value : undefined;
  const type = SINK_TYPES.find((t) => t === raw);
  if (type !== undefined) return type;
  const list = SINK_TYPES.join(", ");
  if (typeof raw === "string") {
    const hint = suggest(raw, SINK_TYPES, "sink types");
    ctx.add("config_invalid_value", "sinks", node.pos, `unknown sink type "${raw}"`, hint);
  } else {
    const problem = `expects the sink type as its one argument (${list}), e.g. sink "kafka" { … }`;
    ctx.add("config_wrong_type", "sinks", node.pos, problem);
  }
  return undefined;
}

/** A sink-specific key: validated for `file` and kafka's brokers/topic, stored as written. */
function sinkOption(
  type: SinkType,
  entry: KdlNode,
  path: string,
  options: Record<string, unknown>,
  ctx: Ctx,
) {
  if (RUNNER_KEYS.includes(entry.name)) {
    // Every sink's runner keys (concurrency, retry, breaker, filter): checked by the runner.
    const value = optionValue(entry, path, ctx);
    if (value !== undefined) setOwn(options, entry.name, value);
  } else if (type === "file") {
    const r = rule(FILE_SINK_FIELDS, entry.name);
    const valid = ["name", ...Object.keys(SINK_FIELDS), ...Object.keys(FILE_SINK_FIELDS)];
    if (r === undefined) return ctx.unknown(path, entry.pos, entry.name, valid);
    const value = field(entry, path, ctx, r.spec);
    if (value !== undefined) options[entry.name] = value;
  } else if (type === "kafka" && entry.name === "brokers") {
    const brokers = brokerList(entry, path, ctx);
    if (brokers !== undefined) options.brokers = brokers;
  } else if (type === "kafka" && entry.name === "topic") {
    const topic = field(entry, path, ctx, { kind: "string" });
    if (topic !== undefined) options.topic = topic;
  } else {
    const value = optionValue(entry, path, ctx);
    if (value !== undefined) setOwn(options, entry.name, value);
    if (value !== undefined) ctx.setKeys.add(path);
  }
}

function brokerList(node: KdlNode, path: string, ctx: Ctx): string[] | undefined {
  const items = node.args.flatMap((a) => Array.isArray(a.value) ? a.value : [a]);
  if (items.length === 0 || node.children.length > 0 || Object.keys(node.props).length > 0) {
    const problem = 'expects a list of "host:port" strings, e.g. brokers ["kafka:9092"]';
    ctx.add("config_wrong_type", path, node.pos, problem);
    return undefined;
  }
  const out = items.map((item) => ctx.take(checkHostPort(plainValue(item)), path, item.pos));
  return out.every((b) => b !== undefined) ? out as string[] : undefined;
}

const REQUIRED_EXAMPLE: Record<string, string> = {
  brokers: 'brokers ["kafka:9092"]',
  topic: 'topic "sentinel-telemetry"',
};

function requireKeys(node: KdlNode, entries: KdlNode[], prefix: string, keys: string[], ctx: Ctx) {
  const type = String(node.args[0].value);
  for (const key of keys.filter((k) => !entries.some((e) => e.name === k))) {
    const hint = `add ${REQUIRED_EXAMPLE[key] ?? key} inside the sink "${type}" block`;
    ctx.add("config_missing", `${prefix}.${key}`, node.pos, `is required for a ${type} sink`, hint);
  }
}

/** A key as the sink's own parser gets it: value, array, or object for a block; bare = true. */
function optionValue(node: KdlNode, path: string, ctx: Ctx): unknown {
  const block = node.children.length > 0 || Object.keys(node.props).length > 0;
  if (block && node.args.length > 0) {
    ctx.add("config_wrong_type", path, node.pos, "takes either values or a block, not both");
    return undefined;
  }
  if (!block) {
    if (node.args.length === 0) return true;
    return node.args.length === 1 ? plainValue(node.args[0]) : node.args.map(plainValue);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node.props)) setOwn(out, key, plainValue(value));
  for (const child of node.children) {
    const value = optionValue(child, `${path}.${child.name}`, ctx);
    if (value !== undefined) setOwn(out, child.name, value);
  }
  return out;
}
