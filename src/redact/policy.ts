/**
 * Resolves a `redaction { … }` block (or its absence) into the effective policy: safe defaults,
 * then presets (strictest wins), then explicit keys. Pure; pipeline worker start-up and the
 * header allowlists in record_builder. `describePolicy()` gives the start-up log line.
 * @module
 */

import type {
  ClientIpAction,
  DetectorAction,
  FieldAction,
  RedactAction,
  RedactionConfig,
  RedactionPreset,
} from "../config/types.ts";
import { REDACTION_FIELD_NAMES } from "../config/defaults.ts";
import { usesHash } from "./config.ts";
import { compilePattern, type LinearPattern } from "./linear_regex.ts";
import {
  CREDENTIAL_HEADERS,
  DEFAULT_DETECTORS,
  DEFAULT_REQUEST_HEADERS,
  DEFAULT_RESPONSE_HEADERS,
  PRESETS,
  stricterDetector,
  stricterIp,
} from "./presets.ts";

/** Fields a policy treats, and how (`scan` unless configured). */
export type RedactionField =
  | "path"
  | "query"
  | "referer"
  | "user-agent"
  | "host"
  | "request-headers"
  | "response-headers"
  | "correlation-id"
  | "error";

/** A compiled user pattern. */
export interface CompiledPattern {
  name: string;
  pattern: LinearPattern;
  action: RedactAction;
}

/** The effective redaction policy. */
export interface RedactionPolicy {
  /** False only when the file says `enabled false`. Credential headers stay protected. */
  enabled: boolean;
  presets: RedactionPreset[];
  requestHeaders: ReadonlySet<string>;
  responseHeaders: ReadonlySet<string>;
  credentialHeaders: ReadonlySet<string>;
  credentialAction: RedactAction;
  sensitiveKeys: string[];
  sensitiveKeyAction: RedactAction;
  /** Enabled detectors and their actions. */
  detectors: ReadonlyMap<string, RedactAction>;
  patterns: CompiledPattern[];
  fields: Readonly<Record<RedactionField, FieldAction>>;
  clientIp: ClientIpAction;
  ipv4Prefix: number;
  ipv6Prefix: number;
  /** Set when some action is `hash`. */
  hashKey?: { file?: string; env?: string; keyId: string };
  maxScanChars: number;
}

export const DEFAULT_MAX_SCAN_CHARS = 8192;
export const DEFAULT_IPV4_PREFIX = 24;
export const DEFAULT_IPV6_PREFIX = 48;

const FIELDS = REDACTION_FIELD_NAMES as readonly RedactionField[];

/** The effective policy for a config section (`undefined`: no block, safe defaults). */
export function resolvePolicy(cfg: RedactionConfig = {}): RedactionPolicy {
  const presets = [...new Set(cfg.presets ?? [])];
  const detectors: Record<string, DetectorAction> = { ...DEFAULT_DETECTORS };
  const sensitiveKeys: string[] = [];
  let clientIp: ClientIpAction = "keep";
  for (const name of presets) {
    const p = PRESETS[name];
    for (const [d, a] of Object.entries(p.detectors)) {
      detectors[d] = stricterDetector(detectors[d] ?? "off", a);
    }
    sensitiveKeys.push(...p.sensitiveKeys);
    if (p.clientIp) clientIp = stricterIp(clientIp, p.clientIp);
  }
  Object.assign(detectors, cfg.detectors ?? {});
  sensitiveKeys.push(...(cfg.sensitiveKeys ?? []));
  const fields = Object.fromEntries(FIELDS.map((f) => [f, cfg.fields?.[f] ?? "scan"]));
  const lower = (xs: readonly string[]) => xs.map((x) => x.toLowerCase());
  const policy: RedactionPolicy = {
    enabled: cfg.enabled ?? true,
    presets,
    requestHeaders: new Set(lower(cfg.requestHeaders ?? DEFAULT_REQUEST_HEADERS)),
    responseHeaders: new Set(lower(cfg.responseHeaders ?? DEFAULT_RESPONSE_HEADERS)),
    credentialHeaders: new Set([...CREDENTIAL_HEADERS, ...lower(cfg.credentialHeaders ?? [])]),
    credentialAction: cfg.credentialAction ?? "drop",
    sensitiveKeys,
    sensitiveKeyAction: cfg.sensitiveKeyAction ?? "mask",
    detectors: new Map(
      Object.entries(detectors).filter((e): e is [string, RedactAction] => e[1] !== "off"),
    ),
    patterns: (cfg.patterns ?? []).map((p) => ({
      name: p.name,
      pattern: compilePattern(p.regex, { ignoreCase: p.ignoreCase }),
      action: p.action,
    })),
    fields: fields as Record<RedactionField, FieldAction>,
    clientIp: cfg.clientIp ?? clientIp,
    ipv4Prefix: cfg.ipv4Prefix ?? DEFAULT_IPV4_PREFIX,
    ipv6Prefix: cfg.ipv6Prefix ?? DEFAULT_IPV6_PREFIX,
    maxScanChars: cfg.maxScanChars ?? DEFAULT_MAX_SCAN_CHARS,
  };
  if (usesHash(cfg)) {
    policy.hashKey = { file: cfg.hashKeyFile, env: cfg.hashKeyEnv, keyId: cfg.keyId ?? "" };
  }
  return policy;
}

/** Credential headers that come in responses; the rest come in requests. */
const RESPONSE_CREDENTIALS = new Set(["set-cookie", "www-authenticate", "proxy-authenticate"]);

/**
 * Header names `buildRecord` copies: the allowlist without credential headers, plus every
 * credential header when its action is `mask` or `hash` (the redactor then masks or hashes it).
 */
export function headerCopyLists(policy: RedactionPolicy): {
  request: ReadonlySet<string>;
  response: ReadonlySet<string>;
} {
  const creds = policy.credentialAction === "drop" ? [] : [...policy.credentialHeaders];
  const side = (allow: ReadonlySet<string>, extra: string[]) =>
    new Set([...[...allow].filter((h) => !policy.credentialHeaders.has(h)), ...extra]);
  return {
    request: side(policy.requestHeaders, creds.filter((h) => !RESPONSE_CREDENTIALS.has(h))),
    response: side(policy.responseHeaders, creds.filter((h) => RESPONSE_CREDENTIALS.has(h))),
  };
}

/** Fields for the start-up log line (never the secret). */
export function describePolicy(policy: RedactionPolicy): Record<string, unknown> {
  return {
    enabled: policy.enabled,
    presets: policy.presets,
    detectors: Object.fromEntries(policy.detectors),
    patterns: policy.patterns.map((p) => `${p.name}:${p.action}`),
    client_ip: policy.clientIp,
    credential_headers: policy.credentialAction,
    sensitive_keys: policy.sensitiveKeyAction,
    key_id: policy.hashKey?.keyId,
    fields_not_scanned: Object.entries(policy.fields).filter(([, a]) => a !== "scan").map(
      ([f, a]) => `${f}:${a}`,
    ),
  };
}
