/**
 * The spool's configuration: the top-level `spool { … }` block (loader, printer, permissions)
 * and the sink's `spool-*` keys (runner settings), with their errors.
 */

import assert from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { configToKdl } from "../../src/config/print.ts";
import { permissionFlags } from "../../src/permissions.ts";
import { runnerSettings } from "../../src/sinks/_runner_config.ts";
import { SinkError } from "../../src/sinks/contract.ts";

Deno.test("loadConfigText() reads spool { … } and the printer writes it back", () => {
  const { config } = loadConfigText(
    `spool { directory "/var/lib/t/spool"; max-bytes 1048576; fsync-ms 0; full-policy "drop-newest"; }`,
    "t.kdl",
  );
  assert.deepEqual(config.spool, {
    directory: "/var/lib/t/spool",
    maxBytes: 1048576,
    fsyncMs: 0,
    fullPolicy: "drop-newest",
  });
  assert.deepEqual(loadConfigText(configToKdl(config), "again.kdl").config.spool, config.spool);
  assert.ok(permissionFlags(config).some((f) => f.includes("/var/lib/t/spool")));
});

Deno.test("loadConfigText() refuses a spool without a directory and bad values, all at once", () => {
  try {
    loadConfigText(
      `spool { max-bytes 10; full-policy "block"; segment-bytes 99999999999; }`,
      "t.kdl",
    );
    assert.fail("accepted");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const paths = e.issues.map((i) => `${i.path} ${i.code}`);
    assert.deepEqual(paths.sort(), [
      "spool.directory config_missing",
      "spool.full-policy config_invalid_value",
      "spool.max-bytes config_out_of_range",
      "spool.segment-bytes config_out_of_range",
    ]);
  }
});

Deno.test("runnerSettings() gives each sink <directory>/<name>; spool-* keys override; spool false opts out", () => {
  const top = { directory: "/s/", fsyncMs: 100 };
  const a = runnerSettings({ name: "kafka", options: {} }, top);
  assert.equal(a.spool?.directory, "/s/kafka");
  assert.equal(a.spool?.fsyncMs, 100);
  assert.equal(a.spool?.fullPolicy, "drop-oldest");
  const b = runnerSettings({
    name: "http",
    options: {
      "spool-dir": "/other",
      "spool-max-bytes": 1 << 20,
      "spool-full-policy": "drop-newest",
    },
  }, top);
  assert.equal(b.spool?.directory, "/other");
  assert.equal(b.spool?.maxBytes, 1 << 20);
  assert.equal(b.spool?.segmentBytes, 128 * 1024);
  assert.equal(runnerSettings({ name: "x", options: { spool: false } }, top).spool, undefined);
  assert.equal(runnerSettings({ name: "x", options: {} }).spool, undefined, "no spool by default");
});

Deno.test("runnerSettings() names every bad spool key of a sink", () => {
  assert.throws(
    () =>
      runnerSettings({
        name: "k",
        options: { spool: "yes", "spool-fsync-ms": -1, "spool-full-policy": "block" },
      }, { directory: "/s" }),
    (e: unknown) =>
      e instanceof SinkError && e.code === "sink_config" && /`spool`/.test(e.message) &&
      /spool-fsync-ms/.test(e.message) && /spool-full-policy/.test(e.message),
  );
  assert.throws(() => runnerSettings({ name: "k", options: { spool: true } }), /spool-dir/);
});
