import assert from "node:assert/strict";
import { BuildError } from "../../scripts/build/errors.ts";
import {
  cachedRuntimePath,
  elfMachine,
  isRuntimeDownloadFailure,
  resolveRuntime,
  type RuntimeContext,
} from "../../scripts/build/runtime.ts";
import { TARGETS } from "../../scripts/build/targets.ts";
import { elfHeader } from "./_elf.ts";

const [X86, ARM] = TARGETS;

async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "telemetry-runtime-" });
  const x86 = `${dir}/denort-x86`;
  const arm = `${dir}/denort-arm`;
  await Deno.writeFile(x86, elfHeader(62));
  await Deno.writeFile(arm, elfHeader(183));
  await Deno.writeTextFile(`${dir}/not-elf`, "#!/bin/sh\n");
  const ctx = (env: Record<string, string>, offline = true): RuntimeContext => ({
    env,
    denoDir: `${dir}/deno_dir`,
    denoVersion: "2.9.6",
    offline,
  });
  return { dir, x86, arm, ctx, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

function buildError(code: string, ...parts: string[]) {
  return (e: unknown) =>
    e instanceof BuildError && e.code === code && parts.every((p) => e.message.includes(p));
}

Deno.test("resolveRuntime() takes the target's own DENORT_BIN_<TARGET> first", async () => {
  await using f = await fixture();
  const env = { DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU: f.arm, DENORT_BIN: f.x86 };
  assert.deepEqual(await resolveRuntime(ARM, f.ctx(env)), {
    kind: "file",
    path: f.arm,
    from: "DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU",
  });
  assert.deepEqual(await resolveRuntime(X86, f.ctx(env)), {
    kind: "file",
    path: f.x86,
    from: "DENORT_BIN",
  });
});

Deno.test("resolveRuntime() uses DENORT_BIN only for the target its CPU matches", async () => {
  await using f = await fixture();
  await assert.rejects(
    resolveRuntime(ARM, f.ctx({ DENORT_BIN: f.x86 })),
    buildError(
      "build_runtime_unavailable",
      "DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU=",
      "is not a runtime for aarch64",
    ),
  );
});

Deno.test("resolveRuntime() refuses a per-target runtime of another CPU", async () => {
  await using f = await fixture();
  await assert.rejects(
    resolveRuntime(ARM, f.ctx({ DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU: f.x86 })),
    buildError("build_runtime_wrong_arch", "x86_64", "aarch64-unknown-linux-gnu"),
  );
});

Deno.test("resolveRuntime() names a runtime path that is missing or not ELF", async () => {
  await using f = await fixture();
  await assert.rejects(
    resolveRuntime(X86, f.ctx({ DENORT_BIN_X86_64_UNKNOWN_LINUX_GNU: `${f.dir}/nope` })),
    buildError("build_runtime_missing", `${f.dir}/nope`),
  );
  await assert.rejects(
    resolveRuntime(X86, f.ctx({ DENORT_BIN: `${f.dir}/not-elf` })),
    buildError("build_runtime_wrong_arch", "not an ELF executable"),
  );
});

Deno.test("resolveRuntime() finds the zip deno compile cached in DENO_DIR", async () => {
  await using f = await fixture();
  const zip = cachedRuntimePath(`${f.dir}/deno_dir`, "2.9.6", ARM);
  assert.equal(zip, `${f.dir}/deno_dir/dl/release/v2.9.6/denort-aarch64-unknown-linux-gnu.zip`);
  await Deno.mkdir(zip.slice(0, zip.lastIndexOf("/")), { recursive: true });
  await Deno.writeFile(zip, new Uint8Array(4));
  assert.deepEqual(await resolveRuntime(ARM, f.ctx({})), { kind: "cached", path: zip });
});

Deno.test("resolveRuntime() offline without a runtime says exactly what to provide", async () => {
  await using f = await fixture();
  await assert.rejects(
    resolveRuntime(X86, f.ctx({})),
    buildError(
      "build_runtime_unavailable",
      "Deno 2.9.6 for x86_64-unknown-linux-gnu",
      "DENORT_BIN_X86_64_UNKNOWN_LINUX_GNU=/path/to/denort",
      "DENORT_BIN=/path/to/denort",
      `${f.dir}/deno_dir/dl/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip`,
      "The deno binary itself cannot stand in",
    ),
  );
  assert.deepEqual(await resolveRuntime(X86, f.ctx({}, false)), { kind: "download" });
});

Deno.test("elfMachine() reads e_machine and refuses what is not ELF", () => {
  assert.equal(elfMachine(elfHeader(183)), 183);
  assert.equal(elfMachine(new TextEncoder().encode("#!/bin/sh\necho not elf at all\n")), null);
  assert.equal(elfMachine(new Uint8Array(4)), null);
});

Deno.test("isRuntimeDownloadFailure() recognises deno compile failing to fetch denort", async () => {
  // A real `deno compile` with an empty DENO_DIR and an unreachable proxy fails the download
  // the same way it does on a machine without dl.deno.land.
  await using f = await fixture();
  await Deno.writeTextFile(`${f.dir}/hello.ts`, "console.log(1);\n");
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    DENO_DIR: `${f.dir}/deno_dir`,
    NO_COLOR: "1",
  };
  delete env.DENORT_BIN;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["compile", "--no-check", "--output", `${f.dir}/hello`, `${f.dir}/hello.ts`],
    env: { ...env, HTTPS_PROXY: "http://127.0.0.1:9", https_proxy: "http://127.0.0.1:9" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.success, false, stderr);
  assert.ok(isRuntimeDownloadFailure(stderr), stderr);
  assert.equal(isRuntimeDownloadFailure('error: Module not found "file:///x.ts"'), false);
});
