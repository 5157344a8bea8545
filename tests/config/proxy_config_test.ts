import assert from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import {
  FILE_WINS_REASON,
  mergeProxyConfig,
  RESTART_REASON,
} from "../../src/config/proxy_config.ts";

const fileText = "sampling {\n  rate 0.5\n}\nenrichment {\n  geoip false\n}\n";

Deno.test("mergeProxyConfig() keeps keys the file set and fills the ones it did not", () => {
  const loaded = loadConfigText(fileText, "t.kdl");
  const sent = {
    sampling: { rate: 0.1, "always-sample-errors": false },
    enrichment: { geoip: true, asn: false },
  };
  const result = mergeProxyConfig(loaded, sent);
  assert.deepEqual(result.config.sampling, { rate: 0.5, alwaysSampleErrors: false });
  assert.deepEqual(result.config.enrichment, {
    geoip: false,
    asn: false,
    deviceDetection: true,
    threatIntel: true,
  });
  assert.deepEqual(result.applied, ["sampling.always-sample-errors", "enrichment.asn"]);
  assert.deepEqual(result.ignored, [
    { key: "sampling.rate", reason: FILE_WINS_REASON },
    { key: "enrichment.geoip", reason: FILE_WINS_REASON },
  ]);
});

Deno.test("mergeProxyConfig() never mutates the loaded config", () => {
  const loaded = loadConfigText("", "t.kdl");
  const before = structuredClone(loaded.config);
  const result = mergeProxyConfig(loaded, { sampling: { rate: 0.25 } });
  assert.equal(result.config.sampling.rate, 0.25);
  assert.deepEqual(loaded.config, before);
});

Deno.test("mergeProxyConfig() ignores sections that need a restart", () => {
  const loaded = loadConfigText("", "t.kdl");
  const sent = {
    sink: { topic: "t" },
    socket: "/tmp/x.sock",
    "unix-socket": "/tmp/y.sock",
    metrics: { listen: "127.0.0.1:1" },
    handoff: { "max-events": 10 },
    lifecycle: { "ttl-ms": 100 },
    "log-level": "debug",
    "timeout-ms": 10,
    events: ["request_headers"],
  };
  const result = mergeProxyConfig(loaded, sent);
  assert.deepEqual(result.applied, []);
  assert.deepEqual(
    result.ignored,
    Object.keys(sent).map((key) => ({ key, reason: RESTART_REASON })),
  );
  assert.deepEqual(result.config, loaded.config);
});

Deno.test("mergeProxyConfig() checks values with the file's rules", () => {
  const loaded = loadConfigText("", "t.kdl");
  const sent = {
    sampling: { rate: 2, "always-sample-errors": "yes", rte: 0.1 },
    enrichment: { geoip: 1, "threat-intel": true },
    redaction: { emails: true },
  };
  const result = mergeProxyConfig(loaded, sent);
  assert.deepEqual(result.applied, ["enrichment.threat-intel"]);
  assert.deepEqual(result.ignored, [
    { key: "sampling.rate", reason: "must be between 0 and 1, got 2 (config_out_of_range)" },
    {
      key: "sampling.always-sample-errors",
      reason: 'expects true or false, got the string "yes" (config_wrong_type)',
    },
    { key: "sampling.rte", reason: "unknown key; did you mean `rate`?" },
    {
      key: "enrichment.geoip",
      reason: "expects true or false, got the number 1 (config_wrong_type)",
    },
    // Redaction is never loosened by the proxy: it needs the agent's own file and a restart.
    { key: "redaction", reason: "set it in the agent's own config file (needs a restart)" },
  ]);
  assert.equal(result.config.sampling.rate, 1);
});

Deno.test("mergeProxyConfig() survives any JSON without throwing", () => {
  const loaded = loadConfigText(fileText, "t.kdl");
  const deep: Record<string, unknown> = {};
  let cur = deep;
  for (let i = 0; i < 10_000; i++) cur = (cur.sampling = {}) as Record<string, unknown>;
  const hostile = new Proxy({}, {
    ownKeys() {
      throw new Error("no keys for you");
    },
  });
  const getter = { sampling: {} };
  Object.defineProperty(getter.sampling, "always-sample-errors", {
    enumerable: true,
    get() {
      throw new Error("boom");
    },
  });
  const inputs: unknown[] = [
    null,
    undefined,
    [],
    [1, 2],
    "sampling",
    42,
    true,
    { sampling: null },
    { sampling: [] },
    { sampling: true },
    { sampling: "fast", enrichment: 7 },
    JSON.parse('{"__proto__": {"rate": 0.2}, "constructor": 1, "sampling": {"__proto__": 1}}'),
    deep,
    hostile,
    getter,
  ];
  for (const input of inputs) {
    const result = mergeProxyConfig(loaded, input);
    assert.deepEqual(result.applied, []);
    assert.equal(result.config.sampling.rate, 0.5);
  }
  assert.deepEqual(mergeProxyConfig(loaded, null).ignored, []);
  assert.deepEqual(mergeProxyConfig(loaded, { sampling: true }).ignored, []);
  assert.deepEqual(mergeProxyConfig(loaded, [1]).ignored, [
    { key: "config", reason: "expects a block of settings, got a list of 1" },
  ]);
  assert.deepEqual(mergeProxyConfig(loaded, hostile).ignored, [
    { key: "config", reason: "could not be read: no keys for you" },
  ]);
  assert.deepEqual(mergeProxyConfig(loaded, getter).ignored, [
    { key: "config", reason: "could not be read: boom" },
  ]);
  assert.equal(({} as Record<string, unknown>).rate, undefined);
});

Deno.test("mergeProxyConfig() applies the proxy block of PROTOCOL.md §7", () => {
  const loaded = loadConfigText('sink "stdout"', "t.kdl");
  const result = mergeProxyConfig(loaded, { sampling: { rate: 0.1 } });
  assert.deepEqual(result.applied, ["sampling.rate"]);
  assert.deepEqual(result.ignored, []);
  assert.equal(result.config.sampling.rate, 0.1);
});
