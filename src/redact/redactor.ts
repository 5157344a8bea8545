/**
 * Applies the redaction policy to a record in place, after enrichment (geo and ASN were looked up
 * from the raw IP) and before any sink sees it: path, query, query keys, referer, user agent,
 * host, request and response headers, correlation id and proxy error text are scanned or
 * replaced per field; credential headers are masked, hashed or dropped even with `enabled false`;
 * the client IP is kept, truncated, hashed or dropped. Pipeline worker.
 * Emits: telemetry_redactions_total{rule}.
 * @module
 */

import type { FieldAction, RedactionConfig } from "../config/types.ts";
import type { TelemetryRecord } from "../record/schema.ts";
import { truncateIpv4, truncateIpv6 } from "./ip.ts";
import { KeyedHasher, loadHashKey } from "./keyed_hash.ts";
import { type RedactionField, type RedactionPolicy, resolvePolicy } from "./policy.ts";
import { KeyMatcher } from "./sensitive_keys.ts";
import { type RedactionCounter, TextScrubber } from "./text.ts";
import { UrlScrubber } from "./url.ts";

type Headers = Record<string, string[]>;
const URL_HEADERS = new Set(["referer", "origin", "location", "content-location"]);

/** Redacts records with one policy. */
export class Redactor {
  readonly #p: RedactionPolicy;
  readonly #text: TextScrubber;
  readonly #url: UrlScrubber;
  readonly #keys: KeyMatcher;
  readonly #hasher: KeyedHasher | null;
  readonly #count: RedactionCounter;
  constructor(policy: RedactionPolicy, hasher: KeyedHasher | null, count: RedactionCounter) {
    this.#p = policy;
    this.#hasher = hasher;
    this.#count = count;
    this.#keys = new KeyMatcher(policy.sensitiveKeys);
    this.#text = new TextScrubber(policy, hasher, count);
    this.#url = new UrlScrubber(this.#text, this.#keys, policy.sensitiveKeyAction);
  }

  /** Redact `record` in place. */
  apply(record: TelemetryRecord): void {
    const req = record.request, res = record.response;
    if (!this.#p.enabled) {
      if (req.headers) this.#credentialsOnly(req.headers);
      if (res?.headers) this.#credentialsOnly(res.headers);
      return;
    }
    const scan = (s: string) => this.#text.scan(s);
    const url = (s: string) => this.#url.url(s);
    req.correlation_id = this.#field("correlation-id", req.correlation_id, scan) ?? "[REDACTED]";
    setOrDelete(req, "path", this.#field("path", req.path, (s) => this.#url.path(s)));
    setOrDelete(
      req,
      "path_template",
      this.#field("path", req.path_template, (s) => this.#url.path(s)),
    );
    setOrDelete(req, "query", this.#field("query", req.query, (s) => this.#url.query(s)));
    if (req.query_keys && this.#p.fields.query !== "keep") {
      req.query_keys = req.query_keys.map(scan);
    }
    setOrDelete(req, "referer", this.#field("referer", req.referer, url));
    setOrDelete(req, "user_agent", this.#field("user-agent", req.user_agent, scan));
    setOrDelete(req, "host", this.#field("host", req.host, scan));
    if (req.headers) req.headers = this.#headers("request-headers", req.headers, scan, url);
    if (res?.headers) res.headers = this.#headers("response-headers", res.headers, scan, url);
    if (record.sentinel?.error !== undefined) {
      setOrDelete(record.sentinel, "error", this.#field("error", record.sentinel.error, scan));
    }
    this.#clientIp(record);
  }

  /** One field by its configured treatment; undefined: absent or dropped. */
  #field(
    name: RedactionField,
    value: string | undefined,
    scan: (s: string) => string,
  ): string | undefined {
    if (value === undefined || value === "") return value;
    const action: FieldAction = this.#p.fields[name];
    if (action === "keep") return value;
    if (action === "scan") return scan(value);
    return this.#text.whole(action, `field-${name}`, value) ?? undefined;
  }

  #headers(
    name: RedactionField,
    h: Headers,
    scan: (s: string) => string,
    url: (s: string) => string,
  ): Headers {
    const action = this.#p.fields[name];
    const out: Headers = {};
    for (const key in h) {
      const values = h[key];
      if (!Array.isArray(values)) continue;
      if (this.#isCredential(key)) {
        const v = this.#credential(values);
        if (v) out[key] = v;
        continue;
      }
      if (action === "keep") out[key] = values;
      else if (action === "scan") out[key] = values.map(URL_HEADERS.has(key) ? url : scan);
      else {
        const v = values.map((x) => this.#text.whole(action, `field-${name}`, x));
        if (v.every((x): x is string => x !== null)) out[key] = v;
      }
    }
    return out;
  }

  #isCredential(header: string): boolean {
    return this.#p.credentialHeaders.has(header) || this.#keys.matches(header);
  }

  #credential(values: string[]): string[] | null {
    const action = this.#p.credentialAction;
    if (action === "drop") {
      this.#count("credential-header");
      return null;
    }
    return values.map((v) => this.#text.whole(action, "credential-header", v) ?? "");
  }

  #credentialsOnly(h: Headers): void {
    for (const key in h) {
      if (!this.#isCredential(key)) continue;
      const v = this.#credential(h[key]);
      if (v) h[key] = v;
      else delete h[key];
    }
  }

  #clientIp(record: TelemetryRecord): void {
    const c = record.client;
    if (!c?.ip || this.#p.clientIp === "keep") return;
    this.#count("client-ip");
    switch (this.#p.clientIp) {
      case "drop":
        delete c.ip;
        return;
      case "hash":
        c.ip = this.#hasher ? this.#hasher.token(c.ip) : "[REDACTED:client-ip]";
        return;
      case "truncate": {
        const t = c.ip_version === 6
          ? truncateIpv6(c.ip, this.#p.ipv6Prefix)
          : truncateIpv4(c.ip, this.#p.ipv4Prefix);
        if (t === null) delete c.ip; // not an address we can truncate: never keep it whole
        else c.ip = t;
      }
    }
  }
}

function setOrDelete<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v === undefined) delete o[k];
  else o[k] = v;
}

/** A redactor for a config section (absent: safe defaults); reads the hash key when needed. */
export function createRedactor(
  cfg: RedactionConfig | undefined,
  count: RedactionCounter,
): { redactor: Redactor; policy: RedactionPolicy } {
  const policy = resolvePolicy(cfg);
  const key = policy.hashKey;
  const hasher = key ? new KeyedHasher(loadHashKey(key), key.keyId) : null;
  return { redactor: new Redactor(policy, hasher, count), policy };
}
