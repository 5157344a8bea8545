import assert from "node:assert/strict";
import {
  compileArgs,
  compileEnv,
  type CompileSpec,
  HARDENING_FLAGS,
} from "../../scripts/build/compile.ts";
import { BuildError } from "../../scripts/build/errors.ts";
import { TARGETS } from "../../scripts/build/targets.ts";
import { RUNTIME_FLAGS } from "../../src/runtime_flags.ts";

const [X86, ARM] = TARGETS;
const FLAGS = [
  "--allow-read=/etc/telemetry/telemetry.kdl,/run/telemetry",
  "--allow-write=/run/telemetry",
  "--allow-net=unix:/run/telemetry/telemetry.sock,127.0.0.1:9464",
  "--allow-sys=hostname",
];

function spec(over: Partial<CompileSpec> = {}): CompileSpec {
  return {
    stageDir: "/tmp/stage",
    target: ARM,
    output: "/out/aarch64-unknown-linux-gnu/telemetry",
    permissions: FLAGS,
    includes: ["src/pipeline/worker.ts", "geo-data"],
    ...over,
  };
}

Deno.test("compileArgs() compiles main.ts for the target with exactly the baked flags", () => {
  const args = compileArgs(spec());
  assert.deepEqual(args.slice(0, 6), [
    "compile",
    "--no-check",
    "--target",
    "aarch64-unknown-linux-gnu",
    "--output",
    "/out/aarch64-unknown-linux-gnu/telemetry",
  ]);
  assert.deepEqual(args.slice(-3), ["--config", "deno.json", "main.ts"]);
  const perms = args.filter((a) => /^--(allow|deny)-/.test(a));
  assert.deepEqual(perms, ["--deny-import", ...FLAGS]);
  assert.ok(HARDENING_FLAGS.every((f) => args.includes(f)));
  assert.ok(RUNTIME_FLAGS.every((f) => args.includes(f)));
  assert.ok(!args.includes("-A") && !args.includes("--allow-all"));
});

Deno.test("deno task start runs the agent with the same runtime flags the binary gets", async () => {
  const deno = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const start: string[] = deno.tasks.start.split(/\s+/);
  assert.ok(RUNTIME_FLAGS.length > 0);
  for (const f of RUNTIME_FLAGS) {
    assert.ok(start.includes(f), `${f} missing from: ${start.join(" ")}`);
  }
});

Deno.test("compileArgs() embeds the worker modules and geo-data with --include", () => {
  const args = compileArgs(spec());
  const includes = args.flatMap((a, i) => a === "--include" ? [args[i + 1]] : []);
  assert.deepEqual(includes, ["src/pipeline/worker.ts", "geo-data"]);
  const none = compileArgs(spec({ includes: [] }));
  assert.equal(none.includes("--include"), false);
  assert.equal(compileArgs(spec({ target: X86 }))[3], "x86_64-unknown-linux-gnu");
});

Deno.test("compileArgs() refuses to bake an unscoped permission", () => {
  for (const bad of ["--allow-read", "--allow-all", "-A", "--allow-net="]) {
    assert.throws(
      () => compileArgs(spec({ permissions: [...FLAGS, bad] })),
      (e: unknown) => e instanceof BuildError && e.code === "build_bad_argument",
      bad,
    );
  }
});

Deno.test("compileEnv() hands deno compile this target's runtime as DENORT_BIN, or none", () => {
  const env = { PATH: "/usr/bin", DENORT_BIN: "/x86/denort", HOME: "/root" };
  assert.deepEqual(compileEnv(env, { kind: "file", path: "/arm/denort", from: "X" }), {
    PATH: "/usr/bin",
    HOME: "/root",
    DENORT_BIN: "/arm/denort",
  });
  assert.deepEqual(compileEnv(env, { kind: "download" }), { PATH: "/usr/bin", HOME: "/root" });
  assert.deepEqual(compileEnv(env, { kind: "cached", path: "/c.zip" }), {
    PATH: "/usr/bin",
    HOME: "/root",
  });
});
