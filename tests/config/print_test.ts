import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/defaults.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { configToJson, configToKdl } from "../../src/config/print.ts";
import type { Config } from "../../src/config/types.ts";

/** A config without `source` and sink positions, for comparing two loads. */
function comparable(config: Config): Omit<Config, "source"> {
  const { source: _source, ...rest } = config;
  return { ...rest, sinks: rest.sinks.map(({ pos: _pos, ...sink }) => sink) };
}

const fixtures = new URL("./fixtures/", import.meta.url);
const goodFiles = [...Deno.readDirSync(fixtures)]
  .filter((e) => e.name.startsWith("good_") && e.name.endsWith(".kdl"))
  .map((e) => new URL(e.name, fixtures));
goodFiles.push(new URL("../fixtures/product-page.kdl", import.meta.url));

Deno.test("configToKdl() output loads back to the same config", () => {
  for (const file of goodFiles) {
    const original = loadConfigText(Deno.readTextFileSync(file), "in.kdl").config;
    const printed = configToKdl(original);
    const again = loadConfigText(printed, "out.kdl").config;
    assert.deepEqual(comparable(again), comparable(original), `${file.pathname}:\n${printed}`);
  }
});

Deno.test("configToKdl() quotes strings and names that need it", () => {
  const config = defaultConfig();
  config.sinks = [{
    name: "h",
    type: "http",
    batchSize: 1,
    flushIntervalMs: 1,
    options: {
      "odd key": 'tab\there \u0001 \\u0041 "q"',
      "true": null,
      "1st": [1, "two", [true]],
      nested: { list: [{ a: 1 }] },
    },
  }];
  const again = loadConfigText(configToKdl(config), "out.kdl").config;
  assert.deepEqual(again.sinks[0].options, {
    "odd key": 'tab\there \u0001 \\u0041 "q"',
    "true": null,
    "1st": [1, "two", [true]],
    nested: { list: ['{"a":1}'] },
  });
});

Deno.test("configToKdl() starts with a comment naming the source", () => {
  const text = configToKdl(defaultConfig({ source: "/etc/telemetry.kdl" }));
  assert.equal(
    text.split("\n")[0],
    "// Effective configuration of the Telemetry agent " +
      "(source: /etc/telemetry.kdl)",
  );
  assert.match(text, /^socket "\.\/run\/telemetry\.sock" mode="0660"$/m);
});

Deno.test("configToJson() uses kebab-case names and an octal mode string", () => {
  const json = configToJson(
    loadConfigText(
      'socket "/s" mode="0600"\ntimeout-ms 10\nsink "kafka" { brokers "k:1"; topic "t" }',
      "t.kdl",
    ).config,
  );
  assert.deepEqual(json.socket, { path: "/s", mode: "0600" });
  assert.equal(json["timeout-ms"], 10);
  assert.equal("failure-mode" in json, false);
  assert.deepEqual(json.sinks, [{
    type: "kafka",
    name: "kafka",
    "batch-size": 1000,
    "flush-interval-ms": 1000,
    brokers: ["k:1"],
    topic: "t",
  }]);
  assert.deepEqual(Object.keys(json), [
    "socket",
    "events",
    "timeout-ms",
    "ingress",
    "handoff",
    "lifecycle",
    "sampling",
    "enrichment",
    "sinks",
    "metrics",
    "log-level",
    "shutdown-timeout-ms",
  ]);
});
