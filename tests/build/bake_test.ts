import assert from "node:assert/strict";
import { bakedPermissions, serviceConfig } from "../../scripts/build/bake.ts";
import { BuildError } from "../../scripts/build/errors.ts";
import { BUILD_DEFAULTS } from "../../scripts/build.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { permissionFlags } from "../../src/permissions.ts";

const EXAMPLE = new URL("../../packaging/telemetry.kdl", import.meta.url).pathname;

/** The defaults docs/deployment.md documents: what a default `deno task build` bakes in. */
const DOCUMENTED_DEFAULT_FLAGS = [
  "--allow-read=/etc/telemetry/telemetry.kdl,/run/telemetry,/var/lib/telemetry/data",
  "--allow-write=/run/telemetry,/var/lib/telemetry/data",
  "--allow-net=unix:/run/telemetry/telemetry.sock,127.0.0.1:9464",
  "--allow-sys=hostname,setPriority",
];

Deno.test("bakedPermissions() for the example config are the documented defaults", async () => {
  const flags = await bakedPermissions({
    config: BUILD_DEFAULTS.config,
    installedConfig: BUILD_DEFAULTS.installedConfig,
    workdir: BUILD_DEFAULTS.workdir,
  });
  assert.equal(BUILD_DEFAULTS.config, EXAMPLE);
  assert.deepEqual(flags, DOCUMENTED_DEFAULT_FLAGS);
  const doc = await Deno.readTextFile(new URL("../../docs/deployment.md", import.meta.url));
  for (const f of DOCUMENTED_DEFAULT_FLAGS) assert.ok(doc.includes(f), `deployment.md lacks ${f}`);
});

Deno.test("bakedPermissions() are the run-time flags minus the sources and data embedded", async () => {
  const config = (await loadConfigFile(EXAMPLE)).config;
  const fromSource = permissionFlags(config, { compiled: false }).join(" ");
  const baked = permissionFlags(config, { compiled: true }).join(" ");
  const src = new URL("../../src", import.meta.url).pathname;
  const data = new URL("../../geo-data", import.meta.url).pathname;
  assert.ok(fromSource.includes(`,${src},`), fromSource);
  assert.ok(fromSource.includes(data), fromSource);
  assert.equal(fromSource.replace(`,${src}`, "").replace(`,${data}`, ""), baked);
});

Deno.test("serviceConfig() resolves relative paths against the service's workdir", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/rel.kdl`,
      'socket "run/t.sock"\nsink "file" { directory "data"; }\nmetrics "off"\n',
    );
    const spec = { config: `${dir}/rel.kdl`, installedConfig: "t.kdl", workdir: "/srv/t" };
    const config = await serviceConfig(spec);
    assert.equal(config.source, "/srv/t/t.kdl");
    assert.equal(config.socket.path, "/srv/t/run/t.sock");
    assert.equal(config.sinks[0].options.directory, "/srv/t/data");
    assert.deepEqual(await bakedPermissions(spec), [
      "--allow-read=/srv/t/t.kdl,/srv/t/run,/srv/t/data",
      "--allow-write=/srv/t/run,/srv/t/data",
      "--allow-net=unix:/srv/t/run/t.sock",
      "--allow-sys=hostname,setPriority",
    ]);
    await assert.rejects(
      bakedPermissions({ ...spec, workdir: "relative" }),
      (e: unknown) => e instanceof BuildError && e.code === "build_bad_argument",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bakedPermissions() refuses a config that does not load, listing its problems", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.kdl`, "sampling { rat 0.5 }\n");
    await assert.rejects(
      bakedPermissions({ config: `${dir}/bad.kdl`, workdir: "/" }),
      (e: unknown) =>
        e instanceof BuildError && e.code === "build_config_invalid" &&
        e.message.includes("sampling.rat") && e.message.includes("bad.kdl:1:"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
