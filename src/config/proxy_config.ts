/**
 * Merges the config a v1 proxy sends on connect (its agent block's `config { … }` as JSON,
 * PROTOCOL.md §7) into the config loaded from the agent's own file.
 * Runs on the main thread when a `configure` frame arrives. Never throws, never mutates its input
 * and never applies a key that needs a restart.
 * @module
 */

import { checkValue, rule, SECTION_FIELDS, show, TOP_FIELDS, type ValueSpec } from "./defaults.ts";
import { suggest } from "./errors.ts";
import type { LoadedConfig } from "./load.ts";
import type { Config } from "./types.ts";

/** What a merge did: the new config, keys applied, keys ignored and why. */
export interface ProxyMergeResult {
  config: Config;
  /** Dotted kebab-case keys taken from the proxy, e.g. `sampling.rate`. */
  applied: string[];
  ignored: { key: string; reason: string }[];
}

/** Sections a proxy may set: they only change how records are processed, not what is opened. */
const RUNTIME_SECTIONS = ["sampling", "enrichment"] as const;
type RuntimeSection = typeof RUNTIME_SECTIONS[number];

/** Keys the agent knows but takes only from its own file. */
const RESTART_KEYS = [
  "socket",
  "unix-socket",
  "transport",
  "events",
  "ingress",
  "handoff",
  "lifecycle",
  "sink",
  "sinks",
  "metrics",
  "redaction",
  "agent",
  "type",
  ...Object.keys(TOP_FIELDS),
];

export const RESTART_REASON = "set it in the agent's own config file (needs a restart)";
export const FILE_WINS_REASON = "the agent's own config file sets it (the file wins)";

/**
 * Merge proxy-sent config into the file's config. Rule: the agent's own file is primary; a proxy
 * key applies only if the file did not set it (`loaded.setKeys`) and it is in a runtime-safe
 * section (`sampling.*`, `enrichment.*`); values are checked with the file's rules. Everything
 * else is ignored with a reason: other known sections with "set it in the agent's own config
 * file (needs a restart)", unknown keys with a hint, bad values with the check's problem.
 * `null`/`undefined` mean nothing was sent. Never throws, whatever `json` holds.
 */
export function mergeProxyConfig(loaded: LoadedConfig, json: unknown): ProxyMergeResult {
  const result: ProxyMergeResult = {
    config: structuredClone(loaded.config),
    applied: [],
    ignored: [],
  };
  try {
    mergeTop(result, loaded.setKeys, json);
  } catch (err) {
    // Only a hostile object (a throwing getter or proxy) gets here; keep what was merged so far.
    const reason = `could not be read: ${err instanceof Error ? err.message : String(err)}`;
    result.ignored.push({ key: "config", reason });
  }
  return result;
}

function mergeTop(result: ProxyMergeResult, setKeys: ReadonlySet<string>, json: unknown): void {
  if (json === null || json === undefined) return;
  if (!isObject(json)) {
    result.ignored.push({
      key: "config",
      reason: `expects a block of settings, got ${show(json)}`,
    });
    return;
  }
  for (const key of Object.keys(json)) {
    const section = RUNTIME_SECTIONS.find((s) => s === key);
    if (section !== undefined) mergeSection(result, setKeys, section, json[key]);
    else if (RESTART_KEYS.includes(key)) result.ignored.push({ key, reason: RESTART_REASON });
    else {
      const hint = suggest(key, [...RUNTIME_SECTIONS, ...RESTART_KEYS]);
      result.ignored.push({ key, reason: `unknown key; ${hint}` });
    }
  }
}

function mergeSection(
  result: ProxyMergeResult,
  setKeys: ReadonlySet<string>,
  section: RuntimeSection,
  value: unknown,
): void {
  if (value === true) return; // a bare `sampling` node: nothing to set
  if (!isObject(value)) {
    const reason = `expects a block like ${section} { … }, got ${show(value)}`;
    result.ignored.push({ key: section, reason });
    return;
  }
  const rules: Record<string, { spec: ValueSpec; prop: PropertyKey }> = SECTION_FIELDS[section];
  const target = result.config[section] as unknown as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    const path = `${section}.${key}`;
    const r = rule(rules, key);
    if (r === undefined) {
      result.ignored.push({
        key: path,
        reason: `unknown key; ${suggest(key, Object.keys(rules))}`,
      });
      continue;
    }
    if (setKeys.has(path)) {
      result.ignored.push({ key: path, reason: FILE_WINS_REASON });
      continue;
    }
    const check = checkValue(r.spec, value[key]);
    if (!check.ok) {
      result.ignored.push({ key: path, reason: `${check.problem} (${check.code})` });
      continue;
    }
    target[String(r.prop)] = check.value;
    result.applied.push(path);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
