import assert from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { mergeProxyConfig } from "../../src/config/proxy_config.ts";
import { configIssues } from "../helpers/config.ts";

Deno.test("sampling: the product page block loads to exactly rate and always-sample-errors", () => {
  const { config } = loadConfigText(
    Deno.readTextFileSync(new URL("../fixtures/product-page.kdl", import.meta.url)),
    "p.kdl",
  );
  assert.deepEqual(config.sampling, { rate: 0.1, alwaysSampleErrors: true });
});

Deno.test("sampling: every key loads, lists in either form", () => {
  const { config } = loadConfigText(
    `sampling {
  rate 0.05
  always-sample-errors true
  error-statuses "5xx" 499
  slow-ms 750
  keep-threats false
  threat-score 80
  keep-blocked true
  blocked-statuses [403 429 "451-451"]
  keys ["route" "status-class"]
  target-records-per-second 500
  interval-ms 5000
  max-keys 2000
  shed-at 0.6
  shed-floor 0.02
}`,
    "t.kdl",
  );
  assert.deepEqual(config.sampling, {
    rate: 0.05,
    alwaysSampleErrors: true,
    errorStatuses: ["5xx", 499],
    slowMs: 750,
    keepThreats: false,
    threatScore: 80,
    keepBlocked: true,
    blockedStatuses: [403, 429, "451-451"],
    keys: ["route", "status-class"],
    targetRecordsPerSecond: 500,
    intervalMs: 5000,
    maxKeys: 2000,
    shedAt: 0.6,
    shedFloor: 0.02,
  });
});

Deno.test("sampling: bad values name the key, the item and the fix", () => {
  assert.deepEqual(
    configIssues(`sampling {\n  error-statuses "5xx" 700\n  keys "route" "colour"\n  slow-ms\n}`),
    [
      "t.kdl:2:3 sampling.error-statuses: item 2 expects a status code 100..599, a class like " +
      '"5xx" or a range like "500-504", got 700 (config_out_of_range)',
      't.kdl:3:3 sampling.keys: item 2 must be one of "route", "upstream", "host", "method", ' +
      '"path", "path-template", "status", "status-class", "country", "asn", "device-type", ' +
      '"is-bot", got "colour" (config_invalid_value)',
      "t.kdl:4:3 sampling.slow-ms: expects an integer, got no values (config_wrong_type)",
    ],
  );
});

Deno.test("sampling: a proxy may fill list keys the file left unset", () => {
  const loaded = loadConfigText("sampling { rate 0.5; }", "t.kdl");
  const r = mergeProxyConfig(loaded, {
    sampling: { "error-statuses": ["5xx", 429], keys: "route", "slow-ms": 200 },
  });
  assert.deepEqual(r.applied, ["sampling.error-statuses", "sampling.keys", "sampling.slow-ms"]);
  assert.deepEqual(r.config.sampling.errorStatuses, ["5xx", 429]);
  assert.deepEqual(r.config.sampling.keys, ["route"]);
});
