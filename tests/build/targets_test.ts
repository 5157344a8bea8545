import assert from "node:assert/strict";
import { BuildError } from "../../scripts/build/errors.ts";
import {
  DEFAULT_TARGETS,
  parseTargets,
  runtimeEnvName,
  TARGETS,
} from "../../scripts/build/targets.ts";

Deno.test("parseTargets() builds x86_64 and aarch64 Linux when none is named", () => {
  assert.deepEqual(parseTargets([]).map((t) => t.triple), [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
  ]);
  assert.deepEqual(DEFAULT_TARGETS, TARGETS.map((t) => t.triple));
});

Deno.test("parseTargets() takes triples, arch names, repeats and comma lists, once each", () => {
  const got = parseTargets(["aarch64", "x86_64-unknown-linux-gnu,aarch64-unknown-linux-gnu"]);
  assert.deepEqual(got.map((t) => t.triple), [
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-gnu",
  ]);
});

Deno.test("parseTargets() refuses an unknown target and lists the known ones", () => {
  assert.throws(
    () => parseTargets(["x86_64-pc-windows-msvc"]),
    (e: unknown) =>
      e instanceof BuildError && e.code === "build_unknown_target" &&
      e.message.includes("aarch64-unknown-linux-gnu"),
  );
});

Deno.test("runtimeEnvName() names one variable per target", () => {
  const [x86, arm] = TARGETS;
  assert.equal(runtimeEnvName(x86), "DENORT_BIN_X86_64_UNKNOWN_LINUX_GNU");
  assert.equal(runtimeEnvName(arm), "DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU");
  assert.equal(x86.elfMachine, 62);
  assert.equal(arm.elfMachine, 183);
});
