import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/defaults.ts";
import { ConfigError, type ConfigIssue, formatIssue } from "../../src/config/errors.ts";
import { loadConfigFile, loadConfigText } from "../../src/config/load.ts";

const productPage = new URL("../fixtures/product-page.kdl", import.meta.url);

function issues(text: string): ConfigIssue[] {
  try {
    loadConfigText(text, "t.kdl");
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  assert.fail(`expected config issues for:\n${text}`);
}

const lines = (text: string) => issues(text).map(formatIssue);

Deno.test("loadConfigText() product page block means what it says", async () => {
  const { config } = await loadConfigFile(productPage.pathname);
  assert.equal(config.socket.path, "/var/run/sentinel/telemetry.sock");
  assert.equal(config.socket.mode, 0o660);
  assert.deepEqual(config.events, ["request_headers", "response_headers"]);
  assert.equal(config.timeoutMs, 10);
  assert.equal(config.failureMode, "open");
  assert.deepEqual(config.enrichment, {
    geoip: true,
    asn: true,
    deviceDetection: true,
    threatIntel: true,
  });
  assert.equal(config.sinks.length, 1);
  const [sink] = config.sinks;
  assert.deepEqual(
    { name: sink.name, type: sink.type, batchSize: sink.batchSize, flush: sink.flushIntervalMs },
    { name: "kafka", type: "kafka", batchSize: 1000, flush: 5000 },
  );
  assert.deepEqual(sink.options, { brokers: ["kafka:9092"], topic: "sentinel-telemetry" });
  assert.deepEqual(config.sampling, { rate: 0.1, alwaysSampleErrors: true });
  assert.equal(config.source, productPage.pathname);
});

Deno.test("loadConfigText() product page fixture is the page's block verbatim", () => {
  const page = Deno.readTextFileSync(new URL("../fixtures/product-page.md", import.meta.url));
  const block = /```kdl\n([\s\S]*?)```/.exec(page);
  assert.ok(block !== null);
  assert.equal(Deno.readTextFileSync(productPage), block[1]);
});

Deno.test("loadConfigText() records the keys the file set", () => {
  const { setKeys } = loadConfigText(Deno.readTextFileSync(productPage), "p.kdl");
  assert.deepEqual([...setKeys].sort(), [
    "enrichment.asn",
    "enrichment.device-detection",
    "enrichment.geoip",
    "enrichment.threat-intel",
    "events",
    "failure-mode",
    "sampling.always-sample-errors",
    "sampling.rate",
    "sinks",
    "sinks.kafka.batch-size",
    "sinks.kafka.brokers",
    "sinks.kafka.flush-interval-ms",
    "sinks.kafka.topic",
    "socket.path",
    "timeout-ms",
  ]);
  assert.deepEqual([...loadConfigText("", "e.kdl").setKeys], []);
});

Deno.test("loadConfigText() empty file gives the defaults and one file sink", () => {
  const { config } = loadConfigText("", "e.kdl");
  assert.deepEqual(config, { ...defaultConfig(), source: "e.kdl" });
  assert.deepEqual(config.sinks.map((s) => [s.name, s.type, s.options.directory]), [
    ["file", "file", "./data"],
  ]);
  const withSink = loadConfigText('sink "stdout"', "s.kdl").config;
  assert.deepEqual(withSink.sinks.map((s) => s.name), ["stdout"]);
});

Deno.test("loadConfigText() accepts the agent wrapper with a type property or child", () => {
  for (const head of ['agent "telemetry" type="telemetry"', 'agent "edge"', "agent"]) {
    const { config } = loadConfigText(`${head} {\n  type "telemetry"\n  log-level "warn"\n}`, "a");
    assert.equal(config.logLevel, "warn");
  }
  assert.deepEqual(lines('agent "t" type="waf" color="red"'), [
    't.kdl:1:11 type: must be "telemetry", got "waf" (config_invalid_value)\n' +
    "  hint: this file configures the Telemetry agent only",
    "t.kdl:1:22 agent.color: unknown key (config_unknown_key)\n  hint: valid keys: `type`",
  ]);
  assert.match(
    lines('agent "x" {\n  redaction true\n}')[0],
    /^t\.kdl:2:3 redaction: expects a block/,
  );
});

Deno.test("loadConfigText() reads every socket spelling", () => {
  const forms: [string, string, number][] = [
    ['socket "/a.sock" mode="0600"', "/a.sock", 0o600],
    ['socket { path "/b.sock"; mode "640" }', "/b.sock", 0o640],
    ['socket "/c.sock" { mode "0o700" }', "/c.sock", 0o700],
    ["socket mode=0o644", "./run/telemetry.sock", 0o644],
    ['socket "/d.sock" mode=432', "/d.sock", 0o660],
    ['unix-socket "/e.sock"', "/e.sock", 0o660],
    ['unix-socket path="/f.sock"', "/f.sock", 0o660],
    ['transport "unix_socket" { path "/g.sock" }', "/g.sock", 0o660],
  ];
  for (const [text, path, mode] of forms) {
    assert.deepEqual(loadConfigText(text, "t.kdl").config.socket, { path, mode }, text);
  }
  assert.deepEqual(lines('socket "/a" { path "/b" }'), [
    "t.kdl:1:15 socket.path: is set more than once (first at line 1 as `socket`) " +
    "(config_duplicate)\n  hint: remove one of them",
  ]);
  assert.equal(issues('socket "/a" "/b"')[0].code, "config_wrong_type");
  assert.equal(issues('socket ""')[0].problem, "must not be empty");
});

Deno.test("loadConfigText() normalises event names and list forms", () => {
  const events = (text: string) => loadConfigText(text, "t.kdl").config.events;
  assert.deepEqual(events('events ["request-headers", "log"] "web_socket_frame" "log"'), [
    "request_headers",
    "request_complete",
    "websocket_frame",
  ]);
  assert.deepEqual(events('events "guardrail" "response-body" "request_body"'), [
    "guardrail",
    "response_body",
    "request_body",
  ]);
  assert.equal(issues("events")[0].code, "config_wrong_type");
  assert.equal(issues("events []")[0].code, "config_wrong_type");
});

Deno.test("loadConfigText() treats a bare boolean key as true and accepts 0/1 rates", () => {
  const { config } = loadConfigText(
    "enrichment {\n  geoip false\n  asn\n}\nsampling rate=0 always-sample-errors=false",
    "t.kdl",
  );
  assert.equal(config.enrichment.geoip, false);
  assert.equal(config.enrichment.asn, true);
  assert.deepEqual(config.sampling, { rate: 0, alwaysSampleErrors: false });
  assert.equal(loadConfigText("sampling { rate 1; }", "t").config.sampling.rate, 1);
  assert.equal(issues('sampling { rate "10%" }')[0].code, "config_wrong_type");
});

Deno.test("loadConfigText() accepts loopback metrics addresses only", () => {
  const good = ["off", "127.0.0.1:9464", "127.1.2.3:80", "[::1]:9464", "localhost:0"];
  for (const listen of good) {
    assert.equal(loadConfigText(`metrics "${listen}"`, "t").config.metrics.listen, listen);
  }
  const bad: [string, string][] = [
    ["0.0.0.0:9464", "config_invalid_value"],
    ["127.0.0.256:1", "config_invalid_value"],
    ["[::2]:1", "config_invalid_value"],
    ["10.0.0.1:9464", "config_invalid_value"],
    ["localhost", "config_invalid_value"],
    ["localhost:65536", "config_out_of_range"],
  ];
  for (const [listen, code] of bad) {
    assert.equal(issues(`metrics "${listen}"`)[0].code, code, listen);
  }
  assert.equal(issues("metrics 9464")[0].code, "config_wrong_type");
  assert.equal(issues("metrics")[0].code, "config_missing");
});

Deno.test("loadConfigText() keeps sink options for the sink's own parser", () => {
  const text = [
    'sink "http" name="hook" {',
    '  url "https://example.test/ingest"',
    '  headers {\n    x-team "edge"\n  }',
    "  retry max=3 { backoff-ms 100 200 }",
    "  gzip",
    "  codes 200 202",
    "}",
  ].join("\n");
  const [sink] = loadConfigText(text, "t.kdl").config.sinks;
  assert.equal(sink.name, "hook");
  assert.deepEqual(sink.options, {
    url: "https://example.test/ingest",
    headers: { "x-team": "edge" },
    retry: { max: 3, "backoff-ms": [100, 200] },
    gzip: true,
    codes: [200, 202],
  });
  assert.deepEqual(sink.pos, { file: "t.kdl", line: 1, col: 1 });
  const mixed = issues('sink "s3" {\n  tls "on" { ca "x" }\n}');
  assert.equal(
    formatIssue(mixed[0]),
    "t.kdl:2:3 sinks.s3.tls: takes either values or a block, not both (config_wrong_type)",
  );
  assert.equal(issues('sink "http" { type "kafka" }')[0].path, "sinks.http.type");
});

Deno.test("loadConfigText() fills file sink defaults and validates kafka brokers", () => {
  const [file] = loadConfigText('sink "file" { prefix "edge" }', "t").config.sinks;
  assert.deepEqual(file.options, {
    directory: "./data",
    prefix: "edge",
    "max-bytes": 67108864,
    "max-age-ms": 3600000,
  });
  const brokers = (b: string) => issues(`sink "kafka" {\n  brokers ${b}\n  topic "t"\n}`);
  assert.equal(brokers("9092")[0].code, "config_wrong_type");
  assert.equal(brokers('"kafka"')[0].code, "config_invalid_value");
  assert.equal(brokers("[]")[0].code, "config_wrong_type");
  assert.equal(brokers('["[::1]:0"]')[0].code, "config_invalid_value");
  const ok = loadConfigText('sink "kafka" { brokers "[::1]:9092" "k:1"; topic "t" }', "t");
  assert.deepEqual(ok.config.sinks[0].options.brokers, ["[::1]:9092", "k:1"]);
});

Deno.test("loadConfigText() reports every issue in file order", () => {
  const text = 'log-level "loud"\nsink "kafka" {\n  batch-size 0\n}\nsampling { rate -1 }\nx 1';
  assert.deepEqual(issues(text).map((i) => [i.pos.line, i.path, i.code]), [
    [1, "log-level", "config_invalid_value"],
    [2, "sinks.kafka.brokers", "config_missing"],
    [2, "sinks.kafka.topic", "config_missing"],
    [3, "sinks.kafka.batch-size", "config_out_of_range"],
    [5, "sampling.rate", "config_out_of_range"],
    [6, "x", "config_unknown_key"],
  ]);
});

Deno.test("loadConfigText() refuses names inherited from Object.prototype", () => {
  const found = issues(
    'constructor 1\n__proto__ 2\nsampling { toString 1 }\nsink "file" { valueOf 1 }',
  );
  assert.deepEqual(found.map((i) => [i.path, i.code]), [
    ["constructor", "config_unknown_key"],
    ["__proto__", "config_unknown_key"],
    ["sampling.toString", "config_unknown_key"],
    ["sinks.file.valueOf", "config_unknown_key"],
  ]);
});

Deno.test("loadConfigText() turns a syntax error into one config_syntax issue", () => {
  const err = (() => {
    try {
      loadConfigText('a 1\nlog-level "info', "telemetry.kdl");
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ConfigError);
  assert.equal(err.code, "config_invalid");
  assert.equal(err.message, "telemetry.kdl:2:11: unterminated string (config_syntax)");
});

Deno.test("formatIssue() renders position, path, problem, code and hint", () => {
  const issue: ConfigIssue = {
    code: "config_out_of_range",
    path: "sinks.kafka.batch-size",
    pos: { file: "telemetry.kdl", line: 14, col: 5 },
    problem: "must be between 1 and 100000, got 0",
  };
  assert.equal(
    formatIssue(issue),
    "telemetry.kdl:14:5 sinks.kafka.batch-size: must be between 1 and 100000, got 0 " +
      "(config_out_of_range)",
  );
  assert.equal(
    formatIssue({ ...issue, hint: "use 1000" }).split("\n")[1],
    "  hint: use 1000",
  );
});

Deno.test("loadConfigFile() reads a real file and reports an unreadable one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/telemetry.kdl`;
    await Deno.writeTextFile(path, 'log-level "debug"\n');
    const { config } = await loadConfigFile(path);
    assert.equal(config.logLevel, "debug");
    assert.equal(config.source, path);
    await assert.rejects(() => loadConfigFile(`${dir}/missing.kdl`), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.issues[0].code, "config_unreadable");
      assert.match(err.message, new RegExp(`^${dir}/missing\\.kdl: cannot read the config file`));
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("defaultConfig() merges overrides section by section", () => {
  const config = defaultConfig({ sampling: { rate: 0.5 }, logLevel: "error", sinks: [] });
  assert.deepEqual(config.sampling, { rate: 0.5, alwaysSampleErrors: true });
  assert.equal(config.logLevel, "error");
  assert.deepEqual(config.sinks, []);
  assert.equal(defaultConfig().socket.mode, 0o660);
  assert.notEqual(defaultConfig().sinks, defaultConfig().sinks);
});
