import assert from "node:assert/strict";
import type { RedactionConfig } from "../../src/config/types.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { KeyedHasher } from "../../src/redact/keyed_hash.ts";
import { headerCopyLists, resolvePolicy } from "../../src/redact/policy.ts";
import { Redactor } from "../../src/redact/redactor.ts";

function record(): TelemetryRecord {
  return {
    schema_version: 1,
    event_id: "e",
    timestamp: "t",
    sample_rate: 1,
    partial: false,
    events: 2,
    agent: { id: "a", version: "0", host: "h" },
    request: {
      correlation_id: "cid-1",
      path: "/users/jane%40example.com/reset-password/Zx81kq;jsessionid=ABC123",
      query:
        "q=hello&email=x%40y.io&api_key=k123&order=ORD-1&card=4111111111111111&next=%2Fa%3Fb%3D1",
      query_keys: ["q", "email", "api_key", "order", "card", "next"],
      referer: "https://u:p@ex.com/cb?token=abc#access_token=t0k3n&state=s1",
      user_agent: "bot (ops@example.org)",
      headers: {
        "user-agent": ["bot (ops@example.org)"],
        authorization: ["Bearer secret"],
        "x-session-token": ["st"],
        accept: ["*/*"],
      },
    },
    response: { status: 200, headers: { "set-cookie": ["sid=1"], server: ["s"] } },
    client: { ip: "203.0.113.77", ip_version: 4 },
    sentinel: { error: "upstream 10.0.0.9 refused for jane@example.com" },
  };
}

function redact(cfg?: RedactionConfig, key?: string) {
  const counts = new Map<string, number>();
  const hasher = key ? new KeyedHasher(new TextEncoder().encode(key), "k1") : null;
  const r = new Redactor(
    resolvePolicy(cfg),
    hasher,
    (rule) => counts.set(rule, (counts.get(rule) ?? 0) + 1),
  );
  const rec = record();
  r.apply(rec);
  return { rec, counts };
}

Deno.test("Redactor.apply() safe defaults: keys, emails, cards, credentials; rest as sent", () => {
  const { rec, counts } = redact();
  assert.equal(rec.request.path, "/users/[REDACTED:email]/reset-password/[REDACTED:sensitive-key]");
  assert.equal(
    rec.request.query,
    "q=hello&email=[REDACTED:email]&api_key=[REDACTED:sensitive-key]&order=ORD-1&card=[REDACTED:card]&next=%2Fa%3Fb%3D1",
  );
  assert.equal(
    rec.request.referer,
    "https://[REDACTED:url-credentials]@ex.com/cb?token=[REDACTED:sensitive-key]#access_token=[REDACTED:sensitive-key]&state=[REDACTED:sensitive-key]",
  );
  assert.equal(rec.request.user_agent, "bot ([REDACTED:email])");
  assert.deepEqual(rec.request.headers, {
    "user-agent": ["bot ([REDACTED:email])"],
    accept: ["*/*"],
  });
  assert.deepEqual(rec.response?.headers, { server: ["s"] });
  assert.equal(rec.client?.ip, "203.0.113.77", "kept by default");
  assert.equal(rec.sentinel?.error, "upstream 10.0.0.9 refused for [REDACTED:email]");
  assert.equal(counts.get("email"), 5, "path, query, user agent field and header, error");
});

Deno.test("Redactor.apply() presets: gdpr truncates the IP and masks IPs in text", () => {
  const { rec } = redact({ presets: ["gdpr"] });
  assert.equal(rec.client?.ip, "203.0.113.0");
  assert.equal(rec.sentinel?.error, "upstream [REDACTED:ipv4] refused for [REDACTED:email]");
  assert.equal(redact({ presets: ["gdpr"], ipv4Prefix: 16 }).rec.client?.ip, "203.0.0.0");
  assert.equal(redact({ presets: ["hipaa", "gdpr"] }).rec.client?.ip, undefined, "strictest wins");
  assert.equal(redact({ presets: ["hipaa"], clientIp: "keep" }).rec.client?.ip, "203.0.113.77");
});

Deno.test("Redactor.apply() keyed hashing: same value, same token; credential headers hashed", () => {
  const cfg: RedactionConfig = {
    detectors: { email: "hash" },
    credentialAction: "hash",
    clientIp: "hash",
    hashKeyFile: "x",
    keyId: "k1",
  };
  const { rec } = redact(cfg, "0123456789abcdef0123");
  const token = /\[HMAC:k1:[A-Za-z0-9_-]{22}\]/;
  const path = rec.request.path!;
  assert.match(path, token);
  assert.equal(
    rec.request.user_agent,
    `bot (${redact(cfg, "0123456789abcdef0123").rec.request.user_agent!.slice(5, -1)})`,
  );
  assert.match(rec.request.headers!.authorization[0], token);
  assert.match(rec.request.headers!["x-session-token"][0], token);
  assert.match(rec.client!.ip!, token);
  // Joinable: the email in the path and in the error text hash alike.
  const inPath = path.match(token)![0];
  assert.ok(rec.sentinel!.error!.includes(inPath));
});

Deno.test("Redactor.apply() per-field treatment and user patterns", () => {
  const { rec } = redact({
    fields: { "user-agent": "keep", referer: "drop", "correlation-id": "hash", path: "mask" },
    patterns: [{ name: "order", regex: "ORD-[0-9]+", action: "mask", ignoreCase: false }],
    hashKeyFile: "x",
    keyId: "k1",
  }, "0123456789abcdef0123");
  assert.equal(rec.request.user_agent, "bot (ops@example.org)");
  assert.equal(rec.request.referer, undefined);
  assert.match(rec.request.correlation_id, /^\[HMAC:k1:/);
  assert.equal(rec.request.path, "[REDACTED:field-path]");
  assert.match(rec.request.query!, /order=\[REDACTED:order\]/);
});

Deno.test("Redactor.apply() with enabled false still protects credential headers", () => {
  const { rec } = redact({ enabled: false, credentialAction: "mask" });
  assert.equal(rec.request.user_agent, "bot (ops@example.org)");
  assert.deepEqual(rec.request.headers!.authorization, ["[REDACTED:credential-header]"]);
  assert.deepEqual(rec.response!.headers!["set-cookie"], ["[REDACTED:credential-header]"]);
});

Deno.test("Redactor.apply() cuts text past max-scan-chars and marks it", () => {
  const rec = record();
  rec.request.user_agent = "a".repeat(100) + " jane@example.com";
  new Redactor(resolvePolicy({ maxScanChars: 64 }), null, () => {}).apply(rec);
  assert.equal(rec.request.user_agent, "a".repeat(64) + "[TRUNCATED]");
});

Deno.test("headerCopyLists() leaves credential headers out unless they are masked or hashed", () => {
  const drop = headerCopyLists(resolvePolicy({ requestHeaders: ["accept", "cookie"] }));
  assert.deepEqual([...drop.request], ["accept"]);
  const mask = headerCopyLists(resolvePolicy({ credentialAction: "mask" }));
  assert.ok(mask.request.has("authorization") && mask.response.has("set-cookie"));
  assert.equal(mask.request.has("set-cookie"), false);
});
