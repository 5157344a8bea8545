/**
 * Parses the `redaction { … }` block of the agent's config file into a `RedactionConfig`:
 * scalar and list keys (rules in `config/defaults.ts`), the `detectors { … }` and `fields { … }`
 * action blocks and repeatable `pattern "NAME" "REGEX" action="…"` nodes (compiled here, so a
 * bad pattern is reported with its file:line:col). Runs at start-up, inside the config loader.
 * Never reads the hash key (the pipeline does, once, at start).
 * @module
 */

import {
  type Check,
  checkValue,
  DETECTOR_ACTIONS,
  DETECTOR_NAMES,
  expected,
  FIELD_ACTIONS,
  REDACT_ACTIONS,
  REDACTION_FIELD_NAMES,
  REDACTION_FIELDS,
  rule,
  show,
} from "../config/defaults.ts";
import type { ConfigIssueCode } from "../config/errors.ts";
import { entriesOf, type KdlNode, plainValue, setOwn } from "../config/kdl.ts";
import type {
  RedactAction,
  RedactionConfig,
  RedactionPattern,
  SourcePos,
} from "../config/types.ts";
import { compilePattern, PatternSyntaxError } from "./linear_regex.ts";

/** What the loader's context offers a section parser (the loader's `Ctx` fits). */
export interface SectionContext {
  add(code: ConfigIssueCode, path: string, pos: SourcePos, problem: string, hint?: string): void;
  take<T>(check: Check<T>, path: string, pos: SourcePos): T | undefined;
  duplicate(path: string, pos: SourcePos, first: SourcePos): void;
  unknown(path: string, pos: SourcePos, name: string, valid: readonly string[]): void;
}

const SECTION = "redaction";

/** Parse `redaction { … }`; every problem goes to `ctx`, the config holds what was valid. */
export function redactionSection(node: KdlNode, ctx: SectionContext): RedactionConfig {
  const cfg: RedactionConfig = {};
  if (node.args.length > 0) {
    const problem = `expects a block like redaction { … }, got ${show(plainValue(node.args[0]))}`;
    ctx.add("config_wrong_type", SECTION, node.pos, problem);
  }
  const patterns: RedactionPattern[] = [];
  const seen = new Map<string, SourcePos>();
  const valid = [...Object.keys(REDACTION_FIELDS), "detectors", "fields", "pattern"];
  for (const entry of entriesOf(node)) {
    const path = `${SECTION}.${entry.name}`;
    if (entry.name === "pattern") {
      const p = patternNode(entry, ctx, patterns);
      if (p) patterns.push(p);
      continue;
    }
    const first = seen.get(entry.name);
    if (first !== undefined) {
      ctx.duplicate(path, entry.pos, first);
      continue;
    }
    seen.set(entry.name, entry.pos);
    if (entry.name === "detectors") {
      cfg.detectors = actionBlock(entry, path, ctx, DETECTOR_NAMES, DETECTOR_ACTIONS);
    } else if (entry.name === "fields") {
      cfg.fields = actionBlock(entry, path, ctx, REDACTION_FIELD_NAMES, FIELD_ACTIONS);
    } else {
      const r = rule(REDACTION_FIELDS, entry.name);
      if (r === undefined) {
        ctx.unknown(path, entry.pos, entry.name, valid);
        continue;
      }
      const value = entryValue(entry, path, ctx, r.spec);
      if (value !== undefined) setOwn(cfg as Record<string, unknown>, String(r.prop), value);
    }
  }
  if (patterns.length > 0) cfg.patterns = patterns;
  crossChecks(cfg, node.pos, ctx);
  return cfg;
}

/** Every action a config uses, to know whether a hash key is needed. */
export function usesHash(cfg: RedactionConfig): boolean {
  const actions: (string | undefined)[] = [
    cfg.credentialAction,
    cfg.sensitiveKeyAction,
    cfg.clientIp,
    ...Object.values(cfg.detectors ?? {}),
    ...Object.values(cfg.fields ?? {}),
    ...(cfg.patterns ?? []).map((p) => p.action),
  ];
  return actions.includes("hash");
}

function crossChecks(cfg: RedactionConfig, pos: SourcePos, ctx: SectionContext): void {
  if (cfg.hashKeyFile !== undefined && cfg.hashKeyEnv !== undefined) {
    ctx.add(
      "config_invalid_value",
      `${SECTION}.hash-key-env`,
      pos,
      "hash-key-file and hash-key-env are both set",
      "keep one source for the keyed-hash secret",
    );
  }
  if (!usesHash(cfg)) return;
  if (cfg.hashKeyFile === undefined && cfg.hashKeyEnv === undefined) {
    ctx.add(
      "config_missing",
      `${SECTION}.hash-key-file`,
      pos,
      'an action is "hash" but no secret is configured',
      'add hash-key-file "/etc/telemetry/hash.key" (or hash-key-env "NAME") and key-id "k1"',
    );
  }
  if (cfg.keyId === undefined) {
    ctx.add(
      "config_missing",
      `${SECTION}.key-id`,
      pos,
      'an action is "hash" but no key-id is set',
      'add key-id "k1"; change it whenever the secret changes (see docs/redaction.md)',
    );
  }
}

/** `detectors { email "hash"; phone "off" }` (or as properties): names and actions checked. */
function actionBlock(
  node: KdlNode,
  path: string,
  ctx: SectionContext,
  names: readonly string[],
  actions: readonly string[],
): Record<string, never> {
  const out: Record<string, string> = {};
  if (node.args.length > 0) {
    ctx.add("config_wrong_type", path, node.pos, `expects a block like ${node.name} { … }`);
  }
  const seen = new Map<string, SourcePos>();
  for (const entry of entriesOf(node)) {
    const key = `${path}.${entry.name}`;
    const first = seen.get(entry.name);
    if (first !== undefined) {
      ctx.duplicate(key, entry.pos, first);
      continue;
    }
    seen.set(entry.name, entry.pos);
    if (!names.includes(entry.name)) {
      ctx.unknown(key, entry.pos, entry.name, names);
      continue;
    }
    const value = entryValue(entry, key, ctx, { kind: "enum", values: actions });
    if (typeof value === "string") setOwn(out, entry.name, value);
  }
  return out as Record<string, never>;
}

/** `pattern "NAME" "REGEX" action="mask" ignore-case=true`, compiled to check it. */
function patternNode(
  node: KdlNode,
  ctx: SectionContext,
  earlier: readonly RedactionPattern[],
): RedactionPattern | undefined {
  const path = `${SECTION}.pattern`;
  const want = 'a name and a regex, e.g. pattern "order-ref" "ORD-[0-9]{8}" action="hash"';
  const [name, regex] = node.args.map(plainValue);
  if (node.args.length !== 2 || typeof name !== "string" || typeof regex !== "string") {
    ctx.add("config_wrong_type", path, node.pos, `expects ${want}`);
    return undefined;
  }
  const at = `${path}.${name}`;
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) {
    const problem = `name must be 1 to 64 lowercase letters, digits, "-" or "_", got "${name}"`;
    ctx.add("config_invalid_value", at, node.pos, problem);
    return undefined;
  }
  const same = earlier.find((p) => p.name === name);
  if (same?.pos) return void ctx.duplicate(at, node.pos, same.pos);
  let action: RedactAction = "mask";
  let ignoreCase = false;
  for (const [key, v] of Object.entries(node.props)) {
    if (key === "action") {
      const c = ctx.take(
        checkValue({ kind: "enum", values: REDACT_ACTIONS }, plainValue(v)),
        at,
        v.pos,
      );
      if (c === undefined) return undefined;
      action = c as RedactAction;
    } else if (key === "ignore-case") {
      const c = ctx.take(checkValue({ kind: "bool" }, plainValue(v)), at, v.pos);
      if (c === undefined) return undefined;
      ignoreCase = c === true;
    } else return void ctx.unknown(`${at}.${key}`, v.pos, key, ["action", "ignore-case"]);
  }
  try {
    if (compilePattern(regex, { ignoreCase }).canMatchEmpty) {
      const hint = "a redaction pattern must match at least one character, e.g. use + not *";
      ctx.add("config_invalid_value", at, node.args[1].pos, "the pattern matches empty text", hint);
      return undefined;
    }
  } catch (e) {
    if (!(e instanceof PatternSyntaxError)) throw e;
    ctx.add("config_invalid_value", at, node.args[1].pos, e.message, e.hint);
    return undefined;
  }
  return { name, regex, action, ignoreCase, pos: node.pos };
}

/** A key's value checked against its rule: one value, or several / `[…]` for a list rule. */
function entryValue(
  node: KdlNode,
  path: string,
  ctx: SectionContext,
  spec: Parameters<typeof checkValue>[0],
) {
  const block = node.children.length > 0 || Object.keys(node.props).length > 0;
  const items = node.args.flatMap((a) => Array.isArray(a.value) ? a.value : [a]);
  if (block) {
    ctx.add("config_wrong_type", path, node.pos, `expects ${expected(spec)}, got a block`);
    return undefined;
  }
  if (spec.kind === "bool" && node.args.length === 0) {
    return ctx.take(checkValue(spec, true), path, node.pos);
  }
  if (spec.kind === "list" && items.length > 0) {
    return ctx.take(checkValue(spec, items.map(plainValue)), path, node.pos);
  }
  if (node.args.length !== 1) {
    const got = `${node.args.length || "no"} values`;
    ctx.add("config_wrong_type", path, node.pos, `expects ${expected(spec)}, got ${got}`);
    return undefined;
  }
  return ctx.take(checkValue(spec, plainValue(node.args[0])), path, node.pos);
}

/** `redaction` as JSON with the file's kebab-case names (for `--print-config`). */
export function redactionToJson(cfg: RedactionConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, r] of Object.entries(REDACTION_FIELDS)) {
    const v = cfg[r.prop];
    if (v !== undefined) setOwn(out, key, Array.isArray(v) ? [...v] : v);
  }
  if (cfg.detectors) out.detectors = { ...cfg.detectors };
  if (cfg.fields) out.fields = { ...cfg.fields };
  if (cfg.patterns) {
    out.pattern = cfg.patterns.map((p) => ({
      name: p.name,
      regex: p.regex,
      action: p.action,
      "ignore-case": p.ignoreCase,
    }));
  }
  return out;
}

/** `redaction { … }` as KDL lines (loading them gives the same config). */
export function redactionToKdl(cfg: RedactionConfig, indent = ""): string[] {
  const q = (v: unknown) => typeof v === "string" ? JSON.stringify(v) : String(v);
  const lines = [`${indent}redaction {`];
  const inner = indent + "    ";
  for (const [key, r] of Object.entries(REDACTION_FIELDS)) {
    const v = cfg[r.prop];
    if (v === undefined) continue;
    lines.push(`${inner}${key} ${Array.isArray(v) ? v.map(q).join(" ") : q(v)}`);
  }
  for (const block of ["detectors", "fields"] as const) {
    const entries = Object.entries(cfg[block] ?? {});
    if (entries.length === 0) continue;
    lines.push(`${inner}${block} {`, ...entries.map(([k, v]) => `${inner}    ${k} ${q(v)}`));
    lines.push(`${inner}}`);
  }
  for (const p of cfg.patterns ?? []) {
    lines.push(
      `${inner}pattern ${q(p.name)} ${q(p.regex)} action=${
        q(p.action)
      } ignore-case=${p.ignoreCase}`,
    );
  }
  return [...lines, `${indent}}`];
}
