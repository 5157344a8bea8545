/**
 * Runs `scripts/build.ts` for real: `deno compile` for both targets, with stand-in runtimes
 * (small ELF files of each CPU, see _elf.ts), then reads what the binaries embed.
 */
import assert from "node:assert/strict";
import { bakedPermissions } from "../../scripts/build/bake.ts";
import { HARDENING_FLAGS } from "../../scripts/build/compile.ts";
import type { BuildReport } from "../../scripts/build.ts";
import { BUILD_DEFAULTS } from "../../scripts/build.ts";
import { readPayload } from "./_payload.ts";
import { standInRuntime } from "./_elf.ts";

const ROOT = new URL("../../", import.meta.url);
const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

async function runBuild(args: string[], env: Record<string, string>) {
  const base: Record<string, string> = { ...Deno.env.toObject(), NO_COLOR: "1", ...env };
  for (const k of Object.keys(base)) if (k.startsWith("DENORT_BIN") && !(k in env)) delete base[k];
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "scripts/build.ts",
      ...args,
    ],
    cwd: ROOT,
    env: base,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** A data folder like `deno task geo` leaves: manifest, licence, a data file. */
async function geoFixture(dir: string): Promise<string> {
  const geo = `${dir}/geo`;
  await Deno.mkdir(geo);
  await Deno.writeTextFile(
    `${geo}/manifest.json`,
    JSON.stringify({
      files: [{ name: "test-city.mmdb", sha256: "00ff", attribution: "Test data by Example" }],
    }),
  );
  await Deno.writeTextFile(`${geo}/LICENSE-test.txt`, "licence text\n");
  await Deno.writeFile(`${geo}/test-city.mmdb`, new Uint8Array([1, 2, 3]));
  return geo;
}

Deno.test("deno task build compiles both targets with the baked flags and embeds worker and data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telemetry-build-test-" });
  try {
    const geo = await geoFixture(dir);
    const env = {
      DENORT_BIN_X86_64_UNKNOWN_LINUX_GNU: await standInRuntime(dir, 62),
      DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU: await standInRuntime(dir, 183),
      SOURCE_DATE_EPOCH: "1767225600",
    };
    const run = await runBuild([
      "--out",
      `${dir}/dist`,
      "--data-dir",
      geo,
      "--no-check",
      "--no-smoke",
    ], env);
    assert.equal(run.code, 0, run.stderr);

    const report: BuildReport = JSON.parse(
      await Deno.readTextFile(`${dir}/dist/build-report.json`),
    );
    const baked = await bakedPermissions(BUILD_DEFAULTS);
    assert.deepEqual(report.permissions, baked);
    assert.equal(report.date, "2026-01-01T00:00:00.000Z");
    assert.deepEqual(report.targets.map((t) => t.target), TARGETS);

    for (const t of report.targets) {
      const p = await readPayload(t.binary);
      assert.equal(p.metadata.entrypoint_key, "main.ts");
      const perms = p.metadata.permissions;
      assert.deepEqual(perms.allow_read, flagValues(baked, "read"));
      assert.deepEqual(perms.allow_write, flagValues(baked, "write"));
      assert.deepEqual(perms.allow_net, flagValues(baked, "net"));
      assert.deepEqual(perms.allow_sys, ["hostname", "setPriority"]);
      assert.equal(perms.allow_env, null);
      assert.equal(perms.allow_run, null);
      assert.equal(perms.allow_ffi, null);
      assert.equal(perms.prompt, false, "--no-prompt is baked in");
      assert.deepEqual(perms.deny_import, [], "--deny-import is baked in");
      assert.ok(HARDENING_FLAGS.includes("--deny-import"));
      for (
        const f of [
          "main.ts",
          "src/pipeline/worker.ts",
          "src/build_info.ts",
          "src/build_stamp.json",
        ]
      ) {
        assert.ok(p.files.includes(f), `${t.target}: ${f} not embedded`);
      }
      for (const f of ["geo-data/manifest.json", "geo-data/test-city.mmdb"]) {
        assert.ok(p.files.includes(f), `${t.target}: ${f} not embedded`);
      }
      // build_info.ts finds the manifest at ../geo-data/ from its own URL, in the binary too.
      const fromModule = new URL("../geo-data/manifest.json", "file:///vfs/src/build_info.ts");
      assert.equal(fromModule.pathname, "/vfs/geo-data/manifest.json");

      const bin = new TextDecoder().decode(await Deno.readFile(t.binary));
      assert.ok(bin.includes(`"target": "${t.target}"`), "the stamp names the target");
      assert.ok(bin.includes(`"stamped": true`));
      assert.ok(bin.includes(`"date": "2026-01-01T00:00:00.000Z"`));

      assert.ok(t.package, "archived");
      const check = await new Deno.Command("sha256sum", {
        args: ["-c", `${t.package.checksumFile.split("/").pop()}`],
        cwd: `${dir}/dist`,
        stdout: "piped",
      }).output();
      assert.ok(check.success, `sha256sum -c for ${t.target}`);
      const list = await new Deno.Command("tar", {
        args: ["-tzf", t.package.archive],
        stdout: "piped",
      })
        .output();
      const names = new TextDecoder().decode(list.stdout).split("\n");
      const top = `telemetry-${report.version}-${t.target}`;
      for (
        const n of [
          "telemetry",
          "BUILD-INFO.json",
          "LICENSE",
          "packaging/telemetry.service",
          "geo-data/LICENSE-test.txt",
        ]
      ) {
        assert.ok(names.includes(`${top}/${n}`), `${n} in ${t.package.archive}`);
      }
    }
    const work = new URL("../../src/build_stamp.json", import.meta.url);
    assert.equal(
      JSON.parse(await Deno.readTextFile(work)).stamped,
      false,
      "the work tree is not stamped",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task build without a runtime fails before compiling and says what to provide", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telemetry-build-test-" });
  try {
    const run = await runBuild(["--out", `${dir}/dist`, "--offline", "--no-check"], {
      DENO_DIR: `${dir}/empty_deno_dir`,
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /build failed \(build_runtime_unavailable\)/);
    assert.match(run.stderr, /DENORT_BIN_X86_64_UNKNOWN_LINUX_GNU=\/path\/to\/denort/);
    assert.match(run.stderr, /denort-x86_64-unknown-linux-gnu\.zip/);
    assert.equal(await exists(`${dir}/dist`), false, "nothing was built");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task build refuses a runtime of the wrong CPU for a target", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telemetry-build-test-" });
  try {
    const run = await runBuild(["--target", "aarch64", "--out", `${dir}/dist`, "--no-check"], {
      DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU: await standInRuntime(dir, 62),
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /build_runtime_wrong_arch/);
    assert.match(run.stderr, /is a runtime for x86_64, not aarch64/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function flagValues(flags: string[], name: string): string[] {
  const f = flags.find((x) => x.startsWith(`--allow-${name}=`));
  return f ? f.slice(f.indexOf("=") + 1).split(",") : [];
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
